import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { parseTimestampMicros } from '../src/parse-timestamp.ts';

describe('parseTimestampMicros', () => {
  const cases: [unknown, number | undefined][] = [
    ['2018-03-24T17:15:20.865716Z', 1521911720865716],
    ['2018-03-24T17:15:20Z', 1521911720000000],
    ['2018-03-24T17:15:20.8Z', 1521911720800000],
    ['2018-03-24T17:15:20.865716999Z', 1521911720865716],
    ['2018-03-24T19:15:20.865716+02:00', 1521911720865716],
    ['2018-03-24T12:45:20.865716-0430', 1521911720865716],
    ['2018-03-24 17:15:20,5z', 1521911720500000],
    ['1970-01-01T00:00:00Z', 0],
    ['1969-12-31T23:59:59.999999Z', -1],
    ['2000-02-29T00:00:00Z', 951782400000000],
    ['1900-02-29T00:00:00Z', undefined],
    ['1521911720.865716', 1521911720865716],
    ['1521911720', 1521911720000000],
    ['-1.5', -1500000],
    [1521911720.865716, 1521911720865716],
    [0.000001, 1],
    [new Date(Date.UTC(2018, 2, 24, 17, 15, 20, 865)), 1521911720865000],
    ['2018-02-29T00:00:00Z', undefined],
    ['2018-13-01T00:00:00Z', undefined],
    ['2018-03-24T24:00:00Z', undefined],
    ['2018-03-24T17:15:60Z', undefined],
    ['2018-03-24T17:15:20', undefined],
    ['2018-03-24T17:15:20.1234567890Z', undefined],
    ['2018-03-24', undefined],
    ['', undefined],
    ['abc', undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [null, undefined],
    [undefined, undefined],
    [{}, undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${input instanceof Date ? input.toISOString() : JSON.stringify(input) ?? String(input)} -> ${expected}`, () => {
      assert.equal(parseTimestampMicros(input), expected);
    });
  }

  test('property: ISO strings with 6 decimals agree with epoch seconds as text and as a number, to the microsecond', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 * 1e6 - 1 }), (micros) => {
        const millis = Math.floor(micros / 1000);
        const iso = `${new Date(millis).toISOString().slice(0, 19)}.${String(micros % 1e6).padStart(6, '0')}Z`;
        const epochText = `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
        assert.equal(parseTimestampMicros(iso), micros);
        assert.equal(parseTimestampMicros(epochText), micros);
        assert.equal(parseTimestampMicros(Number(epochText)), micros);
      }),
      { numRuns: 5000 },
    );
  });

  test('property: any instant that fits in a safe integer of microseconds matches Date to the millisecond', () => {
    // Number.MAX_SAFE_INTEGER microseconds is about 285 years either side of 1970.
    const limit = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
    fc.assert(
      fc.property(fc.integer({ min: -limit, max: limit }), (millis) => {
        assert.equal(parseTimestampMicros(new Date(millis).toISOString()), millis * 1000);
      }),
      { numRuns: 5000 },
    );
    assert.equal(parseTimestampMicros('1500-01-01T00:00:00Z'), undefined);
  });
  test('property: the Z layout (read by hand) and the same instant at +00:00 (read by the general pattern) agree', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4102444800 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 999_999_999 }),
        fc.constantFrom('T', 't', ' '),
        fc.constantFrom('.', ','),
        (seconds, digits, nanos, t, sep) => {
          const base = new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', t);
          const fraction = digits === 0 ? '' : `${sep}${String(nanos).padStart(9, '0').slice(0, digits)}`;
          const zulu = parseTimestampMicros(`${base}${fraction}Z`);
          assert.equal(zulu, parseTimestampMicros(`${base}${fraction}+00:00`));
          assert.equal(zulu, seconds * 1e6 + (digits === 0 ? 0 : Math.floor(Number(String(nanos).padStart(9, '0').slice(0, digits).padEnd(9, '0')) / 1000)));
        },
      ),
      { numRuns: 5000 },
    );
    for (const bad of ['2018-03-24T17:15:2xZ', '2018-03-24T17:15:20.Z', '2018-03-24T17:15:20.12a4Z', '2018-04-31T00:00:00Z', '2018-03-24T17:15:20.1234567890Z', '2018/03/24T17:15:20Z']) {
      assert.equal(parseTimestampMicros(bad), undefined, bad);
    }
  });
});

/**
 * The float encoding is compared with Python itself: every number of the table is handed to
 * `python3` as its exact IEEE-754 bits and `repr()` there is the expected string.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fc from 'fast-check';
import { encodePythonFloat, encodeValue } from '../src/encode.ts';
import { ErrorCode, isSluiceError } from '../src/errors.ts';

const AWKWARD: readonly number[] = [
  0, -0, 1, -1, 3, 2.5, 0.1, 0.2, 0.1 + 0.2, 1 / 3, 2 / 3, 100, 1e15, 1e16, 1e17, 1e21, 1e22, 1e100, 1e300,
  1e-4, 1e-5, 1.5e-7, 0.00012, 0.000099999, 9.999999999999999e-5, 0.0001000000000000001, 1.5e-5,
  9999999999999998, Number('9999999999999999'), 999999999999999.9, Number('123456789012345680'), Number('1234567890123456.7'), 2 ** 52, 2 ** 53,
  2 ** 53 + 2, 2 ** 63, 2 ** 64, 2 ** -1074, 2 ** -1022, 2 ** -1023, Number.MIN_VALUE, Number.MAX_VALUE,
  Number.EPSILON, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1.7976931348623157e308, 2.2250738585072014e-308,
  5e-324, 123.456, -123.456, 1e-7, 3.14159, 2.718281828459045, 0.3, 1.1, 100.5, 12345.678, 1e23, 5e-5, 4.35,
  0.57, 1.005, 1.0000000000000002, 0.9999999999999999, 1399999980.5, 1400000000.123456, -1e-5, -1e16,
  Infinity, -Infinity, NaN,
];

/** Exact IEEE-754 bits of a double, as a decimal string Python reads without rounding. */
function bitsOf(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x, true);
  return view.getBigUint64(0, true).toString();
}

/** `repr()` of each number, computed by python3. */
function pythonRepr(values: readonly number[]): string[] {
  const script = [
    'import struct, sys',
    'for line in sys.stdin.read().split():',
    "    print(repr(struct.unpack('<d', int(line).to_bytes(8, 'little'))[0]))",
  ].join('\n');
  const out = execFileSync('python3', ['-c', script], { input: values.map(bitsOf).join('\n'), encoding: 'utf8' });
  return out.trimEnd().split('\n');
}

test('encodePythonFloat matches Python repr() on awkward numbers and 3000 random doubles', () => {
  const random = fc.sample(fc.double(), { seed: 20140513, numRuns: 2000 });
  const scaled = fc.sample(
    fc.tuple(fc.integer({ min: 1, max: 999_999_999 }), fc.integer({ min: -30, max: 30 })).map(([m, e]) => m * 10 ** e),
    { seed: 42, numRuns: 1000 },
  );
  const table = [...AWKWARD, ...random, ...scaled];
  const expected = pythonRepr(table);
  assert.equal(expected.length, table.length);
  const mismatches = table
    .map((x, i) => ({ x, got: encodePythonFloat(x), want: expected[i] }))
    .filter(({ got, want }) => got !== want);
  assert.deepEqual(mismatches, []);
});

test('encodePythonFloat: the layouts that differ from JavaScript String()', () => {
  assert.equal(encodePythonFloat(3), '3.0');
  assert.equal(encodePythonFloat(1e-5), '1e-05');
  assert.equal(encodePythonFloat(1e16), '1e+16');
  assert.equal(encodePythonFloat(1.5e-7), '1.5e-07');
  assert.equal(encodePythonFloat(1e-4), '0.0001');
  assert.equal(encodePythonFloat(-0), '-0.0');
  assert.equal(encodePythonFloat(NaN), 'nan');
  assert.equal(encodePythonFloat(-Infinity), '-inf');
});

test('encodeValue: integer as str(), float as repr(), string as is', () => {
  assert.equal(encodeValue(3, 'integer'), '3');
  assert.equal(encodeValue(-0, 'integer'), '0');
  assert.equal(encodeValue(3, 'float'), '3.0');
  assert.equal(encodeValue(2.5, 'float'), '2.5');
  assert.equal(encodeValue('10.0.0.1', 'string'), '10.0.0.1');
  assert.equal(encodeValue('', 'string'), '');
});

test('encodeValue rejects values that do not fit their kind with BAD_RECORD', () => {
  const cases: [string | number, 'integer' | 'float' | 'string'][] = [
    [2.5, 'integer'],
    [NaN, 'integer'],
    [2 ** 53, 'integer'],
    ['3', 'integer'],
    ['2.5', 'float'],
    [3, 'string'],
  ];
  for (const [value, kind] of cases) {
    assert.throws(
      () => encodeValue(value, kind),
      (error: unknown) => isSluiceError(error) && error.code === ErrorCode.BAD_RECORD && error.message.includes(kind),
      `${String(value)} as ${kind}`,
    );
  }
});

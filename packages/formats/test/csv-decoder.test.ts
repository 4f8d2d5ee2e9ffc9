import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CsvLineDecoder, parseCsvLine } from '../src/csv-decoder.ts';
import { readSplit } from '../src/read-split.ts';
import { createMemoryRangeReader } from './support/memory-range-reader.ts';

describe('parseCsvLine (RFC 4180)', () => {
  const cases: [string, string[]][] = [
    ['a,b,c', ['a', 'b', 'c']],
    ['', ['']],
    ['a,,', ['a', '', '']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
    ['"",""', ['', '']],
    ['x,"1,2,3"', ['x', '1,2,3']],
    ['"é€",🙂', ['é€', '🙂']],
    ['a,"b"', ['a', 'b']],
    ['a,"",', ['a', '', '']],
  ];
  for (const [line, fields] of cases) {
    test(`${JSON.stringify(line)} has fields ${JSON.stringify(fields)}`, () => {
      assert.deepEqual(parseCsvLine(line), fields);
    });
  }

  test('an unterminated quote or text after a closing quote is malformed', () => {
    assert.match(parseCsvLine('a,"b') as string, /unterminated quoted field at character 2/);
    assert.match(parseCsvLine('"a"b,c') as string, /unexpected character after the closing quote/);
    assert.match(parseCsvLine('a,b"c') as string, /a quote inside an unquoted field at character 3/);
  });
});

function decodeAll(lines: string[], compile: boolean): { records: unknown[]; bad: string[] } {
  const decoder = new CsvLineDecoder(undefined, { compile });
  const records: unknown[] = [];
  const bad: string[] = [];
  let offset = 0;
  for (const line of lines) {
    const bytes = Buffer.from(line);
    const result = decoder.decode(bytes, 0, bytes.length, offset);
    if (typeof result === 'string') bad.push(result);
    else if (result !== undefined) records.push(result);
    offset += bytes.length + 1;
  }
  return { records, bad };
}

for (const compile of [true, false]) {
  describe(`CSV records (${compile ? 'compiled records' : 'generic loop'})`, () => {
    test('the first line names the columns; values stay strings', () => {
      const { records, bad } = decodeAll(['ts,"id.orig_h",n', '1521911720.5,10.0.0.1,"1,000"', '2,,3'], compile);
      assert.deepEqual(bad, []);
      assert.deepEqual(records, [
        { ts: '1521911720.5', 'id.orig_h': '10.0.0.1', n: '1,000' },
        { ts: '2', 'id.orig_h': '', n: '3' },
      ]);
    });

    test('a wrong field count or a quoted line break becomes a dead letter', () => {
      const { records, bad } = decodeAll(['a,b', '1,2,3', '"multi', 'line",x', '4,5'], compile);
      assert.deepEqual(records, [{ a: '4', b: '5' }]);
      assert.deepEqual(bad, [
        'expected 2 fields as the header names, got 3',
        'unterminated quoted field at character 0 (quoted fields cannot span lines)',
        'a quote inside an unquoted field at character 4',
      ]);
    });

    test('a column named __proto__ is an own property', () => {
      const { records } = decodeAll(['__proto__,x', 'p,1'], compile);
      const record = records[0] as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(record), Object.prototype);
      assert.equal(Object.getOwnPropertyDescriptor(record, '__proto__')?.value, 'p');
    });
  });
}

describe('CSV splits', () => {
  test('a split not at byte 0 reads the header line from the file start; a BOM and blank lines before it are skipped', async () => {
    const text = '\uFEFF\n\nname,"count"\r\nalpha,1\r\n"be,ta",2\r\ngamma,3\r\n';
    const bytes = Buffer.from(text);
    const records: unknown[] = [];
    const offsets: number[] = [];
    for (let start = 0; start < bytes.length; start += 5) {
      for await (const batch of readSplit(createMemoryRangeReader(bytes, 3), { format: 'csv', compression: 'none', start, end: Math.min(bytes.length, start + 5) })) {
        assert.deepEqual(batch.deadLetters, []);
        records.push(...batch.records);
        offsets.push(...batch.offsets);
      }
    }
    assert.deepEqual(records, [
      { name: 'alpha', count: '1' },
      { name: 'be,ta', count: '2' },
      { name: 'gamma', count: '3' },
    ]);
    assert.deepEqual(offsets, [text.indexOf('alpha') + 2, text.indexOf('"be') + 2, text.indexOf('gamma') + 2]);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import type { RangeReader } from '@sluice/core';
import { HEAD_CHECK_BYTES } from '../src/check-text-content.ts';
import { readSplit } from '../src/read-split.ts';
import { ZeekLineDecoder } from '../src/zeek-decoder.ts';
import { createMemoryRangeReader } from './support/memory-range-reader.ts';

const HEADER = [
  '#separator \\x09',
  '#set_separator\t,',
  '#empty_field\t(empty)',
  '#unset_field\t-',
  '#path\tconn',
  '#open\t2024-04-12-19-29-12',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tduration\tbytes\tdelta\tlocal\tproto\tnet\ttags\tttls\tcounts\tpeers',
  '#types\ttime\tstring\taddr\tport\tinterval\tcount\tint\tbool\tenum\tsubnet\tset[string]\tvector[interval]\tvector[count]\tset[addr]',
];

/** Feeds `lines` to a decoder line by line, as readSplit would; returns records and dead-letter reasons. */
function decodeLines(lines: readonly string[], compile: boolean): { records: Record<string, unknown>[]; bad: string[] } {
  const decoder = new ZeekLineDecoder(undefined, { compile });
  const records: Record<string, unknown>[] = [];
  const bad: string[] = [];
  let offset = 0;
  for (const line of lines) {
    const bytes = Buffer.from(line, 'utf8');
    const result = decoder.decode(bytes, 0, bytes.length, offset);
    if (typeof result === 'string') bad.push(result);
    else if (result !== undefined) records.push(result);
    offset += bytes.length + 1;
  }
  return { records, bad };
}

for (const compile of [true, false]) {
  describe(`Zeek TSV decoding (${compile ? 'compiled records' : 'generic loop'})`, () => {
    test('decodes every type as Zeek JSON does', () => {
      const row = '1521911720.865716\tCqKst53\t10.47.1.100\t41772\t0.000870\t1024\t-3\tT\tudp\t10.0.0.0/8\ta,b\t2230.000000,41830.5\t1,2,3\t10.0.0.1,fe80::1';
      const { records, bad } = decodeLines([...HEADER, row, '#close\t2024-04-12-19-34-07'], compile);
      assert.deepEqual(bad, []);
      assert.deepEqual(records, [
        {
          _path: 'conn',
          ts: 1521911720.865716,
          uid: 'CqKst53',
          'id.orig_h': '10.47.1.100',
          'id.orig_p': 41772,
          duration: 0.00087,
          bytes: 1024,
          delta: -3,
          local: true,
          proto: 'udp',
          net: '10.0.0.0/8',
          tags: ['a', 'b'],
          ttls: [2230, 41830.5],
          counts: [1, 2, 3],
          peers: ['10.0.0.1', 'fe80::1'],
        },
      ]);
      assert.deepEqual(Object.keys(records[0] ?? {}).slice(0, 3), ['_path', 'ts', 'uid']);
    });

    test('unset fields are absent, (empty) is an empty string or an empty array, F is false', () => {
      const row = '1.5\t(empty)\t-\t-\t-\t0\t0\tF\t-\t-\t(empty)\t(empty)\t-\t(empty)';
      const { records, bad } = decodeLines([...HEADER, row], compile);
      assert.deepEqual(bad, []);
      assert.deepEqual(records, [{ _path: 'conn', ts: 1.5, uid: '', bytes: 0, delta: 0, local: false, tags: [], ttls: [], peers: [] }]);
      assert.equal('id.orig_h' in (records[0] ?? {}), false);
    });

    test('an (empty) element inside a set or vector is an empty string, as Zeek writes one', () => {
      // Zeek writes an empty string as the empty-field marker wherever it appears, a container element included.
      const row = '1\tu\th\t1\t1\t1\t1\tT\tx\tn\ta,(empty),b\t1\t1\t(empty)';
      const { records, bad } = decodeLines([...HEADER, row], compile);
      assert.deepEqual(bad, []);
      assert.deepEqual(records[0]?.tags, ['a', '', 'b']);
      const custom = decodeLines(['#set_separator\t;', '#empty_field\tEMPTY', '#fields\tv', '#types\tvector[string]', 'EMPTY;x', '(empty);EMPTY'], compile);
      assert.deepEqual(custom.bad, []);
      assert.deepEqual(custom.records, [{ v: ['', 'x'] }, { v: ['(empty)', ''] }]);
    });

    test('undoes \\x escapes of ASCII bytes, keeps escapes of bytes >= 0x80 as text, maps unset elements to null', () => {
      const row = '1\ta\\x09b\\x2c\t\\x2d\t1\t1\t1\t1\tT\tx\tn\t\\x2d,-,c\\x2cd\t1\t1\t\\xff\\xfe';
      const { records, bad } = decodeLines([...HEADER, row], compile);
      assert.deepEqual(bad, []);
      assert.equal(records[0]?.uid, 'a\tb,');
      assert.equal(records[0]?.['id.orig_h'], '-');
      assert.deepEqual(records[0]?.tags, ['-', null, 'c,d']);
      assert.deepEqual(records[0]?.peers, ['\\xff\\xfe']);
    });

    test('a wrong field count or a value that is not its type becomes a dead letter naming the field', () => {
      const good = '1\tu\th\t1\t1\t1\t1\tT\tx\tn\t(empty)\t1\t1\t(empty)';
      const cells = good.split('\t');
      const withCell = (index: number, value: string): string => cells.map((c, i) => (i === index ? value : c)).join('\t');
      const { records, bad } = decodeLines(
        [
          ...HEADER,
          good,
          good + '\textra',
          cells.slice(0, 5).join('\t'),
          withCell(3, 'http'),
          withCell(5, '1.5'),
          withCell(0, ' 1'),
          withCell(0, '0x10'),
          withCell(6, '-'),
          withCell(7, 'yes'),
          withCell(4, ''),
          withCell(11, '1,x'),
          withCell(12, '1,2.5'),
          good,
        ],
        compile,
      );
      assert.equal(records.length, 3); // good, withCell(6, '-') (an unset int), good
      assert.equal(records[1]?.delta, undefined);
      assert.deepEqual(bad, [
        'expected 14 fields separated by "\\t" as #fields declares, got 15',
        'expected 14 fields separated by "\\t" as #fields declares, got 5',
        'field id.orig_p: "http" is not a valid port',
        'field bytes: "1.5" is not a valid count',
        'field ts: " 1" is not a valid time',
        'field ts: "0x10" is not a valid time',
        'field local: "yes" is not a valid bool',
        'field duration: "" is not a valid interval',
        'field ttls: "1,x" is not a valid vector[interval]',
        'field counts: "1,2.5" is not a valid vector[count]',
      ]);
    });

    test('honours other separators, empty and unset markers, and header changes mid-stream', () => {
      const lines = [
        '#separator \\x7c',
        '#set_separator|;',
        '#empty_field|EMPTY',
        '#unset_field|NONE',
        '#fields|a|b|c',
        '#types|count|set[string]|string',
        '1|x;y|NONE',
        '2|EMPTY|EMPTY',
        '#fields|a',
        '#types|bool',
        'T',
      ];
      const { records, bad } = decodeLines(lines, compile);
      assert.deepEqual(bad, []);
      assert.deepEqual(records, [{ a: 1, b: ['x', 'y'] }, { a: 2, b: [], c: '' }, { a: true }]);
    });

    test('a field named __proto__ is an own property, not the prototype', () => {
      const { records } = decodeLines(['#fields\t__proto__\tx', '#types\tstring\tcount', 'p\t1'], compile);
      const record = records[0] ?? {};
      assert.equal(Object.getPrototypeOf(record), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(record, '__proto__')?.value, 'p');
      assert.equal(record.x, 1);
    });
  });
}

describe('Zeek TSV header', () => {
  test('a line before any #fields is a dead letter; #types without #fields is harmless', () => {
    const { records, bad } = decodeLines(['#types\tcount', '1', '#fields\tn', '2'], true);
    assert.deepEqual(bad, ['no #fields header line precedes this line']);
    assert.deepEqual(records, [{ n: 2 }]);
  });

  test('fields without #types are strings, and without #path there is no _path', () => {
    const { records } = decodeLines(['#fields\ta\tb', '1\t(empty)'], true);
    assert.deepEqual(records, [{ a: '1', b: '' }]);
  });

  test('a split not at byte 0 reads the header from the file start, once per reader', async () => {
    const text = `${HEADER.join('\n')}\n` + Array.from({ length: 30 }, (_, i) => `${i}.25\tu${i}\th\t1\t1\t${i}\t1\tT\tx\tn\t(empty)\t1\t1\t(empty)\n`).join('') + '#close\tx\n';
    const bytes = Buffer.from(text);
    const memory = createMemoryRangeReader(bytes, 50);
    let headerReads = 0;
    let contentChecks = 0;
    const reader: RangeReader = {
      ...memory,
      read: (offset, length) => {
        // The content check reads the first bytes once as well; this counts the header's reads.
        if (offset === 0 && length !== HEAD_CHECK_BYTES) headerReads += 1;
        if (offset === 0 && length === HEAD_CHECK_BYTES) contentChecks += 1;
        return memory.read(offset, length);
      },
    };
    const records: Record<string, unknown>[] = [];
    for (let start = 0; start < bytes.length; start += 97) {
      for await (const batch of readSplit(reader, { format: 'zeek', compression: 'none', start, end: Math.min(bytes.length, start + 97) })) {
        records.push(...batch.records);
        assert.deepEqual(batch.deadLetters, []);
      }
    }
    assert.deepEqual(records.map((r) => r.bytes), Array.from({ length: 30 }, (_, i) => i));
    assert.ok(records.every((r) => r._path === 'conn' && r.local === true));
    assert.equal(headerReads, 1);
    assert.equal(contentChecks, 1, 'the content check, too, reads once per reader');
    const again: unknown[] = [];
    for await (const batch of readSplit(reader, { format: 'zeek', compression: 'none', start: 500, end: 600 })) again.push(...batch.records);
    assert.ok(again.length > 0);
    assert.equal(headerReads, 1, 'the header was read again');
  });
});

describe('Zeek time values', () => {
  test('property: 6-decimal epoch seconds before 2038 round-trip exactly through Math.round(x * 1e6)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 * 1e6 - 1 }), (micros) => {
        const text = `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
        const { records } = decodeLines(['#fields\tts', '#types\ttime', text], true);
        assert.equal(Math.round((records[0]?.ts as number) * 1e6), micros);
      }),
      { numRuns: 20_000 },
    );
  });
});

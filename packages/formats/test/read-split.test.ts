import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { DeadLetter, RangeReader } from '@sluice/core';
import { HEAD_CHECK_BYTES } from '../src/check-text-content.ts';
import { OVERLONG_HEAD_BYTES, readLineSegments } from '../src/line-segments.ts';
import { readSplit } from '../src/read-split.ts';
import type { ReadSplitOptions, RecordBatch } from '../src/read-split.ts';
import { createMemoryRangeReader } from './support/memory-range-reader.ts';

interface Collected {
  records: Record<string, unknown>[];
  offsets: number[];
  deadLetters: DeadLetter[];
  batches: RecordBatch[];
}

async function collect(reader: RangeReader, options: ReadSplitOptions): Promise<Collected> {
  const out: Collected = { records: [], offsets: [], deadLetters: [], batches: [] };
  for await (const batch of readSplit(reader, options)) {
    assert.equal(batch.records.length, batch.offsets.length);
    out.records.push(...batch.records);
    out.offsets.push(...batch.offsets);
    out.deadLetters.push(...batch.deadLetters);
    out.batches.push(batch);
  }
  return out;
}

/** Splits at the given cut points, reads each, and concatenates in split order. */
async function readInSplits(bytes: Buffer, cuts: number[], options: Omit<ReadSplitOptions, 'start' | 'end'>, chunkSize: number): Promise<Collected> {
  const bounds = [0, ...cuts, bytes.length];
  const all: Collected = { records: [], offsets: [], deadLetters: [], batches: [] };
  for (let i = 0; i + 1 < bounds.length; i += 1) {
    const part = await collect(createMemoryRangeReader(bytes, chunkSize), { ...options, start: bounds[i] as number, end: bounds[i + 1] as number });
    all.records.push(...part.records);
    all.offsets.push(...part.offsets);
    all.deadLetters.push(...part.deadLetters);
    all.batches.push(...part.batches);
  }
  return all;
}

const quoteCsv = (s: string): string => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

const ndjsonText = (values: readonly unknown[]): string => values.map((v) => `${JSON.stringify(v)}\n`).join('');

describe('readSplit: Hadoop text split rule', () => {
  test('property: every line is read exactly once across any splits, in order, at its byte offset', async () => {
    const lineArb = fc.oneof(
      { weight: 1, arbitrary: fc.constant(undefined) }, // an empty line
      { weight: 5, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }, // any Unicode, multi-byte included
    );
    const fileArb = fc.record({
      lines: fc.array(fc.record({ text: lineArb, crlf: fc.boolean() }), { minLength: 0, maxLength: 25 }),
      trailingNewline: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fileArb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4 }), fc.infiniteStream(fc.integer({ min: 1, max: 200 })), async (file, chunkSize, batchSize, cutSeed) => {
        const parts: Buffer[] = [];
        const expected: { offset: number; record: unknown }[] = [];
        let offset = 0;
        file.lines.forEach((line, i) => {
          const content = line.text === undefined ? '' : JSON.stringify({ i, s: line.text });
          if (content !== '') expected.push({ offset, record: { i, s: line.text } });
          const last = i === file.lines.length - 1;
          const eol = last && !file.trailingNewline ? '' : line.crlf ? '\r\n' : '\n';
          const bytes = Buffer.from(content + eol, 'utf8');
          parts.push(bytes);
          offset += bytes.length;
        });
        const bytes = Buffer.concat(parts);
        // Random cut points: sizes from 1 byte up to the whole file.
        const cuts: number[] = [];
        const iterator = cutSeed[Symbol.iterator]();
        for (let at = 0; ; ) {
          at += Math.max(1, Math.ceil(((iterator.next().value as number) / 200) * bytes.length));
          if (at >= bytes.length) break;
          cuts.push(at);
        }
        const got = await readInSplits(bytes, cuts, { format: 'ndjson', compression: 'none', batchSize }, chunkSize);
        assert.deepEqual(got.deadLetters, []);
        assert.deepEqual(got.records, expected.map((e) => e.record));
        assert.deepEqual(got.offsets, expected.map((e) => e.offset));
        // Every byte belongs to exactly one line and every line to exactly one split.
        assert.equal(got.batches.reduce((sum, b) => sum + b.bytes, 0), bytes.length);
        for (const batch of got.batches) assert.ok(batch.records.length + batch.deadLetters.length <= batchSize);
      }),
      { numRuns: 300 },
    );
  });

  test('property: Zeek TSV and CSV records are read exactly once across splits, the header only from the file start', async () => {
    const valueArb = fc.string({ unit: 'grapheme-ascii', maxLength: 8 }).map((s) => s.replace(/[\t\n\r\\]/g, '_'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), valueArb), { maxLength: 20 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 33 }),
        async (rows, splitSize, chunkSize) => {
          const usable = rows.filter(([, s]) => s !== '-' && s !== '(empty)' && !s.startsWith('#'));
          const zeek = Buffer.from(
            '#separator \\x09\n#path\tt\n#fields\tn\ts\n#types\tcount\tstring\n' + usable.map(([n, s]) => `${n}\t${s}\n`).join('') + '#close\t2024\n',
          );
          const cutsOf = (size: number): number[] => Array.from({ length: Math.ceil(size / splitSize) - 1 }, (_, k) => (k + 1) * splitSize);
          const gotZeek = await readInSplits(zeek, cutsOf(zeek.length), { format: 'zeek', compression: 'none' }, chunkSize);
          assert.deepEqual(gotZeek.deadLetters, []);
          assert.deepEqual(gotZeek.records, usable.map(([n, s]) => ({ _path: 't', n, s })));

          const csvRows = rows.filter(([, s]) => s !== '');
          const csv = Buffer.from('n,"s"\r\n' + csvRows.map(([n, s]) => `${n},${quoteCsv(s)}\r\n`).join(''));
          const gotCsv = await readInSplits(csv, cutsOf(csv.length), { format: 'csv', compression: 'none' }, chunkSize);
          assert.deepEqual(gotCsv.deadLetters, []);
          assert.deepEqual(gotCsv.records, csvRows.map(([n, s]) => ({ n: String(n), s })));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a line starting exactly at a split boundary belongs to the split that starts there', async () => {
    const text = '{"a":1}\n{"a":2}\n{"a":3}\n';
    const bytes = Buffer.from(text);
    const first = await collect(createMemoryRangeReader(bytes, 3), { format: 'ndjson', compression: 'none', start: 0, end: 8 });
    const second = await collect(createMemoryRangeReader(bytes, 3), { format: 'ndjson', compression: 'none', start: 8, end: 9 });
    const third = await collect(createMemoryRangeReader(bytes, 3), { format: 'ndjson', compression: 'none', start: 9, end: bytes.length });
    assert.deepEqual(first.records, [{ a: 1 }]);
    assert.deepEqual(second.records, [{ a: 2 }]);
    assert.deepEqual(second.batches.at(-1)?.endOffset, 16);
    assert.deepEqual(third.records, [{ a: 3 }]);
  });

  test('a split reads past its end only to finish its last line, not the whole neighbour', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => ({ i, pad: 'x'.repeat(100) }));
    const bytes = Buffer.from(ndjsonText(lines));
    const reader = createMemoryRangeReader(bytes, 4096);
    const got = await collect(reader, { format: 'ndjson', compression: 'none', start: 0, end: 50_000 });
    assert.ok(got.records.length > 0);
    // The split's bytes, one chunk past its end, and the file's first bytes (checkTextContent).
    assert.ok(reader.bytesRead < 50_000 + 64 * 1024 + 1 + HEAD_CHECK_BYTES, `read ${reader.bytesRead} bytes`);
    assert.ok(reader.bytesRead < bytes.length);
  });

  test('a reader whose stream runs past the requested end still gives each line to one split', async () => {
    const bytes = Buffer.from(ndjsonText(Array.from({ length: 50 }, (_, i) => ({ i }))));
    const memory = createMemoryRangeReader(bytes, 64);
    const sloppy: RangeReader = { ...memory, stream: (offset) => memory.stream(offset) };
    const first = await collect(sloppy, { format: 'ndjson', compression: 'none', start: 0, end: 100 });
    const second = await collect(sloppy, { format: 'ndjson', compression: 'none', start: 100, end: bytes.length });
    assert.deepEqual([...first.records, ...second.records], Array.from({ length: 50 }, (_, i) => ({ i })));
    assert.ok(first.records.length > 0 && second.records.length > 0);
  });

  test('a multi-byte character cut by every possible chunk boundary decodes intact', async () => {
    const bytes = Buffer.from(ndjsonText([{ s: 'é€𝄞漢' }, { s: '🙂' }]));
    for (let chunkSize = 1; chunkSize <= bytes.length; chunkSize += 1) {
      const got = await collect(createMemoryRangeReader(bytes, chunkSize), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length });
      assert.deepEqual(got.records, [{ s: 'é€𝄞漢' }, { s: '🙂' }]);
    }
  });

  test('batches hold exactly batchSize items whatever the chunk size', async () => {
    const bytes = Buffer.from(ndjsonText(Array.from({ length: 10 }, (_, i) => ({ i }))).replace('{"i":4}', 'oops'));
    for (const chunkSize of [1, 5, 1000]) {
      const got = await collect(createMemoryRangeReader(bytes, chunkSize), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length, batchSize: 3 });
      assert.deepEqual(got.batches.map((b) => b.records.length + b.deadLetters.length), [3, 3, 3, 1]);
      const lineEnds = [...bytes.toString().matchAll(/\n/g)].map((m) => (m.index as number) + 1);
      assert.deepEqual(got.batches.map((b) => b.endOffset), [lineEnds[2], lineEnds[5], lineEnds[8], bytes.length]);
    }
  });

  test('a UTF-8 byte order mark at the start of the file is ignored', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n')]);
    const got = await collect(createMemoryRangeReader(bytes), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length });
    assert.deepEqual(got.records, [{ a: 1 }]);
  });

  test('a first line holding only a byte order mark is blank in every format, in one split or several', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const files = {
      ndjson: { text: '\r\n{"a":"1"}\n{"a":"2"}\n' },
      csv: { text: '\r\na\n1\n2\n' },
      zeek: { text: '\n#separator \\x09\n#fields\ta\n#types\tstring\n1\n2\n' },
    } as const;
    for (const [format, file] of Object.entries(files)) {
      const bytes = Buffer.concat([bom, Buffer.from(file.text)]);
      for (const cuts of [[], [bom.length + 2], [2, bytes.length - 3]]) {
        const got = await readInSplits(bytes, cuts, { format: format as ReadSplitOptions['format'], compression: 'none' }, 4);
        assert.deepEqual(got.deadLetters, [], `${format} with cuts ${cuts}`);
        assert.deepEqual(got.records, [{ a: '1' }, { a: '2' }], `${format} with cuts ${cuts}`);
      }
    }
  });
});

describe('readSplit: NDJSON dead letters', () => {
  test('lines that are not JSON objects become dead letters with their offsets; the split goes on', async () => {
    const text = `{"a":1}\n{"a":\n\n[1,2]\n42\nnull\n{"a":2}\r\n{"big":"${'é'.repeat(800)}`;
    const bytes = Buffer.from(text);
    const got = await collect(createMemoryRangeReader(bytes, 7, 'mem://logs/x.ndjson'), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length });
    assert.deepEqual(got.records, [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(got.offsets, [0, text.indexOf('{"a":2}')]);
    const starts = [8, 15, 21, 24, Buffer.byteLength(text.slice(0, text.indexOf('{"big"')))];
    assert.deepEqual(got.deadLetters.map((d) => d.provenance), starts.map((o) => `mem://logs/x.ndjson@${o}`));
    assert.match(got.deadLetters[0]?.reason ?? '', /^invalid JSON: /);
    assert.equal(got.deadLetters[0]?.raw, '{"a":');
    assert.equal(got.deadLetters[1]?.reason, 'not a JSON object: the line holds an array');
    assert.equal(got.deadLetters[2]?.reason, 'not a JSON object: the line holds a number');
    assert.equal(got.deadLetters[3]?.reason, 'not a JSON object: the line holds null');
    // The raw line is cut to 1 KiB on a character boundary.
    const raw = got.deadLetters[4]?.raw ?? '';
    assert.ok(Buffer.byteLength(raw) <= 1024 && Buffer.byteLength(raw) > 1020);
    assert.ok(raw.startsWith('{"big":"éé') && !raw.includes('\uFFFD'));
  });
});

describe('readSplit: resumeFrom', () => {
  const values = Array.from({ length: 40 }, (_, i) => ({ i, s: i % 3 === 0 ? 'ü' : 'x' }));
  const text = ndjsonText(values);
  const plain = Buffer.from(text);

  for (const compression of ['none', 'gzip'] as const) {
    test(`resuming at any record offset or batch end yields exactly the rest (${compression})`, async () => {
      const bytes = compression === 'gzip' ? gzipSync(plain) : plain;
      const options = { format: 'ndjson', compression, start: 0, end: bytes.length, batchSize: 7 } as const;
      const whole = await collect(createMemoryRangeReader(bytes, 13), options);
      const resumePoints = [...whole.offsets, ...whole.batches.map((b) => b.endOffset)];
      for (const resumeFrom of resumePoints) {
        const rest = await collect(createMemoryRangeReader(bytes, 13), { ...options, resumeFrom });
        const k = whole.offsets.findIndex((o) => o >= resumeFrom);
        const expectedOffsets = k === -1 ? [] : whole.offsets.slice(k);
        assert.deepEqual(rest.offsets, expectedOffsets);
        assert.deepEqual(rest.records, k === -1 ? [] : whole.records.slice(k));
        const restBytes = rest.batches.reduce((sum, b) => sum + b.bytes, 0);
        if (compression === 'none') assert.equal(restBytes, plain.length - Math.min(resumeFrom, plain.length));
        // gzip counts the compressed bytes fed after the resume point: at most the file, at least its trailer.
        else assert.ok(restBytes >= 0 && restBytes <= bytes.length && (resumeFrom > 0 || restBytes === bytes.length), `${restBytes} of ${bytes.length} at ${resumeFrom}`);
      }
    });
  }

  test('a plain-text resume seeks: it does not read the bytes before the resume point', async () => {
    const reader = createMemoryRangeReader(plain, 16);
    const resumeFrom = text.indexOf('{"i":30,');
    const rest = await collect(reader, { format: 'ndjson', compression: 'none', start: 0, end: plain.length, resumeFrom });
    assert.deepEqual(rest.records, values.slice(30));
    assert.equal(reader.bytesRead, plain.length - resumeFrom + 1 + HEAD_CHECK_BYTES, 'from the byte before the resume point, and the file\'s first bytes once');
  });

  test('a Zeek split resumed in the middle still knows the header (plain: ranged read, gzip: in-stream)', async () => {
    const zeek = '#separator \\x09\n#path\tp\n#fields\tn\n#types\tcount\n1\n2\n3\n#close\tx\n';
    const resumeFrom = zeek.indexOf('2\n');
    for (const compression of ['none', 'gzip'] as const) {
      const bytes = compression === 'gzip' ? gzipSync(zeek) : Buffer.from(zeek);
      const got = await collect(createMemoryRangeReader(bytes, 5), { format: 'zeek', compression, start: 0, end: bytes.length, resumeFrom });
      assert.deepEqual(got.records, [{ _path: 'p', n: 2 }, { _path: 'p', n: 3 }]);
      assert.deepEqual(got.offsets, [resumeFrom, resumeFrom + 2]);
    }
  });
});

/** One Zeek log: its header block, its rows, its `#close` line. */
const zeekLog = (fields: string, types: string, rows: readonly string[]): string =>
  `#separator \\x09\n#path\tp\n#fields\t${fields}\n#types\t${types}\n${rows.map((row) => `${row}\n`).join('')}#close\tx\n`;

describe('readSplit: concatenated Zeek logs', () => {
  const first = zeekLog('n\ts', 'count\tstring', ['1\ta', '2\tb', '3\tc']);
  const second = zeekLog('host\tup', 'string\tbool', ['h1\tT', 'h2\tF']);

  test('plain text: a split that meets a second, different header fails with CORRUPT_INPUT naming its byte offset', async () => {
    const bytes = Buffer.from(first + second);
    // The second block repeats `#separator` and `#path`; its `#fields` line is the first that changes the header.
    const at = (first + second).indexOf('#fields\thost');
    // In one split or several, the split holding the second block rejects rather than decode it with the first header.
    for (const cuts of [[], [Math.floor(at / 2)], [first.length - 3], [first.length], [at - 2]]) {
      await assert.rejects(readInSplits(bytes, cuts, { format: 'zeek', compression: 'none' }, 7), (error: unknown) => {
        assert.ok(isSluiceError(error));
        assert.equal(error.code, ErrorCode.CORRUPT_INPUT);
        assert.equal(error.retryable, false);
        assert.equal(error.context.offset, at);
        assert.match(error.message, new RegExp(`mem://test/file: the header line at byte ${at} `));
        assert.match(error.message, /gzip the file/);
        return true;
      }, `cuts ${cuts.join(',')}`);
    }
  });

  test('plain text: repeated identical header blocks read as one log, in one split or several', async () => {
    const bytes = Buffer.from(first + first + first);
    const whole = await collect(createMemoryRangeReader(bytes, 7), { format: 'zeek', compression: 'none', start: 0, end: bytes.length });
    const expected = [1, 2, 3, 1, 2, 3, 1, 2, 3].map((n) => ({ _path: 'p', n, s: 'abc'[n - 1] }));
    assert.deepEqual(whole.records, expected);
    for (const size of [5, 17, first.length, 40]) {
      const cuts = Array.from({ length: Math.ceil(bytes.length / size) - 1 }, (_, k) => (k + 1) * size);
      const got = await readInSplits(bytes, cuts, { format: 'zeek', compression: 'none' }, 7);
      assert.deepEqual(got.deadLetters, []);
      assert.deepEqual(got.records, expected, `split size ${size}`);
      assert.deepEqual(got.offsets, whole.offsets);
    }
  });

  test('gzip: a second, different header applies to the lines after it', async () => {
    const bytes = gzipSync(first + second);
    const got = await collect(createMemoryRangeReader(bytes, 7), { format: 'zeek', compression: 'gzip', start: 0, end: bytes.length });
    assert.deepEqual(got.deadLetters, []);
    assert.deepEqual(got.records, [
      { _path: 'p', n: 1, s: 'a' },
      { _path: 'p', n: 2, s: 'b' },
      { _path: 'p', n: 3, s: 'c' },
      { _path: 'p', host: 'h1', up: true },
      { _path: 'p', host: 'h2', up: false },
    ]);
  });
});

describe('readSplit: maxLineBytes', () => {
  test('property: a line over the limit is one dead letter with its offset and first bytes, whatever the chunks and splits', async () => {
    const lineArb = fc.record({ n: fc.nat(), pad: fc.nat({ max: 120 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 20, max: 90 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 5 }),
        async (lines, maxLineBytes, chunkSize, splitSize, batchSize) => {
          const texts = lines.map(({ n, pad }) => `${JSON.stringify({ n, p: 'x'.repeat(pad) })}\n`);
          const bytes = Buffer.from(texts.join(''));
          const expectedRecords: unknown[] = [];
          const expectedDead: DeadLetter[] = [];
          let offset = 0;
          texts.forEach((text, k) => {
            if (text.length <= maxLineBytes) expectedRecords.push({ n: lines[k]?.n, p: 'x'.repeat(lines[k]?.pad ?? 0) });
            else {
              expectedDead.push({
                provenance: `mem://test/file@${offset}`,
                reason: `line of ${text.length} bytes exceeds the longest line read, ${maxLineBytes} bytes (maxLineBytes)`,
                raw: text.slice(0, maxLineBytes),
              });
            }
            offset += text.length;
          });
          const cuts = Array.from({ length: Math.ceil(bytes.length / splitSize) - 1 }, (_, k) => (k + 1) * splitSize);
          const got = await readInSplits(bytes, cuts, { format: 'ndjson', compression: 'none', maxLineBytes, batchSize }, chunkSize);
          assert.deepEqual(got.records, expectedRecords);
          assert.deepEqual(got.deadLetters, expectedDead);
          // The batches of one split depend on the file, not on how its bytes arrived.
          const whole = await collect(createMemoryRangeReader(bytes, chunkSize), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length, maxLineBytes, batchSize });
          const oneChunk = await collect(createMemoryRangeReader(bytes, bytes.length), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length, maxLineBytes, batchSize });
          assert.deepEqual(whole.batches, oneChunk.batches);
          const gz = await collect(createMemoryRangeReader(gzipSync(bytes), chunkSize), { format: 'ndjson', compression: 'gzip', start: 0, end: bytes.length, maxLineBytes, batchSize });
          assert.deepEqual(gz.records, expectedRecords);
          assert.deepEqual(gz.deadLetters, expectedDead);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a file without line breaks is streamed past, never held whole: every piece handed out stays small', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const chunkCount = 512; // 32 MiB, twice the default limit
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let k = 0; k < chunkCount; k += 1) yield chunk;
    }
    const segments = [];
    for await (const segment of readLineSegments(chunks(), 0, false, Number.POSITIVE_INFINITY, 1024 * 1024)) segments.push(segment);
    assert.equal(segments.length, 1);
    assert.equal(segments[0]?.overlong, chunk.length * chunkCount);
    assert.equal(segments[0]?.buf.length, OVERLONG_HEAD_BYTES);
  });

  test('the default limit, 16 MiB, makes a longer line a dead letter and reads on', async () => {
    const long = `{"big":"${'y'.repeat(17 * 1024 * 1024)}"}\n`;
    const bytes = Buffer.from(`{"a":1}\n${long}{"a":2}\n`);
    const got = await collect(createMemoryRangeReader(bytes), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length });
    assert.deepEqual(got.records, [{ a: 1 }, { a: 2 }]);
    assert.equal(got.deadLetters.length, 1);
    assert.equal(got.deadLetters[0]?.provenance, 'mem://test/file@8');
    assert.match(got.deadLetters[0]?.reason ?? '', new RegExp(`^line of ${long.length} bytes exceeds the longest line read, ${16 * 1024 * 1024} bytes`));
    assert.equal(got.deadLetters[0]?.raw, long.slice(0, 1024));
  });

  test('Zeek and CSV: long data lines are dead letters, a long header line fails the split with CORRUPT_INPUT', async () => {
    const zeek = Buffer.from(`#fields\tn\ts\n#types\tcount\tstring\n1\ta\n2\t${'b'.repeat(200)}\n3\tc\n`);
    const csv = Buffer.from(`n,s\n1,a\n2,${'b'.repeat(200)}\n3,c\n`);
    for (const [format, bytes, expected] of [
      ['zeek', zeek, [{ n: 1, s: 'a' }, { n: 3, s: 'c' }]],
      ['csv', csv, [{ n: '1', s: 'a' }, { n: '3', s: 'c' }]],
    ] as const) {
      for (const cuts of [[], [bytes.length - 10], [bytes.length - 60, bytes.length - 6]]) {
        const got = await readInSplits(bytes, cuts, { format, compression: 'none', maxLineBytes: 100 }, 16);
        assert.deepEqual(got.records, expected, `${format} cuts ${cuts.join(',')}`);
        assert.equal(got.deadLetters.length, 1);
        assert.match(got.deadLetters[0]?.reason ?? '', /^line of 203 bytes exceeds/);
      }
    }
    const longZeekHeader = Buffer.from(`#fields\t${'f'.repeat(200)}\n1\n`);
    const longCsvHeader = Buffer.from(`${'h'.repeat(200)}\n1\n`);
    for (const [format, bytes] of [['zeek', longZeekHeader], ['csv', longCsvHeader]] as const) {
      await assert.rejects(collect(createMemoryRangeReader(bytes, 16), { format, compression: 'none', start: 0, end: bytes.length, maxLineBytes: 100 }), (error: unknown) => {
        assert.ok(isSluiceError(error));
        assert.equal(error.code, ErrorCode.CORRUPT_INPUT);
        assert.match(error.message, /header line at byte 0 is 20\d bytes long, over the longest line read \(maxLineBytes 100\)/);
        return true;
      });
    }
  });

  test('Zeek: a first record longer than the limit is one dead letter; the splits after it still find the header', async () => {
    const header = '#separator \\x09\n#fields\tn\ts\n#types\tcount\tstring\n';
    const long = `1\t${'L'.repeat(17 * 1024 * 1024)}\n`;
    const bytes = Buffer.from(`${header}${long}2\tb\n3\tc\n`);
    const got = await readInSplits(bytes, [header.length + 10, header.length + long.length + 2], { format: 'zeek', compression: 'none' }, 1024 * 1024);
    assert.deepEqual(got.records, [{ n: 2, s: 'b' }, { n: 3, s: 'c' }]);
    assert.deepEqual(got.deadLetters.map((letter) => letter.provenance), [`mem://test/file@${header.length}`]);
  });

  test('resuming past a long line skips it without a second dead letter', async () => {
    const bytes = Buffer.from(`{"a":1}\n{"x":"${'z'.repeat(300)}"}\n{"a":2}\n`);
    const resumeFrom = bytes.indexOf('{"a":2}');
    const got = await collect(createMemoryRangeReader(bytes, 7), { format: 'ndjson', compression: 'none', start: 0, end: bytes.length, maxLineBytes: 64, resumeFrom });
    assert.deepEqual(got.records, [{ a: 2 }]);
    assert.deepEqual(got.deadLetters, []);
  });
});

/** Reads until the error; returns the records and the endOffset of the last batch before it. */
async function readUntilError(bytes: Buffer): Promise<{ records: unknown[]; lastEnd: number; error: unknown }> {
  const records: unknown[] = [];
  let lastEnd = 0;
  try {
    const options = { format: 'ndjson', compression: 'gzip', start: 0, end: bytes.length, batchSize: 100 } as const;
    for await (const batch of readSplit(createMemoryRangeReader(bytes, 512, 'mem://x.ndjson.gz'), options)) {
      records.push(...batch.records);
      lastEnd = batch.endOffset;
    }
  } catch (error) {
    return { records, lastEnd, error };
  }
  assert.fail('no error thrown');
}

describe('readSplit: gzip', () => {
  const text = ndjsonText(Array.from({ length: 3000 }, (_, i) => ({ i, text: `record number ${i} ${'z'.repeat(i % 50)}` })));

  test('decodes a gzip file as one split, with offsets in the uncompressed stream', async () => {
    const bytes = gzipSync(text);
    const got = await collect(createMemoryRangeReader(bytes, 1000), { format: 'ndjson', compression: 'gzip', start: 0, end: bytes.length });
    assert.equal(got.records.length, 3000);
    assert.equal(got.offsets[1], text.indexOf('{"i":1,'));
    assert.equal(got.batches.at(-1)?.endOffset, Buffer.byteLength(text));
    // Progress is counted in file bytes, the unit of a run's total: the compressed size.
    assert.equal(got.batches.reduce((sum, batch) => sum + batch.bytes, 0), bytes.length);
    assert.ok(got.batches.filter((batch) => batch.bytes > 0).length > 1, 'bytes are spread over the batches as the file is read');
  });

  test('decodes concatenated gzip members as one stream', async () => {
    const bytes = Buffer.concat([gzipSync('{"m":1}\n{"m":2}\n'), gzipSync('{"m":3}\n')]);
    const got = await collect(createMemoryRangeReader(bytes, 4), { format: 'ndjson', compression: 'gzip', start: 0, end: bytes.length });
    assert.deepEqual(got.records, [{ m: 1 }, { m: 2 }, { m: 3 }]);
    assert.deepEqual(got.offsets, [0, 8, 16]);
  });

  function assertCorruptInput(error: unknown, lastEnd: number): void {
    assert.ok(isSluiceError(error));
    assert.equal(error.code, ErrorCode.CORRUPT_INPUT);
    assert.equal(error.retryable, false);
    assert.equal(error.context.url, 'mem://x.ndjson.gz');
    const reached = error.context.uncompressedOffset as number;
    assert.ok(reached >= lastEnd && reached < Buffer.byteLength(text), `reached ${reached}, last batch ended at ${lastEnd}`);
  }

  const lines = text.split('\n');

  test('a truncated gzip file yields exactly the records before the cut, then throws CORRUPT_INPUT', async () => {
    const gz = gzipSync(text);
    const { records, lastEnd, error } = await readUntilError(gz.subarray(0, Math.floor(gz.length * 0.6)));
    assertCorruptInput(error, lastEnd);
    assert.ok(records.length > 1000, `only ${records.length} records before the cut`);
    assert.deepEqual(records, lines.slice(0, records.length).map((line) => JSON.parse(line)));
    assert.equal(lastEnd, Buffer.byteLength(lines.slice(0, records.length).join('\n')) + 1);
  });

  test('a gzip file corrupt in the middle yields the records before the damage, then throws CORRUPT_INPUT', async () => {
    const gz = gzipSync(text);
    const at = Math.floor(gz.length * 0.6);
    const damaged = Buffer.concat([gz.subarray(0, at), Buffer.alloc(400, 0xaa), gz.subarray(at + 400)]);
    const { records, lastEnd, error } = await readUntilError(damaged);
    assertCorruptInput(error, lastEnd);
    // Deflate has no checksum per block: bytes inflated from the damaged region are only caught by
    // the member's CRC, so only the records before the damage are known to be exact.
    assert.ok(records.length > 1000, `only ${records.length} records before the damage`);
    assert.deepEqual(records.slice(0, 1000), lines.slice(0, 1000).map((line) => JSON.parse(line)));
  });

  test('refuses a gzip split that does not start at 0', async () => {
    const bytes = gzipSync(text);
    await assert.rejects(collect(createMemoryRangeReader(bytes), { format: 'ndjson', compression: 'gzip', start: 10, end: bytes.length }), (error: unknown) => {
      assert.ok(isSluiceError(error));
      assert.equal(error.code, ErrorCode.INVALID_CONFIG);
      assert.match(error.message, /not splittable/);
      return true;
    });
  });
});

describe('readSplit: options', () => {
  for (const [what, options] of [
    ['an unknown format', { format: 'xml', compression: 'none', start: 0, end: 1 }],
    ['an unknown compression', { format: 'ndjson', compression: 'zstd', start: 0, end: 1 }],
    ['end before start', { format: 'ndjson', compression: 'none', start: 5, end: 1 }],
    ['a zero batch size', { format: 'ndjson', compression: 'none', start: 0, end: 1, batchSize: 0 }],
    ['a negative resume point', { format: 'ndjson', compression: 'none', start: 0, end: 1, resumeFrom: -1 }],
    ['a zero line limit', { format: 'ndjson', compression: 'none', start: 0, end: 1, maxLineBytes: 0 }],
    ['a line limit past what a string can hold', { format: 'ndjson', compression: 'none', start: 0, end: 1, maxLineBytes: 2 ** 30 }],
  ] as const) {
    test(`refuses ${what} with INVALID_CONFIG`, async () => {
      await assert.rejects(collect(createMemoryRangeReader(Buffer.from('{}\n')), options as unknown as ReadSplitOptions), (error: unknown) => {
        assert.ok(isSluiceError(error));
        assert.equal(error.code, ErrorCode.INVALID_CONFIG);
        return true;
      });
    });
  }

  test('an empty split or a split past the end of the file yields nothing', async () => {
    const bytes = Buffer.from('{"a":1}\n');
    assert.deepEqual((await collect(createMemoryRangeReader(bytes), { format: 'ndjson', compression: 'none', start: 3, end: 3 })).batches, []);
    assert.deepEqual((await collect(createMemoryRangeReader(bytes), { format: 'ndjson', compression: 'none', start: 100, end: 200 })).batches, []);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { planTextSplits } from '@sluice/formats';
import { PAYLOAD_VERSION, decodeSplitPayload } from '@sluice/queue';
import type { SplitPayload } from '@sluice/queue';
import { mergeAdjacentSplits, planBackfill } from '../src/index.ts';
import type { InputFile } from '../src/index.ts';

const run = { runId: 'r1', job: 'network-metrics', splitSize: 1000, options: { timeShift: '86400', recordType: 'dns' } };

/** Text files are planned from their size alone: a reader that is opened fails the test. */
const noReader = (url: string): RangeReader => {
  throw new Error(`planning ${url} must not read it`);
};

function memoryReader(url: string, bytes: Uint8Array): RangeReader {
  return {
    url,
    size: async () => bytes.length,
    read: async (offset, length) => bytes.slice(offset, Math.min(bytes.length, offset + length)),
    async *stream(offset, end) {
      yield bytes.slice(offset, Math.min(bytes.length, end ?? bytes.length));
    },
  };
}

const files: InputFile[] = [
  { url: 'webhdfs://nn:9870/archive/ssl.ndjson', size: 2500 },
  { url: 'webhdfs://nn:9870/archive/dns.log.gz', size: 5000 },
  { url: 'webhdfs://nn:9870/archive/conn.csv', size: 900 },
  // Within 10% of the split size: one split rather than a sliver.
  { url: 'webhdfs://nn:9870/archive/a/x.ndjson', size: 1050 },
];

test('split ids name the file and byte range; ordinals follow the sorted URLs', async () => {
  const plan = await planBackfill(run, files, noReader);
  assert.deepEqual(plan.splits.map((s) => [s.ordinal, s.splitId]), [
    [0, 'webhdfs://nn:9870/archive/a/x.ndjson#0-1050'],
    [1, 'webhdfs://nn:9870/archive/conn.csv#0-900'],
    [2, 'webhdfs://nn:9870/archive/dns.log.gz#0-5000'],
    [3, 'webhdfs://nn:9870/archive/ssl.ndjson#0-1000'],
    [4, 'webhdfs://nn:9870/archive/ssl.ndjson#1000-2000'],
    [5, 'webhdfs://nn:9870/archive/ssl.ndjson#2000-2500'],
  ]);
  assert.equal(plan.files, 4);
  assert.equal(plan.bytes, 2500 + 5000 + 900 + 1050);
  assert.deepEqual(plan.splits.map((s) => [s.format, s.compression]), [['ndjson', 'none'], ['csv', 'none'], ['zeek', 'gzip'], ['ndjson', 'none'], ['ndjson', 'none'], ['ndjson', 'none']]);
});

test('split ids do not depend on the listing order or on other files, so a resubmitted run finds its fences', async () => {
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(files, { minLength: 1 }), fc.integer({ min: 100, max: 6000 }), async (subset, splitSize) => {
      const all = await planBackfill({ ...run, splitSize }, files, noReader);
      const some = await planBackfill({ ...run, splitSize }, subset, noReader);
      const ids = new Set(all.splits.map((s) => s.splitId));
      for (const s of some.splits) assert.ok(ids.has(s.splitId), s.splitId);
      assert.deepEqual(some.splits.map((s) => s.ordinal), some.splits.map((_, i) => i));
      const urls = some.splits.map((s) => s.url);
      assert.deepEqual(urls, [...urls].sort());
    }),
  );
});

test('a gzip file is one split whatever its size; plain text is cut by planTextSplits', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), async (size, divisor) => {
      const splitSize = Math.max(1, Math.floor(size / (divisor % 500 + 0.5)));
      const plan = await planBackfill({ ...run, splitSize }, [{ url: 'file:///d/big.ndjson.gz', size }, { url: 'file:///d/big.ndjson', size }], noReader);
      const gz = plan.splits.filter((s) => s.compression === 'gzip');
      assert.deepEqual(gz.map((s) => [s.start, s.end]), [[0, size]]);
      const plain = plan.splits.filter((s) => s.compression === 'none');
      assert.deepEqual(plain.map((s) => ({ start: s.start, end: s.end })), planTextSplits(size, splitSize));
    }),
    { numRuns: 50 },
  );
});

test('every payload carries the run, the job and a copy of the options, and decodes as a split payload', async () => {
  const plan = await planBackfill(run, files, noReader);
  for (const split of plan.splits) {
    assert.equal(split.v, PAYLOAD_VERSION);
    assert.equal(split.runId, 'r1');
    assert.equal(split.job, 'network-metrics');
    assert.deepEqual(split.options, run.options);
    assert.ok(split.splitId.startsWith(`${split.url}#`));
    assert.deepEqual(decodeSplitPayload(JSON.parse(JSON.stringify(split))), split);
  }
});

test('a Parquet file is planned from its footer as row ranges of whole row groups', async () => {
  const rows = 100;
  const bytes = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'n', data: Int32Array.from({ length: rows }, (_, i) => i), type: 'INT32' }], rowGroupSize: 30 }));
  const url = 'webhdfs://nn:9870/archive/t.parquet';
  const opened: string[] = [];
  const plan = await planBackfill({ ...run, splitSize: 1 }, [{ url, size: bytes.length }], (u) => {
    opened.push(u);
    return memoryReader(u, bytes);
  });
  assert.deepEqual(opened, [url]);
  assert.deepEqual(plan.splits.map((s) => [s.splitId, s.format, s.compression, s.start, s.end]), [
    [`${url}#rows=0-30`, 'parquet', 'none', 0, 30],
    [`${url}#rows=30-60`, 'parquet', 'none', 30, 60],
    [`${url}#rows=60-90`, 'parquet', 'none', 60, 90],
    [`${url}#rows=90-100`, 'parquet', 'none', 90, 100],
  ]);
});

test('a Parquet file whose footer does not decode is one split of all its rows, beside the other files\' splits', async () => {
  const good = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'n', data: Int32Array.from({ length: 10 }, (_, i) => i), type: 'INT32' }] }));
  const bad = new Uint8Array(Buffer.from('this is no Parquet file, only text that ends without PAR1'));
  const contents = { 'webhdfs://nn:9870/a/bad.parquet': bad, 'webhdfs://nn:9870/a/good.parquet': good };
  const plan = await planBackfill(run, Object.entries(contents).map(([url, b]) => ({ url, size: b.length })), (u) => memoryReader(u, contents[u as keyof typeof contents]));
  assert.deepEqual(plan.splits.map((s) => [s.splitId, s.start, s.end]), [
    ['webhdfs://nn:9870/a/bad.parquet#rows=0-end', 0, Number.MAX_SAFE_INTEGER],
    ['webhdfs://nn:9870/a/good.parquet#rows=0-10', 0, 10],
  ]);
  for (const split of plan.splits) assert.deepEqual(decodeSplitPayload(JSON.parse(JSON.stringify(split))), split);
});

test('an input that matched no file is NOT_FOUND and not retried; an unknown file type is a config error', async () => {
  await assert.rejects(planBackfill(run, [], noReader), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.NOT_FOUND && !e.retryable && e.context.runId === 'r1');
  await assert.rejects(
    planBackfill(run, [{ url: 'file:///d/notes.txt', size: 10 }], noReader),
    (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && !e.retryable && e.message.includes('notes.txt'),
  );
});

test('adjacent splits of one file merge into one range of the whole file; other files and gzip stay apart', async () => {
  const plan = await planBackfill(run, files, noReader);
  const merged = mergeAdjacentSplits(plan.splits);
  assert.deepEqual(
    merged.map((m) => [m.url, m.start, m.end, m.parts.length]),
    [
      ['webhdfs://nn:9870/archive/a/x.ndjson', 0, 1050, 1],
      ['webhdfs://nn:9870/archive/conn.csv', 0, 900, 1],
      ['webhdfs://nn:9870/archive/dns.log.gz', 0, 5000, 1],
      ['webhdfs://nn:9870/archive/ssl.ndjson', 0, 2500, 3],
    ],
  );
  assert.deepEqual(merged.flatMap((m) => m.parts), plan.splits, 'every split is in exactly one range, in order');
});

test('merged ranges cover exactly the bytes of the splits they hold, whatever the sizes', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5_000 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 2_000 }), (sizes, splitSize) => {
      const splits = sizes.flatMap(([file, size], i) =>
        planTextSplits(size, splitSize).map((r): SplitPayload => ({ v: PAYLOAD_VERSION, runId: 'r', job: 'j', splitId: `${i}#${r.start}`, ordinal: 0, url: `file:///f${file}.ndjson`, format: 'ndjson', compression: 'none', start: r.start, end: r.end, options: {} })),
      );
      const merged = mergeAdjacentSplits(splits);
      assert.deepEqual(merged.flatMap((m) => m.parts), splits);
      for (const m of merged) {
        assert.equal(m.start, m.parts[0]?.start);
        assert.equal(m.end, m.parts.at(-1)?.end);
        for (const [k, part] of m.parts.entries()) {
          assert.equal(part.url, m.url);
          if (k > 0) assert.equal(part.start, m.parts[k - 1]?.end, 'only contiguous splits merge');
        }
      }
      for (let k = 1; k < merged.length; k += 1) {
        const [a, b] = [merged[k - 1], merged[k]];
        assert.ok(a?.url !== b?.url || a?.end !== b?.start, 'two ranges that could merge were left apart');
      }
    }),
  );
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { parquetMetadata } from 'hyparquet';
import { parseTimestampMicros } from '../src/parse-timestamp.ts';
import { planParquetSplits } from '../src/plan-parquet-splits.ts';
import { readSplit } from '../src/read-split.ts';
import type { ReadSplitOptions, RecordBatch } from '../src/read-split.ts';
import { createMemoryRangeReader } from './support/memory-range-reader.ts';
import { FIXTURE_COLUMNS, fixtureMicros, fixtureRecord, writeFixture, writeParquet } from './support/parquet-fixture.ts';
import type { FixtureCodec } from './support/parquet-fixture.ts';

type ParquetOptions = Omit<ReadSplitOptions, 'format' | 'compression'>;

async function readAll(reader: RangeReader, options: ParquetOptions): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of readSplit(reader, { format: 'parquet', compression: 'none', ...options })) batches.push(batch);
  return batches;
}

const recordsOf = (batches: readonly RecordBatch[]): Record<string, unknown>[] => batches.flatMap((b) => b.records);
const offsetsOf = (batches: readonly RecordBatch[]): number[] => batches.flatMap((b) => b.offsets);
const floorDiv = (a: bigint, b: bigint): bigint => (a % b < 0n ? a / b - 1n : a / b);
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

function isCorruptInput(url: string) {
  return (error: unknown): boolean => {
    assert.ok(isSluiceError(error), `expected a SluiceError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.CORRUPT_INPUT);
    assert.equal(error.retryable, false);
    assert.equal(error.context.url, url);
    assert.ok(error.message.includes(url), 'the message names the file');
    return true;
  };
}

describe('readSplit: Parquet rows', () => {
  test('property: any row range gives exactly its rows, as records like Zeek JSON, at their row indices', async () => {
    const rows = 57;
    const bytes = writeFixture(rows, { rowGroupSize: [5, 11, 8] });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: rows + 5 }), fc.integer({ min: 0, max: rows + 5 }), fc.integer({ min: 1, max: 20 }), async (a, b, batchSize) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        const batches = await readAll(createMemoryRangeReader(bytes), { start, end, batchSize });
        const expected = range(start, Math.min(end, rows));
        assert.deepEqual(offsetsOf(batches), expected);
        assert.deepEqual(recordsOf(batches), expected.map(fixtureRecord));
        // Batch boundaries depend on the split only: exactly batchSize records except the last.
        batches.forEach((batch, k) => {
          if (k < batches.length - 1) assert.equal(batch.records.length, batchSize);
          assert.equal(batch.endOffset, (batch.offsets.at(-1) as number) + 1);
          assert.deepEqual(batch.deadLetters, []);
        });
      }),
      { numRuns: 80 },
    );
  });

  test('values: nulls absent, INT64 a number when safe and a bigint beyond 2^53, microsecond timestamps exact', async () => {
    const records = recordsOf(await readAll(createMemoryRangeReader(writeFixture(14)), { start: 0, end: 14 }));
    assert.deepEqual(records[4], { row: 4, _path: 'dns', established: false, port: 4000, rtt: 4 / 7, ts: '2018-03-24T17:15:24.865720Z', answers: ['a4', 4] });
    assert.equal(records[12]?.port, 2n ** 60n + 19n);
    assert.equal('id.orig_h' in (records[9] as object), false);
    assert.equal(records[3]?.['id.orig_h'], '10.0.3.3', 'a column whose name has a dot is one top-level field');
    for (const [i, record] of records.entries()) assert.equal(parseTimestampMicros(record.ts), Number(fixtureMicros(i)));
  });

  test('TIMESTAMP in milliseconds and nanoseconds keeps its precision', async () => {
    const bytes = writeParquet([
      { name: 'ms', element: { type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' } }, data: [1_521_911_720_865n, -1n] },
      { name: 'ns', element: { type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'NANOS' } }, data: [1_521_911_720_865_716_123n, 1n] },
    ]);
    const records = recordsOf(await readAll(createMemoryRangeReader(bytes), { start: 0, end: 2 }));
    assert.deepEqual(records, [
      { ms: '2018-03-24T17:15:20.865Z', ns: '2018-03-24T17:15:20.865716123Z' },
      { ms: '1969-12-31T23:59:59.999Z', ns: '1970-01-01T00:00:00.000000001Z' },
    ]);
    assert.equal(parseTimestampMicros(records[0]?.ns), 1_521_911_720_865_716);
  });

  test('property: TIMESTAMP columns format as Date does, at every precision, across and beyond its range', async () => {
    const units = [['ms', 'MILLIS', 1000n], ['us', 'MICROS', 1_000_000n], ['ns', 'NANOS', 1_000_000_000n]] as const;
    const int64 = 2n ** 63n;
    const dateLimitSeconds = 8_640_000_000_000n;
    /** What the column's value must read as: the ISO string Date gives for its second, or the raw integer beyond Date. */
    const expected = (value: bigint, perSecond: bigint): unknown => {
      const seconds = floorDiv(value, perSecond);
      if (seconds < -dateLimitSeconds || seconds > dateLimitSeconds) return Number.isSafeInteger(Number(value)) ? Number(value) : value;
      const digits = String(perSecond).length - 1;
      return `${new Date(Number(seconds) * 1000).toISOString().slice(0, -4)}${String(value - seconds * perSecond).padStart(digits, '0')}Z`;
    };
    // Seconds anywhere (beyond Date's range too), or in this century; then rows a unit, a second or a day apart,
    // so cached dates and times of day are both changed and reused.
    const seconds = fc.oneof(fc.bigInt({ min: -2n * dateLimitSeconds, max: 2n * dateLimitSeconds }), fc.bigInt({ min: 0n, max: 4_102_444_800n }));
    const steps = fc.array(fc.constantFrom('unit', 'second', 'day', 'none'), { minLength: 1, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(seconds, fc.bigInt({ min: 0n, max: 999_999_999n }), steps, async (base, nanos, moves) => {
        const columns = units.map(([name, unit, perSecond]) => {
          let value = base * perSecond + (nanos * perSecond) / 1_000_000_000n;
          const data = moves.map((move) => {
            value += move === 'unit' ? 1n : move === 'second' ? perSecond : move === 'day' ? 86_400n * perSecond : 0n;
            return value >= -int64 && value < int64 ? value : null;
          });
          return { name, perSecond, data, element: { type: 'INT64' as const, logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: true, unit } } };
        });
        const bytes = writeParquet(columns.map(({ name, element, data }) => ({ name, element, data })));
        const records = recordsOf(await readAll(createMemoryRangeReader(bytes), { start: 0, end: moves.length }));
        moves.forEach((_, i) => {
          const want: Record<string, unknown> = {};
          for (const { name, perSecond, data } of columns) if (data[i] !== null) want[name] = expected(data[i] as bigint, perSecond);
          assert.deepEqual(records[i], want, `row ${i} of ${base} s`);
        });
      }),
      { numRuns: 100 },
    );
  });

  for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD', 'BROTLI'] as const satisfies readonly FixtureCodec[]) {
    test(`${codec} pages decode to the same records`, async () => {
      const bytes = writeFixture(23, { rowGroupSize: 6, codec });
      assert.ok(parquetMetadata(bytes).row_groups.every((g) => g.columns.every((c) => c.meta_data?.codec === codec)));
      assert.deepEqual(recordsOf(await readAll(createMemoryRangeReader(bytes), { start: 0, end: 23 })), range(0, 23).map(fixtureRecord));
    });
  }

  test('property: resuming from the end of any batch gives the rest of the split, and a retry cuts the same batches', async () => {
    const rows = 45;
    const bytes = writeFixture(rows, { rowGroupSize: 7 });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 20, max: rows }), fc.integer({ min: 1, max: 9 }), fc.nat(), async (start, end, batchSize, pick) => {
        const whole = await readAll(createMemoryRangeReader(bytes), { start, end, batchSize });
        if (whole.length === 0) return;
        const resumeFrom = (whole[pick % whole.length] as RecordBatch).endOffset;
        const rest = await readAll(createMemoryRangeReader(bytes), { start, end, batchSize, resumeFrom });
        assert.deepEqual(offsetsOf(rest), range(resumeFrom, end));
        assert.deepEqual(recordsOf(rest), range(resumeFrom, end).map(fixtureRecord));
        // The retry's batches are the first attempt's batches after the resume point.
        assert.deepEqual(rest.map((b) => b.offsets), whole.slice(whole.length - rest.length).map((b) => b.offsets));
      }),
      { numRuns: 60 },
    );
  });

  test('resumeFrom at or after the end of the split reads nothing', async () => {
    const reader = createMemoryRangeReader(writeFixture(20, { rowGroupSize: 5 }));
    assert.deepEqual(await readAll(reader, { start: 5, end: 10, resumeFrom: 10 }), []);
    assert.deepEqual(await readAll(reader, { start: 5, end: 10, resumeFrom: 400 }), []);
  });

  test('resuming in the middle of a large row group does not read the pages before it', async () => {
    const rows = 3000;
    // Small pages, so one row group has many; the writer stores their offsets (the offset index).
    const noise = Array.from({ length: rows }, (_, i) => `${i}:${'x'.repeat(i % 97)}${(i * 7919) % 10007}`);
    const bytes = writeParquet([{ name: 'noise', element: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, data: noise }], { rowGroupSize: rows, codec: 'UNCOMPRESSED', pageSize: 8192 });
    assert.equal(parquetMetadata(bytes).row_groups.length, 1);
    /** Bytes read after the first read (the footer fetch, which may span the whole small file). */
    const afterFooter = (): { reader: RangeReader; bytes: () => number } => {
      const inner = createMemoryRangeReader(bytes);
      let first = true;
      let total = 0;
      return {
        reader: {
          ...inner,
          async read(offset, length) {
            const piece = await inner.read(offset, length);
            if (!first) total += piece.length;
            first = false;
            return piece;
          },
        },
        bytes: () => total,
      };
    };
    const full = afterFooter();
    assert.equal(recordsOf(await readAll(full.reader, { start: 0, end: rows })).length, rows);
    const resumed = afterFooter();
    const batches = await readAll(resumed.reader, { start: 0, end: rows, resumeFrom: 2900 });
    assert.deepEqual(recordsOf(batches), noise.slice(2900).map((value) => ({ noise: value })));
    assert.deepEqual(offsetsOf(batches), range(2900, rows));
    assert.ok(resumed.bytes() < full.bytes() / 4, `resumed read ${resumed.bytes()} bytes, the whole split ${full.bytes()}`);
  });

  test('columns: only the named columns are decoded and read; unknown names are skipped', async () => {
    const bytes = writeFixture(40, { rowGroupSize: 10 });
    const full = createMemoryRangeReader(bytes);
    const all = await readAll(full, { start: 0, end: 40 });
    const pruned = createMemoryRangeReader(bytes);
    const some = await readAll(pruned, { start: 0, end: 40, columns: ['ts', 'id.orig_h', 'not-a-column'] });
    assert.deepEqual(
      recordsOf(some),
      range(0, 40).map((i) => {
        const { ts, 'id.orig_h': origin } = fixtureRecord(i);
        return origin === undefined ? { ts } : { ts, 'id.orig_h': origin };
      }),
    );
    assert.deepEqual(offsetsOf(some), range(0, 40));
    assert.ok(pruned.bytesRead < full.bytesRead, `pruned read ${pruned.bytesRead} bytes, all columns ${full.bytesRead}`);
    const prunedBytes = some.reduce((s, b) => s + b.bytes, 0);
    const allBytes = all.reduce((s, b) => s + b.bytes, 0);
    assert.ok(prunedBytes > 0 && prunedBytes < allBytes, 'batch bytes count the columns read');
    const metadata = parquetMetadata(bytes);
    assert.equal(allBytes, metadata.row_groups.reduce((s, g) => s + g.columns.reduce((t, c) => t + Number(c.meta_data?.total_compressed_size), 0), 0));

    const none = await readAll(createMemoryRangeReader(bytes), { start: 3, end: 8, columns: ['nothing-here'] });
    assert.deepEqual(recordsOf(none), [{}, {}, {}, {}, {}], 'a row without any requested column is still a record');
    assert.deepEqual(FIXTURE_COLUMNS, metadata.schema.slice(1).map((e) => e.name));
  });

  test('a reader that hands out views of a shared pool (Node Buffers) is read correctly', async () => {
    const bytes = writeFixture(30, { rowGroupSize: 4 });
    const inner = createMemoryRangeReader(bytes);
    const pooled: RangeReader = {
      ...inner,
      async read(offset, length) {
        const piece = await inner.read(offset, length);
        const pool = new Uint8Array(piece.length + 64);
        pool.set(piece, 32);
        return pool.subarray(32, 32 + piece.length);
      },
    };
    assert.deepEqual(recordsOf(await readAll(pooled, { start: 0, end: 30, columns: ['row', 'ts', 'id.orig_h'] })).length, 30);
    assert.deepEqual(recordsOf(await readAll(pooled, { start: 0, end: 30 })), range(0, 30).map(fixtureRecord));
  });
});

describe('readSplit: corrupt Parquet files', () => {
  const url = 'mem://test/bad.parquet';
  const good = writeFixture(30, { rowGroupSize: 10 });

  const corruptions: [string, Uint8Array][] = [
    ['bad trailing magic', (() => {
      const b = good.slice();
      b[b.length - 1] = 0x30;
      return b;
    })()],
    ['a truncated footer', good.slice(0, good.length - 20)],
    ['a file cut in the middle', good.slice(0, Math.floor(good.length / 2))],
    ['a footer length pointing before the file', (() => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(b.length - 8, b.length + 100, true);
      return b;
    })()],
    ['an empty file', new Uint8Array(0)],
    ['a text file', new TextEncoder().encode('{"ts":"2018-03-24T17:15:20.865716Z"}\n')],
  ];
  for (const [what, bytes] of corruptions) {
    test(`${what} is CORRUPT_INPUT naming the file, at planning and at reading`, async () => {
      await assert.rejects(planParquetSplits(createMemoryRangeReader(bytes, 64, url), 1000), isCorruptInput(url));
      await assert.rejects(readAll(createMemoryRangeReader(bytes, 64, url), { start: 0, end: 30 }), isCorruptInput(url));
    });
  }

  test('an undecodable row group throws after a batch with every record before it', async () => {
    const metadata = parquetMetadata(good);
    const chunk = metadata.row_groups[1]?.columns[0]?.meta_data;
    assert.ok(chunk !== undefined);
    const bytes = good.slice();
    // Garbage where the second row group's first page header is.
    bytes.fill(0xff, Number(chunk.dictionary_page_offset ?? chunk.data_page_offset), Number(chunk.data_page_offset) + 16);
    const batches: RecordBatch[] = [];
    await assert.rejects(async () => {
      for await (const batch of readSplit(createMemoryRangeReader(bytes, 64, url), { format: 'parquet', compression: 'none', start: 0, end: 30, batchSize: 4 })) batches.push(batch);
    }, isCorruptInput(url));
    assert.deepEqual(offsetsOf(batches), range(0, 10));
    assert.deepEqual(batches.map((b) => b.records.length), [4, 4, 2]);
  });

  test('a failing reader keeps its own error, still retryable', async () => {
    const inner = createMemoryRangeReader(good);
    let reads = 0;
    const flaky: RangeReader = {
      ...inner,
      async read(offset, length) {
        reads += 1;
        if (reads > 1) throw new SluiceError(ErrorCode.UNAVAILABLE, 'datanode went away', { context: { offset } });
        return inner.read(offset, length);
      },
    };
    await assert.rejects(readAll(flaky, { start: 0, end: 30 }), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.UNAVAILABLE && error.retryable);
  });

  test('a gzip-compressed Parquet split is INVALID_CONFIG', async () => {
    await assert.rejects(
      async () => {
        for await (const batch of readSplit(createMemoryRangeReader(good), { format: 'parquet', compression: 'gzip', start: 0, end: 30 })) assert.fail(`unexpected batch ${batch.offsets.length}`);
      },
      (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG,
    );
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { parquetMetadata } from 'hyparquet';
import { planParquetSplits } from '../src/plan-parquet-splits.ts';
import { readSplit } from '../src/read-split.ts';
import { createMemoryRangeReader } from './support/memory-range-reader.ts';
import { fixtureMicros, fixtureRecord, isoOfMicros, writeFixture, writeParquet } from './support/parquet-fixture.ts';

/** Row count and compressed size of each row group, read with hyparquet directly. */
function rowGroupsOf(bytes: Uint8Array): { rows: number; bytes: number }[] {
  return parquetMetadata(bytes).row_groups.map((g) => ({
    rows: Number(g.num_rows),
    bytes: g.columns.reduce((sum, c) => sum + Number(c.meta_data?.total_compressed_size ?? 0n), 0),
  }));
}

/** Event time of the fixture's row, as a run's bounds are given (epoch µs). */
function at(row: number): number {
  return Number(fixtureMicros(row));
}

describe('planParquetSplits', () => {
  test('property: splits are consecutive runs of whole row groups, each the shortest run reaching the target', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4000 }), async (rows, groupRows, target) => {
        const bytes = writeFixture(rows, { rowGroupSize: groupRows });
        const groups = rowGroupsOf(bytes);
        const reader = createMemoryRangeReader(bytes);
        const splits = await planParquetSplits(reader, target);

        let group = 0;
        let row = 0;
        for (const [k, split] of splits.entries()) {
          assert.equal(split.firstRowGroup, group);
          assert.equal(split.start, row);
          const members = groups.slice(group, group + split.rowGroups);
          assert.equal(members.length, split.rowGroups);
          assert.equal(split.end - split.start, members.reduce((s, g) => s + g.rows, 0));
          assert.equal(split.bytes, members.reduce((s, g) => s + g.bytes, 0));
          const withoutLast = split.bytes - (members.at(-1)?.bytes ?? 0);
          assert.ok(withoutLast < target, 'a split never holds more row groups than it needs to reach the target');
          if (k < splits.length - 1) assert.ok(split.bytes >= target, 'only the last split may stay below the target');
          group += split.rowGroups;
          row = split.end;
        }
        assert.equal(row, rows, 'the splits cover every row');
        assert.equal(group, rows === 0 ? 0 : groups.length);
      }),
      { numRuns: 60 },
    );
  });

  test('reading each planned split gives every row exactly once, at its row index', async () => {
    const bytes = writeFixture(103, { rowGroupSize: 9 });
    const reader = createMemoryRangeReader(bytes);
    const splits = await planParquetSplits(reader, 1500);
    assert.ok(splits.length > 2, `several splits expected, got ${splits.length}`);
    const offsets: number[] = [];
    for (const split of splits) {
      for await (const batch of readSplit(reader, { format: 'parquet', compression: 'none', start: split.start, end: split.end })) {
        batch.records.forEach((record, k) => assert.deepEqual(record, fixtureRecord(batch.offsets[k] as number)));
        offsets.push(...batch.offsets);
      }
    }
    assert.deepEqual(offsets, Array.from({ length: 103 }, (_, i) => i));
  });

  test('planning reads the footer, not the row groups', async () => {
    const rows = 4000;
    const bytes = writeParquet(
      [{ name: 'noise', element: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, data: Array.from({ length: rows }, () => randomBytes(200).toString('hex')) }],
      { rowGroupSize: 500, codec: 'UNCOMPRESSED' },
    );
    assert.ok(bytes.length > 1_500_000);
    const reader = createMemoryRangeReader(bytes);
    const splits = await planParquetSplits(reader, 400_000);
    assert.equal(splits.at(-1)?.end, rows);
    // hyparquet fetches the last 512 KiB in one read, whatever the footer's size.
    assert.ok(reader.bytesRead <= 512 * 1024, `read ${reader.bytesRead} bytes of ${bytes.length}`);
  });

  test('a row group larger than the target is a split of its own', async () => {
    const bytes = writeFixture(30, { rowGroupSize: 10 });
    const splits = await planParquetSplits(createMemoryRangeReader(bytes), 1);
    assert.deepEqual(splits.map((s) => [s.start, s.end]), [[0, 10], [10, 20], [20, 30]]);
  });

  test('a split size that is not a positive integer is INVALID_CONFIG', async () => {
    const reader = createMemoryRangeReader(writeFixture(3));
    for (const size of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(planParquetSplits(reader, size), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG);
    }
  });

  test('with event-time bounds, row groups whose timestamp statistics lie outside them are left out, and splits do not join across them', async () => {
    // Row i is at fixtureMicros(i): about one second apart, in row order; 8 groups of 10 rows.
    const bytes = writeFixture(80, { rowGroupSize: 10 });
    const plan = async (since?: number, until?: number): Promise<{ ranges: number[][]; skipped: number }> => {
      const skipped = { rowGroups: 0 };
      const eventTime = { column: 'ts', ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
      const splits = await planParquetSplits(createMemoryRangeReader(bytes), 1_000_000, { eventTime, skipped });
      return { ranges: splits.map((s) => [s.start, s.end]), skipped: skipped.rowGroups };
    };
    assert.deepEqual(await plan(), { ranges: [[0, 80]], skipped: 0 }, 'no bounds, nothing skipped');
    assert.deepEqual(await plan(at(25)), { ranges: [[20, 80]], skipped: 2 }, 'since inside a group keeps that group');
    assert.deepEqual(await plan(at(20)), { ranges: [[20, 80]], skipped: 2 }, 'since at a group\'s first row keeps it');
    assert.deepEqual(await plan(at(19) + 1), { ranges: [[20, 80]], skipped: 2 }, 'since just after a group\'s last row skips it');
    assert.deepEqual(await plan(undefined, at(40)), { ranges: [[0, 40]], skipped: 4 }, 'until is exclusive: the group starting at it is skipped');
    assert.deepEqual(await plan(undefined, at(40) + 1), { ranges: [[0, 50]], skipped: 3 });
    assert.deepEqual(await plan(at(30), at(50)), { ranges: [[30, 50]], skipped: 6 });
    assert.deepEqual(await plan(at(100)), { ranges: [], skipped: 8 }, 'every row before since: nothing to read');
    // Every record a skipped group holds is one the run would drop: the same records pass the bounds either way.
    for (const [since, until] of [[at(25), at(57)], [at(0), at(1)], [at(79), at(80)]] as const) {
      const { ranges } = await plan(since, until);
      const kept = new Set(ranges.flatMap(([a, b]) => Array.from({ length: (b as number) - (a as number) }, (_, k) => (a as number) + k)));
      const wanted = Array.from({ length: 80 }, (_, i) => i).filter((i) => at(i) >= since && at(i) < until);
      assert.ok(wanted.every((i) => kept.has(i)), `rows ${JSON.stringify(wanted)} are all planned (${JSON.stringify(ranges)})`);
    }
  });

  test('row groups are kept when their statistics cannot prove every row is outside: nulls, a string column, no such column', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => i);
    const micros = rows.map((i) => fixtureMicros(i));
    const timestamp = { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } } as const;
    const withNulls = writeParquet([{ name: 'ts', element: timestamp, data: micros.map((m, i) => (i === 3 ? null : m)) }], { rowGroupSize: 10 });
    const strings = writeParquet([{ name: 'ts', element: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, data: micros.map((m) => isoOfMicros(m)) }], { rowGroupSize: 10 });
    const since = Number(fixtureMicros(25));
    const plan = async (bytes: Uint8Array, column = 'ts'): Promise<number[][]> =>
      (await planParquetSplits(createMemoryRangeReader(bytes), 1, { eventTime: { column, since } })).map((s) => [s.start, s.end]);
    assert.deepEqual(await plan(withNulls), [[0, 10], [20, 30]], 'the group with a null ts is kept: that row is a bad record the run must keep');
    assert.deepEqual(await plan(strings), [[0, 10], [10, 20], [20, 30]], 'timestamp strings do not sort as time: never skipped');
    assert.deepEqual(await plan(withNulls, 'missing'), [[0, 10], [10, 20], [20, 30]]);
  });
});


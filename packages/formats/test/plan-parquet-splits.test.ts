import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { parquetMetadata } from 'hyparquet';
import { planParquetSplits } from '../src/plan-parquet-splits.ts';
import { readSplit } from '../src/read-split.ts';
import { createMemoryRangeReader } from './support/memory-range-reader.ts';
import { fixtureRecord, writeFixture, writeParquet } from './support/parquet-fixture.ts';

/** Row count and compressed size of each row group, read with hyparquet directly. */
function rowGroupsOf(bytes: Uint8Array): { rows: number; bytes: number }[] {
  return parquetMetadata(bytes).row_groups.map((g) => ({
    rows: Number(g.num_rows),
    bytes: g.columns.reduce((sum, c) => sum + Number(c.meta_data?.total_compressed_size ?? 0n), 0),
  }));
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
});

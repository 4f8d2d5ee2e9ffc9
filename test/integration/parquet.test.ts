/**
 * The WRCCDC dataset converted to Parquet (zstd pages, row groups of 5,000 rows): it decodes to
 * exactly the NDJSON records, and `sluice run network-metrics` over it, cut into several row-group
 * splits per file and reading only the job's columns, leaves in the real Redis the same contents as
 * the independent reference.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createFileRangeReader, planParquetSplits, readSplit } from '@sluice/formats';
import { networkMetrics } from '@sluice/job-network-metrics';
import { redisUrl, uniqueName } from '../support/env.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys, eventTimeWindow } from '../support/network-metrics-reference.ts';
import type { KeyValue } from '../support/network-metrics-reference.ts';
import { writeDatasetParquet } from '../support/parquet-dataset.ts';

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, '..', '..', 'packages', 'cli', 'src', 'bin.ts');
const ROW_GROUP_ROWS = 5000;
const SPLIT_SIZE = 300_000;

interface Summary { records: number; badRecords: number; expired: number; splits: number; keys: number; timeShiftSeconds: number }

function convert(t: { after(fn: () => void): void }, sortByTime = false): ReturnType<typeof writeDatasetParquet> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return writeDatasetParquet(dir, { rowGroupSize: ROW_GROUP_ROWS, sortByTime });
}

function readNdjson(path: string): Record<string, unknown>[] {
  return gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
}

function pick(record: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => record[f] !== undefined).map((f) => [f, record[f]]));
}

test('the dataset as Parquet decodes, split by row groups, to exactly the NDJSON records', async (t) => {
  const files = convert(t);
  const sources = datasetFiles('ndjson');
  const fields = networkMetrics.fields ?? [];
  for (const [k, file] of files.entries()) {
    const expected = readNdjson(sources[k] as string);
    assert.equal(file.rows, expected.length);
    const reader = createFileRangeReader(file.path);
    t.after(() => reader.close());
    const splits = await planParquetSplits(reader, SPLIT_SIZE);
    assert.ok(splits.length >= 3, `${file.path}: ${splits.length} splits`);
    assert.ok(splits.every((s) => s.start % ROW_GROUP_ROWS === 0 && s.rowGroups >= 1));
    const all: Record<string, unknown>[] = [];
    const pruned: Record<string, unknown>[] = [];
    const offsets: number[] = [];
    for (const split of splits) {
      for await (const batch of readSplit(reader, { format: 'parquet', compression: 'none', start: split.start, end: split.end })) {
        all.push(...batch.records);
        offsets.push(...batch.offsets);
      }
      for await (const batch of readSplit(reader, { format: 'parquet', compression: 'none', start: split.start, end: split.end, columns: fields })) pruned.push(...batch.records);
    }
    assert.deepEqual(offsets, expected.map((_, i) => i));
    assert.deepEqual(all, expected, 'every field, with its JSON type, timestamps to the microsecond');
    assert.deepEqual(pruned, expected.map((r) => pick(r, fields)), 'only the job fields');
  }
});

/** A Redis connection, a key prefix and a run id of the test's own, all deleted when it ends. */
function runKeys(t: TestContext, name: string): { redis: Redis; prefix: string; runId: string } {
  const redis = new Redis(redisUrl());
  const prefix = `${uniqueName(name)}:`;
  const runId = uniqueName(`${name}-run`);
  t.after(async () => {
    await deleteKeys(redis, `${prefix}*`);
    // The store's own bookkeeping: run stats and fences by run id, gauge timestamps by key prefix.
    await deleteKeys(redis, `sluice:*${runId}*`);
    await deleteKeys(redis, `sluice:*${prefix}*`);
    redis.disconnect();
  });
  return { redis, prefix, runId };
}

test('sluice run network-metrics over the Parquet dataset gives the reference Redis contents', async (t) => {
  const files = convert(t);
  const { redis, prefix, runId } = runKeys(t, 'nm-parquet');

  const { stdout } = await run(process.execPath, [
    cli, 'run', 'network-metrics', '--input', join(files[0]?.path ?? '', '..', '*.parquet'),
    '--set', 'timeShift=auto', '--key-prefix', prefix, '--redis', redisUrl(), '--json',
    '--split-size', String(SPLIT_SIZE), '--run-id', runId,
  ], { maxBuffer: 16 * 1024 * 1024 });
  const summary = JSON.parse(stdout) as Summary;
  assert.equal(summary.records, 53_615 + 49_474);
  assert.equal(summary.badRecords, 0);
  assert.equal(summary.expired, 0);
  assert.ok(summary.splits >= 6, `several row-group splits per file, got ${summary.splits}`);
  assert.equal(summary.timeShiftSeconds % 86_400, 0);

  const written = new Map<string, KeyValue>([...(await dumpKeys(redis, `${prefix}*`))].map(([k, v]) => [k.slice(prefix.length), v]));
  const reference = computeReference(summary.timeShiftSeconds);
  assert.ok(reference.size > 1000);
  assert.equal(written.size, reference.size);
  assert.deepEqual(written, reference);
  assert.equal(summary.keys, reference.size);
});

test('with --set since/until, row groups outside them are skipped by their ts statistics, and the result is the reference over the records inside', async (t) => {
  const files = convert(t, true);
  const { redis, prefix, runId } = runKeys(t, 'nm-parquet-window');
  const { since, until, inside, all } = eventTimeWindow();
  const shift = 86_400 * Math.floor((Date.now() - Date.parse('2018-03-24T17:40:00Z')) / 86_400_000);

  const { stdout } = await run(process.execPath, [
    cli, 'run', 'network-metrics', '--input', join(files[0]?.path ?? '', '..', '*.parquet'),
    '--set', `timeShift=${shift}`, '--set', `since=${since}`, '--set', `until=${until}`, '--key-prefix', prefix, '--redis', redisUrl(), '--json',
    '--split-size', String(SPLIT_SIZE), '--run-id', runId,
  ], { maxBuffer: 16 * 1024 * 1024 });
  const summary = JSON.parse(stdout) as Summary;
  assert.equal(summary.badRecords, 0);
  assert.equal(summary.expired, 0);
  // Records counts every row read, inside the bounds or not: fewer than the dataset's only if row groups were skipped.
  assert.ok(summary.records < all * 0.8, `row groups outside the bounds were not read (${summary.records} of ${all} rows read)`);

  const written = new Map<string, KeyValue>([...(await dumpKeys(redis, `${prefix}*`))].map(([k, v]) => [k.slice(prefix.length), v]));
  const reference = computeReference(shift, '', inside);
  assert.ok(reference.size > 100);
  assert.deepEqual(written, reference);
});

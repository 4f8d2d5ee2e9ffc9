/**
 * `sluice run network-metrics` over the real WRCCDC Zeek logs, as NDJSON and as Zeek TSV, against
 * the real Redis: both give the same Redis contents, equal to a reference computed independently
 * from the raw files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { redisUrl, uniqueName } from '../support/env.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys } from '../support/network-metrics-reference.ts';
import type { KeyValue } from '../support/network-metrics-reference.ts';

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, '..', '..', 'packages', 'cli', 'src', 'bin.ts');

interface Summary { records: number; badRecords: number; expired: number; series: number; keys: number; timeShiftSeconds: number }

async function sluiceRun(format: 'ndjson' | 'zeek', prefix: string): Promise<Summary> {
  const { stdout } = await run(process.execPath, [
    cli, 'run', 'network-metrics', '--input', ...datasetFiles(format),
    '--set', 'timeShift=auto', '--key-prefix', prefix, '--redis', redisUrl(), '--json',
  ], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as Summary;
}

function stripPrefix(map: Map<string, KeyValue>, prefix: string): Map<string, KeyValue> {
  return new Map([...map].map(([k, v]) => [k.slice(prefix.length), v]));
}

test('network-metrics over NDJSON and Zeek TSV gives identical Redis contents, equal to an independent reference', async (t) => {
  const redis = new Redis(redisUrl());
  const ndjsonPrefix = `${uniqueName('nm-ndjson')}:`;
  const zeekPrefix = `${uniqueName('nm-zeek')}:`;
  t.after(async () => {
    await deleteKeys(redis, `${ndjsonPrefix}*`);
    await deleteKeys(redis, `${zeekPrefix}*`);
    redis.disconnect();
  });

  const ndjson = await sluiceRun('ndjson', ndjsonPrefix);
  const zeek = await sluiceRun('zeek', zeekPrefix);
  assert.equal(ndjson.records, 53_615 + 49_474);
  assert.equal(zeek.records, 53_615 + 49_474);
  assert.equal(ndjson.badRecords, 0);
  assert.equal(ndjson.expired, 0, 'time-shifted data lands inside every retention window');
  assert.equal(ndjson.timeShiftSeconds % 86_400, 0, 'the shift is whole days');
  assert.equal(zeek.timeShiftSeconds, ndjson.timeShiftSeconds);

  const fromNdjson = stripPrefix(await dumpKeys(redis, `${ndjsonPrefix}*`), ndjsonPrefix);
  const fromZeek = stripPrefix(await dumpKeys(redis, `${zeekPrefix}*`), zeekPrefix);
  const reference = computeReference(ndjson.timeShiftSeconds);
  assert.ok(reference.size > 1000, 'the reference is not trivially small');
  assert.equal(fromNdjson.size, reference.size);
  assert.deepEqual(fromNdjson, reference);
  assert.deepEqual(fromZeek, reference);
  assert.equal(ndjson.keys, reference.size);

  // kairos's TTL rule: every key expires, within its interval's retention.
  const sample = [...fromNdjson.keys()].slice(0, 200);
  for (const key of sample) {
    const ttl = await redis.ttl(`${ndjsonPrefix}${key}`);
    const max = key.includes(':days:') ? 2880 * 60 : 4032 * 1800;
    assert.ok(ttl > 0 && ttl <= max, `${key} has TTL ${ttl}, expected (0, ${max}]`);
  }
});

/**
 * Bad input through the real backfill path (HDFS, coordinator, workers): garbage lines become dead
 * letters with file and byte offset while every good record is committed; a truncated gzip fails
 * its split (and only it) with CORRUPT_INPUT; a missing path and an unreachable NameNode fail the
 * run with a message that says what is wrong.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createFileSystem } from '@sluice/hdfs';
import { redisUrl, webhdfsUrl } from '../support/env.ts';
import { datasetFiles, deleteKeys, dumpKeys } from '../support/network-metrics-reference.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';

const SHIFT = 86_400 * Math.floor((Date.now() / 1000 - Date.parse('2018-03-24T17:40:00Z') / 1000) / 86_400);

interface Progress { run: { state: string; error?: string; runId: string }; records: number; badRecords: number; failed: { splitId: string; code: string; message: string }[] }

async function stack(t: TestContext): Promise<{ ns: string; prefix: string; redis: Redis }> {
  const ns = `err-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(redisUrl());
  t.after(async () => {
    await deleteKeys(redis, `${ns}:*`);
    redis.disconnect();
  });
  const common = ['--redis', redisUrl(), '--namespace', ns];
  await spawnSluice(t, ['coordinator', ...common, '--tick', '300', '--attempts', '2']).waitFor('is the leader');
  await spawnSluice(t, ['worker', ...common, '--key-prefix', `${ns}:`, '--chunk-records', '500']).waitFor('ready');
  return { ns, prefix: `${ns}:`, redis };
}

async function backfill(t: TestContext, ns: string, input: string): Promise<Progress> {
  const res = await runSluice(t, ['backfill', 'network-metrics', '--input', input, '--set', `timeShift=${SHIFT}`, '--run-id', `${ns}-${randomUUID().slice(0, 4)}`, '--redis', redisUrl(), '--wait', '--json', '--split-size', '64k']);
  return JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as Progress;
}

test('garbage lines are dead letters, a truncated gzip fails only its split, every good record is committed', async (t) => {
  const { ns, prefix, redis } = await stack(t);
  const dns = gunzipSync(readFileSync(datasetFiles('ndjson')[0] as string)).toString('utf8').split('\n').filter((l) => l !== '').slice(0, 3000);
  const garbage = ['not json at all', '[1, 2, 3]', JSON.stringify({ _path: 'dns', 'id.orig_h': '10.9.9.9' })];
  const mixed = [...dns.slice(0, 1000), garbage[0], ...dns.slice(1000, 2000), garbage[1], ...dns.slice(2000), garbage[2]];
  const sslGz = readFileSync(datasetFiles('ndjson')[1] as string);
  const dir = `/tmp/sluice-test/${ns}`;
  const fs = createFileSystem(webhdfsUrl());
  t.after(async () => {
    await fs.delete(dir, { recursive: true }).catch(() => false);
    await fs.close();
  });
  await fs.create(`${dir}/dns-mixed.ndjson`, `${mixed.join('\n')}\n`);
  await fs.create(`${dir}/ssl-truncated.ndjson.gz`, sslGz.subarray(0, Math.floor(sslGz.length / 2)));

  const base = `${webhdfsUrl().replace(/^http/, 'webhdfs')}${dir}`;
  const p = await backfill(t, ns, `${base}/*`);
  assert.equal(p.run.state, 'failed');
  assert.equal(p.failed.length, 1, `exactly one failed split: ${JSON.stringify(p.failed)}`);
  assert.match(p.failed[0]?.splitId ?? '', /ssl-truncated\.ndjson\.gz#/);
  assert.equal(p.failed[0]?.code, 'SLUICE_CORRUPT_INPUT');
  assert.ok((p.run.error ?? '').includes('1 of'), p.run.error);

  const dead = (await redis.lrange(`sluice:run:${p.run.runId}:dead`, 0, -1)).map((d) => JSON.parse(d) as { provenance: string; reason: string });
  const offsets = garbage.map((g) => Buffer.byteLength(mixed.slice(0, mixed.indexOf(g as string)).map((l) => `${l}\n`).join('')));
  assert.deepEqual(dead.map((d) => d.provenance).sort(), offsets.map((o) => `${base}/dns-mixed.ndjson@${o}`).sort());
  assert.ok(dead.every((d) => d.reason.length > 0));

  // Every good dns record is committed: the same as a local run over the good lines alone.
  const local = mkdtempSync(join(tmpdir(), 'sluice-err-'));
  writeFileSync(join(local, 'dns.ndjson'), `${dns.join('\n')}\n`);
  const refPrefix = `${ns}-ref:`;
  t.after(async () => {
    // after-hooks run in registration order: the stack's connection is already closed here.
    const cleanup = new Redis(redisUrl());
    await deleteKeys(cleanup, `${refPrefix}*`);
    cleanup.disconnect();
  });
  const ref = await runSluice(t, ['run', 'network-metrics', '--input', join(local, 'dns.ndjson'), '--set', `timeShift=${SHIFT}`, '--key-prefix', refPrefix, '--redis', redisUrl()]);
  assert.equal(ref.code, 0, ref.output);
  const strip = (m: Map<string, unknown>, pre: string): Map<string, unknown> => new Map([...m].map(([k, v]) => [k.slice(pre.length), v]));
  assert.deepEqual(strip(await dumpKeys(redis, `${prefix}dns.*`), prefix), strip(await dumpKeys(redis, `${refPrefix}dns.*`), refPrefix));
});

test('a missing path fails the run at planning, naming what matched nothing', async (t) => {
  const { ns } = await stack(t);
  const p = await backfill(t, ns, `${webhdfsUrl().replace(/^http/, 'webhdfs')}/tmp/sluice-test/${ns}/nothing-here/*.ndjson`);
  assert.equal(p.run.state, 'failed');
  assert.match(p.run.error ?? '', /NOT_FOUND/);
});

test('an unreachable NameNode fails the run after a few planning attempts, saying what to check', async (t) => {
  const { ns } = await stack(t);
  const p = await backfill(t, ns, 'webhdfs://127.0.0.1:1/archive/*.ndjson');
  assert.equal(p.run.state, 'failed');
  assert.match(p.run.error ?? '', /UNAVAILABLE/);
  assert.match(p.run.error ?? '', /127\.0\.0\.1:1/);
});

/**
 * Commits stay exact only on a standalone primary that never evicts keys. The commands that plan
 * or commit (coordinator, worker, local run) refuse any other server at start, saying what to
 * change, before they take or write anything: each case is a real redis-server configured so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { settledWithin } from '@sluice/core';
import { spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';
import { startPrivateRedis } from '../support/redis-server.ts';

async function refusedWith(process: SluiceProcess, pattern: RegExp): Promise<void> {
  // A command that accepted the server would run on: wait for an exit only so long.
  assert.ok(await settledWithin(process.exited, 30_000), `still running after 30 s:\n${process.output()}`);
  assert.equal(await process.exited, 1, process.output());
  assert.match(process.output(), pattern);
}

async function keyCount(url: string): Promise<number> {
  const redis = new Redis(url);
  try {
    return await redis.dbsize();
  } finally {
    redis.disconnect();
  }
}

test('a Redis that evicts keys when full is refused by the worker, the coordinator and a local run', async (t) => {
  const redis = await startPrivateRedis(t, 'evicting', ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
  const fix = /error \[SLUICE_INVALID_CONFIG\]: Redis at redis:\/\/127\.0\.0\.1:\d+\/? evicts keys when full \(maxmemory 67108864 bytes, maxmemory-policy allkeys-lru\): an evicted fence would let a retried chunk count twice .*set maxmemory-policy noeviction/;
  await refusedWith(spawnSluice(t, ['worker', '--redis', redis.url, '--namespace', 'evicting']), fix);
  await refusedWith(spawnSluice(t, ['coordinator', '--redis', redis.url, '--namespace', 'evicting']), fix);
  const input = `${redis.dir}/one.ndjson`;
  writeFileSync(input, '{"ts":"2018-03-24T00:00:00Z"}\n');
  await refusedWith(spawnSluice(t, ['run', 'network-metrics', '--input', input, '--redis', redis.url]), fix);
  assert.equal(await keyCount(redis.url), 0, 'nothing was written');
});

test('a memory limit under noeviction is accepted (a full Redis then refuses a commit instead of evicting keys)', async (t) => {
  const redis = await startPrivateRedis(t, 'noeviction', ['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction']);
  const worker = spawnSluice(t, ['worker', '--redis', redis.url, '--namespace', 'noeviction']);
  await worker.waitFor('ready');
  worker.kill('SIGTERM');
  assert.equal(await worker.exited, 0, worker.output());
});

test('a read-only replica is refused, naming its primary', async (t) => {
  const primary = await startPrivateRedis(t, 'primary');
  const primaryPort = new URL(primary.url).port;
  const replica = await startPrivateRedis(t, 'replica', ['--replicaof', '127.0.0.1', primaryPort]);
  await refusedWith(
    spawnSluice(t, ['worker', '--redis', replica.url, '--namespace', 'replica']),
    new RegExp(`Redis at redis://127\\.0\\.0\\.1:\\d+/? is a read-only replica of 127\\.0\\.0\\.1:${primaryPort}; point --redis or REDIS_URL at the primary`),
  );
});

test('a Redis Cluster node is refused with why', async (t) => {
  const node = await startPrivateRedis(t, 'cluster', ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
  await refusedWith(
    spawnSluice(t, ['coordinator', '--redis', node.url, '--namespace', 'cluster']),
    /runs in cluster mode, which Sluice does not support: a commit writes a chunk's kairos keys in one script, and Redis Cluster refuses a script whose keys span hash slots/,
  );
});

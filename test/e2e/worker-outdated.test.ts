/**
 * A worker older than the run it meets: the run's fence hash says a newer commit protocol writes
 * it (what a later version records), so this version's commit script refuses the worker's first
 * chunk. The worker writes nothing, hands the split back without spending an attempt, stops taking
 * splits and exits non-zero saying to upgrade it. A worker the run accepts (the mark removed, as
 * an upgraded worker would be) then completes the run with exactly the reference's contents.
 *
 * The stack runs on a Redis database of its own, as in worker-drain.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { COMMIT_PROTOCOL_FIELD, ErrorCode, fenceKey } from '@sluice/core';
import { RUNS_INDEX } from '@sluice/control';
import { createSplitQueue } from '@sluice/queue';
import { COMMIT_PROTOCOL } from '@sluice/timeseries';
import { redisDatabaseUrl } from '../support/env.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys, wholeDaysShift } from '../support/network-metrics-reference.ts';
import type { KeyValue } from '../support/network-metrics-reference.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';

const redisDb = redisDatabaseUrl(15);
const shift = wholeDaysShift();

test('a worker older than its run writes nothing, gives the split back unspent and exits saying to upgrade; a worker the run accepts completes it exactly', async (t) => {
  const ns = `outdated-${randomUUID().slice(0, 8)}`;
  const prefix = `${ns}:`;
  const runId = `${ns}-run`;
  const redis = new Redis(redisDb);
  const queue = createSplitQueue({ connection: { url: redisDb, maxRetriesPerRequest: null }, namespace: ns });
  const procs: SluiceProcess[] = [];
  t.after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await queue.close();
    await deleteKeys(redis, `${ns}*`);
    await deleteKeys(redis, `sluice:*${ns}*`);
    await redis.zrem(RUNS_INDEX, runId);
    redis.disconnect();
  });
  // What a newer version's coordinator or worker records in the run's fence hash.
  await redis.hset(fenceKey(runId), COMMIT_PROTOCOL_FIELD, String(COMMIT_PROTOCOL + 1));

  const common = ['--redis', redisDb, '--namespace', ns];
  const coordinator = spawnSluice(t, ['coordinator', ...common, '--tick', '300', '--lease-ttl', '3000', '--attempts', '1']);
  procs.push(coordinator);
  await coordinator.waitFor('is the leader');
  const startWorker = async (): Promise<SluiceProcess> => {
    const w = spawnSluice(t, ['worker', ...common, '--key-prefix', prefix, '--chunk-records', '1000', '--lock-duration', '10000']);
    procs.push(w);
    await w.waitFor('ready');
    return w;
  };
  const old = await startWorker();
  // Two gzip files: two splits, each attempted once at most (`--attempts 1`), so a spent attempt would fail the run.
  const done = runSluice(t, ['backfill', 'network-metrics', '--input', ...datasetFiles('ndjson').map((f) => `file://${f}`), '--set', `timeShift=${shift}`,
    '--run-id', runId, ...common, '--wait', '--json']);
  done.catch(() => undefined);

  const exit = await Promise.race([old.exited, sleep(60_000, 'still running', { ref: false })]);
  const said = old.output();
  assert.equal(exit, 1, `the outdated worker exits non-zero:\n${said}`);
  assert.match(said, new RegExp(`\\[${ErrorCode.OUTDATED}\\] run ${runId} is written by a newer Sluice \\(commit protocol ${COMMIT_PROTOCOL + 1}; this worker's is ${COMMIT_PROTOCOL}\\): upgrade this worker; nothing was written; the split went back to the queue; stopping`));
  assert.match(said, /stopped/);
  assert.doesNotMatch(said, /attempt \d+ failed/, 'no attempt was spent');
  assert.deepEqual(await dumpKeys(redis, `${prefix}*`), new Map(), 'nothing was written');
  assert.equal(await redis.hget(`sluice:run:${runId}:stats`, 'chunks'), null, 'nor counted');
  const jobs = await queue.queue.getJobs(['waiting', 'active', 'failed', 'completed']);
  assert.deepEqual(await Promise.all(jobs.map(async (j) => [await j.getState(), j.attemptsMade])), [['waiting', 0], ['waiting', 0]], 'both splits wait, unspent');

  await redis.hdel(fenceKey(runId), COMMIT_PROTOCOL_FIELD);
  const current = await startWorker();
  const res = await done;
  assert.equal(res.code, 0, `the run completes:\n${res.output}\n${current.output().slice(-3000)}`);
  const progress = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { run: { state: string }; records: number; failed: unknown[] };
  assert.deepEqual([progress.run.state, progress.failed, progress.records], ['completed', [], 53_615 + 49_474]);
  const written = new Map([...(await dumpKeys(redis, `${prefix}*`))].map(([k, v]): [string, KeyValue] => [k.slice(prefix.length), v]));
  assert.deepEqual(written, computeReference(shift));
  current.kill('SIGTERM');
  coordinator.kill('SIGTERM');
  await Promise.all([current.exited, coordinator.exited]);
});

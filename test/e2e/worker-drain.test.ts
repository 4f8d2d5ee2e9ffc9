/**
 * Workers told to stop (SIGTERM) in the middle of a long split. With time enough to drain, a worker
 * finishes its split and exits without taking the next one; with no `--drain` time, it gives the
 * split back at once and exits, and another worker resumes that split after its last
 * committed chunk. The run completes with exactly the reference's Redis contents, with one attempt
 * per split: a shutdown must never count as the split's failure.
 *
 * The stack runs on a Redis database of its own, as in backfill-errors.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { RUNS_INDEX } from '@sluice/control';
import { createSplitQueue } from '@sluice/queue';
import type { SplitPayload } from '@sluice/queue';
import { redisDatabaseUrl, webhdfsUrl } from '../support/env.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys, wholeDaysShift } from '../support/network-metrics-reference.ts';
import type { KeyValue } from '../support/network-metrics-reference.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';

const redisDb = redisDatabaseUrl(15);
const shift = wholeDaysShift();

test('workers stopped mid-split take no new split, drain within their bound, and the run completes exactly', async (t) => {
  const ns = `drain-${randomUUID().slice(0, 8)}`;
  const prefix = `${ns}:`;
  const runId = `${ns}-run`;
  const redis = new Redis(redisDb);
  const queue = createSplitQueue({ connection: { url: redisDb, maxRetriesPerRequest: null }, namespace: ns });
  const hdfsDir = `${webhdfsUrl().replace(/^http/, 'webhdfs')}/tmp/sluice-test/${ns}`;
  const procs: SluiceProcess[] = [];
  t.after(async () => {
    // Hooks run in the order they were added: stop every process first, so none writes after the cleanup.
    await Promise.all(procs.map(kill));
    await queue.close();
    await deleteKeys(redis, `${ns}*`);
    await deleteKeys(redis, `sluice:*${ns}*`);
    await redis.zrem(RUNS_INDEX, runId);
    redis.disconnect();
  });
  t.after(async () => {
    await runSluice(t, ['hdfs', 'rm', '-r', hdfsDir]);
  });
  // Uncompressed and one split per file (128m): two splits of about 50,000 records each.
  const put = await runSluice(t, ['hdfs', 'put', '--gunzip', hdfsDir, ...datasetFiles('ndjson')]);
  assert.equal(put.code, 0, put.output);

  const common = ['--redis', redisDb, '--namespace', ns];
  const coordinator = spawnSluice(t, ['coordinator', ...common, '--tick', '300', '--lease-ttl', '3000', '--attempts', '1']);
  procs.push(coordinator);
  await coordinator.waitFor('is the leader');
  // Small chunks: a split commits hundreds of times, so a signal lands between two commits.
  const startWorker = async (drainSeconds: number): Promise<SluiceProcess> => {
    const w = spawnSluice(t, ['worker', ...common, '--key-prefix', prefix, '--concurrency', '1', '--chunk-records', '100', '--drain', String(drainSeconds), '--lock-duration', '10000']);
    procs.push(w);
    await w.waitFor('ready');
    return w;
  };
  const chunks = async (): Promise<number> => Number((await redis.hget(`sluice:run:${runId}:stats`, 'chunks')) ?? 0);
  /** Waits until a split is running and has committed a few more chunks, then returns it. */
  const midSplit = async (worker: SluiceProcess): Promise<Job<SplitPayload>> => {
    const from = await chunks();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [active] = await queue.queue.getJobs(['active']);
      if (active !== undefined && (await chunks()) >= from + 3) return active;
      assert.ok(Date.now() < deadline, `the worker never got going:\n${worker.output()}\n${coordinator.output()}`);
      await sleep(20);
    }
  };

  const first = await startWorker(60);
  const done = runSluice(t, ['backfill', 'network-metrics', '--input', `${hdfsDir}/*.ndjson`, '--set', `timeShift=${shift}`, '--split-size', '128m',
    '--run-id', runId, '--redis', redisDb, '--namespace', ns, '--wait', '--json']);
  done.catch(() => undefined);

  await t.test('with time to drain, the running split finishes and no new one is taken', async (st) => {
    const running = await midSplit(first);
    const { exit, after, ms } = await terminate(first, 60);
    st.diagnostic(`drain 60 s: SIGTERM to exit ${ms} ms`);
    assert.equal(exit, 0, first.output().slice(-3000));
    assert.match(after, /stopped/);
    assert.deepEqual(splitLines(after).map((l) => l.includes(`split ${running.data.splitId}: `)), [true], `only the running split finished:\n${after}`);
    assert.equal(await running.getState(), 'completed');
    const counts = await queue.queue.getJobCounts('waiting', 'active', 'completed', 'failed');
    assert.deepEqual(counts, { waiting: 1, active: 0, completed: 1, failed: 0 }, 'the other split was never taken');
  });

  // No drain time at all: the split is given back at its next batch, whatever the machine's speed.
  const second = await startWorker(0);
  await t.test('with no drain time, the running split is given back at once, unfailed', async (st) => {
    const running = await midSplit(second);
    const { exit, after, ms } = await terminate(second, 0);
    st.diagnostic(`drain 0 s: SIGTERM to exit ${ms} ms`);
    assert.equal(exit, 0, second.output().slice(-3000));
    assert.match(after, /stopped/);
    assert.deepEqual(splitLines(after), [], `the split did not finish during the drain:\n${after}`);
    assert.equal(await running.getState(), 'waiting', 'back in the queue: one attempt per split, yet not failed');
    assert.equal((await queue.queue.getJobCounts('failed')).failed, 0);
  });

  const third = await startWorker(5);
  const res = await done;
  assert.equal(res.code, 0, `the run completes:\n${res.output}\n${third.output().slice(-3000)}`);
  const progress = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { run: { state: string; splitsTotal: number }; records: number; failed: unknown[] };
  assert.equal(progress.run.state, 'completed');
  assert.equal(progress.run.splitsTotal, 2);
  assert.deepEqual(progress.failed, []);
  assert.equal(progress.records, 53_615 + 49_474, 'stats are committed with the data: exact despite the interruption');
  const resumed = splitLines(third.output());
  assert.equal(resumed.length, 1);
  assert.match(resumed[0] as string, /resumed at \d+/, 'the given-back split resumed after its last commit');
  const written = new Map([...(await dumpKeys(redis, `${prefix}*`))].map(([k, v]): [string, KeyValue] => [k.slice(prefix.length), v]));
  assert.deepEqual(written, computeReference(shift));
  third.kill('SIGTERM');
  coordinator.kill('SIGTERM');
  await Promise.all([third.exited, coordinator.exited]);
});

async function kill(p: SluiceProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.kill('SIGKILL');
  await p.exited;
}

/** Sends SIGTERM and returns the exit code and what the worker printed from then on. */
async function terminate(worker: SluiceProcess, boundSeconds: number): Promise<{ exit: number | string; after: string; ms: number }> {
  const at = Date.now();
  worker.kill('SIGTERM');
  const exit = await Promise.race([worker.exited, sleep((boundSeconds + 15) * 1000, 'still running', { ref: false })]);
  const out = worker.output();
  return { exit, after: out.slice(out.indexOf('SIGTERM: draining')), ms: Date.now() - at };
}

/** The lines a worker prints when it finished a split. */
function splitLines(text: string): string[] {
  return text.split('\n').filter((l) => / split \S+: /.test(l));
}

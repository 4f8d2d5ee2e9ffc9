/**
 * End to end: the WRCCDC logs in the real HDFS, a real coordinator and real worker processes, the
 * network-metrics backfill submitted through the CLI. The Redis contents must equal an independent
 * reference, for NDJSON and Zeek TSV alike, and stay equal when workers are SIGKILLed mid-split;
 * a Parquet backfill bounded in event time skips row groups by their statistics.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisUrl, webhdfsUrl } from '../support/env.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys, eventTimeWindow, wholeDaysShift } from '../support/network-metrics-reference.ts';
import { writeDatasetParquet } from '../support/parquet-dataset.ts';
import type { KeyValue } from '../support/network-metrics-reference.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';

const hdfsRoot = `${webhdfsUrl().replace(/^http/, 'webhdfs')}/tmp/sluice-test/backfill-${randomUUID()}`;
// Whole days, so the 2018 data lands within kairos's retention windows and buckets stay aligned.
const shift = wholeDaysShift();
const reference = computeReference(shift);

interface Stack { namespace: string; prefix: string; redis: Redis; coordinator: SluiceProcess; workers: SluiceProcess[]; startWorker(): SluiceProcess }

async function startStack(t: TestContext, workers: number, lockMs = 4000, chunkRecords = 50_000): Promise<Stack> {
  const namespace = `bf-${randomUUID().slice(0, 8)}`;
  const prefix = `${namespace}:`;
  const redis = new Redis(redisUrl());
  t.after(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });
  const common = ['--redis', redisUrl(), '--namespace', namespace];
  const coordinator = spawnSluice(t, ['coordinator', ...common, '--lease-ttl', '3000', '--tick', '300']);
  await coordinator.waitFor('is the leader');
  const stack: Stack = {
    namespace, prefix, redis, coordinator, workers: [],
    startWorker() {
      const w = spawnSluice(t, ['worker', ...common, '--key-prefix', prefix, '--lock-duration', String(lockMs), '--drain', '5', '--chunk-records', String(chunkRecords)]);
      stack.workers.push(w);
      return w;
    },
  };
  for (let i = 0; i < workers; i += 1) await stack.startWorker().waitFor('ready');
  return stack;
}

function stripPrefix(map: Map<string, KeyValue>, prefix: string): Map<string, KeyValue> {
  return new Map([...map].map(([k, v]) => [k.slice(prefix.length), v]));
}

async function backfill(t: TestContext, stack: Stack, input: string, splitSize: string): Promise<Record<string, unknown>> {
  const res = await runSluice(t, ['backfill', 'network-metrics', '--input', input, '--set', `timeShift=${shift}`, '--split-size', splitSize,
    '--redis', redisUrl(), '--wait', '--json', '--run-id', `${stack.namespace}-run`, '--namespace', stack.namespace]);
  assert.equal(res.code, 0, `backfill failed:\n${res.output}\n${stack.workers.map((w) => w.output().slice(-2000)).join('\n')}`);
  return JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
}

test('load the WRCCDC logs into HDFS', async (t) => {
  const plain = await runSluice(t, ['hdfs', 'put', '--gunzip', `${hdfsRoot}/ndjson`, ...datasetFiles('ndjson')]);
  assert.equal(plain.code, 0, plain.output);
  const zeek = await runSluice(t, ['hdfs', 'put', `${hdfsRoot}/zeek`, ...datasetFiles('zeek')]);
  assert.equal(zeek.code, 0, zeek.output);
  const ls = await runSluice(t, ['hdfs', 'ls', `${hdfsRoot}/**`]);
  assert.match(ls.stdout, /ndjson\/dns\.ndjson/);
  assert.match(ls.stdout, /zeek\/ssl\.log\.gz/);
});

test('backfill over NDJSON in HDFS equals the reference', async (t) => {
  const stack = await startStack(t, 2);
  const progress = await backfill(t, stack, `${hdfsRoot}/ndjson/*.ndjson`, '1m');
  assert.equal((progress.run as { state: string }).state, 'completed');
  assert.equal(progress.records, 53_615 + 49_474);
  assert.equal(progress.badRecords, 0);
  assert.ok(((progress.run as { splitsTotal: number }).splitsTotal) > 4, 'uncompressed files are split');
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
});

test('backfill over Zeek TSV (gzip) in HDFS equals the reference', async (t) => {
  const stack = await startStack(t, 2);
  const progress = await backfill(t, stack, `${hdfsRoot}/zeek/*.log.gz`, '128m');
  assert.equal((progress.run as { state: string }).state, 'completed');
  assert.equal(progress.records, 53_615 + 49_474);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
});

test('workers SIGKILLed mid-split several times: the result is still exactly the reference', async (t) => {
  // Small chunks, so a split commits many times and a kill lands between two commits of one split.
  const stack = await startStack(t, 2, 3000, 200);
  const done = backfill(t, stack, `${hdfsRoot}/ndjson/*.ndjson`, '2m');
  done.catch(() => undefined);
  const statsKey = `sluice:run:${stack.namespace}-run:stats`;
  const chunksCommitted = async (): Promise<number> => Number((await stack.redis.hget(statsKey, 'chunks')) ?? 0);
  let seen = 0;
  for (let round = 0; round < 4; round += 1) {
    // Wait until the workers are visibly mid-run (chunks committing), then kill one without warning.
    const deadline = Date.now() + 60_000;
    while ((await chunksCommitted()) < seen + 8) {
      assert.ok(Date.now() < deadline, `round ${round}: no chunk committed for 60 s, so a kill would not land mid-split`);
      await new Promise((r) => setTimeout(r, 50));
    }
    seen = await chunksCommitted();
    assert.equal((await stack.redis.hget(`sluice:run:${stack.namespace}-run`, 'state')), 'running', `round ${round}: the run is still running when the worker dies`);
    // A worker that is up and has committed since the last kill is holding a split; its
    // replacement starts at once, without waiting for it (the run is over in a few seconds).
    const alive = stack.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null && w.output().includes('ready'));
    const victim = alive[round % alive.length] as SluiceProcess;
    victim.kill('SIGKILL');
    await victim.exited;
    stack.startWorker();
  }
  const progress = await done;
  assert.equal((progress.run as { state: string }).state, 'completed');
  // Stats are committed inside the fenced write, so even they are exact after the crashes.
  assert.equal(progress.records, 53_615 + 49_474);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
  // A split a killed worker had half committed was resumed after its last chunk, not started over.
  const resumedMidSplit = stack.workers.flatMap((w) => [...w.output().matchAll(/, resumed at (\d+)\n/g)].map((m) => Number(m[1]))).filter((at) => at < Number.MAX_SAFE_INTEGER);
  assert.ok(resumedMidSplit.length > 0, `no split was resumed mid-way: the kills did not land mid-split\n${stack.workers.map((w) => w.output()).join('\n---\n').slice(-4000)}`);
});

test('a worker paused past its lock mid-split (a zombie) wakes after another finished its split: its late commits change nothing', async (t) => {
  const stack = await startStack(t, 1, 2000, 200);
  const [zombie] = stack.workers as [SluiceProcess];
  t.after(() => zombie.kill('SIGCONT'));
  // One split per file, so the frozen worker holds a split no other worker can start until its lock expires.
  const done = backfill(t, stack, `${hdfsRoot}/ndjson/*.ndjson`, '128m');
  done.catch(() => undefined);
  const runKey = `sluice:run:${stack.namespace}-run`;
  const deadline = Date.now() + 60_000;
  while (Number((await stack.redis.hget(`${runKey}:stats`, 'chunks')) ?? 0) < 8) {
    assert.ok(Date.now() < deadline, 'the first worker committed nothing');
    await new Promise((r) => setTimeout(r, 20));
  }
  // Frozen mid-split, as in a long GC pause or a VM stall: its lock expires, another worker takes
  // the split over from its last committed chunk and the run completes; then the frozen one wakes.
  zombie.kill('SIGSTOP');
  const helper = stack.startWorker();
  const progress = await done;
  assert.equal((progress.run as { state: string }).state, 'completed', JSON.stringify(progress));
  assert.match(helper.output(), /, resumed at [1-9]\d*\n/u, `the helper did not take the frozen split over mid-way:\n${helper.output()}`);
  const stats = await stack.redis.hgetall(`${runKey}:stats`);
  zombie.kill('SIGCONT');
  // It finishes its stale attempt (reading the rest of the split, committing its chunks): wait for it.
  const woke = Date.now();
  while (zombie.output().trim().split('\n').length < 2) {
    assert.ok(Date.now() - woke < 60_000, `the zombie said nothing after it woke:\n${zombie.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await stack.redis.hget(runKey, 'state'), 'completed');
  assert.deepEqual(await stack.redis.hgetall(`${runKey}:stats`), stats, 'the late commits counted nothing');
  assert.equal(progress.records, 53_615 + 49_474, 'stats counted every record once');
  assert.equal(await stack.redis.hlen(`${runKey}:failed`), 0, 'no split failed');
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
  assert.equal(zombie.child.exitCode, null, `the zombie worker crashed:\n${zombie.output()}`);
  // It stopped at its first refused chunk instead of reading the rest of the split for nothing.
  assert.match(zombie.output(), /dns\.ndjson#0-\d+: \d+ records, 0 bad, \d+ chunks; stopped at chunk \d+: another attempt took the split over/u, zombie.output());
});

test('a cancelled backfill drops its pending splits, and a worker started after it writes nothing', async (t) => {
  const stack = await startStack(t, 0);
  const runId = `${stack.namespace}-cancelled`;
  const submitted = await runSluice(t, ['backfill', 'network-metrics', '--input', `${hdfsRoot}/ndjson/*.ndjson`, '--set', `timeShift=${shift}`, '--split-size', '1m',
    '--redis', redisUrl(), '--run-id', runId, '--namespace', stack.namespace]);
  assert.equal(submitted.code, 0, submitted.output);
  const runState = async (): Promise<{ state?: string; splitsTotal?: string }> => stack.redis.hgetall(`sluice:run:${runId}`);
  const deadline = Date.now() + 60_000;
  while ((await runState()).state !== 'running') {
    assert.ok(Date.now() < deadline, `the run was not planned: ${JSON.stringify(await runState())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const splits = Number((await runState()).splitsTotal);
  assert.ok(splits > 4, `several splits wait in the queue (${splits})`);

  const cancelled = await runSluice(t, ['cancel', runId, '--redis', redisUrl()]);
  assert.equal(cancelled.code, 0, cancelled.output);
  assert.equal(cancelled.stdout, `cancelling ${runId}\n`);
  await stack.coordinator.waitFor(`run ${runId} cancelled (${splits} pending splits removed)`, 30_000);
  assert.equal((await runState()).state, 'cancelled');
  const again = await runSluice(t, ['cancel', runId, '--redis', redisUrl()]);
  assert.equal(again.stdout, `run ${runId} is cancelled; nothing to cancel\n`);

  const worker = stack.startWorker();
  await worker.waitFor('ready');
  // The worker polls the queue at once; half a second is many polls, and the queue must be empty.
  await new Promise((r) => setTimeout(r, 500));
  assert.doesNotMatch(worker.output(), /split /, 'no split of the cancelled run reached the worker');
  assert.deepEqual([...(await dumpKeys(stack.redis, `${stack.prefix}*`)).keys()], [], 'nothing was written');
});

test('a Parquet backfill with --since/--until skips the row groups outside them and equals the reference over the records inside', async (t) => {
  // Rows in time order, as an archive compacted by time: row groups then cover disjoint spans.
  const local = mkdtempSync(join(tmpdir(), 'sluice-bf-parquet-'));
  t.after(() => rmSync(local, { recursive: true, force: true }));
  const files = writeDatasetParquet(local, { rowGroupSize: 5000, sortByTime: true });
  const put = await runSluice(t, ['hdfs', 'put', `${hdfsRoot}/parquet-sorted`, ...files.map((f) => f.path)]);
  assert.equal(put.code, 0, put.output);
  const { since, until, inside, all } = eventTimeWindow();
  const stack = await startStack(t, 2);
  const res = await runSluice(t, ['backfill', 'network-metrics', '--input', `${hdfsRoot}/parquet-sorted/*.parquet`, '--set', `timeShift=${shift}`, '--since', since, '--until', until,
    '--split-size', '300k', '--redis', redisUrl(), '--wait', '--json', '--run-id', `${stack.namespace}-run`, '--namespace', stack.namespace]);
  assert.equal(res.code, 0, `backfill failed:\n${res.output}\n${stack.coordinator.output().slice(-2000)}`);
  const progress = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { run: { state: string }; records: number; badRecords: number };
  assert.equal(progress.run.state, 'completed');
  assert.equal(progress.badRecords, 0);
  const skipped = /(\d+) Parquet row groups skipped: their ts statistics lie outside --since\/--until/.exec(stack.coordinator.output());
  assert.ok(skipped !== null && Number(skipped[1]) > 0, `the coordinator skipped row groups:\n${stack.coordinator.output().slice(-2000)}`);
  assert.ok(progress.records < all * 0.8, `the workers read only the row groups left (${progress.records} of ${all} rows)`);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), computeReference(shift, '', inside));
});

test('cleanup HDFS', async (t) => {
  const res = await runSluice(t, ['hdfs', 'rm', '-r', hdfsRoot]);
  assert.equal(res.code, 0, res.output);
});

/**
 * The coordinator against the real Redis (`infra/local/up`), on a database of its own so that its
 * run indexes hold only what the test writes, and in a namespace of its own.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { ErrorCode, SluiceError } from '@sluice/core';
import { createFileRangeReader } from '@sluice/formats';
import { fixtureMicros, writeFixture } from '../../formats/test/support/parquet-fixture.ts';
import { ACTIVE_RUNS_INDEX, RUNS_INDEX, RunState, SUBMIT_WAKEUP, coordinatorLeaseKey, createRunStore, createStreamPositions, readLeaseHolder } from '@sluice/control';
import type { RunRecord, RunSpec, RunStore } from '@sluice/control';
import { Queue } from 'bullmq';
import { DEFAULT_QUEUE_PREFIX, QueueKind, createSplitQueue, queueName } from '@sluice/queue';
import { PLANNING_PROTOCOL, createCoordinator } from '../src/index.ts';
import type { CoordinatorOptions, ListInputOptions } from '../src/index.ts';

const base = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;
const url = (() => {
  const u = new URL(base);
  u.pathname = '/10';
  return u.href;
})();

async function deleteMatching(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** What a test holds, and `defer` for cleanups that run last-in first-out, before Redis is closed. */
interface Setup { redis: Redis; runs: RunStore; namespace: string; spec(runId: string): RunSpec; defer(cleanup: () => Promise<void>): void }

function setup(t: TestContext): Setup {
  const redis = new Redis(url);
  const namespace = `coord-${randomUUID().slice(0, 8)}`;
  const cleanups: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.toReversed()) await cleanup();
    const ids = (await redis.zrange(RUNS_INDEX, 0, -1)).filter((id) => id.startsWith(namespace));
    if (ids.length > 0) {
      await redis.zrem(RUNS_INDEX, ...ids);
      await redis.zrem(ACTIVE_RUNS_INDEX, ...ids);
      for (const id of ids) await redis.lrem(SUBMIT_WAKEUP, 0, id);
    }
    await deleteMatching(redis, `sluice:run:${namespace}*`);
    await deleteMatching(redis, `*${namespace}*`);
    redis.disconnect();
  });
  return {
    redis,
    runs: createRunStore(redis),
    namespace,
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
    spec: (runId) => ({ runId, kind: 'backfill', job: 'network-metrics', inputs: ['file:///nothing-here/*.ndjson'], options: {}, splitSize: 1024, namespace }),
  };
}

/**
 * Runs a coordinator of the test's namespace with `options` over quiet defaults (no input to list,
 * none to read); it is stopped, and its lease removed, when the test ends.
 */
function startCoordinator({ redis, namespace, defer }: Setup, options: Partial<CoordinatorOptions>): void {
  const blocking = new Redis(url);
  const coordinator = createCoordinator({
    redisUrl: url,
    redis,
    blockingRedis: blocking,
    namespace,
    leaseTtlMs: 2_000,
    log: () => undefined,
    listInputs: async () => [],
    openReader(readerUrl) {
      throw new SluiceError(ErrorCode.INTERNAL, `nothing to read at ${readerUrl}`, { retryable: false });
    },
    ...options,
  });
  const running = coordinator.run();
  defer(async () => {
    await coordinator.stop();
    await running;
    blocking.disconnect();
    await redis.del(coordinatorLeaseKey(namespace));
  });
}

/** Polls `check` every 20 ms until it holds; false when `ms` pass first. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** The run once a coordinator has planned it, asserted running (a failure's error is the message). */
async function plannedRun(runs: RunStore, runId: string): Promise<RunRecord | undefined> {
  let run = await runs.get(runId);
  await eventually(async () => {
    run = await runs.get(runId);
    return run?.state !== RunState.SUBMITTED && run?.state !== RunState.PLANNING;
  }, 20_000);
  assert.equal(run?.state, RunState.RUNNING, run?.error);
  return run;
}

test('the coordinator sees an active run behind 250 newer finished ones', async (t) => {
  const s = setup(t);
  const { runs, namespace, spec } = s;
  const cancelling = `${namespace}-old-cancelling`;
  const submitted = `${namespace}-old-submitted`;
  await runs.submit(spec(cancelling), 1_000);
  await runs.transition(cancelling, [RunState.SUBMITTED], RunState.CANCELLING);
  await runs.submit(spec(submitted), 2_000);
  for (let i = 0; i < 250; i += 1) {
    const id = `${namespace}-done-${i}`;
    await runs.submit(spec(id), 3_000 + i);
    await runs.transition(id, [RunState.SUBMITTED], RunState.COMPLETED);
  }
  assert.ok(!(await runs.list(200)).some((r) => r.runId === cancelling || r.runId === submitted), 'precondition: both are older than the newest 200');

  const listed: string[] = [];
  startCoordinator(s, {
    tickMs: 100,
    planningRetries: 1,
    async listInputs(input) {
      listed.push(input);
      return [];
    },
  });

  let states: (string | undefined)[] = [];
  await eventually(async () => {
    states = [(await runs.get(cancelling))?.state, (await runs.get(submitted))?.state];
    return states[0] === RunState.CANCELLED && states[1] === RunState.FAILED;
  }, 20_000);
  assert.deepEqual(states, [RunState.CANCELLED, RunState.FAILED], 'the old cancelling run was cancelled and the old submitted one planned');
  assert.match((await runs.get(submitted))?.error ?? '', /matched no file/, 'planning failed for its input, as it must with no file');
  assert.deepEqual(listed, ['file:///nothing-here/*.ndjson']);
  assert.deepEqual((await runs.listActive()).filter((r) => r.runId.startsWith(namespace)), [], 'nothing left active');
});

test('a dead-letter backlog beyond what one pass may move is worked off at the next ticks, not a period later', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace, spec } = s;
  const runId = `${namespace}-bad`;
  await runs.submit(spec(runId));
  await runs.transition(runId, [RunState.SUBMITTED], RunState.COMPLETED, { splitsTotal: 1, finishedAt: Date.now() });
  await redis.rpush(`sluice:run:${runId}:dead`, ...Array.from({ length: 8 }, (_, i) => JSON.stringify({ provenance: `file:///x@${i}`, reason: 'bad', raw: '' })));
  // An archive in memory: what matters here is when the leader writes, not where.
  const files = new Map<string, string>();
  const archive = {
    url: 'memory:///dead',
    write: async (fileUrl: string, text: string) => {
      if (files.has(fileUrl)) throw new Error(`${fileUrl} exists`);
      files.set(fileUrl, text);
    },
    remove: async (fileUrl: string) => files.delete(fileUrl),
  };
  // One file of 2 a pass, and a period far longer than the test: only chaining passes moves 6 of the 8 in time.
  startCoordinator(s, { tickMs: 100, deadLetterArchive: archive, archiveLimits: { keepInRedis: 1, maxPerFile: 2, maxFilesPerRun: 1 }, archiveEveryMs: 3_600_000 });
  const dead = `sluice:run:${runId}:dead`;
  assert.ok(await eventually(async () => files.size === 3 && (await redis.llen(dead)) === 2, 15_000), `files written: ${files.size}`);
  assert.deepEqual([...files.values()].map((text) => text.trim().split('\n').length), [2, 2, 2]);
  // 2 left, 1 kept: one more dead letter could move, but not a full file, so it waits for the period.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(files.size, 3, 'a remainder under a full file waits for the period');
  assert.equal(await redis.llen(dead), 2);
});

test('the leader prunes the fences of the runs of its namespace completed longer ago than it retains them, and says so', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace, spec } = s;
  const complete = async (id: string, finishedAt: number): Promise<void> => {
    await runs.submit(spec(id), finishedAt - 1_000);
    await runs.transition(id, [RunState.SUBMITTED], RunState.COMPLETED, { splitsTotal: 1, finishedAt });
    await redis.hset(`sluice:fence:${id}`, 'f#0-10', '0:9007199254740991');
  };
  const old = `${namespace}-old`;
  const recent = `${namespace}-recent`;
  await complete(old, Date.now() - 2 * 3_600_000);
  await complete(recent, Date.now() - 60_000);
  const lines: string[] = [];
  startCoordinator(s, { tickMs: 100, retainCompletedMs: 3_600_000, log: (line) => lines.push(line) });
  assert.ok(await eventually(async () => (await runs.get(old))?.prunedAt !== undefined, 20_000), 'the old run was pruned');
  assert.deepEqual(await redis.hkeys(`sluice:fence:${old}`), ['@pruned']);
  assert.deepEqual(await redis.hkeys(`sluice:fence:${recent}`), ['f#0-10'], 'the recent run keeps its fences');
  assert.equal((await runs.get(recent))?.prunedAt, undefined);
  assert.ok(lines.some((line) => line.startsWith('pruned the fences and split ids of 1 run completed before ') && line.endsWith(old)), lines.join('\n'));
});

test('the leader forgets the runs of its namespace finished longer ago than it keeps them, and says so', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace, spec } = s;
  const finish = async (id: string, state: RunState, finishedAt: number): Promise<void> => {
    await runs.submit(spec(id), finishedAt - 1_000);
    await runs.transition(id, [RunState.SUBMITTED], state, { splitsTotal: 1, finishedAt });
    await redis.hset(`sluice:fence:${id}`, 'f#0-10', '0:9007199254740991');
  };
  const old = `${namespace}-old`;
  const recent = `${namespace}-recent`;
  await finish(old, RunState.FAILED, Date.now() - 2 * 3_600_000);
  await finish(recent, RunState.COMPLETED, Date.now() - 60_000);
  const lines: string[] = [];
  startCoordinator(s, { tickMs: 100, forgetFinishedMs: 3_600_000, log: (line) => lines.push(line) });
  assert.ok(await eventually(async () => (await runs.get(old)) === undefined, 20_000), 'the old run was forgotten');
  assert.equal((await runs.forgotten(old))?.state, RunState.FAILED);
  assert.deepEqual(await redis.hkeys(`sluice:fence:${recent}`), ['f#0-10'], 'the recent run keeps everything');
  assert.equal((await runs.get(recent))?.state, RunState.COMPLETED);
  assert.ok(lines.some((line) => line.startsWith('forgot 1 run finished before ') && line.endsWith(old)), lines.join('\n'));
});

test('a forgetFinishedMs under an hour, or not a whole number, is refused before anything connects', () => {
  // Redis handles are never touched: the check comes first.
  const unused = {} as Redis;
  for (const forgetFinishedMs of [0, 59 * 60_000, Number.NaN, 3_600_000.5]) {
    assert.throws(
      () => createCoordinator({ redisUrl: 'redis://127.0.0.1:1', redis: unused, blockingRedis: unused, listInputs: async () => [], openReader: () => { throw new Error('unused'); }, forgetFinishedMs }),
      (e: unknown) => e instanceof SluiceError && e.code === ErrorCode.INVALID_CONFIG && e.message.startsWith('forgetFinishedMs must be whole milliseconds of at least 3600000 (1h)'),
      String(forgetFinishedMs),
    );
  }
});

test('a coordinator records its planning protocol when it leads, and refuses to lead where a newer one has', async (t) => {
  const s = setup(t);
  const { redis, namespace } = s;
  const protocolKey = `sluice:coordinator:protocol:${namespace}`;
  await redis.set(protocolKey, String(PLANNING_PROTOCOL - 1));
  startCoordinator(s, { tickMs: 100 });
  // The claim follows the lease by one round trip: wait for the key itself.
  assert.ok(await eventually(async () => (await redis.get(protocolKey)) === String(PLANNING_PROTOCOL), 20_000), 'an older protocol is raised to its own');
  assert.notEqual(await readLeaseHolder(redis, coordinatorLeaseKey(namespace)), undefined, 'and it leads');

  const other = `${namespace}-newer`;
  const otherKey = `sluice:coordinator:protocol:${other}`;
  s.defer(async () => {
    await redis.del(otherKey, coordinatorLeaseKey(other));
  });
  await redis.set(otherKey, String(PLANNING_PROTOCOL + 1));
  const blocking = new Redis(url);
  const lines: string[] = [];
  const older = createCoordinator({
    redisUrl: url, redis, blockingRedis: blocking, namespace: other, leaseTtlMs: 2_000, log: (line) => lines.push(line),
    listInputs: async () => [], openReader: () => { throw new Error('unused'); },
  });
  try {
    // Bounded: a coordinator that led instead would never settle.
    const within = new Promise((resolve) => setTimeout(() => resolve('still running after 20 s'), 20_000).unref());
    await assert.rejects(Promise.race([older.run(), within]), (e: unknown) => e instanceof SluiceError && e.code === ErrorCode.INVALID_CONFIG && e.message.startsWith(`a coordinator of planning protocol ${PLANNING_PROTOCOL + 1} has led namespace ${other}, and this one speaks ${PLANNING_PROTOCOL}`));
    assert.equal(older.isLeader, false);
    assert.equal(await readLeaseHolder(redis, coordinatorLeaseKey(other)), undefined, 'it handed the lease back at once');
    assert.equal(await redis.get(otherKey), String(PLANNING_PROTOCOL + 1), 'the newer protocol stays recorded');
    assert.ok(lines.some((line) => line.startsWith('refusing to lead: ')), lines.join('\n'));
  } finally {
    await older.stop();
    blocking.disconnect();
  }
});

test('timeShift=auto looks past a file that is not Parquet: the run is planned with it as a split of its own', async (t) => {
  const s = setup(t);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dns.ndjson'), `${JSON.stringify({ _path: 'dns', ts: '2018-03-24T17:20:00Z', 'id.orig_h': '10.0.0.1' })}\n`);
  writeFileSync(join(dir, 'broken.parquet'), 'PAR1 and no footer');
  const files = ['broken.parquet', 'dns.ndjson'].map((name) => ({ url: pathToFileURL(join(dir, name)).href, size: 1 }));
  startCoordinator(s, { tickMs: 100, listInputs: async () => files, openReader: (u) => createFileRangeReader(new URL(u).pathname) });
  const runId = `${s.namespace}-auto`;
  await s.runs.submit({ ...s.spec(runId), inputs: [`${pathToFileURL(dir).href}/*`], options: { timeShift: 'auto' } });
  const run = await plannedRun(s.runs, runId);
  assert.equal(run?.splitsTotal, 2);
  assert.match(run?.options.timeShift ?? '', /^\d+$/, 'the shift was resolved from the file that reads');
});

test('timeShift=auto reads a file cut into many splits once, and resolves the shift of its newest record', async (t) => {
  const s = setup(t);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const day = 86_400;
  const newest = Date.parse('2018-03-24T17:20:00Z');
  // 400 lines of ~75 bytes: 29 KiB, 28 splits of 1 KiB; the newest line sits in the middle.
  const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ _path: 'dns', ts: new Date(newest - (i === 200 ? 0 : 60_000 * (i + 1))).toISOString(), 'id.orig_h': '10.0.0.1' }));
  const path = join(dir, 'dns.ndjson');
  writeFileSync(path, `${lines.join('\n')}\n`);
  const file = { url: pathToFileURL(path).href, size: Buffer.byteLength(`${lines.join('\n')}\n`) };
  const now = newest + (3 * day + 5) * 1000;
  let opened = 0;
  startCoordinator(s, {
    tickMs: 100,
    nowMicros: () => now * 1000,
    listInputs: async () => [file],
    openReader: (u) => {
      opened += 1;
      return createFileRangeReader(new URL(u).pathname);
    },
  });
  const runId = `${s.namespace}-auto-many`;
  await s.runs.submit({ ...s.spec(runId), inputs: [file.url], options: { timeShift: 'auto' } });
  const run = await plannedRun(s.runs, runId);
  assert.ok((run?.splitsTotal ?? 0) >= 20, `precondition: many splits (${run?.splitsTotal})`);
  assert.equal(run?.options.timeShift, String(3 * day), 'three whole days: the newest record, in the middle of the file, was seen');
  assert.equal(opened, 1, 'the file was opened once for the whole pass, not once per split');
});

test('a backfill with --since reads no date partition that ended before it, and says how many files it skipped', async (t) => {
  const s = setup(t);
  const lines: string[] = [];
  const listed = ['dt=2018-03-22', 'dt=2018-03-23', 'dt=2018-03-24'].map((d) => ({ url: `file:///archive/${d}/dns.ndjson`, size: 100 }));
  const opened: string[] = [];
  startCoordinator(s, { tickMs: 100, log: (line) => lines.push(line), listInputs: async () => listed, openReader: (u) => {
    opened.push(u);
    throw new SluiceError(ErrorCode.INTERNAL, `nothing to read at ${u}`, { retryable: false });
  } });
  const runId = `${s.namespace}-since`;
  await s.runs.submit({ ...s.spec(runId), inputs: ['file:///archive/dt=*/dns.ndjson'], since: Date.parse('2018-03-24T06:00:00Z') * 1000 });
  const run = await plannedRun(s.runs, runId);
  assert.equal(run?.splitsTotal, 1, 'only dt=2018-03-24 is planned');
  assert.equal(run?.bytesTotal, 100);
  assert.ok(lines.includes(`run ${runId}: 2 of 3 files skipped, in date partitions that ended before --since`), lines.join('\n'));

  const none = `${s.namespace}-since-all`;
  await s.runs.submit({ ...s.spec(none), inputs: ['file:///archive/dt=*/dns.ndjson'], since: Date.parse('2018-03-26T00:00:00Z') * 1000 });
  await eventually(async () => (await s.runs.get(none))?.state === RunState.FAILED, 20_000);
  assert.match((await s.runs.get(none))?.error ?? '', /^\[SLUICE_NOT_FOUND\] all 3 files of the input lie in date partitions \(dt=…\) that ended before --since 2018-03-26T00:00:00\.000Z: nothing to backfill/);
  assert.deepEqual(opened, [], 'plain text is planned from sizes: no file was opened');
});

test('with --since, Parquet row groups outside it are skipped, and a run first planned without skipping is planned without it again', async (t) => {
  const s = setup(t);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'dns.parquet');
  // 80 rows about a second apart, in time order, 8 row groups of 10.
  writeFileSync(path, writeFixture(80, { rowGroupSize: 10 }));
  const file = { url: pathToFileURL(path).href, size: 1 };
  const lines: string[] = [];
  const fresh = `${s.namespace}-skip`;
  const older = `${s.namespace}-planned-before`;
  const since = Number(fixtureMicros(40));
  await s.runs.submit({ ...s.spec(fresh), inputs: [file.url], since, splitSize: 1 << 30 });
  // As a run planned (then failed and resubmitted) by a coordinator that never skipped row groups.
  await s.runs.submit({ ...s.spec(older), inputs: [file.url], since, splitSize: 1 << 30 });
  await s.redis.hset(`sluice:run:${older}`, 'splitsTotal', '1');
  startCoordinator(s, { tickMs: 100, log: (line) => lines.push(line), listInputs: async () => [file], openReader: (u) => createFileRangeReader(new URL(u).pathname) });
  const skipping = await plannedRun(s.runs, fresh);
  assert.equal(skipping?.skipRowGroupsBy, 'ts', 'the decision is recorded with the plan');
  assert.ok(lines.includes(`run ${fresh}: 4 Parquet row groups skipped: their ts statistics lie outside --since/--until`), lines.join('\n'));
  const unchanged = await plannedRun(s.runs, older);
  assert.equal(unchanged?.skipRowGroupsBy, null, 'planned as it was first: every row group, the same split ids');
  assert.ok(!lines.some((line) => line.startsWith(`run ${older}: `) && line.includes('row groups skipped')), lines.join('\n'));
  // The splits enqueued name their row ranges: the skipping run's starts at the first group kept.
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName(QueueKind.SPLITS, s.namespace), { connection, prefix: DEFAULT_QUEUE_PREFIX });
  t.after(async () => {
    await queue.close();
    connection.disconnect();
  });
  const ids = (await queue.getJobs(['waiting', 'active', 'prioritized', 'delayed', 'completed', 'failed'])).map((job) => `${job.data.runId} ${job.data.splitId}`).sort();
  assert.deepEqual(ids, [`${older} ${file.url}#rows=0-80`, `${fresh} ${file.url}#rows=40-80`]);
});

test('with --since, date partition directories that ended before it are not even listed', async (t) => {
  const s = setup(t);
  const lines: string[] = [];
  const days = ['dt=2018-03-22', 'dt=2018-03-23', 'dt=2018-03-24'];
  const skippedAsked: string[] = [];
  // A lister that walks partition directories as the real one does: it asks before listing each.
  const listInputs = async (_input: string, options: ListInputOptions = {}) => days
    .filter((d) => {
      const skip = options.skipDirectory?.(`/archive/${d}`) === true;
      if (skip) skippedAsked.push(d);
      return !skip;
    })
    .map((d) => ({ url: `file:///archive/${d}/dns.ndjson`, size: 100 }));
  startCoordinator(s, { tickMs: 100, log: (line) => lines.push(line), listInputs, openReader: (u) => {
    throw new SluiceError(ErrorCode.INTERNAL, `nothing to read at ${u}`, { retryable: false });
  } });
  const runId = `${s.namespace}-since-dirs`;
  await s.runs.submit({ ...s.spec(runId), inputs: ['file:///archive/dt=*/dns.ndjson'], since: Date.parse('2018-03-24T06:00:00Z') * 1000 });
  await eventually(async () => (await s.runs.get(runId))?.state === RunState.RUNNING, 20_000);
  assert.equal((await s.runs.get(runId))?.splitsTotal, 1, 'only dt=2018-03-24 is planned');
  assert.deepEqual(skippedAsked, ['dt=2018-03-22', 'dt=2018-03-23']);
  assert.ok(lines.includes(`run ${runId}: 2 partition directories not listed, in date partitions that ended before --since`), lines.join('\n'));

  // Everything pruned at the listing is "nothing to backfill", not "matched no file".
  const none = `${s.namespace}-since-dirs-all`;
  await s.runs.submit({ ...s.spec(none), inputs: ['file:///archive/dt=*/dns.ndjson'], since: Date.parse('2018-03-26T00:00:00Z') * 1000 });
  await eventually(async () => (await s.runs.get(none))?.state === RunState.FAILED, 20_000);
  assert.match((await s.runs.get(none))?.error ?? '', /^\[SLUICE_NOT_FOUND\] all 3 partition directories of the input lie in date partitions \(dt=…\) that ended before --since 2018-03-26T00:00:00\.000Z: nothing to backfill/);
});

test('a live stream run is checked every stream poll, so new data is planned long before the next tick', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace } = s;
  const runId = `${namespace}-stream`;
  let endOffset = 100;
  const kafka = {
    async listOffsets() {
      return [{ partition: 0, logStartOffset: 0, endOffset, newestTimestamp: null }];
    },
  };
  const positions = createStreamPositions(redis);
  startCoordinator(s, {
    // A tick this long would leave new data unplanned for the whole test: only the poll can plan it.
    tickMs: 600_000,
    streamPollMs: 50,
    kafka,
    positions,
    rangeLimits: { maxRecords: 1_000, maxInFlightPerPartition: 4 },
  });

  await runs.submit({ runId, kind: 'stream', job: 'network-metrics', inputs: ['events'], options: { start: 'earliest' }, splitSize: 1, namespace });
  const plannedTo = async (offset: number): Promise<boolean> => (await positions.list(runId)).some((p) => p.partition === 0 && p.planned === offset);
  assert.ok(await eventually(() => plannedTo(100), 10_000), 'the submission woke the coordinator and it planned [0, 100)');

  // Nothing wakes the loop for these appends: each is planned only if the run is polled.
  endOffset = 250;
  assert.ok(await eventually(() => plannedTo(250), 10_000), 'data appended after the first plan was planned, with a 10-minute tick');
  endOffset = 400;
  assert.ok(await eventually(() => plannedTo(400), 10_000), 'and so was data appended after that: the run stays polled');
  assert.equal((await runs.get(runId))?.state, RunState.RUNNING);
});

test('a coordinator that lost the lease and takes it again re-enqueues the ranges planned and not completed', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace } = s;
  const runId = `${namespace}-regained`;
  const kafka = {
    async listOffsets() {
      return [{ partition: 0, logStartOffset: 0, endOffset: 100, newestTimestamp: null }];
    },
  };
  const lines: string[] = [];
  const positions = createStreamPositions(redis);
  startCoordinator(s, { tickMs: 600_000, streamPollMs: 50, kafka, positions, log: (line) => lines.push(line), rangeLimits: { maxRecords: 1_000, maxInFlightPerPartition: 4 } });
  const ranges = createSplitQueue({ connection: { url, maxRetriesPerRequest: null }, kind: QueueKind.RANGES, namespace });
  s.defer(async () => {
    await ranges.queue.obliterate({ force: true });
    await ranges.close();
  });
  const waiting = async (): Promise<number> => (await ranges.queue.getJobCounts('waiting')).waiting ?? 0;
  await runs.submit({ runId, kind: 'stream', job: 'network-metrics', inputs: ['events'], options: { start: 'earliest' }, splitSize: 1, namespace });
  assert.ok(await eventually(async () => (await waiting()) === 1, 10_000), 'the range [0, 100) was planned and enqueued');

  // Another coordinator takes the lease; while it leads, the queued range is lost (as if it died
  // between reserving a range and enqueueing it). The lease then expires with nobody renewing it.
  await redis.set(coordinatorLeaseKey(namespace), 'another-coordinator:999999', 'PX', 1_500);
  assert.ok(await eventually(async () => lines.includes('lost the lease; standing by'), 10_000), lines.join('\n'));
  await ranges.queue.drain();
  assert.equal(await waiting(), 0);
  assert.ok(await eventually(async () => lines.filter((line) => line.startsWith('is the leader')).length === 2, 10_000), lines.join('\n'));
  assert.ok(await eventually(async () => (await waiting()) === 1, 10_000), 'the range planned before is enqueued again under the new lease');
  assert.deepEqual((await positions.pendingRanges(runId)).map((r) => [r.from, r.until]), [[0, 100]]);
  assert.equal(lines.filter((line) => line === 'lost the lease; standing by').length, 1, 'one step down, one line');
});

test('a stream tick that fails after reserving a range still gets that range enqueued by a later tick', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace } = s;
  const runId = `${namespace}-stranded`;
  let endOffset = 100;
  const kafka = {
    async listOffsets() {
      return [{ partition: 0, logStartOffset: 0, endOffset, newestTimestamp: null }];
    },
  };
  const real = createStreamPositions(redis);
  let reservations = 0;
  // A later tick's second reservation meets a Redis blip: [100, 200) is reserved, then the tick throws.
  const positions = {
    ...real,
    async reservePlan(...args: Parameters<typeof real.reservePlan>): Promise<boolean> {
      reservations += 1;
      if (reservations === 3) throw new SluiceError(ErrorCode.UNAVAILABLE, 'Redis blipped', {});
      return real.reservePlan(...args);
    },
  };
  const lines: string[] = [];
  startCoordinator(s, { tickMs: 600_000, streamPollMs: 50, kafka, positions, log: (line) => lines.push(line), rangeLimits: { maxRecords: 100, maxInFlightPerPartition: 4 } });
  const ranges = createSplitQueue({ connection: { url, maxRetriesPerRequest: null }, kind: QueueKind.RANGES, namespace });
  s.defer(async () => {
    await ranges.queue.obliterate({ force: true });
    await ranges.close();
  });
  await runs.submit({ runId, kind: 'stream', job: 'network-metrics', inputs: ['events'], options: { start: 'earliest' }, splitSize: 1, namespace });
  const queued = async (): Promise<string[]> => (await ranges.queue.getJobs(['waiting'])).map((job) => `${job.data.start}-${job.data.end}`).sort();
  assert.ok(await eventually(async () => (await queued()).length === 1, 10_000), 'the first tick enqueued [0, 100)');
  endOffset = 300;
  assert.ok(await eventually(async () => (await queued()).length === 3, 10_000), `queued: ${(await queued()).join(', ')}; ${lines.join('\n')}`);
  assert.deepEqual(await queued(), ['0-100', '100-200', '200-300']);
  assert.ok(lines.some((line) => line.includes('Redis blipped (will retry)')), lines.join('\n'));
});

test('a stream run whose brokers are away is retried at every poll but logged once, and says when it plans again', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace } = s;
  const runId = `${namespace}-stream-outage`;
  let away = true;
  let calls = 0;
  const kafka = {
    async listOffsets() {
      calls += 1;
      if (away) throw new SluiceError(ErrorCode.UNAVAILABLE, 'cannot connect to the Kafka brokers 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)', {});
      return [{ partition: 0, logStartOffset: 0, endOffset: 100, newestTimestamp: null }];
    },
  };
  const lines: string[] = [];
  const positions = createStreamPositions(redis);
  startCoordinator(s, { tickMs: 600_000, streamPollMs: 20, kafka, positions, log: (line) => lines.push(line) });

  await runs.submit({ runId, kind: 'stream', job: 'network-metrics', inputs: ['events'], options: { start: 'earliest' }, splitSize: 1, namespace });
  assert.ok(await eventually(async () => calls >= 10, 10_000), `the run was retried at each poll (${calls} calls)`);
  const failures = lines.filter((line) => line.includes('ECONNREFUSED'));
  assert.deepEqual(failures, [`stream run ${runId}: cannot connect to the Kafka brokers 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1) (will retry)`]);

  away = false;
  assert.ok(await eventually(async () => (await positions.list(runId)).some((p) => p.planned === 100), 10_000), 'planned once the brokers were back');
  assert.equal(lines.filter((line) => line === `stream run ${runId}: planning again`).length, 1, lines.join('\n'));
  assert.equal((await runs.get(runId))?.state, RunState.RUNNING);
});

test('a coordinator deposed while it plans (paused past its lease) records nothing of its plan and enqueues nothing', async (t) => {
  const s = setup(t);
  const { redis, runs, namespace } = s;
  const runId = `${namespace}-deposed`;
  let entered!: () => void;
  const listing = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const lines: string[] = [];
  startCoordinator(s, {
    log: (line) => lines.push(line),
    async listInputs() {
      entered();
      await gate;
      return [{ url: 'file:///deposed/a.ndjson', size: 10_000 }];
    },
  });
  const splits = createSplitQueue({ connection: { url, maxRetriesPerRequest: null }, namespace });
  s.defer(async () => {
    await splits.queue.obliterate({ force: true });
    await splits.close();
  });
  await runs.submit({ ...s.spec(runId), inputs: ['file:///deposed/*.ndjson'] });
  await listing;
  // While its listing hangs, another coordinator takes the lease for good.
  await redis.set(coordinatorLeaseKey(namespace), 'successor:999999', 'PX', 60_000);
  assert.ok(await eventually(async () => lines.some((line) => line.includes('standing by')), 10_000), lines.join('\n'));
  release();
  await new Promise((r) => setTimeout(r, 500));
  const run = await runs.get(runId);
  assert.deepEqual([run?.state, run?.splitsTotal, run?.plannedBy], [RunState.PLANNING, undefined, undefined], 'the plan was not recorded');
  assert.equal(await splits.queue.count(), 0, 'no split was enqueued');
  assert.ok(!lines.some((line) => line.includes('enqueued') || line.includes('failed')), lines.join('\n'));
});

test('a stream run on a coordinator with no Kafka brokers fails with a coded error that says how to fix and resume it', async (t) => {
  const s = setup(t);
  const lines: string[] = [];
  startCoordinator(s, { log: (line) => lines.push(line) });
  const runId = `${s.namespace}-nobrokers`;
  await s.runs.submit({ runId, kind: 'stream', job: 'network-metrics', inputs: ['events'], options: { start: 'earliest' }, splitSize: 1, namespace: s.namespace });
  assert.ok(await eventually(async () => (await s.runs.get(runId))?.state === RunState.FAILED, 10_000), 'the run failed');
  assert.equal((await s.runs.get(runId))?.error, `[SLUICE_INVALID_CONFIG] this coordinator has no Kafka brokers configured: restart it with --brokers host:port (or KAFKA_BROKERS), then resubmit the run with --run-id ${runId}`);
  assert.ok(lines.includes(`stream run ${runId} failed: no Kafka brokers configured (--brokers or KAFKA_BROKERS)`), lines.join('\n'));
});

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ErrorCode, fenceKey, isSluiceError } from '@sluice/core';
import {
  ACTIVE_RUNS_INDEX, ACTIVE_RUNS_INDEXED, RUNS_INDEX, RunState, SUBMIT_WAKEUP, createRunStore, runDeadLetterFilesKey, runDeadLettersKey, runKey, runStatsKey,
  streamDoneKey, streamEndsKey, streamGapsKey, streamPlannedKey, streamPositionsKey, streamSizesKey, streamTimesKey,
} from '../src/index.ts';
import type { RunSpec, RunStore } from '../src/index.ts';

const base = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;
// A database of its own: the run index and the wake-up list are global, and a coordinator on the
// shared database would plan (and fail) the runs these tests submit.
const url = (() => {
  const u = new URL(base);
  u.pathname = '/12';
  return u.href;
})();

function spec(runId: string): RunSpec {
  return { runId, kind: 'backfill', job: 'j', inputs: ['file:///x'], options: { a: '1' }, splitSize: 1024 };
}

function withStore(t: TestContext): { redis: Redis; runs: RunStore; newRun(): string } {
  const redis = new Redis(url);
  const ids: string[] = [];
  t.after(async () => {
    for (const id of ids) {
      const keys = [...(await redis.keys(`sluice:run:${id}*`)), ...(await redis.keys(`sluice:stream:${id}:*`))];
      if (keys.length > 0) await redis.del(...keys);
      await redis.del(fenceKey(id));
      await redis.zrem(RUNS_INDEX, id);
      await redis.zrem(ACTIVE_RUNS_INDEX, id);
      await redis.lrem(SUBMIT_WAKEUP, 0, id);
    }
    redis.disconnect();
  });
  return {
    redis,
    runs: createRunStore(redis),
    newRun: () => {
      const id = `test-${randomUUID()}`;
      ids.push(id);
      return id;
    },
  };
}

test('submit records a run, indexes it and wakes the coordinator; get reads it back typed', async (t) => {
  const { runs, newRun } = withStore(t);
  const runId = newRun();
  const created = await runs.submit({ ...spec(runId), since: 1_000_000, until: 2_000_000 }, 1_700_000_000_000);
  assert.equal(created.state, RunState.SUBMITTED);
  assert.deepEqual(await runs.get(runId), {
    runId, kind: 'backfill', job: 'j', inputs: ['file:///x'], options: { a: '1' }, splitSize: 1024,
    since: 1_000_000, until: 2_000_000, state: RunState.SUBMITTED, submittedAt: 1_700_000_000_000,
    submitted: { inputs: ['file:///x'], options: { a: '1' }, since: 1_000_000, until: 2_000_000, splitSize: 1024 },
  });
  assert.equal(await runs.get(newRun()), undefined);
  assert.equal(await runs.waitForSubmission(1), runId, 'the submission is on the wake-up list');
  await assert.rejects(runs.submit({ ...spec('bad id!'), runId: 'bad id!' }), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG);
  await assert.rejects(runs.submit({ ...spec(newRun()), inputs: [] }), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && /--input/.test(e.message));
});

test('list returns runs newest first, up to the limit', async (t) => {
  const { runs, newRun } = withStore(t);
  // Submission times far in the future, so these runs come before any other on this database.
  const ids = [newRun(), newRun(), newRun()];
  for (const [i, id] of ids.entries()) await runs.submit(spec(id), 4_000_000_000_000 + i);
  assert.deepEqual((await runs.list(3)).map((r) => r.runId), [...ids].reverse());
  assert.deepEqual((await runs.list(2)).map((r) => r.runId), [ids[2], ids[1]]);
});

test('transitions are compare-and-set: exactly one of concurrent ones wins', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId));
  assert.equal(await runs.transition(runId, [RunState.RUNNING], RunState.COMPLETED), false, 'not from a state it is not in');
  assert.equal(await runs.transition(newRun(), [RunState.SUBMITTED], RunState.RUNNING), false, 'not for a run that does not exist');
  assert.equal(await runs.transition(runId, [RunState.SUBMITTED, RunState.PLANNING], RunState.RUNNING, { splitsTotal: 7 }), true);
  assert.equal((await runs.get(runId))?.splitsTotal, 7, 'fields are written with a successful transition');
  for (let round = 0; round < 10; round += 1) {
    const outcomes = await Promise.all([
      runs.transition(runId, [RunState.RUNNING], RunState.COMPLETED, { error: 'completed' }),
      runs.transition(runId, [RunState.RUNNING], RunState.CANCELLING, { error: 'cancelling' }),
      runs.transition(runId, [RunState.RUNNING], RunState.FAILED, { error: 'failed' }),
    ]);
    assert.equal(outcomes.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
    const after = await runs.get(runId);
    assert.equal(after?.error, after?.state, 'only the winner wrote its fields');
    await redis.hset(runKey(runId), 'state', RunState.RUNNING);
  }
  assert.equal(await runs.transition(runId, [RunState.CANCELLING], RunState.CANCELLED, { state: RunState.COMPLETED }), false);
  await runs.update(runId, { state: RunState.COMPLETED, bytesTotal: 9 });
  assert.equal((await runs.get(runId))?.state, RunState.RUNNING, 'update never changes the state');
  assert.equal((await runs.get(runId))?.bytesTotal, 9);
});

test('a failed run resubmitted goes back to submitted, its failed splits and error cleared, its done splits kept', async (t) => {
  const { runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId));
  assert.equal(await runs.waitForSubmission(1), runId);
  await runs.transition(runId, [RunState.SUBMITTED], RunState.FAILED, { error: '1 of 2 splits failed' });
  await runs.recordFailedSplit(runId, { splitId: 's1', code: 'SLUICE_CORRUPT_INPUT', message: 'bad', attempts: 3 });
  await runs.recordSplitDone(runId, 's0');
  assert.equal((await runs.progress(runId))?.splitsFailed, 1);
  const again = await runs.submit(spec(runId));
  assert.equal(again.state, RunState.SUBMITTED);
  assert.equal(again.error, undefined);
  const progress = await runs.progress(runId);
  assert.equal(progress?.splitsFailed, 0);
  assert.equal(progress?.splitsDone, 1, 'what was done stays done');
  assert.equal(await runs.waitForSubmission(1), runId, 'the coordinator is woken again');
});

test('resubmitting a run that is not failed changes nothing; another job or kind with its id is refused', async (t) => {
  const { runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId), 1000);
  await runs.transition(runId, [RunState.SUBMITTED], RunState.RUNNING);
  assert.equal((await runs.submit(spec(runId), 2000)).state, RunState.RUNNING);
  await runs.transition(runId, [RunState.RUNNING], RunState.COMPLETED);
  const completed = await runs.submit(spec(runId), 3000);
  assert.equal(completed.state, RunState.COMPLETED, 'a completed run is not run again');
  assert.equal(completed.submittedAt, 1000);
  for (const other of [{ ...spec(runId), job: 'other' }, { ...spec(runId), kind: 'stream' as const }]) {
    await assert.rejects(runs.submit(other), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && e.message.includes(runId));
  }
});

test('progress assembles committed stats, done and failed splits, rate and ETA', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId));
  assert.deepEqual(
    { ...(await runs.progress(runId)), run: undefined },
    { run: undefined, splitsDone: 0, splitsFailed: 0, records: 0, badRecords: 0, bytes: 0, expired: 0, chunks: 0, recordsPerSecond: 0, etaSeconds: undefined, failed: [] },
  );
  await runs.transition(runId, [RunState.SUBMITTED], RunState.RUNNING, { startedAt: 10_000, splitsTotal: 4, bytesTotal: 1000 });
  // What the fenced commit increments.
  await redis.hset(runStatsKey(runId), { records: 500, badRecords: 3, bytes: 250, expired: 7, chunks: 5 });
  await runs.recordSplitDone(runId, 'a');
  await runs.recordSplitDone(runId, 'a');
  await runs.recordFailedSplit(runId, { splitId: 'c', code: 'SLUICE_CORRUPT_INPUT', message: 'truncated', attempts: 1 });
  await runs.recordFailedSplit(runId, { splitId: 'b', code: 'SLUICE_UNAVAILABLE', message: 'down', attempts: 5 });
  const p = await runs.progress(runId, 15_000);
  assert.ok(p !== undefined);
  assert.deepEqual(
    { splitsDone: p.splitsDone, splitsFailed: p.splitsFailed, records: p.records, badRecords: p.badRecords, bytes: p.bytes, expired: p.expired, chunks: p.chunks },
    { splitsDone: 1, splitsFailed: 2, records: 500, badRecords: 3, bytes: 250, expired: 7, chunks: 5 },
  );
  assert.equal(p.recordsPerSecond, 100, '500 records in 5 s');
  assert.equal(p.etaSeconds, 15, '750 bytes left at 50 bytes/s');
  assert.deepEqual(p.failed.map((f) => f.splitId), ['b', 'c'], 'failed splits sorted by id');
  assert.deepEqual(p.failed[1], { splitId: 'c', code: 'SLUICE_CORRUPT_INPUT', message: 'truncated', attempts: 1 });
  await runs.recordSplitDone(runId, 'b');
  const later = await runs.progress(runId, 15_000);
  assert.deepEqual([later?.splitsDone, later?.splitsFailed], [2, 1], 'a split that succeeded on a later attempt is no longer failed');
  await runs.transition(runId, [RunState.RUNNING], RunState.FAILED, { finishedAt: 20_000 });
  assert.equal((await runs.progress(runId, 99_000))?.recordsPerSecond, 50, 'a finished run\'s rate stops at its end');
  assert.equal(await runs.progress(newRun()), undefined);
});

test('the last split outcome of a run wakes the coordinator, earlier ones do not', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId));
  assert.equal(await runs.waitForSubmission(1), runId, 'the submission itself');
  await runs.transition(runId, [RunState.SUBMITTED], RunState.RUNNING, { startedAt: 10_000, splitsTotal: 3 });
  await runs.recordSplitDone(runId, 'a');
  await runs.recordFailedSplit(runId, { splitId: 'b', code: 'SLUICE_CORRUPT_INPUT', message: 'truncated', attempts: 1 });
  await runs.recordSplitDone(runId, 'a');
  assert.equal(await redis.lpos(SUBMIT_WAKEUP, runId), null, 'two of three splits: no wake-up yet');
  await runs.recordSplitDone(runId, 'c');
  assert.equal(await runs.waitForSubmission(1), runId, 'the third outcome wakes the coordinator');
  await runs.recordSplitDone(runId, 'b');
  assert.equal(await runs.waitForSubmission(1), runId, 'so does a failed split that later succeeded');
  assert.equal((await runs.progress(runId))?.splitsDone, 3);
});

test('a live range done keeps no record of its own: the ranges the stream positions counted are the run\'s splits done', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit({ ...spec(runId), kind: 'stream', inputs: ['kafka://tp'] });
  const range = 'kafka://tp/0@0-10';
  await runs.recordFailedSplit(runId, { splitId: range, code: 'SLUICE_SOURCE_UNAVAILABLE', message: 'broker down', attempts: 5 });
  await runs.recordRangeDone(runId, range);
  await redis.hincrby(runStatsKey(runId), 'splitsDone', 4);
  const p = await runs.progress(runId);
  assert.deepEqual([p?.splitsDone, p?.splitsFailed], [4, 0], 'a range that succeeded on a retry is no longer failed');
  assert.equal(await redis.exists(`sluice:run:${runId}:done`), 0, 'no set of range ids grows with the stream');
});

test('pruning drops the fences and split ids of runs completed before the cutoff, and nothing of any other run', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const DAY = 86_400_000;
  const now = 1_800_000_000_000;
  const finish = async (state: RunState, finishedAt: number, namespace?: string): Promise<string> => {
    const runId = newRun();
    await runs.submit({ ...spec(runId), ...(namespace === undefined ? {} : { namespace }) }, finishedAt - 60_000);
    await runs.transition(runId, [RunState.SUBMITTED], state, { splitsTotal: 2, ...(state === RunState.RUNNING ? {} : { finishedAt }) });
    for (const split of ['f#0-10', 'f#10-20']) {
      await runs.recordSplitDone(runId, split);
      await redis.hset(fenceKey(runId), split, '0:9007199254740991');
    }
    await redis.hset(runStatsKey(runId), 'records', '20');
    await redis.rpush(runDeadLettersKey(runId), '{"provenance":"f@3"}');
    return runId;
  };
  const old = await finish(RunState.COMPLETED, now - 8 * DAY);
  const recent = await finish(RunState.COMPLETED, now - 6 * DAY);
  const failed = await finish(RunState.FAILED, now - 8 * DAY);
  const cancelled = await finish(RunState.CANCELLED, now - 8 * DAY);
  const running = await finish(RunState.RUNNING, now - 8 * DAY);
  const elsewhere = await finish(RunState.COMPLETED, now - 8 * DAY, 'other');
  const before = await runs.progress(old);

  const pruned = await runs.pruneCompleted(now - 7 * DAY, '', now);
  assert.ok(pruned.includes(old), 'the run completed before the cutoff');
  for (const kept of [recent, failed, cancelled, running, elsewhere]) {
    assert.ok(!pruned.includes(kept), `${kept} is not pruned`);
    assert.equal(await redis.hlen(fenceKey(kept)), 2, 'its fences stay: a failed or cancelled run resumes by them');
  }
  assert.deepEqual(await redis.hgetall(fenceKey(old)), { '@pruned': String(now) }, 'one field stands for every fence');
  assert.equal(await redis.exists(`sluice:run:${old}:done`), 0);
  const after = await runs.progress(old);
  assert.equal(after?.run.prunedAt, now);
  assert.deepEqual({ ...after, run: undefined }, { ...before, run: undefined }, 'status reads the same: splits done, records, failures');
  assert.deepEqual(await runs.deadLetters(old), [{ provenance: 'f@3' }], 'dead letters stay');
  // A zombie attempt ending after the prune records nothing: no done set again, no failure.
  await runs.recordSplitDone(old, 'f#0-10');
  await runs.recordFailedSplit(old, { splitId: 'f#10-20', code: 'SLUICE_IO', message: 'late', attempts: 1 });
  assert.equal(await redis.exists(`sluice:run:${old}:done`), 0, 'a late outcome does not recreate the done set');
  assert.equal(await runs.countFailedSplits(old), 0);
  assert.deepEqual({ ...(await runs.progress(old)), run: undefined }, { ...before, run: undefined }, 'nor count twice');
  assert.ok(!(await runs.pruneCompleted(now - 7 * DAY, '', now + 1)).includes(old), 'pruned once');
  assert.deepEqual(await redis.hgetall(fenceKey(old)), { '@pruned': String(now) });
  assert.ok((await runs.pruneCompleted(now - 7 * DAY, 'other', now)).includes(elsewhere), 'a namespace prunes its own runs');
});

test('forgetFinished deletes every key of the runs of its namespace that finished before the cutoff, and refuses their ids for good', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const DAY = 86_400_000;
  const now = 1_800_000_000_000;
  const finish = async (state: RunState, finishedAt: number, options: { namespace?: string; kind?: RunSpec['kind'] } = {}): Promise<string> => {
    const runId = newRun();
    await runs.submit({ ...spec(runId), ...(options.namespace === undefined ? {} : { namespace: options.namespace }), ...(options.kind === undefined ? {} : { kind: options.kind }) }, finishedAt - 60_000);
    await runs.transition(runId, [RunState.SUBMITTED], state, { splitsTotal: 2, ...(state === RunState.RUNNING ? {} : { finishedAt }) });
    await runs.recordSplitDone(runId, 'f#0-10');
    await runs.recordFailedSplit(runId, { splitId: 'f#10-20', code: 'SLUICE_IO', message: 'gone', attempts: 5 });
    await redis.hset(fenceKey(runId), 'f#0-10', '0:9007199254740991');
    await redis.hset(runStatsKey(runId), 'records', '20');
    await redis.rpush(runDeadLettersKey(runId), '{"provenance":"f@3"}');
    await redis.rpush(runDeadLetterFilesKey(runId), '{"url":"file:///archive/x.ndjson","from":0,"count":1}');
    if (options.kind === 'stream') {
      for (const key of [streamPositionsKey, streamPlannedKey, streamDoneKey, streamTimesKey, streamEndsKey, streamSizesKey]) await redis.hset(key(runId), 't/0', '1');
      await redis.rpush(streamGapsKey(runId), '{}');
    }
    return runId;
  };
  const keysOf = async (runId: string): Promise<string[]> => [...(await redis.keys(`sluice:run:${runId}*`)), ...(await redis.keys(`sluice:stream:${runId}:*`)), ...(await redis.keys(fenceKey(runId)))].toSorted();
  const completed = await finish(RunState.COMPLETED, now - 91 * DAY);
  const failed = await finish(RunState.FAILED, now - 91 * DAY);
  const stream = await finish(RunState.CANCELLED, now - 91 * DAY, { kind: 'stream' });
  const recent = await finish(RunState.COMPLETED, now - 89 * DAY);
  const running = await finish(RunState.RUNNING, now - 91 * DAY);
  const elsewhere = await finish(RunState.FAILED, now - 91 * DAY, { namespace: 'other' });
  assert.equal((await keysOf(stream)).length, 14, 'precondition: the stream run has its record, fences, stats, dead letters and positions');

  const forgotten = await runs.forgetFinished(now - 90 * DAY, '', now);
  assert.deepEqual(forgotten.toSorted(), [completed, failed, stream].toSorted());
  for (const id of forgotten) {
    assert.deepEqual(await keysOf(id), [fenceKey(id)], `${id}: only its fence hash is left`);
    assert.deepEqual(Object.keys(await redis.hgetall(fenceKey(id))).toSorted(), ['@forgotten', '@pruned'], 'no fence but the markers: any chunk of it is a duplicate');
    assert.equal(await runs.get(id), undefined);
    assert.equal(await runs.progress(id), undefined);
    assert.equal(await redis.zscore(RUNS_INDEX, id), null, 'out of the run index');
  }
  for (const kept of [recent, running, elsewhere]) {
    assert.equal((await keysOf(kept)).length, 7, `${kept} keeps every key`);
    assert.notEqual(await runs.get(kept), undefined);
  }
  assert.deepEqual(await runs.forgotten(stream), { runId: stream, state: RunState.CANCELLED, job: 'j', kind: 'stream', finishedAt: now - 91 * DAY, forgottenAt: now });
  assert.equal(await runs.forgotten(recent), undefined);

  // Any new submission of a forgotten id is refused, whatever its inputs: it would commit again what the first run did.
  for (const id of [completed, failed]) {
    await assert.rejects(runs.submit(spec(id)), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && /forgotten at 2027-01-15T08:00:00.000Z/.test(e.message) && /choose another --run-id/.test(e.message));
    assert.equal(await runs.get(id), undefined, 'and nothing is recorded');
  }
  // A zombie attempt ending after the run was forgotten leaves nothing behind.
  await runs.recordSplitDone(completed, 'f#10-20');
  await runs.recordFailedSplit(completed, { splitId: 'f#10-20', code: 'SLUICE_IO', message: 'late', attempts: 1 });
  assert.deepEqual(await keysOf(completed), [fenceKey(completed)]);

  // A record without its runId field (written by hand, or by an older version) is forgotten whole all the same.
  const bare = await finish(RunState.COMPLETED, now - 91 * DAY);
  await redis.hdel(runKey(bare), 'runId');
  assert.deepEqual(await runs.forgetFinished(now - 90 * DAY, '', now), [bare]);
  assert.deepEqual(await keysOf(bare), [fenceKey(bare)]);
  assert.equal((await runs.forgotten(bare))?.state, RunState.COMPLETED);
  assert.equal(await redis.zscore(RUNS_INDEX, bare), null);
  assert.deepEqual(await runs.forgetFinished(now - 90 * DAY, '', now + 1), [], 'forgotten once');
  assert.deepEqual(await runs.forgetFinished(now - 90 * DAY, 'other', now), [elsewhere], 'a namespace forgets its own runs');
});

test('forgetFinished pages through the run index while it shrinks under it', async (t) => {
  const { runs, newRun } = withStore(t);
  const finishedAt = 1_000_000;
  const ids: string[] = [];
  // More than one page (500), every second one still running: the page after a forgetting starts
  // as many places sooner as runs left the index.
  for (let i = 0; i < 1_100; i += 1) {
    const id = newRun();
    ids.push(id);
    await runs.submit(spec(id), finishedAt - 10_000 + i);
    await runs.transition(id, [RunState.SUBMITTED], i % 2 === 0 ? RunState.COMPLETED : RunState.RUNNING, i % 2 === 0 ? { finishedAt } : {});
  }
  const forgotten = new Set(await runs.forgetFinished(finishedAt + 1, '', finishedAt + 2));
  assert.deepEqual(ids.filter((id) => forgotten.has(id)), ids.filter((_, i) => i % 2 === 0));
  for (const id of ids.filter((_, i) => i % 2 === 1)) assert.equal((await runs.get(id))?.state, RunState.RUNNING);
});

test('a state change of a record without its runId field still keeps the active index and sets its fields', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId));
  await redis.hdel(runKey(runId), 'runId');
  assert.equal(await runs.transition(runId, [RunState.SUBMITTED], RunState.COMPLETED, { finishedAt: 123 }), true);
  assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, runId), null, 'out of the active index');
  assert.equal(await redis.hget(runKey(runId), 'finishedAt'), '123', 'and its fields are set in the same step');
});

test('dead letters are read oldest first, up to a limit', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId));
  const letters = Array.from({ length: 5 }, (_, i) => ({ provenance: `file:///x@${i * 10}`, reason: 'invalid JSON', raw: `line ${i}` }));
  await redis.rpush(runDeadLettersKey(runId), ...letters.map((l) => JSON.stringify(l)));
  assert.deepEqual(await runs.deadLetters(runId), letters);
  assert.deepEqual(await runs.deadLetters(runId, 2), letters.slice(0, 2));
  assert.deepEqual(await runs.deadLetters(newRun()), []);
});


/** The run ids of `list` that are in `ids`, in list order. */
function mine(list: readonly { runId: string }[], ids: ReadonlySet<string>): string[] {
  return list.map((r) => r.runId).filter((id) => ids.has(id));
}

test('every active run is listed however many finished runs are newer; the index follows every transition', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const old = newRun();
  await runs.submit(spec(old), 1_000);
  await runs.transition(old, [RunState.SUBMITTED], RunState.RUNNING);
  const finished: string[] = [];
  for (let i = 0; i < 250; i += 1) {
    const id = newRun();
    finished.push(id);
    await runs.submit(spec(id), 4_100_000_000_000 + i);
    await runs.transition(id, [RunState.SUBMITTED], RunState.COMPLETED);
  }
  const ids = new Set([old, ...finished]);
  assert.ok(!(await runs.list(200)).some((r) => r.runId === old), 'precondition: the newest 200 runs do not include it');
  assert.deepEqual(mine(await runs.listActive(), ids), [old]);

  const cancelled = finished[0] as string;
  await runs.submit(spec(cancelled));
  assert.deepEqual(mine(await runs.listActive(), ids), [old], 'a completed run resubmitted is not run again');
  await redis.hset(runKey(cancelled), 'state', RunState.CANCELLED);
  await runs.submit(spec(cancelled));
  assert.deepEqual(mine(await runs.listActive(), ids), [old, cancelled], 'a cancelled run resubmitted is active again, in submission order');
  await runs.transition(cancelled, [RunState.SUBMITTED], RunState.CANCELLING);
  assert.deepEqual(mine(await runs.listActive(), ids), [old, cancelled], 'cancelling is not final');
  await runs.transition(cancelled, [RunState.CANCELLING], RunState.CANCELLED);
  await runs.transition(old, [RunState.RUNNING], RunState.FAILED);
  assert.deepEqual(mine(await runs.listActive(), ids), []);
  assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, old), null, 'a final transition takes it out of the index');
});

test('the active index drops runs deleted or finished around the store, and is built once from older data', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const [deleted, written, legacy, legacyDone] = [newRun(), newRun(), newRun(), newRun()];
  for (const id of [deleted, written]) await runs.submit(spec(id));
  await redis.del(runKey(deleted));
  await redis.hset(runKey(written), 'state', RunState.COMPLETED);
  const ids = new Set([deleted, written, legacy, legacyDone]);
  assert.deepEqual((await runs.listActive()).filter((r) => ids.has(r.runId)), []);
  assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, deleted), null);
  assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, written), null);

  // Runs written before the index existed: in the run index only.
  for (const id of [legacy, legacyDone]) {
    await runs.submit(spec(id), 2_000);
    await redis.zrem(ACTIVE_RUNS_INDEX, id);
  }
  await redis.hset(runKey(legacyDone), 'state', RunState.COMPLETED);
  const marker = await redis.get(ACTIVE_RUNS_INDEXED);
  await redis.del(ACTIVE_RUNS_INDEXED);
  try {
    assert.ok((await runs.indexActiveRuns()) >= 1);
    assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, legacy), '2000', 'found, scored by its submission time');
    assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, legacyDone), null);
    await redis.zrem(ACTIVE_RUNS_INDEX, legacy);
    assert.equal(await runs.indexActiveRuns(), 0, 'once per Redis');
    assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, legacy), null);
  } finally {
    if (marker !== null) await redis.set(ACTIVE_RUNS_INDEXED, marker);
  }
});

test('a run id resumes only the run as first submitted: other inputs, options, bounds or split size fail fast, naming what differs', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  const first: RunSpec = { ...spec(runId), options: { a: '1', timeShift: 'auto' }, since: 1_000_000 };
  await runs.submit(first);
  assert.equal(await runs.waitForSubmission(1), runId);
  // What the coordinator does at planning: bounds and a resolved time shift go into the options.
  await runs.transition(runId, [RunState.SUBMITTED], RunState.RUNNING);
  await runs.update(runId, { options: { a: '1', timeShift: '86400', since: '1000000' } });
  await runs.recordFailedSplit(runId, { splitId: 's1', code: 'SLUICE_REMOTE', message: 'OOM', attempts: 1 });
  assert.equal(await runs.countFailedSplits(runId), 1);
  await runs.transition(runId, [RunState.RUNNING], RunState.FAILED, { error: '1 of 2 splits failed', finishedAt: 2000 });

  const changes: [Partial<RunSpec>, string][] = [
    [{ inputs: ['file:///y'] }, 'inputs'],
    [{ inputs: ['file:///x', 'file:///y'] }, 'inputs'],
    [{ options: { a: '2', timeShift: 'auto' } }, 'options'],
    [{ options: { a: '1' } }, 'options'],
    [{ since: 1_000_001 }, 'since'],
    [{ until: 5_000_000 }, 'until'],
    [{ splitSize: 2048 }, 'splitSize'],
    [{ namespace: 'other' }, 'namespace'],
  ];
  for (const [change, field] of changes) {
    await assert.rejects(runs.submit({ ...first, ...change }), (e: unknown) => {
      assert.ok(isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG, String(e));
      assert.match(e.message, new RegExp(`run ${runId} \\(failed\\) was submitted with other ${field}; .*choose another --run-id`));
      assert.ok(field in e.context, `context names ${field}: ${JSON.stringify(e.context)}`);
      return true;
    }, JSON.stringify(change));
  }
  const refused = await runs.get(runId);
  assert.deepEqual([refused?.state, refused?.inputs, refused?.error], [RunState.FAILED, ['file:///x'], '1 of 2 splits failed'], 'a refused resubmission changes nothing');
  assert.ok(!(await redis.lrange(SUBMIT_WAKEUP, 0, -1)).includes(runId), 'and wakes no coordinator');

  // The same flags, options in another order: the run resumes, with the options planning resolved.
  const resumed = await runs.submit({ ...first, options: { timeShift: 'auto', a: '1' } });
  assert.equal(resumed.state, RunState.SUBMITTED);
  assert.equal(await runs.countFailedSplits(runId), 0, 'its failed splits run again');
  assert.equal(resumed.finishedAt, undefined, 'running again, it has not finished');
  assert.deepEqual(resumed.options, { a: '1', timeShift: '86400', since: '1000000' }, 'the time shift of the first planning is kept');
  assert.equal(await runs.waitForSubmission(1), runId);
  await assert.rejects(runs.submit({ ...first, inputs: ['file:///y'] }), /was submitted with other inputs/, 'also while it is active');
});

test('a run stored before its submission was recorded is compared on what planning never rewrites', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const runId = newRun();
  await runs.submit(spec(runId));
  await redis.hdel(runKey(runId), 'submitted');
  await runs.update(runId, { options: { a: '1', timeShift: '0' } });
  await runs.transition(runId, [RunState.SUBMITTED], RunState.CANCELLED);
  await assert.rejects(runs.submit({ ...spec(runId), inputs: ['file:///z'] }), /was submitted with other inputs/);
  assert.equal((await runs.submit(spec(runId))).state, RunState.SUBMITTED, 'same inputs: it resumes');
});

test('of concurrent submissions of a new id one creates the run; the others resume it or are refused', async (t) => {
  const { runs, newRun } = withStore(t);
  const same = newRun();
  const outcomes = await Promise.all([runs.submit(spec(same), 1), runs.submit(spec(same), 2), runs.submit(spec(same), 3)]);
  assert.deepEqual(new Set(outcomes.map((r) => r.submittedAt)).size, 1, `one record: ${outcomes.map((r) => r.submittedAt).join(', ')}`);
  const other = newRun();
  const settled = await Promise.allSettled([runs.submit(spec(other)), runs.submit({ ...spec(other), inputs: ['file:///other'] })]);
  assert.equal(settled.filter((s) => s.status === 'rejected').length, 1, 'exactly one of two different submissions is refused');
  const kept = await runs.get(other);
  const winner = settled.findIndex((s) => s.status === 'fulfilled');
  assert.deepEqual(kept?.inputs, winner === 0 ? ['file:///x'] : ['file:///other'], 'the run is the one that was created, not a mix');
});

test('a store fenced by a lease writes only while the lease holds its value; otherwise FENCED and nothing changes', async (t) => {
  const { redis, runs, newRun } = withStore(t);
  const leaseKey = `test-lease-${randomUUID()}`;
  let held: { key: string; value: string } | undefined = { key: leaseKey, value: 'me:7' };
  const fenced = createRunStore(redis, { fence: () => held });
  const id = newRun();
  await runs.submit(spec(id));
  const isFenced = (error: unknown): boolean => isSluiceError(error) && error.code === ErrorCode.FENCED && error.retryable === false && error.message.includes(id);

  await redis.set(leaseKey, 'me:7');
  assert.equal(await fenced.transition(id, [RunState.SUBMITTED], RunState.PLANNING, { splitsTotal: 3 }), true);
  await fenced.update(id, { bytesTotal: 99 });
  assert.deepEqual([(await runs.get(id))?.state, (await runs.get(id))?.splitsTotal, (await runs.get(id))?.bytesTotal], [RunState.PLANNING, 3, 99], 'applied while held');

  // Another coordinator holds the lease now (this one was paused past its lifetime).
  await redis.set(leaseKey, 'other:8');
  await assert.rejects(fenced.transition(id, [RunState.PLANNING], RunState.RUNNING, { splitsTotal: 5 }), isFenced);
  await assert.rejects(fenced.update(id, { splitsTotal: 5, plannedBy: 7 }), isFenced);
  await redis.del(leaseKey);
  await assert.rejects(fenced.update(id, { splitsTotal: 5 }), isFenced, 'an expired lease fences too');
  // (The lease key is gone from here on: nothing to clean up.)
  held = undefined;
  await assert.rejects(fenced.transition(id, [RunState.PLANNING], RunState.FAILED), isFenced, 'holding no lease, it writes nothing');
  const after = await runs.get(id);
  assert.deepEqual([after?.state, after?.splitsTotal, after?.plannedBy], [RunState.PLANNING, 3, undefined], 'no refused write changed the run');
  assert.equal(await redis.zscore(ACTIVE_RUNS_INDEX, id) !== null, true, 'nor the active index');
  assert.equal(await runs.transition(id, [RunState.PLANNING], RunState.RUNNING, { splitsTotal: 4 }), true, 'an unfenced store (the CLI) is not affected');
  assert.equal((await runs.get(id))?.splitsTotal, 4, 'a transition sets its fields in the same step');
});

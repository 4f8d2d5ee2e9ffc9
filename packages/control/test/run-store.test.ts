import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { RunState, createRunStore, runKey } from '../src/index.ts';
import type { RunSpec } from '../src/index.ts';

const url = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;

function spec(runId: string): RunSpec {
  return { runId, kind: 'backfill', job: 'j', inputs: ['file:///x'], options: { a: '1' }, splitSize: 1024 };
}

test('run records: compare-and-set transitions, exactly one of two concurrent ones wins', async (t) => {
  const redis = new Redis(url);
  const runId = `test-${randomUUID()}`;
  t.after(async () => {
    const keys = await redis.keys(`sluice:run:${runId}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.zrem('sluice:runs', runId);
    redis.disconnect();
  });
  const runs = createRunStore(redis);
  const created = await runs.submit(spec(runId));
  assert.equal(created.state, RunState.SUBMITTED);
  assert.deepEqual((await runs.get(runId))?.options, { a: '1' });
  assert.equal(await runs.transition(runId, [RunState.RUNNING], RunState.COMPLETED), false, 'not from a state it is not in');
  assert.equal(await runs.transition(runId, [RunState.SUBMITTED], RunState.RUNNING), true);
  const outcomes = await Promise.all([
    runs.transition(runId, [RunState.RUNNING], RunState.COMPLETED),
    runs.transition(runId, [RunState.RUNNING], RunState.CANCELLING),
  ]);
  assert.equal(outcomes.filter(Boolean).length, 1);
  assert.equal(await redis.hexists(runKey(runId), 'state'), 1);
});

test('a failed run resubmitted resumes: back to submitted, its failed splits cleared; another job with its id is refused', async (t) => {
  const redis = new Redis(url);
  const runId = `test-${randomUUID()}`;
  t.after(async () => {
    const keys = await redis.keys(`sluice:run:${runId}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.zrem('sluice:runs', runId);
    redis.disconnect();
  });
  const runs = createRunStore(redis);
  await runs.submit(spec(runId));
  await runs.transition(runId, [RunState.SUBMITTED], RunState.FAILED);
  await runs.recordFailedSplit(runId, { splitId: 's1', code: 'SLUICE_CORRUPT_INPUT', message: 'bad', attempts: 3 });
  await runs.recordSplitDone(runId, 's0');
  assert.equal((await runs.progress(runId))?.splitsFailed, 1);
  const again = await runs.submit(spec(runId));
  assert.equal(again.state, RunState.SUBMITTED);
  const progress = await runs.progress(runId);
  assert.equal(progress?.splitsFailed, 0);
  assert.equal(progress?.splitsDone, 1, 'what was done stays done');
  await assert.rejects(runs.submit({ ...spec(runId), job: 'other' }), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG);
  await assert.rejects(runs.submit({ ...spec('bad id!'), runId: 'bad id!' }), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG);
});

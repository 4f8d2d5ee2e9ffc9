/**
 * Smoke test of the real Redis and real BullMQ: a round trip through ioredis, and a split job
 * enqueued through Sluice's queue helpers, processed by a BullMQ Worker and completed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Worker, QueueEvents } from 'bullmq';
import { createSplitQueue, decodeSplitPayload, DEFAULT_QUEUE_PREFIX, PAYLOAD_VERSION, splitJobId } from '@sluice/queue';
import type { SplitPayload } from '@sluice/queue';
import { redisUrl, uniqueName } from '../support/env.ts';

test('redis: a value written through ioredis reads back, with AOF on', async (t) => {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const key = uniqueName('sluice-test:roundtrip');
  t.after(async () => {
    await redis.del(key);
    await redis.quit();
  });
  await redis.hset(key, { a: '1', b: 'two' });
  await redis.hincrby(key, 'a', 41);
  assert.deepEqual(await redis.hgetall(key), { a: '42', b: 'two' });
  const [, appendonly] = (await redis.config('GET', 'appendonly')) as [string, string];
  assert.equal(appendonly, 'yes', 'the local Redis must run with AOF on, so durability can be tested');
});

test('bullmq: a split job is enqueued, processed by a Worker and completed', async (t) => {
  const namespace = uniqueName('smoke');
  const connection = { url: redisUrl(), maxRetriesPerRequest: null };
  const splits = createSplitQueue({ connection, namespace });
  const events = new QueueEvents(splits.queue.name, { connection, prefix: DEFAULT_QUEUE_PREFIX });
  await events.waitUntilReady();
  const seen: SplitPayload[] = [];
  const worker = new Worker<SplitPayload>(
    splits.queue.name,
    async (job) => {
      const payload = decodeSplitPayload(job.data);
      seen.push(payload);
      return { records: payload.end - payload.start };
    },
    { connection, prefix: DEFAULT_QUEUE_PREFIX, concurrency: 2 },
  );
  t.after(async () => {
    await worker.close();
    await events.close();
    await splits.queue.obliterate({ force: true });
    await splits.close();
  });

  const payload: SplitPayload = {
    v: PAYLOAD_VERSION, runId: 'run-1', job: 'smoke', splitId: 's0', ordinal: 0,
    url: 'file:///dev/null', format: 'ndjson', compression: 'none', start: 0, end: 128, options: {},
  };
  await splits.enqueue([payload]);
  // Same job id: BullMQ keeps the first, which is what makes resubmitting a run safe.
  await splits.enqueue([payload]);
  const job = await splits.queue.getJob(splitJobId('run-1', 's0'));
  assert.ok(job, 'the job exists under its deterministic id');
  const result = await job.waitUntilFinished(events, 30_000);
  assert.deepEqual(result, { records: 128 });
  assert.equal(seen.length, 1, 'enqueuing the same split twice runs it once');
  assert.deepEqual(seen[0], payload);
  const counts = await splits.queue.getJobCounts('completed', 'waiting', 'failed');
  assert.deepEqual(counts, { completed: 1, waiting: 0, failed: 0 });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseError } from '@platformatic/kafka';
import type { Connection, fetchV17 } from '@platformatic/kafka';
import { createNodeFetcher } from '../src/node-fetcher.ts';
import type { FetchApi, PartitionFetchRequest } from '../src/node-fetcher.ts';

interface SentFetch {
  maxWaitMs: number;
  maxBytes: number;
  isolationLevel: number;
  sessionId: number;
  sessionEpoch: number;
  topics: fetchV17.FetchRequestTopic[];
}

/** A fake Fetch API: records each request and answers with `answer(request)` once `release()` is called. */
function createFakeApi(version: number, answer: (sent: SentFetch) => fetchV17.FetchResponse | Error) {
  const sent: SentFetch[] = [];
  const gates: (() => void)[] = [];
  const async = async (...args: unknown[]): Promise<fetchV17.FetchResponse> => {
    const [, maxWaitMs, , maxBytes, isolationLevel, sessionId, sessionEpoch, topics] = args as [
      Connection, number, number, number, number, number, number, fetchV17.FetchRequestTopic[],
    ];
    const request = { maxWaitMs, maxBytes, isolationLevel, sessionId, sessionEpoch, topics };
    sent.push(request);
    await new Promise<void>((resolve) => gates.push(resolve));
    const result = answer(request);
    if (result instanceof Error) throw result;
    return result;
  };
  const api = Object.assign(() => {}, { async, key: 1, version }) as unknown as FetchApi;
  return {
    api,
    sent,
    /** Lets the oldest request answer. */
    async release(): Promise<void> {
      while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
      gates.shift()?.();
    },
  };
}

const partitionAnswer = (topicId: string, partitionIndex: number, errorCode = 0): fetchV17.FetchResponseTopic => ({
  topicId,
  partitions: [{ partitionIndex, errorCode, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, abortedTransactions: null, preferredReadReplica: -1, records: [] }],
});

const echo = (sent: SentFetch): fetchV17.FetchResponse => ({
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 0,
  responses: sent.topics.flatMap((t) => t.partitions.map((p) => partitionAnswer(t.topicId, p.partition))),
});

const request = (partition: number, offset: number, extra: Partial<PartitionFetchRequest> = {}): PartitionFetchRequest => ({
  topic: 'orders',
  topicId: 'uuid-orders',
  partition,
  offset,
  leaderEpoch: 4,
  maxBytes: 1000,
  maxWaitMs: 500,
  ...extra,
});

function createFetcher(fake: ReturnType<typeof createFakeApi>) {
  return createNodeFetcher({
    connect: async () => ({}) as Connection,
    getApi: async () => fake.api,
    isolationLevel: 1,
    maxRequestBytes: 1500,
  });
}

test('fetches are sessionless, READ_COMMITTED, with the leader epoch; one round at a time', async () => {
  const fake = createFakeApi(17, echo);
  const fetcher = createFetcher(fake);
  const first = fetcher.fetch(request(0, 5, { maxWaitMs: 800 }));
  const second = fetcher.fetch(request(1, 7, { maxWaitMs: 300 }));
  // The first read started a round alone; the second waits for the next one.
  await fake.release();
  await fake.release();
  await Promise.all([first, second]);
  assert.equal(fake.sent.length, 2);
  const [one, two] = fake.sent;
  assert.deepEqual(one?.topics[0]?.partitions.map((p) => p.partition), [0]);
  assert.equal(one?.sessionId, 0);
  assert.equal(one?.sessionEpoch, -1, 'no fetch session (KIP-227 sessionless full fetch)');
  assert.equal(one?.isolationLevel, 1);
  assert.equal(one?.topics[0]?.partitions[0]?.currentLeaderEpoch, 4);
  assert.equal(one?.topics[0]?.partitions[0]?.fetchOffset, 5n);
  assert.deepEqual(two?.topics[0]?.partitions.map((p) => p.partition), [1]);
});

test('reads queued during a round go out together in the next one, one entry per partition', async () => {
  const fake = createFakeApi(17, echo);
  const fetcher = createFetcher(fake);
  const busy = fetcher.fetch(request(9, 0));
  const a = fetcher.fetch(request(0, 1));
  const b = fetcher.fetch(request(1, 2, { maxWaitMs: 100 }));
  const c = fetcher.fetch(request(0, 50));
  await fake.release();
  await busy;
  await fake.release();
  const [resultA, resultB] = await Promise.all([a, b]);
  assert.equal(resultA.highWatermark, 10);
  assert.equal(resultB.errorCode, 0);
  await fake.release();
  await c;
  assert.deepEqual(
    fake.sent.map((s) => s.topics.flatMap((t) => t.partitions.map((p) => `${p.partition}@${p.fetchOffset}`))),
    [['9@0'], ['0@1', '1@2'], ['0@50']],
    'the same partition twice waits for the next round',
  );
  assert.equal(fake.sent[1]?.maxWaitMs, 100, 'the shortest wait of the round');
  assert.equal(fake.sent[1]?.maxBytes, 1500, 'the request is capped at maxRequestBytes');
});

test('per-partition errors reach only their partition; a failed request fails its round', async () => {
  const fake = createFakeApi(17, (sent) =>
    sent.topics[0]?.partitions.length === 2
      ? new ResponseError(1, 17, { '/responses/0/partitions/1': [6, null] }, {
          throttleTimeMs: 0,
          errorCode: 0,
          sessionId: 0,
          responses: [{ topicId: 'uuid-orders', partitions: [partitionAnswer('uuid-orders', 0).partitions[0]!, partitionAnswer('uuid-orders', 1, 6).partitions[0]!] }],
        })
      : new Error('socket hang up'),
  );
  const fetcher = createFetcher(fake);
  const busy = fetcher.fetch(request(5, 0));
  const ok = fetcher.fetch(request(0, 0));
  const moved = fetcher.fetch(request(1, 0));
  await fake.release();
  await assert.rejects(busy, /socket hang up/);
  await fake.release();
  assert.equal((await ok).errorCode, 0);
  assert.equal((await moved).errorCode, 6);
});

test('Fetch v12 and older name topics by name', async () => {
  const fake = createFakeApi(12, echo);
  const fetcher = createFetcher(fake);
  const result = fetcher.fetch(request(2, 3));
  await fake.release();
  assert.equal((await result).highWatermark, 10);
  assert.equal(fake.sent[0]?.topics[0]?.topicId, 'orders');
});

test('an aborted read leaves its round; close() rejects the waiting ones', async () => {
  const fake = createFakeApi(17, echo);
  const fetcher = createFetcher(fake);
  const busy = fetcher.fetch(request(9, 0));
  const controller = new AbortController();
  const aborted = fetcher.fetch(request(0, 0), controller.signal);
  const waiting = fetcher.fetch(request(1, 0));
  controller.abort(new Error('job cancelled'));
  await assert.rejects(aborted, /job cancelled/);
  fetcher.close(new Error('client closed'));
  await assert.rejects(waiting, /client closed/);
  await assert.rejects(fetcher.fetch(request(2, 0)), /client closed/);
  await fake.release();
  await busy;
  assert.equal(fake.sent.length, 1, 'nothing was sent for the aborted or closed reads');
});

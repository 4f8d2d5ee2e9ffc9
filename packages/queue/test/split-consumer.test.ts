/**
 * The consumer's retry decisions and its drain, against the real Redis and BullMQ: each test on a
 * queue namespace of its own, obliterated afterwards.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { SerializedError } from '@sluice/core';
import { DEFAULT_RANGE_RETRY_DELAYS, PAYLOAD_VERSION, QueueKind, cappedBackoffMs, createSplitConsumer, createSplitQueue, splitJobId } from '../src/index.ts';
import type { SplitConsumer, SplitConsumerOptions, SplitContext, SplitPayload, SplitQueue } from '../src/index.ts';

const url = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;
const connection = { url, maxRetriesPerRequest: null };

interface Harness {
  queue: SplitQueue;
  failures: { splitId: string; error: SerializedError; attempts: number }[];
  consume(process: SplitConsumerOptions<unknown>['process'], options?: Partial<SplitConsumerOptions<unknown>>): SplitConsumer;
}

function harness(t: TestContext, attempts: number, kind: QueueKind = QueueKind.SPLITS): Harness {
  const namespace = `test-${randomUUID()}`;
  const queue = createSplitQueue({ connection, namespace, attempts, kind });
  const consumers: SplitConsumer[] = [];
  const failures: Harness['failures'] = [];
  t.after(async () => {
    await Promise.all(consumers.map((c) => c.close(100)));
    await queue.queue.obliterate({ force: true });
    await queue.close();
  });
  return {
    queue,
    failures,
    consume(process, options = {}) {
      const consumer = createSplitConsumer({
        connection, namespace, kind, process, lockDurationMs: 5000, stalledIntervalMs: 5000,
        onFinalFailure: (payload, error, n) => {
          failures.push({ splitId: payload.splitId, error, attempts: n });
        },
        ...options,
      });
      consumers.push(consumer);
      return consumer;
    },
  };
}

function split(splitId: string): SplitPayload {
  return { v: PAYLOAD_VERSION, runId: 'run', job: 'j', splitId, ordinal: 0, url: 'file:///x.ndjson', format: 'ndjson', compression: 'none', start: 0, end: 10, options: {} };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

/** Resolves once the signal is aborted, also when it already was. */
function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

const stateOf = (h: Harness, splitId: string) => async (): Promise<string> => (await h.queue.queue.getJobState(splitJobId('run', splitId))) as string;

test('a split that succeeds completes with its result', async (t) => {
  const h = harness(t, 3);
  h.consume(async (payload) => ({ records: payload.end - payload.start }));
  await h.queue.enqueue([split('ok')]);
  await until(stateOf(h, 'ok'), (s) => s === 'completed', 'completion');
  assert.deepEqual((await h.queue.queue.getJob(splitJobId('run', 'ok')))?.returnvalue, { records: 10 });
  assert.deepEqual(h.failures, []);
});

test('a retryable failure is retried until its attempts are spent, then reported once', async (t) => {
  const h = harness(t, 3);
  const seen: Pick<SplitContext, 'attempt' | 'finalAttempt'>[] = [];
  const attemptsSeen: [string, string, number, boolean][] = [];
  h.consume(async (_payload, context) => {
    seen.push({ attempt: context.attempt, finalAttempt: context.finalAttempt });
    throw new SluiceError(ErrorCode.UNAVAILABLE, 'namenode down');
  }, {
    onAttemptFailed: (payload, error, attempt, willRetry) => {
      attemptsSeen.push([payload.splitId, error.code, attempt, willRetry]);
    },
  });
  await h.queue.enqueue([split('flaky')]);
  await until(stateOf(h, 'flaky'), (s) => s === 'failed', 'the final failure');
  assert.deepEqual(seen, [{ attempt: 1, finalAttempt: false }, { attempt: 2, finalAttempt: false }, { attempt: 3, finalAttempt: true }]);
  // Every attempt is reported as it fails, the last one as final.
  assert.deepEqual(attemptsSeen, [['flaky', ErrorCode.UNAVAILABLE, 1, true], ['flaky', ErrorCode.UNAVAILABLE, 2, true], ['flaky', ErrorCode.UNAVAILABLE, 3, false]]);
  assert.equal(h.failures.length, 1);
  assert.deepEqual({ ...h.failures[0], error: h.failures[0]?.error.code }, { splitId: 'flaky', error: ErrorCode.UNAVAILABLE, attempts: 3 });
});

test('a live range retries a retryable failure past any attempts setting, until it succeeds', async (t) => {
  // A Kafka broker away for longer than a backfill split's attempts last must not fail the range
  // for good: its partition would stall for ever behind it.
  const h = harness(t, 3, QueueKind.RANGES);
  const attemptsSeen: [number, boolean][] = [];
  let calls = 0;
  h.consume(async () => {
    calls += 1;
    if (calls <= 6) throw new SluiceError(ErrorCode.UNAVAILABLE, 'broker away');
    return { records: 10 };
  }, {
    rangeRetryDelays: { baseMs: 10, maxMs: 40 },
    onAttemptFailed: (_payload, _error, attempt, willRetry) => {
      attemptsSeen.push([attempt, willRetry]);
    },
  });
  await h.queue.enqueue([split('range')]);
  await until(stateOf(h, 'range'), (s) => s === 'completed', 'completion after the outage');
  assert.deepEqual(attemptsSeen, [1, 2, 3, 4, 5, 6].map((n) => [n, true]));
  assert.deepEqual(h.failures, []);
});

test('a live range fails at once on a non-retryable error, and is reported', async (t) => {
  const h = harness(t, 3, QueueKind.RANGES);
  let calls = 0;
  h.consume(async () => {
    calls += 1;
    throw new SluiceError(ErrorCode.INVALID_DEFINITION, 'key holds another type');
  });
  await h.queue.enqueue([split('range')]);
  await until(stateOf(h, 'range'), (s) => s === 'failed', 'the failure');
  assert.equal(calls, 1);
  assert.deepEqual(h.failures.map((f) => [f.splitId, f.error.code, f.attempts]), [['range', ErrorCode.INVALID_DEFINITION, 1]]);
});

test('the range backoff doubles from its base and stops at its cap', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => cappedBackoffMs(n, DEFAULT_RANGE_RETRY_DELAYS));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
});

test('a non-retryable failure fails at once, burning no attempts', async (t) => {
  const h = harness(t, 5);
  let calls = 0;
  h.consume(async () => {
    calls += 1;
    throw new SluiceError(ErrorCode.CORRUPT_INPUT, 'truncated gzip');
  });
  await h.queue.enqueue([split('corrupt')]);
  await until(stateOf(h, 'corrupt'), (s) => s === 'failed', 'the failure');
  assert.equal(calls, 1);
  assert.deepEqual(h.failures.map((f) => [f.error.code, f.attempts]), [[ErrorCode.CORRUPT_INPUT, 1]]);
  assert.match((await h.queue.queue.getJob(splitJobId('run', 'corrupt')))?.failedReason ?? '', /^\[SLUICE_CORRUPT_INPUT\] truncated gzip/);
});

test('a malformed payload is refused without calling the processor', async (t) => {
  const h = harness(t, 5);
  let calls = 0;
  h.consume(async () => {
    calls += 1;
  });
  await h.queue.queue.add('j', { ...split('bad'), v: 0 } as unknown as SplitPayload, { jobId: 'bad', attempts: 5 });
  await until(async () => (await h.queue.queue.getJobState('bad')) as string, (s) => s === 'failed', 'the refusal');
  assert.equal(calls, 0);
  assert.deepEqual(h.failures.map((f) => [f.error.code, f.attempts]), [[ErrorCode.INVALID_CONFIG, 1]]);
});

for (const cause of ['a payload of a newer version', 'a commit refused as outdated'] as const) {
  test(`${cause}: the split goes back with no attempt spent, even its last, and the consumer takes no more`, async (t) => {
    const h = harness(t, 1);
    const calls: string[] = [];
    const outdated: SluiceError[] = [];
    const attemptsFailed: string[] = [];
    const consumer = h.consume(
      async (payload) => {
        calls.push(payload.splitId);
        throw new SluiceError(ErrorCode.OUTDATED, 'run written by a newer Sluice');
      },
      { onOutdated: (error) => outdated.push(error), onAttemptFailed: (payload) => attemptsFailed.push(payload.splitId) },
    );
    if (cause === 'a payload of a newer version') {
      await h.queue.queue.add('j', { ...split('new'), v: PAYLOAD_VERSION + 1 } as unknown as SplitPayload, { jobId: splitJobId('run', 'new'), attempts: 1 });
    } else {
      await h.queue.enqueue([split('new')]);
    }
    await until(async () => outdated.length, (n) => n === 1, 'the consumer to say it is outdated');
    await h.queue.enqueue([split('later')]);
    // Long enough for a consumer still taking splits to take both again.
    await sleep(1500);
    assert.deepEqual(calls, cause === 'a payload of a newer version' ? [] : ['new'], 'the processor ran at most the first split, once');
    assert.equal(outdated[0]?.code, ErrorCode.OUTDATED);
    assert.equal(consumer.worker.isPaused(), true, 'it fetches no more splits');
    assert.deepEqual([h.failures, attemptsFailed], [[], []], 'not a failure of the split');
    for (const id of ['new', 'later']) {
      const job = await h.queue.queue.getJob(splitJobId('run', id));
      assert.deepEqual([await stateOf(h, id)(), job?.attemptsMade], ['waiting', 0], id);
    }
    // An up-to-date consumer runs both (a payload it can read stands for the upgraded worker's).
    if (cause === 'a payload of a newer version') await (await h.queue.queue.getJob(splitJobId('run', 'new')))?.updateData(split('new'));
    h.consume(async () => 'done');
    for (const id of ['new', 'later']) await until(stateOf(h, id), (s) => s === 'completed', `${id} to run elsewhere`);
  });
}

test('once outdated, a split the consumer still takes goes back unrun, and the consumer pauses again', async (t) => {
  const h = harness(t, 1);
  const calls: string[] = [];
  const outdated: SluiceError[] = [];
  const consumer = h.consume(
    async (payload) => {
      calls.push(payload.splitId);
      throw new SluiceError(ErrorCode.OUTDATED, 'run written by a newer Sluice');
    },
    { onOutdated: (error) => outdated.push(error) },
  );
  await h.queue.enqueue([split('first')]);
  await until(async () => consumer.worker.isPaused(), (paused) => paused, 'the consumer to pause');
  // Stands for a split BullMQ fetched in the ticks before the pause took effect: the worker
  // takes splits again, and the next one must not reach the processor.
  await consumer.worker.resume();
  await h.queue.enqueue([split('later')]);
  await until(async () => consumer.worker.isPaused(), (paused) => paused, 'the consumer to pause again');
  await sleep(500);
  assert.deepEqual(calls, ['first'], 'the processor never saw the split taken after the first');
  assert.equal(outdated.length, 1, 'reported once');
  const job = await h.queue.queue.getJob(splitJobId('run', 'later'));
  assert.deepEqual([await stateOf(h, 'later')(), job?.attemptsMade], ['waiting', 0]);
});

test('close waits for a running split that ends within the drain time and takes no new one', async (t) => {
  const h = harness(t, 3);
  const started: string[] = [];
  let release: (() => void) | undefined;
  const consumer = h.consume(async (payload, { signal }) => {
    started.push(payload.splitId);
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    return { aborted: signal.aborted };
  });
  await h.queue.enqueue([split('a'), split('b')]);
  await until(async () => started.length, (n) => n === 1, 'the first split to start');
  const closing = consumer.close(30_000);
  await sleep(300);
  release?.();
  await closing;
  assert.deepEqual(started, ['a'], 'the second split was never taken');
  assert.equal(await stateOf(h, 'a')(), 'completed');
  assert.deepEqual((await h.queue.queue.getJob(splitJobId('run', 'a')))?.returnvalue, { aborted: false });
  assert.equal(await stateOf(h, 'b')(), 'waiting');
});

test('a split that outlasts the drain time is aborted and released to another worker, even on its last attempt', async (t) => {
  const h = harness(t, 1);
  const reasons: unknown[] = [];
  let started = false;
  const first = h.consume(async (_payload, { signal }) => {
    started = true;
    await untilAborted(signal);
    reasons.push(signal.reason);
    throw signal.reason;
  });
  await h.queue.enqueue([split('long')]);
  // The processor itself, not only the job's state in Redis: the drain is about a running split.
  await until(async () => started, (s) => s, 'the split to start');
  await first.close(200);
  assert.equal(reasons.length, 1);
  const reason = reasons[0] as SluiceError;
  assert.deepEqual([reason.code, reason.retryable], [ErrorCode.CANCELLED, true]);
  assert.deepEqual(h.failures, [], 'a shutdown is not the split\'s failure');
  h.consume(async () => 'done elsewhere');
  await until(stateOf(h, 'long'), (s) => s === 'completed' || s === 'failed', 'the split to finish elsewhere');
  assert.equal(await stateOf(h, 'long')(), 'completed');
});

test('a split BullMQ has taken but not yet started when close begins is drained like a running one', async (t) => {
  // BullMQ emits 'active' and starts the processor a few ticks later: a close in between once saw
  // no running split, skipped the drain and the abort, and then waited for a split that never ended.
  const h = harness(t, 1);
  const reasons: unknown[] = [];
  const first = h.consume(async (_payload, { signal }) => {
    await untilAborted(signal);
    reasons.push(signal.reason);
    throw signal.reason;
  });
  const closed = Promise.withResolvers<void>();
  first.worker.once('active', () => {
    first.close(200).then(closed.resolve, closed.reject);
  });
  await h.queue.enqueue([split('taken')]);
  await closed.promise;
  assert.deepEqual(reasons.map((r) => (r as SluiceError).code), [ErrorCode.CANCELLED], 'the split ran and was released at the drain time');
  assert.deepEqual(h.failures, []);
  h.consume(async () => 'done elsewhere');
  await until(stateOf(h, 'taken'), (s) => s === 'completed' || s === 'failed', 'the split to finish elsewhere');
  assert.equal(await stateOf(h, 'taken')(), 'completed');
});

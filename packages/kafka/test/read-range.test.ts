import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { SluiceError } from '@sluice/core';
import { NetworkError } from '@platformatic/kafka';
import { iterateRange, planRangeRead, readRange } from '../src/read-range.ts';
import type { RangePlan, ReadRangeOptions } from '../src/read-range.ts';
import type { RangeBatch } from '../src/trim-batches.ts';
import { createFakePartition } from './fake-log.ts';

const plan = (from: number, until: number, extra: Partial<RangePlan> = {}): RangePlan => ({
  topic: 't',
  partition: 0,
  from,
  until,
  maxBytes: 1_000_000,
  maxWaitMs: 50,
  retries: 3,
  aheadTimeoutMs: 30_000,
  ...extra,
});

async function collect(batches: AsyncIterable<RangeBatch>): Promise<{ offsets: number[]; values: string[]; sizes: number[] }> {
  const offsets: number[] = [];
  const values: string[] = [];
  const sizes: number[] = [];
  for await (const batch of batches) {
    sizes.push(batch.records.length);
    for (const record of batch.records) {
      offsets.push(record.offset);
      values.push(record.value?.toString() ?? '');
    }
  }
  return { offsets, values, sizes };
}

const range = (from: number, until: number): number[] => Array.from({ length: until - from }, (_, i) => from + i);

function rejectsWith(code: string, check: (error: SluiceError) => void = () => {}) {
  return (error: unknown): boolean => {
    assert.ok(isSluiceError(error), `a SluiceError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    check(error);
    return true;
  };
}

test('bad options give INVALID_CONFIG naming the option, before anything connects', () => {
  const base: ReadRangeOptions = { brokers: ['127.0.0.1:9092'], topic: 't', partition: 0, from: 0, until: 10 };
  for (const [patch, option] of [
    [{ topic: 'bad topic' }, 'topic'],
    [{ partition: -1 }, 'partition'],
    [{ from: 1.5 }, 'from'],
    [{ from: -1 }, 'from'],
    [{ until: 2 ** 53 }, 'until'],
    [{ from: 20, until: 10 }, 'until'],
    [{ maxBytes: 0 }, 'maxBytes'],
    [{ maxWaitMs: 60_000 }, 'maxWaitMs'],
    [{ retries: -1 }, 'retries'],
    [{ aheadTimeoutMs: -5 }, 'aheadTimeoutMs'],
    [{ signal: 'soon' }, 'signal'],
    [{ brokers: ['127.0.0.1'] }, 'brokers[0]'],
  ] as const) {
    assert.throws(
      () => readRange({ ...base, ...patch } as ReadRangeOptions),
      rejectsWith(ErrorCode.INVALID_CONFIG, (error) => assert.equal(error.context.option, option)),
      option,
    );
  }
  assert.throws(() => readRange({ client: {} as never, topic: 't', partition: 0, from: 0, until: 1 }), rejectsWith(ErrorCode.INVALID_CONFIG));
  assert.deepEqual(planRangeRead(base), { topic: 't', partition: 0, from: 0, until: 10, maxBytes: 1_048_576, maxWaitMs: 500, retries: 8, aheadTimeoutMs: 30_000 });
});

test('exactly [from, until) in order, from batches that start before from and run past until', async () => {
  const part = createFakePartition(100, 7);
  const { offsets, values } = await collect(iterateRange(part.internals, plan(10, 20)));
  assert.deepEqual(offsets, range(10, 20));
  assert.deepEqual(values, range(10, 20).map((o) => `v${o}`));
  assert.deepEqual(part.calls.map((c) => c.offset), [10], 'one fetch covered the range');
  assert.equal(part.calls[0]?.leaderEpoch, 3);
});

test('a small maxBytes spreads the range over several fetches, each continuing after the last batch', async () => {
  const part = createFakePartition(100, 7);
  const { offsets, sizes } = await collect(iterateRange(part.internals, plan(3, 40, { maxBytes: 10 })));
  assert.deepEqual(offsets, range(3, 40));
  assert.ok(sizes.length > 1, `several batches, got ${sizes.join(',')}`);
  assert.deepEqual(part.calls.map((c) => c.offset), [3, 7, 14, 21, 28, 35], 'each fetch starts where the last batch ended');
});

test('an empty range reads nothing', async () => {
  const part = createFakePartition(10, 5);
  assert.deepEqual((await collect(iterateRange(part.internals, plan(4, 4)))).offsets, []);
  assert.equal(part.calls.length, 0);
});

test('a range past the high watermark waits for the records to be written', async () => {
  const part = createFakePartition(10, 5);
  const reading = collect(iterateRange(part.internals, plan(8, 14)));
  while (part.calls.filter((c) => c.offset === 10).length < 2) await new Promise((resolve) => setTimeout(resolve, 1));
  part.append(['late-10', 'late-11', 'late-12', 'late-13', 'late-14']);
  const { offsets, values } = await reading;
  assert.deepEqual(offsets, range(8, 14));
  assert.deepEqual(values.slice(2), ['late-10', 'late-11', 'late-12', 'late-13']);
});

test('a range starting past the high watermark waits too (the broker says out of range)', async () => {
  const part = createFakePartition(10, 5);
  const reading = collect(iterateRange(part.internals, plan(12, 13)));
  while (part.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 1));
  part.append(['a', 'b', 'c']);
  assert.deepEqual((await reading).values, ['c']);
});

test('a position past the end for longer than aheadTimeoutMs is OFFSET_REWOUND: the log went back under the range', async () => {
  // A range planned over [20, 40) of a log that now ends at 10 (the topic was re-created).
  const part = createFakePartition(10, 5);
  const started = Date.now();
  await assert.rejects(
    collect(iterateRange(part.internals, plan(20, 40, { aheadTimeoutMs: 200 }))),
    rejectsWith(ErrorCode.OFFSET_REWOUND, (error) => {
      assert.equal(error.retryable, false);
      assert.equal(error.context.highWatermark, 10);
      assert.equal(error.context.position, 20);
      assert.match(error.message, /offset 20 of t\/0 has been past the partition's end \(10\)/);
      assert.match(error.message, /deleted and re-created/);
    }),
  );
  assert.ok(Date.now() - started >= 200, 'it waited aheadTimeoutMs first');
  assert.ok(part.calls.length >= 2, 'and kept asking in the meantime');
});

test('from below the log start offset is an OFFSET_GAP naming the offsets', async () => {
  const part = createFakePartition(100, 10);
  part.logStartOffset = 30;
  await assert.rejects(
    collect(iterateRange(part.internals, plan(10, 50))),
    rejectsWith(ErrorCode.OFFSET_GAP, (error) => {
      assert.equal(error.retryable, false);
      assert.deepEqual(
        { topic: error.context.topic, partition: error.context.partition, from: error.context.from, logStartOffset: error.context.logStartOffset },
        { topic: 't', partition: 0, from: 10, logStartOffset: 30 },
      );
    }),
  );
});

test('retention overtaking a read in progress is a gap too', async () => {
  const part = createFakePartition(100, 10);
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const batch of iterateRange(part.internals, plan(0, 100, { maxBytes: 10 }))) {
      seen.push(...batch.records.map((r) => r.offset));
      part.logStartOffset = 50;
    }
  }, rejectsWith(ErrorCode.OFFSET_GAP, (error) => assert.equal(error.context.position, 10)));
  assert.deepEqual(seen, range(0, 10));
});

test('not leader: metadata is refreshed and the read goes on without losing or repeating a record', async () => {
  const part = createFakePartition(30, 5);
  part.errors.push(6, 74);
  part.throws.push(new NetworkError('Connection closed'));
  const { offsets } = await collect(iterateRange(part.internals, plan(2, 12)));
  assert.deepEqual(offsets, range(2, 12));
  assert.equal(part.invalidations, 3);
  assert.deepEqual(part.locates.slice(0, 4), [false, true, true, true], 'each retry asks for fresh metadata');
});

test('a leader that never comes back is a retryable UNAVAILABLE after the retries', async () => {
  const part = createFakePartition(30, 5);
  part.errors.push(5, 5, 5, 5, 5);
  await assert.rejects(
    collect(iterateRange(part.internals, plan(0, 10, { retries: 2 }))),
    rejectsWith(ErrorCode.UNAVAILABLE, (error) => {
      assert.equal(error.retryable, true);
      assert.equal(error.context.kafkaError, 'LEADER_NOT_AVAILABLE');
    }),
  );
  assert.equal(part.calls.length, 3);
});

test('an unknown partition is NOT_FOUND once the retries are spent; denial fails at once', async () => {
  const missing = createFakePartition(30, 5);
  missing.errors.push(3, 3, 3);
  await assert.rejects(collect(iterateRange(missing.internals, plan(0, 10, { retries: 1 }))), rejectsWith(ErrorCode.NOT_FOUND));
  const denied = createFakePartition(30, 5);
  denied.errors.push(29);
  await assert.rejects(collect(iterateRange(denied.internals, plan(0, 10))), rejectsWith(ErrorCode.PERMISSION_DENIED));
  assert.equal(denied.calls.length, 1);
});

test('an abort stops a waiting read with CANCELLED, a deadline with TIMEOUT', async () => {
  const part = createFakePartition(10, 5);
  const controller = new AbortController();
  const reading = collect(iterateRange(part.internals, plan(5, 20, { signal: controller.signal })));
  while (part.calls.length < 3) await new Promise((resolve) => setTimeout(resolve, 1));
  controller.abort();
  await assert.rejects(reading, rejectsWith(ErrorCode.CANCELLED, (error) => assert.equal(error.context.position, 10)));

  const deadline = AbortSignal.timeout(30);
  await assert.rejects(
    collect(iterateRange(part.internals, plan(5, 20, { signal: deadline }))),
    rejectsWith(ErrorCode.TIMEOUT, (error) => assert.equal(error.retryable, true)),
  );
});

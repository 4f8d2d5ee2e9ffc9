import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { RunRecord } from '@sluice/control';
import type { SplitPayload, SplitQueue } from '@sluice/queue';
import { tickStreamRun } from '../src/stream-loop.ts';
import type { PartitionOffsetsView, PartitionPosition, StreamPositionsView } from '../src/stream-loop.ts';

const run = { runId: 'r1', job: 'j', kind: 'stream', inputs: ['t'], options: { start: 'earliest' }, state: 'running', submittedAt: 0 } as unknown as RunRecord;

/** Positions in memory, with a way to make one partition's reservation lose a race. */
function memoryPositions(initial: PartitionPosition[], losesRace = new Set<number>()): StreamPositionsView & { reserved: string[] } {
  const byPartition = new Map(initial.map((p) => [p.partition, { ...p }]));
  const reserved: string[] = [];
  return {
    reserved,
    async initTopic(_runId, topic, starts) {
      for (const { partition, start } of starts) {
        if (!byPartition.has(partition)) byPartition.set(partition, { topic, partition, planned: start, committed: start, inFlight: 0 });
      }
    },
    async reservePlan(_runId, _topic, partition, expected, until) {
      const p = byPartition.get(partition);
      if (p === undefined || p.planned !== expected || losesRace.has(partition)) return false;
      p.planned = until;
      p.inFlight += 1;
      reserved.push(`${partition}@${expected}-${until}`);
      return true;
    },
    async list() {
      return [...byPartition.values()].map((p) => ({ ...p }));
    },
    async skipGap(_runId, _topic, partition, expected, until) {
      const p = byPartition.get(partition);
      if (p === undefined || p.planned !== expected || losesRace.has(partition)) return false;
      p.planned = until;
      p.committed = until;
      reserved.push(`gap ${partition}@${expected}-${until}`);
      return true;
    },
    async recordEnds() {},
    async pendingRanges() {
      return [];
    },
  };
}

function memoryQueue(): SplitQueue & { enqueued: SplitPayload[] } {
  const enqueued: SplitPayload[] = [];
  return {
    enqueued,
    queue: undefined as never,
    async enqueue(splits) {
      enqueued.push(...splits);
      return splits.length;
    },
    async close() {},
  };
}

const ends = (...endOffsets: number[]): { listOffsets: () => Promise<PartitionOffsetsView[]> } => ({
  listOffsets: async () => endOffsets.map((endOffset, partition) => ({ partition, logStartOffset: 0, endOffset })),
});
const bounds = (...parts: { logStartOffset: number; endOffset: number }[]): { listOffsets: () => Promise<PartitionOffsetsView[]> } => ({
  listOffsets: async () => parts.map((p, partition) => ({ partition, ...p })),
});

const ranges = (queue: { enqueued: SplitPayload[] }): string[] => queue.enqueued.map((p) => `${p.url.slice(-1)}@${p.start}-${p.end}`);

test('ranges of a backlog are enqueued partitions interleaved, oldest of each partition first', async () => {
  const positions = memoryPositions([0, 1, 2].map((partition) => ({ topic: 't', partition, planned: 0, committed: 0, inFlight: 0 })));
  const queue = memoryQueue();
  const planned = await tickStreamRun(run, { kafka: ends(300, 300, 150), positions, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 3 }, firstTick: false });
  assert.equal(planned, 8);
  assert.deepEqual(ranges(queue), ['0@0-100', '1@0-100', '2@0-100', '0@100-200', '1@100-200', '2@100-150', '0@200-300', '1@200-300']);
});

test('with a byte bound, ranges are sized by the partition\'s average message size so far', async () => {
  const positions = memoryPositions([
    { topic: 't', partition: 0, planned: 0, committed: 0, inFlight: 0, bytesPerRecord: 1000 },
    { topic: 't', partition: 1, planned: 0, committed: 0, inFlight: 0 },
  ]);
  const queue = memoryQueue();
  await tickStreamRun(run, { kafka: ends(100, 100), positions, queue, limits: { maxRecords: 60, maxBytes: 25_000, maxInFlightPerPartition: 2 }, firstTick: false });
  // 25 records of 1,000 bytes on partition 0; partition 1 has no size yet, so only the record bound applies.
  assert.deepEqual(ranges(queue), ['0@0-25', '1@0-60', '0@25-50', '1@60-100']);
});

test('a partition whose reservation another planner won is left to the next tick; the others go on', async () => {
  const positions = memoryPositions([0, 1].map((partition) => ({ topic: 't', partition, planned: 0, committed: 0, inFlight: 0 })), new Set([0]));
  const queue = memoryQueue();
  await tickStreamRun(run, { kafka: ends(200, 200), positions, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: false });
  assert.deepEqual(ranges(queue), ['1@0-100', '1@100-200']);
  assert.deepEqual(positions.reserved, ['1@0-100', '1@100-200']);
});

test('offsets retention deleted before they were planned are skipped as a gap, and planning goes on after them', async () => {
  const positions = memoryPositions([0, 1].map((partition) => ({ topic: 't', partition, planned: 0, committed: 0, inFlight: 0 })));
  const queue = memoryQueue();
  await tickStreamRun(run, { kafka: bounds({ logStartOffset: 150, endOffset: 300 }, { logStartOffset: 0, endOffset: 100 }), positions, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: false });
  assert.deepEqual(positions.reserved, ['gap 0@0-150', '0@150-250', '1@0-100', '0@250-300']);
  assert.deepEqual(ranges(queue), ['0@150-250', '1@0-100', '0@250-300']);
});

test('a partition added while no coordinator ran starts at its beginning on the next leader\'s first tick, whatever --start says', async () => {
  const latest = { ...run, options: { start: 'latest' } } as RunRecord;
  const positions = memoryPositions([{ topic: 't', partition: 0, planned: 80, committed: 80, inFlight: 0 }]);
  const queue = memoryQueue();
  await tickStreamRun(latest, { kafka: bounds({ logStartOffset: 0, endOffset: 100 }, { logStartOffset: 5, endOffset: 40 }), positions, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: true });
  assert.deepEqual(ranges(queue), ['0@80-100', '1@5-40']);
  // The first tick of a run has no partition yet: each starts where --start says.
  const fresh = memoryPositions([]);
  const freshQueue = memoryQueue();
  await tickStreamRun(latest, { kafka: bounds({ logStartOffset: 0, endOffset: 100 }, { logStartOffset: 5, endOffset: 40 }), positions: fresh, queue: freshQueue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: true });
  assert.deepEqual((await fresh.list('r1')).map((p) => [p.partition, p.planned]), [[0, 100], [1, 40]]);
  assert.deepEqual(ranges(freshQueue), []);
});

test('before workers measured a partition, its log size on disk over its records bounds the first ranges by bytes', async () => {
  const positions = memoryPositions([
    { topic: 't', partition: 0, planned: 0, committed: 0, inFlight: 0, bytesPerRecord: 1000 },
    { topic: 't', partition: 1, planned: 0, committed: 0, inFlight: 0 },
    { topic: 't', partition: 2, planned: 0, committed: 0, inFlight: 0 },
  ]);
  const asked: number[][] = [];
  const kafka = {
    ...ends(100, 100, 100),
    // Partition 1 holds 100 records in 200 kB: 2,000 bytes each. Partition 2's size is unknown.
    logSizes: async (_topic: string, partitions: readonly number[]) => {
      asked.push([...partitions]);
      return new Map([[1, 200_000]]);
    },
  };
  const queue = memoryQueue();
  await tickStreamRun(run, { kafka, positions, queue, limits: { maxRecords: 60, maxBytes: 25_000, maxInFlightPerPartition: 2 }, firstTick: false });
  assert.deepEqual(asked, [[1, 2]], 'asked once, only for the partitions with no measured size');
  assert.deepEqual(ranges(queue), ['0@0-25', '1@0-12', '2@0-60', '0@25-50', '1@12-24', '2@60-100']);

  // Without a byte bound there is nothing to estimate, so nothing is asked.
  const again = memoryQueue();
  await tickStreamRun(run, { kafka, positions: memoryPositions([{ topic: 't', partition: 1, planned: 0, committed: 0, inFlight: 0 }]), queue: again, limits: { maxRecords: 60, maxInFlightPerPartition: 2 }, firstTick: false });
  assert.equal(asked.length, 1);
});

test('a topic whose listing fails does not hold back the ranges already reserved on the topics before it', async () => {
  const twoTopics = { ...run, inputs: ['a', 'b'] } as RunRecord;
  const positions = memoryPositions([{ topic: 'a', partition: 0, planned: 0, committed: 0, inFlight: 0 }]);
  const queue = memoryQueue();
  const kafka = {
    async listOffsets(topic: string): Promise<PartitionOffsetsView[]> {
      if (topic === 'b') throw new Error('the brokers of b are away');
      return [{ partition: 0, logStartOffset: 0, endOffset: 200 }];
    },
  };
  await assert.rejects(tickStreamRun(twoTopics, { kafka, positions, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: false }), /brokers of b/);
  assert.deepEqual(positions.reserved, ['0@0-100', '0@100-200']);
  assert.deepEqual(ranges(queue), ['0@0-100', '0@100-200'], 'what was reserved was enqueued');
});

test('the partitions of a topic\'s first listing start together: a failed start leaves none taken for added partitions', async () => {
  const latest = { ...run, options: { start: 'latest' } } as RunRecord;
  const positions = memoryPositions([]);
  let failNext = true;
  const flaky: StreamPositionsView = {
    ...positions,
    async initTopic(runId, topic, starts) {
      // The real store runs one script: it sets all of them or, failing, none.
      if (failNext) {
        failNext = false;
        throw new Error('Redis blipped');
      }
      return positions.initTopic(runId, topic, starts);
    },
  };
  const kafka = bounds({ logStartOffset: 0, endOffset: 100 }, { logStartOffset: 0, endOffset: 70 });
  const queue = memoryQueue();
  await assert.rejects(tickStreamRun(latest, { kafka, positions: flaky, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: true }), /blipped/);
  await tickStreamRun(latest, { kafka, positions: flaky, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: true });
  assert.deepEqual((await positions.list('r1')).map((p) => [p.partition, p.planned]), [[0, 100], [1, 70]], 'both start at latest');
  assert.deepEqual(ranges(queue), []);
});

test('a partition whose end stays below what the run planned fails the run with OFFSET_REWOUND after the grace period', async () => {
  const positions = memoryPositions([{ topic: 't', partition: 0, planned: 500, committed: 500, inFlight: 0 }]);
  const queue = memoryQueue();
  let now = 1_000_000;
  const rewound = { since: new Map<string, number>(), graceMs: 30_000, now: () => now };
  let endOffset = 300;
  const kafka = { listOffsets: async () => [{ partition: 0, logStartOffset: 0, endOffset }] };
  const tick = (): Promise<number> => tickStreamRun(run, { kafka, positions, queue, limits: { maxRecords: 100, maxInFlightPerPartition: 2 }, firstTick: false, rewound });
  // A new leader's end may lag for a moment: below the plan briefly, then back, is no failure.
  assert.equal(await tick(), 0);
  now += 20_000;
  endOffset = 520;
  assert.equal(await tick(), 1);
  now += 20_000;
  endOffset = 300;
  assert.equal(await tick(), 0);
  now += 29_000;
  assert.equal(await tick(), 0, 'still within the grace period, counted from when it went below again');
  now += 2_000;
  await assert.rejects(tick(), (error: unknown) => {
    assert.ok(isSluiceError(error));
    assert.equal(error.code, ErrorCode.OFFSET_REWOUND);
    assert.equal(error.retryable, false);
    assert.match(error.message, /t\/0 has ended at offset 300, below the 520 stream run r1 planned, for 31 s/);
    assert.match(error.message, /--start earliest/);
    return true;
  });
  assert.deepEqual(ranges(queue), ['0@500-520']);
});

/**
 * Lag per partition from stored positions: pure, so every case is spelled out, including the
 * ones where a timestamp is not known yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computePartitionLag } from '../src/index.ts';
import type { PartitionPositions } from '../src/index.ts';

const NOW = 1_700_000_100_000;

function positions(fields: Partial<PartitionPositions>): PartitionPositions {
  return { topic: 't', partition: 3, planned: 0, committed: 0, inFlight: 0, ...fields };
}

test('lag in seconds is the newest record time minus the newest committed record time', () => {
  const lag = computePartitionLag(positions({
    committed: 400, planned: 500, startOffset: 100, startedAt: NOW - 60_000,
    endOffset: 1_000, endSeenAt: NOW - 500, newestTimestamp: 1_700_000_090_000, committedTimestamp: 1_700_000_002_500,
  }), NOW);
  assert.deepEqual(lag, {
    topic: 't', partition: 3, endOffset: 1_000, committed: 400, lagRecords: 600, lagSeconds: 87.5,
    newestTimestamp: 1_700_000_090_000, committedTimestamp: 1_700_000_002_500, recordsPerSecond: 5, endSeenAt: NOW - 500,
  });
});

test('caught up is 0 s whatever the timestamps; behind with unknown timestamps is null, never a guess', () => {
  const caughtUp = computePartitionLag(positions({ committed: 50, endOffset: 50, newestTimestamp: 9_000, committedTimestamp: 1_000 }), NOW);
  assert.equal(caughtUp.lagRecords, 0);
  assert.equal(caughtUp.lagSeconds, 0);
  assert.equal(computePartitionLag(positions({ committed: 10, endOffset: 50, newestTimestamp: 9_000 }), NOW).lagSeconds, null, 'nothing committed yet');
  assert.equal(computePartitionLag(positions({ committed: 10, endOffset: 50, committedTimestamp: 9_000 }), NOW).lagSeconds, null, 'newest not known');
  const unseen = computePartitionLag(positions({ committed: 10 }), NOW);
  assert.deepEqual([unseen.endOffset, unseen.lagRecords, unseen.lagSeconds, unseen.endSeenAt], [10, 0, null, null], 'no end seen yet');
  const late = computePartitionLag(positions({ committed: 10, endOffset: 50, newestTimestamp: 1_000, committedTimestamp: 9_000 }), NOW);
  assert.equal(late.lagSeconds, 0, 'records behind with older timestamps than the committed ones are no event time behind');
});

test('records per second count committed offsets since the partition started; unknown without a start', () => {
  assert.equal(computePartitionLag(positions({ committed: 1_100, startOffset: 100, startedAt: NOW - 4_000 }), NOW).recordsPerSecond, 250);
  assert.equal(computePartitionLag(positions({ committed: 1_100, startOffset: 100, startedAt: NOW }), NOW).recordsPerSecond, null, 'no time has passed');
  assert.equal(computePartitionLag(positions({ committed: 1_100 }), NOW).recordsPerSecond, null, 'stored before starts were recorded');
});

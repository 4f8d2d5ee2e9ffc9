/**
 * Stream positions against the real Redis (127.0.0.1:6379, `infra/local/up`): every test works on
 * its own run ids and deletes their keys afterwards.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import fc from 'fast-check';
import { ErrorCode, fenceKey, isSluiceError, rangeSplitId, runStatsKey } from '@sluice/core';
import { createStreamPositions, streamDoneKey, streamEndsKey, streamGapsKey, streamPlannedKey, streamPositionsKey, streamTimesKey } from '../src/index.ts';
import type { StreamPositions } from '../src/index.ts';

const url = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;

function withPositions(t: TestContext): { redis: Redis; positions: StreamPositions; newRun(): string } {
  const redis = new Redis(url);
  const runIds: string[] = [];
  t.after(async () => {
    const keys = runIds.flatMap((id) => [streamPositionsKey(id), streamPlannedKey(id), streamDoneKey(id), streamEndsKey(id), streamGapsKey(id), streamTimesKey(id), fenceKey(id), runStatsKey(id)]);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  return {
    redis,
    positions: createStreamPositions(redis),
    newRun() {
      const id = `test-positions-${randomUUID()}`;
      runIds.push(id);
      return id;
    },
  };
}

function rejectsWith(code: string) {
  return (error: unknown): boolean => {
    assert.ok(isSluiceError(error), `a SluiceError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.retryable, false);
    return true;
  };
}

async function positionOf(positions: StreamPositions, runId: string, topic: string, partition: number) {
  const found = (await positions.list(runId)).find((p) => p.topic === topic && p.partition === partition);
  assert.ok(found, `${topic}/${partition} has positions`);
  return { planned: found.planned, committed: found.committed, inFlight: found.inFlight };
}

test('init is idempotent: a restart never moves a partition, forward or back', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 0, 10);
  assert.equal(await positions.reservePlan(run, 'tp', 0, 10, 20), true);
  await positions.init(run, 'tp', 0, 0);
  await positions.init(run, 'tp', 0, 500);
  assert.deepEqual(await positionOf(positions, run, 'tp', 0), { planned: 20, committed: 10, inFlight: 1 });
  await positions.init(run, 'tp', 1, 7);
  assert.deepEqual(await positionOf(positions, run, 'tp', 1), { planned: 7, committed: 7, inFlight: 0 }, 'another partition starts on its own');
});

test('initTopic starts every new partition of a topic in one step and moves none that exists; a bad start sets none', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 1, 40);
  await positions.initTopic(run, 'tp', [{ partition: 0, start: 10 }, { partition: 1, start: 0 }, { partition: 2, start: 25 }]);
  assert.deepEqual(await positionOf(positions, run, 'tp', 0), { planned: 10, committed: 10, inFlight: 0 });
  assert.deepEqual(await positionOf(positions, run, 'tp', 1), { planned: 40, committed: 40, inFlight: 0 }, 'an existing partition is not moved');
  assert.deepEqual(await positionOf(positions, run, 'tp', 2), { planned: 25, committed: 25, inFlight: 0 });
  await assert.rejects(positions.initTopic(run, 'other', [{ partition: 0, start: 5 }, { partition: 1, start: -1 }]), rejectsWith(ErrorCode.INTERNAL));
  assert.deepEqual((await positions.list(run)).filter((p) => p.topic === 'other'), [], 'nothing of the refused call was set');
});

test('a plan is reserved by compare-and-set: of two planners with the same view exactly one wins, and its bounds are kept', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 3, 0);
  const outcomes = await Promise.all([positions.reservePlan(run, 'tp', 3, 0, 100), positions.reservePlan(run, 'tp', 3, 0, 50)]);
  assert.deepEqual(outcomes.filter(Boolean).length, 1, `exactly one reservation wins: ${outcomes.join(', ')}`);
  const until = outcomes[0] === true ? 100 : 50;
  assert.deepEqual(await positions.pendingRanges(run), [{ topic: 'tp', partition: 3, from: 0, until }]);
  assert.equal(await positions.reservePlan(run, 'tp', 3, 0, 80), false, 'a stale view is refused');
  assert.equal(await positions.reservePlan(run, 'tp', 3, until, until + 10), true, 'the current view plans on');
  assert.deepEqual(await positionOf(positions, run, 'tp', 3), { planned: until + 10, committed: 0, inFlight: 2 });
});

test('planned ranges survive a restart: a new connection sees exactly what to re-enqueue', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'b.topic', 1, 0);
  await positions.init(run, 'a-topic', 0, 40);
  await positions.reservePlan(run, 'b.topic', 1, 0, 30);
  await positions.reservePlan(run, 'b.topic', 1, 30, 31);
  await positions.reservePlan(run, 'a-topic', 0, 40, 90);
  await positions.complete(run, 'b.topic', 1, 30, 31);
  const fresh = new Redis(url);
  t.after(() => fresh.disconnect());
  assert.deepEqual(await createStreamPositions(fresh).pendingRanges(run), [
    { topic: 'a-topic', partition: 0, from: 40, until: 90 },
    { topic: 'b.topic', partition: 1, from: 0, until: 30 },
  ]);
});

test('committed advances only over contiguous completed ranges; a second completion changes nothing', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 0, 100);
  for (const [from, until] of [[100, 110], [110, 120], [120, 130], [130, 140]] as const) assert.ok(await positions.reservePlan(run, 'tp', 0, from, until));
  assert.equal(await positions.complete(run, 'tp', 0, 120, 130), 100);
  assert.equal(await positions.complete(run, 'tp', 0, 110, 120), 100);
  assert.equal(await positions.complete(run, 'tp', 0, 110, 120), 100, 'completed twice while still above committed');
  assert.deepEqual(await positionOf(positions, run, 'tp', 0), { planned: 140, committed: 100, inFlight: 2 });
  assert.equal(await positions.complete(run, 'tp', 0, 100, 110), 130, 'the missing range joins everything after it');
  assert.equal(await positions.complete(run, 'tp', 0, 110, 120), 130, 'completed again after committed passed it');
  assert.equal(await positions.complete(run, 'tp', 0, 100, 110), 130);
  assert.deepEqual(await positions.pendingRanges(run), [{ topic: 'tp', partition: 0, from: 130, until: 140 }]);
  assert.equal(await positions.complete(run, 'tp', 0, 130, 140), 140);
  assert.deepEqual(await positionOf(positions, run, 'tp', 0), { planned: 140, committed: 140, inFlight: 0 });
});

test('a completion that does not match a planned range is refused and changes nothing', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 0, 0);
  await positions.reservePlan(run, 'tp', 0, 0, 10);
  await positions.reservePlan(run, 'tp', 0, 10, 20);
  await assert.rejects(positions.complete(run, 'tp', 0, 0, 15), rejectsWith(ErrorCode.INTERNAL), 'other bounds');
  await assert.rejects(positions.complete(run, 'tp', 0, 5, 10), rejectsWith(ErrorCode.INTERNAL), 'never planned');
  await assert.rejects(positions.complete(run, 'tp', 0, 20, 30), rejectsWith(ErrorCode.INTERNAL), 'beyond planned');
  await assert.rejects(positions.complete(run, 'tp', 9, 0, 10), rejectsWith(ErrorCode.NOT_FOUND), 'unknown partition');
  await assert.rejects(positions.complete(run, 'tp', 0, 0, 1.5), rejectsWith(ErrorCode.INTERNAL), 'not an offset');
  assert.equal(await positions.complete(run, 'tp', 0, 10, 20), 0);
  await assert.rejects(positions.complete(run, 'tp', 0, 10, 25), rejectsWith(ErrorCode.INTERNAL), 'completed with other bounds');
  assert.equal(await positions.complete(run, 'tp', 0, 0, 10), 20);
  await assert.rejects(positions.complete(run, 'tp', 0, 5, 25), rejectsWith(ErrorCode.INTERNAL), 'straddles committed');
  assert.deepEqual(await positionOf(positions, run, 'tp', 0), { planned: 20, committed: 20, inFlight: 0 });
});

test('reserving needs an initialised partition and a non-empty range', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await assert.rejects(positions.reservePlan(run, 'tp', 0, 0, 10), rejectsWith(ErrorCode.NOT_FOUND));
  await positions.init(run, 'tp', 0, 10);
  await assert.rejects(positions.reservePlan(run, 'tp', 0, 10, 10), rejectsWith(ErrorCode.INTERNAL));
  await assert.rejects(positions.reservePlan(run, 'tp', 0, 10, 5), rejectsWith(ErrorCode.INTERNAL));
  await assert.rejects(positions.init(run, 'tp', 1, -1), rejectsWith(ErrorCode.INTERNAL));
  assert.deepEqual(await positions.pendingRanges(run), []);
});

test('a gap is skipped in one step: recorded once, never pending, committed once the ranges below it complete', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 0, 0);
  await positions.reservePlan(run, 'tp', 0, 0, 50);
  assert.equal(await positions.skipGap(run, 'tp', 0, 50, 300), true);
  assert.equal(await positions.skipGap(run, 'tp', 0, 50, 300), false, 'a second coordinator with the old view');
  assert.deepEqual(await positions.gaps(run), [{ topic: 'tp', partition: 0, from: 50, until: 300 }]);
  assert.deepEqual(await positions.pendingRanges(run), [{ topic: 'tp', partition: 0, from: 0, until: 50 }]);
  assert.deepEqual(await positionOf(positions, run, 'tp', 0), { planned: 300, committed: 0, inFlight: 1 });
  assert.equal(await positions.complete(run, 'tp', 0, 0, 50), 300);

  await positions.init(run, 'tp', 1, 10);
  assert.equal(await positions.skipGap(run, 'tp', 1, 10, 40), true);
  assert.deepEqual(await positionOf(positions, run, 'tp', 1), { planned: 40, committed: 40, inFlight: 0 }, 'nothing below it: committed at once');
});

test('ranges committed passes leave nothing behind: their fences go, the floor stands for them, each is counted once', async (t) => {
  const { redis, positions, newRun } = withPositions(t);
  const run = newRun();
  const fences = async (): Promise<Record<string, string>> => redis.hgetall(fenceKey(run));
  await positions.init(run, 'tp', 0, 100);
  await positions.init(run, 'tp', 1, 0);
  for (const [from, until] of [[100, 110], [110, 120], [120, 130]] as const) {
    await positions.reservePlan(run, 'tp', 0, from, until);
    await redis.hset(fenceKey(run), rangeSplitId('tp', 0, from, until), `0:${until}`);
  }
  await positions.reservePlan(run, 'tp', 1, 0, 10);
  await redis.hset(fenceKey(run), rangeSplitId('tp', 1, 0, 10), '0:10', 'hdfs://nn/a.ndjson#0-100', '3:100');
  assert.equal(await positions.complete(run, 'tp', 0, 110, 120), 100);
  assert.equal((await fences())[rangeSplitId('tp', 0, 110, 120)], '0:120', 'a range above committed keeps its fence');
  assert.equal(await positions.complete(run, 'tp', 0, 100, 110), 120);
  assert.deepEqual(await fences(), {
    [rangeSplitId('tp', 0, 120, 130)]: '0:130',
    'kafka://tp/0@floor': '120',
    [rangeSplitId('tp', 1, 0, 10)]: '0:10',
    'hdfs://nn/a.ndjson#0-100': '3:100',
  }, 'only the ranges committed passed lost their fences; other partitions and splits keep theirs');
  assert.equal(await positions.complete(run, 'tp', 0, 100, 110), 120, 'completed again after its fence went');
  assert.equal(await positions.skipGap(run, 'tp', 0, 130, 200), true);
  assert.equal(await positions.complete(run, 'tp', 0, 120, 130), 200);
  assert.equal((await fences())['kafka://tp/0@floor'], '200', 'the floor follows committed over a gap');
  assert.equal(await redis.hget(runStatsKey(run), 'splitsDone'), '3', 'three ranges completed; the repeat and the gap are not counted');
});

test('a gap a worker recorded again (a retried range) is listed once, with the widest end seen', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 0, 0);
  await positions.init(run, 'tp', 1, 0);
  await positions.recordGap(run, 'tp', 0, 100, 150);
  await positions.recordGap(run, 'tp', 1, 100, 120);
  await positions.recordGap(run, 'tp', 0, 100, 180);
  await positions.recordGap(run, 'tp', 0, 100, 160);
  await positions.recordGap(run, 'tp', 0, 400, 450);
  assert.deepEqual(await positions.gaps(run), [
    { topic: 'tp', partition: 0, from: 100, until: 180 },
    { topic: 'tp', partition: 1, from: 100, until: 120 },
    { topic: 'tp', partition: 0, from: 400, until: 450 },
  ]);
  // A range still running when its run was forgotten (its positions deleted) records nothing.
  const gone = newRun();
  await positions.recordGap(gone, 'tp', 0, 100, 150);
  assert.deepEqual(await positions.gaps(gone), []);
});

test('list reports every partition with planned, committed, in flight, where it started and the last end offset seen', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  const before = Date.now();
  await positions.init(run, 'b', 0, 5);
  await positions.init(run, 'a', 1, 0);
  await positions.init(run, 'a', 0, 0);
  await positions.reservePlan(run, 'a', 1, 0, 10);
  await positions.reservePlan(run, 'a', 1, 10, 20);
  await positions.recordEnds(run, 'a', [{ partition: 1, endOffset: 25, newestTimestamp: 1_700_000_000_123 }, { partition: 0, endOffset: 0, newestTimestamp: null }]);
  const listed = await positions.list(run);
  assert.deepEqual(listed.map(({ endSeenAt: _at, startedAt: _started, ...p }) => p), [
    { topic: 'a', partition: 0, planned: 0, committed: 0, inFlight: 0, startOffset: 0, endOffset: 0 },
    { topic: 'a', partition: 1, planned: 20, committed: 0, inFlight: 2, startOffset: 0, endOffset: 25, newestTimestamp: 1_700_000_000_123 },
    { topic: 'b', partition: 0, planned: 5, committed: 5, inFlight: 0, startOffset: 5 },
  ]);
  assert.equal(typeof listed[1]?.endSeenAt, 'number');
  for (const p of listed) assert.ok(p.startedAt !== undefined && p.startedAt >= before && p.startedAt <= Date.now(), `startedAt ${p.startedAt} is when init ran`);
  assert.deepEqual(await positions.list(newRun()), [], 'an unknown run has no partitions');
});

test('the committed timestamp is the greatest of the ranges committed passed, never of a range above it', async (t) => {
  const { redis, positions, newRun } = withPositions(t);
  const run = newRun();
  const committedTimestamp = async (): Promise<number | undefined> => (await positions.list(run)).find((p) => p.partition === 0)?.committedTimestamp;
  await positions.init(run, 'tp', 0, 0);
  for (const [from, until] of [[0, 10], [10, 20], [20, 30], [30, 40]] as const) assert.ok(await positions.reservePlan(run, 'tp', 0, from, until));
  assert.equal(await positions.complete(run, 'tp', 0, 10, 20, 5_000), 0);
  assert.equal(await committedTimestamp(), undefined, 'a range above committed does not count yet');
  assert.equal(await positions.complete(run, 'tp', 0, 10, 20, 9_999), 0, 'completed again');
  assert.equal(await positions.complete(run, 'tp', 0, 0, 10, 3_000), 20);
  assert.equal(await committedTimestamp(), 5_000, 'the later range holds the newer record; a repeated completion changes nothing');
  assert.equal(await positions.complete(run, 'tp', 0, 20, 30), 30);
  assert.equal(await committedTimestamp(), 5_000, 'a range without records keeps it');
  assert.equal(await positions.complete(run, 'tp', 0, 30, 40, 1_000), 40);
  assert.equal(await committedTimestamp(), 5_000, 'an older record (out of order) never moves it back');
  assert.equal(await redis.hlen(streamTimesKey(run)), 0, 'nothing is left behind once committed passes');
  await positions.init(run, 'tp', 1, 0);
  await positions.reservePlan(run, 'tp', 1, 0, 10);
  await assert.rejects(positions.complete(run, 'tp', 1, 0, 10, -1), rejectsWith(ErrorCode.INTERNAL), 'a negative timestamp');
  await assert.rejects(positions.complete(run, 'tp', 1, 0, 10, 1.5), rejectsWith(ErrorCode.INTERNAL), 'not a whole millisecond');
  assert.deepEqual(await positionOf(positions, run, 'tp', 1), { planned: 10, committed: 0, inFlight: 1 }, 'a refused completion changes nothing');
});

test('offsets up to 2^53 - 1 are stored exactly', async (t) => {
  const { positions, newRun } = withPositions(t);
  const run = newRun();
  const base = Number.MAX_SAFE_INTEGER - 1_000;
  await positions.init(run, 'tp', 0, base);
  assert.ok(await positions.reservePlan(run, 'tp', 0, base, base + 999));
  assert.ok(await positions.reservePlan(run, 'tp', 0, base + 999, Number.MAX_SAFE_INTEGER));
  assert.equal(await positions.complete(run, 'tp', 0, base + 999, Number.MAX_SAFE_INTEGER), base);
  assert.equal(await positions.complete(run, 'tp', 0, base, base + 999), Number.MAX_SAFE_INTEGER);
  assert.deepEqual(await positionOf(positions, run, 'tp', 0), { planned: Number.MAX_SAFE_INTEGER, committed: Number.MAX_SAFE_INTEGER, inFlight: 0 });
});

/** One step of the property: plan the next range, complete a pending one (or redo a done one), concurrently in pairs. */
type Step = { kind: 'plan' } | { kind: 'complete'; pick: number; twice: boolean };

test('property: any interleaving of planning and (repeated, concurrent) completions keeps committed at the first incomplete range', async (t) => {
  const { redis, positions, newRun } = withPositions(t);
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.constant<Step>({ kind: 'plan' }),
    fc.record({ kind: fc.constant('complete' as const), pick: fc.nat(), twice: fc.boolean() }),
  );
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 1_000_000 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 12 }), fc.array(stepArb, { maxLength: 30 }), fc.array(fc.option(fc.nat({ max: 2 ** 41 }), { nil: undefined }), { minLength: 12, maxLength: 12 }), async (start, sizes, steps, stamps) => {
      const run = newRun();
      await positions.init(run, 't', 0, start);
      const ranges: [number, number][] = [];
      const pending: [number, number][] = [];
      const done = new Set<number>();
      let planned = start;
      const plan = async (): Promise<void> => {
        const size = sizes[ranges.length];
        if (size === undefined) return;
        assert.ok(await positions.reservePlan(run, 't', 0, planned, planned + size));
        // What a worker's first commit of the range leaves: its fence.
        await redis.hset(fenceKey(run), rangeSplitId('t', 0, planned, planned + size), '0:1');
        ranges.push([planned, planned + size]);
        pending.push([planned, planned + size]);
        planned += size;
      };
      const expectedCommitted = (): number => ranges.find(([from]) => !done.has(from))?.[0] ?? planned;
      const expectedTimestamp = (): number | undefined => {
        const below = ranges.map((r, i) => (r[1] <= expectedCommitted() ? stamps[i] : undefined)).filter((s): s is number => s !== undefined);
        return below.length === 0 ? undefined : Math.max(...below);
      };
      // Fences are kept exactly for the ranges committed has not passed; the floor stands for the rest.
      const assertCompacted = async (): Promise<void> => {
        const committed = expectedCommitted();
        const expected: Record<string, string> = Object.fromEntries(ranges.filter(([from]) => from >= committed).map(([from, until]) => [rangeSplitId('t', 0, from, until), '0:1']));
        if (committed > start) expected['kafka://t/0@floor'] = String(committed);
        assert.deepEqual(await redis.hgetall(fenceKey(run)), expected);
        assert.equal(Number((await redis.hget(runStatsKey(run), 'splitsDone')) ?? 0), done.size, 'each range counted once, however often completed');
      };
      const complete = async (range: [number, number], twice: boolean): Promise<void> => {
        const stamp = stamps[ranges.findIndex(([from]) => from === range[0])];
        const results = await Promise.all((twice ? [range, range] : [range]).map(([from, until]) => positions.complete(run, 't', 0, from, until, stamp)));
        done.add(range[0]);
        const now = expectedCommitted();
        for (const committed of results) assert.ok(committed <= now, `committed ${committed} never passes the first incomplete range at ${now}`);
        assert.ok(results.includes(now), `one of the completions reports ${now}, got ${results.join(', ')}`);
      };
      for (const step of steps) {
        if (step.kind === 'plan') await plan();
        else if (pending.length > 0) await complete(pending.splice(step.pick % pending.length, 1)[0] as [number, number], step.twice);
        else if (ranges.length > 0) await complete(ranges[step.pick % ranges.length] as [number, number], step.twice);
        assert.deepEqual(await positionOf(positions, run, 't', 0), { planned, committed: expectedCommitted(), inFlight: pending.length });
        assert.equal((await positions.list(run))[0]?.committedTimestamp, expectedTimestamp(), 'the newest timestamp of the ranges below committed');
        await assertCompacted();
      }
      while (ranges.length < sizes.length) await plan();
      for (const range of pending.splice(0).reverse()) await complete(range, false);
      const end = start + sizes.reduce((a, b) => a + b, 0);
      assert.deepEqual(await positionOf(positions, run, 't', 0), { planned: end, committed: end, inFlight: 0 });
      await assertCompacted();
      assert.deepEqual(await redis.hgetall(fenceKey(run)), { 'kafka://t/0@floor': String(end) }, 'a caught-up stream keeps one field, however many ranges it ran');
      assert.deepEqual(await positions.pendingRanges(run), []);
    }),
    { numRuns: 40 },
  );
});

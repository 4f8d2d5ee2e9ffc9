import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import fc from 'fast-check';
import { createStreamPositions } from '../src/index.ts';

const url = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;

async function withPositions(t: import('node:test').TestContext) {
  const redis = new Redis(url);
  const runIds: string[] = [];
  t.after(async () => {
    for (const id of runIds) {
      const keys = await redis.keys(`sluice:stream:${id}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });
  return { positions: createStreamPositions(redis), newRun: () => { const id = `test-${randomUUID()}`; runIds.push(id); return id; } };
}

test('init is idempotent: a restart never moves a partition back', async (t) => {
  const { positions, newRun } = await withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 0, 10);
  assert.equal(await positions.reservePlan(run, 'tp', 0, 10, 20), true);
  await positions.init(run, 'tp', 0, 0);
  const [p] = await positions.list(run);
  assert.deepEqual({ planned: p?.planned, committed: p?.committed, inFlight: p?.inFlight }, { planned: 20, committed: 10, inFlight: 1 });
});

test('a plan is reserved by compare-and-set: a second planner with a stale view is refused', async (t) => {
  const { positions, newRun } = await withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 3, 0);
  assert.equal(await positions.reservePlan(run, 'tp', 3, 0, 100), true);
  assert.equal(await positions.reservePlan(run, 'tp', 3, 0, 50), false, 'same offsets, other bounds: refused');
  assert.deepEqual(await positions.pendingRanges(run), [{ topic: 'tp', partition: 3, from: 0, until: 100 }]);
});

test('committed advances only over contiguous completed ranges; completing twice changes nothing', async (t) => {
  const { positions, newRun } = await withPositions(t);
  const run = newRun();
  await positions.init(run, 'tp', 0, 0);
  for (const [from, until] of [[0, 10], [10, 20], [20, 30]] as const) assert.ok(await positions.reservePlan(run, 'tp', 0, from, until));
  assert.equal(await positions.complete(run, 'tp', 0, 20, 30), 0);
  assert.equal(await positions.complete(run, 'tp', 0, 10, 20), 0);
  assert.equal(await positions.complete(run, 'tp', 0, 0, 10), 30);
  assert.equal(await positions.complete(run, 'tp', 0, 10, 20), 30);
  assert.deepEqual(await positions.pendingRanges(run), []);
});

test('property: any completion order ends committed at the end, never past an incomplete range', async (t) => {
  const { positions, newRun } = await withPositions(t);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 12 }), fc.func(fc.integer()), async (sizes, order) => {
      const run = newRun();
      await positions.init(run, 't', 0, 0);
      const ranges: [number, number][] = [];
      let at = 0;
      for (const size of sizes) {
        assert.ok(await positions.reservePlan(run, 't', 0, at, at + size));
        ranges.push([at, at + size]);
        at += size;
      }
      const shuffled = ranges.map((r, i) => ({ r, k: order(i) })).sort((a, b) => a.k - b.k).map((x) => x.r);
      const done = new Set<number>();
      for (const [from, until] of shuffled) {
        const committed = await positions.complete(run, 't', 0, from, until);
        done.add(from);
        const firstIncomplete = ranges.find(([f]) => !done.has(f));
        assert.equal(committed, firstIncomplete === undefined ? at : firstIncomplete[0]);
      }
    }),
    { numRuns: 25 },
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SluiceError, defineJob } from '@sluice/core';
import type { Aggregate, Chunk } from '@sluice/core';
import type { RecordBatch } from '@sluice/formats';
import { SPLIT_DONE, runSplit, runSplitsTogether } from '../src/index.ts';
import type { CommitTarget, SplitTask } from '../src/index.ts';

const job = defineJob<{ k: string; ts: number }, Record<string, never>>({
  name: 'together',
  series: { hits: { type: 'count', intervals: { m: { step: 60 } } } },
  process: (r, emit) => {
    if (r.k === 'bad') throw new Error('bad record');
    emit('hits', r.k, 1, r.ts);
  },
});

/** A fenced store in memory with commitTogether's rule: all fresh, or nothing. */
function memoryStore(): CommitTarget & { counts: Map<string, number>; fences: Map<string, number>; dead: string[]; commits: number } {
  const store = {
    counts: new Map<string, number>(),
    fences: new Map<string, number>(),
    dead: [] as string[],
    commits: 0,
    apply(chunk: Chunk) {
      store.commits += 1;
      for (const a of chunk.aggregates as Aggregate[]) if (a.type === 'count') store.counts.set(a.name, (store.counts.get(a.name) ?? 0) + a.increment);
      store.dead.push(...chunk.deadLetters.map((d) => d.provenance));
    },
    async commit(_runId: string, chunk: Chunk) {
      const last = store.fences.get(chunk.splitId) ?? -1;
      if (chunk.seq <= last) return { applied: false, expired: 0, keysWritten: 0 };
      store.fences.set(chunk.splitId, chunk.seq);
      store.apply(chunk);
      return { applied: true, expired: 0, keysWritten: chunk.aggregates.length };
    },
    async commitTogether(_runId: string, ids: readonly string[], chunk: Chunk) {
      if (ids.some((id) => store.fences.has(id))) return { applied: false, expired: 0, keysWritten: 0 };
      for (const id of ids) store.fences.set(id, chunk.seq);
      store.apply(chunk);
      return { applied: true, expired: 0, keysWritten: chunk.aggregates.length };
    },
    async progress(_runId: string, splitId: string) {
      const seq = store.fences.get(splitId);
      return seq === undefined ? undefined : { seq, resumeAt: SPLIT_DONE };
    },
  };
  return store;
}

/** A Kafka-like range: records k0..k(n-1) at offsets from `from`, one batch. */
function range(splitId: string, keys: readonly string[], from = 0): SplitTask {
  const batch: RecordBatch = {
    records: keys.map((k) => ({ k, ts: 60_000_000 })),
    offsets: keys.map((_, i) => from + i),
    deadLetters: [],
    endOffset: from + keys.length,
    bytes: keys.length * 10,
  };
  return {
    runId: 'run', splitId, ordinal: 0, url: `kafka://t/${splitId}`, format: 'ndjson', compression: 'none', start: from, end: from + keys.length,
    source: async function* (resumeFrom) {
      if (resumeFrom === undefined || resumeFrom < batch.endOffset) yield batch;
    },
  };
}

test('fresh ranges run together as one chunk: one commit, both fences, each key once', async () => {
  const store = memoryStore();
  const out = await runSplitsTogether([range('p0', ['a', 'b', 'bad']), range('p1', ['a', 'a'], 100)], { job, options: {}, store });
  assert.equal(out.combined, true);
  assert.deepEqual(out.combined && out.shares.map((s) => s.records), [3, 2]);
  assert.equal(store.commits, 1);
  assert.deepEqual([...store.fences.keys()].sort(), ['p0', 'p1']);
  assert.deepEqual(Object.fromEntries(store.counts), { a: 3, b: 1 });
  assert.deepEqual(store.dead, ['kafka://t/p0@2'], 'a bad record names its own range');
  // A retry of either range alone finds it done and writes nothing.
  const again = await runSplit(range('p1', ['a', 'a'], 100), { job, options: {}, store });
  assert.equal(again.resumedFrom, SPLIT_DONE);
  assert.deepEqual(Object.fromEntries(store.counts), { a: 3, b: 1 });
});

test('a range that already has a fence makes the group decline, with nothing written', async () => {
  const store = memoryStore();
  await runSplit(range('p1', ['a']), { job, options: {}, store });
  const out = await runSplitsTogether([range('p0', ['a', 'b']), range('p1', ['a'])], { job, options: {}, store });
  assert.deepEqual(out, { combined: false, reason: 'a split already has a fence' });
  assert.deepEqual(Object.fromEntries(store.counts), { a: 1 });
  assert.equal(store.fences.has('p0'), false);
});

test('a run of a newer version is thrown, not declined: each range alone would be refused the same', async () => {
  const refused = new SluiceError(ErrorCode.OUTDATED, 'run written by a newer Sluice');
  const other = new SluiceError(ErrorCode.UNAVAILABLE, 'Redis went away');
  for (const error of [refused, other]) {
    const store = memoryStore();
    store.commitTogether = async () => {
      throw error;
    };
    const together = runSplitsTogether([range('p0', ['a']), range('p1', ['b'])], { job, options: {}, store });
    if (error === refused) await assert.rejects(together, (e: unknown) => e === refused);
    else assert.deepEqual(await together, { combined: false, reason: `failed together: ${String(other)}` }, 'any other error declines, as before');
  }
});

test('a group that outgrows one chunk, or a job with series lists, declines', async () => {
  const store = memoryStore();
  const many = Array.from({ length: 210_000 }, (_, i) => `k${i}`);
  const big = await runSplitsTogether([range('p0', many), range('p1', ['a'])], { job, options: {}, store });
  assert.deepEqual(big, { combined: false, reason: 'the splits outgrow one chunk' });
  assert.equal(store.commits, 0);
  const lists = defineJob<{ k: string; ts: number }, Record<string, never>>({ name: 'lists', series: { l: { type: 'series', intervals: { m: { step: 60 } } } }, process: () => {} });
  const out = await runSplitsTogether([range('p0', ['a']), range('p1', ['a'])], { job: lists, options: {}, store });
  assert.equal(out.combined, false);
});

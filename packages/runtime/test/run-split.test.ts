import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SluiceError, defineJob, isSluiceError } from '@sluice/core';
import type { Aggregate, Chunk, RangeReader } from '@sluice/core';
import { SPLIT_DONE, runSplit } from '../src/index.ts';
import type { CommitTarget, SplitTask } from '../src/index.ts';

function memoryReader(text: string): RangeReader {
  const bytes = Buffer.from(text, 'utf8');
  return {
    url: 'mem://input.ndjson',
    size: async () => bytes.length,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
    async *stream(offset, end) {
      for (let at = offset; at < (end ?? bytes.length); at += 7) yield bytes.subarray(at, Math.min(end ?? bytes.length, at + 7));
    },
  };
}

/** A fenced store in memory, like the real one: replays are no-ops, gaps refused, aggregates summed. */
function memoryStore(failOnSeq?: number): CommitTarget & { counts: Map<string, number>; dead: string[]; applied: number[] } {
  const fence = new Map<string, { seq: number; resumeAt: number }>();
  const counts = new Map<string, number>();
  const dead: string[] = [];
  const applied: number[] = [];
  let failed = false;
  return {
    counts, dead, applied,
    async commit(runId, chunk: Chunk) {
      if (failOnSeq !== undefined && chunk.seq === failOnSeq && !failed) {
        failed = true;
        throw new SluiceError(ErrorCode.UNAVAILABLE, 'simulated crash before the commit');
      }
      const key = `${runId}/${chunk.splitId}`;
      const last = fence.get(key)?.seq ?? -1;
      if (chunk.seq <= last) return { applied: false, expired: 0, keysWritten: 0 };
      if (chunk.seq !== last + 1) throw new SluiceError(ErrorCode.FENCE_GAP, 'gap');
      fence.set(key, { seq: chunk.seq, resumeAt: chunk.resumeAt });
      applied.push(chunk.seq);
      for (const a of chunk.aggregates as Aggregate[]) {
        if (a.type === 'count') counts.set(`${a.name}:${a.iBucket}`, (counts.get(`${a.name}:${a.iBucket}`) ?? 0) + a.increment);
      }
      for (const d of chunk.deadLetters) dead.push(d.provenance);
      return { applied: true, expired: 0, keysWritten: chunk.aggregates.length };
    },
    async progress(runId, splitId) {
      return fence.get(`${runId}/${splitId}`);
    },
  };
}

const job = defineJob<{ ts?: number; ip?: string }>({
  name: 'count-ips',
  series: { hits: { type: 'count', intervals: { minute: { step: 60 } } } },
  eventTime: (r) => (typeof r.ts === 'number' ? r.ts * 1e6 : undefined),
  process(r, emit) {
    if (typeof r.ts !== 'number') throw new Error('no ts');
    emit('hits', `hits.${r.ip ?? 'none'}`, 1, r.ts * 1e6);
    if (r.ip === 'boom') throw new Error('fails after emitting');
  },
});

const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ ts: 1_400_000_000 + i * 7, ip: `10.0.0.${i % 3}` }));
lines.splice(10, 0, 'not json', JSON.stringify({ ts: 1_400_000_000, ip: 'boom' }));
const text = `${lines.join('\n')}\n`;

function task(reader: RangeReader): SplitTask {
  return { runId: 'r', splitId: 's', ordinal: 0, reader, format: 'ndjson', compression: 'none', start: 0, end: Buffer.byteLength(text) };
}

test('a crash between chunks and a retry give exactly the aggregates of one clean run', async () => {
  const clean = memoryStore();
  await runSplit(task(memoryReader(text)), { job, options: {}, store: clean, chunkRecords: 8 });
  const crashing = memoryStore(3);
  await assert.rejects(runSplit(task(memoryReader(text)), { job, options: {}, store: crashing, chunkRecords: 8 }), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.UNAVAILABLE);
  const retry = await runSplit(task(memoryReader(text)), { job, options: {}, store: crashing, chunkRecords: 8 });
  assert.ok(retry.resumedFrom !== undefined && retry.resumedFrom > 0, 'the retry resumed after the last committed chunk');
  assert.deepEqual(crashing.counts, clean.counts);
  assert.deepEqual(crashing.dead, clean.dead);
  assert.deepEqual(crashing.applied, clean.applied, 'the same chunks, each applied once');
  const total = [...clean.counts.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, 50, 'the record that threw after emitting left nothing behind');
});

test('bad lines and throwing records are dead letters with their byte offsets; the split goes on', async () => {
  const store = memoryStore();
  const result = await runSplit(task(memoryReader(text)), { job, options: {}, store });
  assert.equal(result.records, 52);
  assert.equal(result.badRecords, 2);
  const offsetOf = (line: string): number => Buffer.byteLength(lines.slice(0, lines.indexOf(line)).map((l) => `${l}\n`).join(''));
  assert.deepEqual(store.dead.sort(), [`mem://input.ndjson@${offsetOf('not json')}`, `mem://input.ndjson@${offsetOf(lines[11] as string)}`].sort());
});

test('a finished split returns at once; since/until keep only their event times', async () => {
  const store = memoryStore();
  await runSplit(task(memoryReader(text)), { job, options: {}, store, since: 1_400_000_070 * 1e6, until: 1_400_000_140 * 1e6 });
  const total = [...store.counts.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, 10, 'events at 70 s up to (not including) 140 s: ten of them');
  assert.equal((await store.progress('r', 's'))?.resumeAt, SPLIT_DONE);
  const again = await runSplit(task(memoryReader(text)), { job, options: {}, store });
  assert.equal(again.records, 0);
  assert.equal(again.chunks, 0);
});

test('an emit to an undeclared series fails the split instead of becoming a dead letter', async () => {
  const broken = defineJob<{ ts: number }>({
    name: 'broken', series: { a: { type: 'count', intervals: { m: { step: 60 } } } },
    process: (r, emit) => emit('b', 'x', 1, r.ts * 1e6),
  });
  await assert.rejects(
    runSplit(task(memoryReader(text)), { job: broken as never, options: {}, store: memoryStore() }),
    (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_DEFINITION,
  );
});

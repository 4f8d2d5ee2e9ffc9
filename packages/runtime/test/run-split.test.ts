import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ErrorCode, SluiceError, defineJob, isSluiceError } from '@sluice/core';
import type { Aggregate, Chunk, ChunkStats, RangeReader } from '@sluice/core';
import { SPLIT_DONE, runSplit } from '../src/index.ts';
import type { CommitTarget, SplitTask } from '../src/index.ts';

/** Serves `text` in pieces of `piece` bytes; `delayMs` makes every piece a real wait, as I/O is. */
function memoryReader(text: string | Buffer, piece = 7, delayMs = 0): RangeReader & { streams: number } {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const reader = {
    url: 'mem://input.ndjson',
    streams: 0,
    size: async () => bytes.length,
    read: async (offset: number, length: number) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
    async *stream(offset: number, end?: number) {
      reader.streams += 1;
      const stop = Math.min(bytes.length, end ?? bytes.length);
      for (let at = offset; at < stop; at += piece) {
        if (delayMs > 0) await sleep(delayMs);
        yield Uint8Array.from(bytes.subarray(at, Math.min(stop, at + piece)));
      }
    },
  };
  return reader;
}

interface AppliedChunk { seq: number; resumeAt: number; stats: ChunkStats; dead: string[] }

/** When and how a memory store fails once: before applying a chunk (lost request) or after (lost reply). */
interface Crash { seq: number; after: boolean }

/** A fenced store in memory, like the real one: replays are no-ops, gaps refused, aggregates summed. */
function memoryStore(crash?: Crash): CommitTarget & { counts: Map<string, number>; dead: string[]; applied: AppliedChunk[]; commits: number } {
  const fence = new Map<string, { seq: number; resumeAt: number }>();
  let crashed = false;
  const store = {
    counts: new Map<string, number>(),
    dead: [] as string[],
    applied: [] as AppliedChunk[],
    commits: 0,
    async commit(runId: string, chunk: Chunk) {
      store.commits += 1;
      const fails = crash !== undefined && !crashed && chunk.seq === crash.seq;
      if (fails && !crash.after) {
        crashed = true;
        throw new SluiceError(ErrorCode.UNAVAILABLE, 'simulated crash before the commit');
      }
      const key = `${runId}/${chunk.splitId}`;
      const last = fence.get(key)?.seq ?? -1;
      if (chunk.seq <= last) return { applied: false, expired: 0, keysWritten: 0 };
      if (chunk.seq !== last + 1) throw new SluiceError(ErrorCode.FENCE_GAP, `chunk ${chunk.seq} after ${last}`);
      fence.set(key, { seq: chunk.seq, resumeAt: chunk.resumeAt });
      store.applied.push({ seq: chunk.seq, resumeAt: chunk.resumeAt, stats: { ...chunk.stats }, dead: chunk.deadLetters.map((d) => d.provenance) });
      for (const a of chunk.aggregates as Aggregate[]) {
        const k = `${a.name}:${a.interval}:${a.iBucket}`;
        if (a.type === 'count') store.counts.set(k, (store.counts.get(k) ?? 0) + a.increment);
      }
      for (const d of chunk.deadLetters) store.dead.push(d.provenance);
      if (fails) {
        crashed = true;
        throw new SluiceError(ErrorCode.UNAVAILABLE, 'simulated crash after the commit, before its reply');
      }
      return { applied: true, expired: 0, keysWritten: chunk.aggregates.length };
    },
    async progress(runId: string, splitId: string) {
      return fence.get(`${runId}/${splitId}`);
    },
  };
  return store;
}

const job = defineJob<{ ts?: number; ip?: string; n?: number }>({
  name: 'count-ips',
  series: { hits: { type: 'count', intervals: { minute: { step: 60 } } } },
  eventTime: (r) => (typeof r.ts === 'number' ? r.ts * 1e6 : undefined),
  process(r, emit) {
    if (typeof r.ts !== 'number') throw new Error('no ts');
    emit('hits', `hits.${r.ip ?? 'none'}`, 1, r.ts * 1e6);
    if (r.ip === 'boom') throw new Error('fails after emitting');
    // A count takes integers: the combiner refuses a fractional increment after the first emit was accepted.
    if (r.n !== undefined) emit('hits', `hits.n.${r.ip ?? 'none'}`, r.n, r.ts * 1e6);
  },
});

const T0 = 1_400_000_000;
const good = Array.from({ length: 60 }, (_, i) => JSON.stringify({ ts: T0 + i * 7, ip: `10.0.0.${i % 3}` }));
/** 60 good records plus 3 undecodable lines and a record that throws after emitting. */
const lines = [...good];
lines.splice(10, 0, 'not json', JSON.stringify({ ts: T0, ip: 'boom' }));
lines.splice(30, 0, '[1,2,3]');
lines.splice(45, 0, '{"ts": 14');
const text = `${lines.join('\n')}\n`;
const offsetOfLine = (all: readonly string[], index: number): number => Buffer.byteLength(all.slice(0, index).map((l) => `${l}\n`).join(''));

function task(reader: RangeReader, size = Buffer.byteLength(text)): SplitTask {
  return { runId: 'r', splitId: 's', ordinal: 0, reader, format: 'ndjson', compression: 'none', start: 0, end: size };
}

const total = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);

test('chunks are cut every chunkRecords items, whatever size the pieces read arrive in', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 300 }), async (chunkRecords, piece) => {
      const store = memoryStore();
      const result = await runSplit(task(memoryReader(text, piece)), { job, options: {}, store, chunkRecords });
      const sizes = store.applied.map((c) => c.stats.records);
      // Every chunk but the last holds exactly chunkRecords items (good or bad); the last holds the rest, maybe none.
      assert.ok(sizes.slice(0, -1).every((n) => n === chunkRecords), `chunk sizes ${sizes.join(',')}`);
      assert.equal(sizes.reduce((a, b) => a + b, 0), lines.length);
      assert.equal(store.applied.at(-1)?.resumeAt, SPLIT_DONE);
      assert.equal(store.applied.reduce((a, c) => a + c.stats.bytes, 0), Buffer.byteLength(text), 'every byte is counted once');
      assert.equal(result.chunks, store.applied.length);
      assert.equal(result.records, lines.length);
    }),
    { numRuns: 60 },
  );
});

test('a crash at any chunk and a retry give exactly the chunks and aggregates of one clean run', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 20 }), fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 200 }), async (chunkRecords, pick, after, piece) => {
      const clean = memoryStore();
      await runSplit(task(memoryReader(text)), { job, options: {}, store: clean, chunkRecords });
      // Crash on any chunk, the last one included, before or after it was applied.
      const crashing = memoryStore({ seq: pick % clean.applied.length, after });
      await assert.rejects(
        runSplit(task(memoryReader(text, piece)), { job, options: {}, store: crashing, chunkRecords }),
        (e: unknown) => isSluiceError(e) && e.code === ErrorCode.UNAVAILABLE,
      );
      const committed = await crashing.progress('r', 's');
      const retry = await runSplit(task(memoryReader(text, piece)), { job, options: {}, store: crashing, chunkRecords });
      if (committed?.resumeAt === SPLIT_DONE) {
        assert.equal(retry.chunks, 0, 'the last chunk was committed: nothing is left to do');
      } else {
        assert.equal(retry.resumedFrom, committed?.resumeAt, 'the retry starts where the fence says');
        assert.equal(retry.duplicateChunks, 0, 'a retry resumes after the fence instead of replaying');
      }
      assert.deepEqual(crashing.applied, clean.applied, 'the same chunk boundaries and stats, each chunk applied once');
      assert.deepEqual(crashing.counts, clean.counts);
      assert.deepEqual(crashing.dead, clean.dead);
    }),
    { numRuns: 60 },
  );
});

test('the retry after a crash on chunk k + 1 starts at the resumeAt committed with chunk k', async () => {
  const clean = memoryStore();
  await runSplit(task(memoryReader(text)), { job, options: {}, store: clean, chunkRecords: 8 });
  const crashing = memoryStore({ seq: 3, after: false });
  await assert.rejects(runSplit(task(memoryReader(text)), { job, options: {}, store: crashing, chunkRecords: 8 }));
  assert.deepEqual(crashing.applied.map((c) => c.seq), [0, 1, 2]);
  const resumeAt = clean.applied[2]?.resumeAt as number;
  assert.ok(resumeAt > 0 && resumeAt < Buffer.byteLength(text));
  const reader = memoryReader(text);
  const retry = await runSplit(task(reader), { job, options: {}, store: crashing, chunkRecords: 8 });
  assert.equal(retry.resumedFrom, resumeAt);
  assert.equal(retry.records, lines.length - 24, 'only the records after the third chunk are read again');
  assert.deepEqual(crashing.applied, clean.applied);
  assert.equal(total(crashing.counts), 60, 'the record that threw after emitting left nothing behind');
});

test('a record that throws half-way leaves no emits and becomes a dead letter at url@offset', async () => {
  const store = memoryStore();
  const result = await runSplit(task(memoryReader(text)), { job, options: {}, store });
  assert.equal([...store.counts.keys()].some((k) => k.startsWith('hits.boom')), false, 'its first emit was dropped with it');
  assert.equal(total(store.counts), 60);
  assert.equal(result.records, lines.length);
  assert.equal(result.badRecords, 4);
  assert.ok(store.dead.includes(`mem://input.ndjson@${offsetOfLine(lines, 11)}`));
});

test('a record whose second emit is refused by the combiner leaves its first emit out too', async () => {
  const withBadSecondEmit = [JSON.stringify({ ts: T0, ip: 'a' }), JSON.stringify({ ts: T0, ip: 'b', n: 1.5 }), JSON.stringify({ ts: T0, ip: 'c', n: 2 })];
  const input = `${withBadSecondEmit.join('\n')}\n`;
  const store = memoryStore();
  const result = await runSplit(task(memoryReader(input), Buffer.byteLength(input)), { job, options: {}, store });
  assert.equal(result.badRecords, 1);
  assert.deepEqual(store.dead, [`mem://input.ndjson@${offsetOfLine(withBadSecondEmit, 1)}`]);
  assert.deepEqual(new Map([...store.counts].filter(([k]) => k.includes('.b'))), new Map(), 'nothing of the refused record is counted');
  assert.equal(total(store.counts), 4, 'a, c and c\'s increment of 2');

  const versions = defineJob<{ ts: number; v: unknown }>({
    name: 'versions',
    series: {
      seen: { type: 'count', intervals: { minute: { step: 60 } } },
      codes: { type: 'histogram', value: 'integer', intervals: { minute: { step: 60 } } },
    },
    process(r, emit) {
      emit('seen', 'seen', 1, r.ts * 1e6);
      emit('codes', 'codes', r.v as number, r.ts * 1e6);
    },
  });
  const mixed = `${JSON.stringify({ ts: T0, v: 200 })}\n${JSON.stringify({ ts: T0, v: 'NXDOMAIN' })}\n`;
  const second = memoryStore();
  const r = await runSplit(task(memoryReader(mixed), Buffer.byteLength(mixed)), { job: versions as never, options: {}, store: second });
  assert.equal(r.badRecords, 1, 'a string where the histogram declares integers is refused');
  assert.equal(second.counts.get('seen:minute:23333333'), 1, 'and the count emitted before it is not kept');
});

test('lines that do not decode are counted as bad records and kept as dead letters, the split goes on', async () => {
  const store = memoryStore();
  const result = await runSplit(task(memoryReader(text)), { job, options: {}, store, chunkRecords: 5 });
  assert.equal(result.records, 64);
  assert.equal(result.badRecords, 4);
  const expected = [10, 11, 30, 45].map((i) => `mem://input.ndjson@${offsetOfLine(lines, i)}`);
  assert.deepEqual([...store.dead].sort(), [...expected].sort());
  assert.equal(store.applied.reduce((a, c) => a + c.stats.badRecords, 0), 4, 'bad records are committed with the chunks holding them');
});

test('since and until keep the records of [since, until) by event time; records without one are bad', async () => {
  const store = memoryStore();
  const result = await runSplit(task(memoryReader(text)), { job, options: {}, store, since: (T0 + 70) * 1e6, until: (T0 + 140) * 1e6 });
  assert.equal(total(store.counts), 10, 'events at 70 s up to (not including) 140 s: ten of them');
  assert.equal(result.records, lines.length, 'records filtered out are still read and counted');
  const onlySince = memoryStore();
  await runSplit(task(memoryReader(text)), { job, options: {}, store: onlySince, since: (T0 + 7 * 50) * 1e6 });
  assert.equal(total(onlySince.counts), 10);
  const onlyUntil = memoryStore();
  await runSplit(task(memoryReader(text)), { job, options: {}, store: onlyUntil, until: (T0 + 7) * 1e6 });
  assert.equal(total(onlyUntil.counts), 1);
  const noTs = `${JSON.stringify({ ip: 'x' })}\n${JSON.stringify({ ts: T0 + 1, ip: 'y' })}\n`;
  const filtered = memoryStore();
  const r = await runSplit(task(memoryReader(noTs), Buffer.byteLength(noTs)), { job, options: {}, store: filtered, since: T0 * 1e6 });
  assert.equal(r.badRecords, 1, 'a record without event time cannot be placed on either side of a boundary');
  assert.deepEqual(filtered.dead, ['mem://input.ndjson@0']);
});

test('since/until with a job that has no eventTime fail the split as a definition error', async () => {
  const timeless = defineJob<{ ts: number }>({
    name: 'timeless', series: { a: { type: 'count', intervals: { m: { step: 60 } } } },
    process: (r, emit) => emit('a', 'x', 1, r.ts * 1e6),
  });
  await assert.rejects(
    runSplit(task(memoryReader(text)), { job: timeless as never, options: {}, store: memoryStore(), since: 0 }),
    (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_DEFINITION,
  );
});

test('a split already done returns at once without reading or committing', async () => {
  const store = memoryStore();
  await runSplit(task(memoryReader(text)), { job, options: {}, store, chunkRecords: 10 });
  assert.equal((await store.progress('r', 's'))?.resumeAt, SPLIT_DONE);
  const commits = store.commits;
  const reader = memoryReader(text);
  const again = await runSplit(task(reader), { job, options: {}, store });
  assert.deepEqual(
    { records: again.records, chunks: again.chunks, bytes: again.bytes, resumedFrom: again.resumedFrom },
    { records: 0, chunks: 0, bytes: 0, resumedFrom: SPLIT_DONE },
  );
  assert.equal(reader.streams, 0, 'the input was not opened');
  assert.equal(store.commits, commits, 'nothing was committed');
});

test('an emit to an undeclared series fails the split instead of becoming a dead letter', async () => {
  const broken = defineJob<{ ts: number }>({
    name: 'broken', series: { a: { type: 'count', intervals: { m: { step: 60 } } } },
    process: (r, emit) => emit('b', 'x', 1, r.ts * 1e6),
  });
  const store = memoryStore();
  await assert.rejects(
    runSplit(task(memoryReader(text)), { job: broken as never, options: {}, store }),
    (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_DEFINITION && /undeclared|does not declare/.test(e.message),
  );
  assert.equal(store.dead.length, 0);
  assert.notEqual((await store.progress('r', 's'))?.resumeAt, SPLIT_DONE);
});

const many = `${Array.from({ length: 6000 }, (_, i) => JSON.stringify({ ts: T0 + i, ip: `10.1.0.${i % 5}` })).join('\n')}\n`;

test('an abort with a retryable reason rethrows that reason; a retry resumes after the last commit', async () => {
  const store = memoryStore();
  const controller = new AbortController();
  const reason = new SluiceError(ErrorCode.CANCELLED, 'worker shutting down: split released for retry', { retryable: true });
  const run = runSplit(task(memoryReader(many, 4096), Buffer.byteLength(many)), {
    job, options: {}, store, chunkRecords: 100, signal: controller.signal,
    onChunk: (c) => {
      if (c.seq === 2) controller.abort(reason);
    },
  });
  await assert.rejects(run, (e: unknown) => e === reason);
  const committed = await store.progress('r', 's');
  assert.ok(committed !== undefined && committed.resumeAt < SPLIT_DONE, 'the split stopped before its end');
  const retry = await runSplit(task(memoryReader(many, 4096), Buffer.byteLength(many)), { job, options: {}, store, chunkRecords: 100 });
  assert.equal(retry.resumedFrom, committed.resumeAt);
  assert.equal(total(store.counts), 6000);
  assert.equal(store.applied.reduce((a, c) => a + c.stats.records, 0), 6000);
});

test('an abort without a Sluice reason cancels the split for good', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    runSplit(task(memoryReader(many, 4096), Buffer.byteLength(many)), { job, options: {}, store: memoryStore(), signal: controller.signal }),
    (e: unknown) => isSluiceError(e) && e.code === ErrorCode.CANCELLED && !e.retryable,
  );
});

test('a commit that fails while the next batch is being read fails the split with that error', async () => {
  let commits = 0;
  const failing: CommitTarget = {
    async commit() {
      commits += 1;
      await sleep(1);
      // Chunks of 100 in batches of 2048: chunk 20 is the last cut before the reader waits for the next batch.
      if (commits >= 20) throw new SluiceError(ErrorCode.UNAVAILABLE, 'redis went away');
      return { applied: true, expired: 0, keysWritten: 0 };
    },
    progress: async () => undefined,
  };
  await assert.rejects(
    runSplit(task(memoryReader(many, 4096, 5), Buffer.byteLength(many)), { job, options: {}, store: failing, chunkRecords: 100 }),
    (e: unknown) => isSluiceError(e) && e.code === ErrorCode.UNAVAILABLE,
  );
});

test('a gzip split counts its compressed bytes, the unit of the run total, once over all chunks', async () => {
  const gz = gzipSync(text);
  const store = memoryStore();
  const result = await runSplit({ ...task(memoryReader(gz, 97), gz.length), compression: 'gzip' }, { job, options: {}, store, chunkRecords: 7 });
  assert.ok(store.applied.length > 2, `${store.applied.length} chunks`);
  assert.equal(store.applied.reduce((a, c) => a + c.stats.bytes, 0), gz.length);
  assert.equal(result.bytes, gz.length);
  assert.equal(result.records, lines.length);
});

test('a gzip file corrupt after its first records commits those records before the split fails', async () => {
  const gz = gzipSync(many);
  const truncated = gz.subarray(0, Math.floor(gz.length * 0.6));
  const store = memoryStore();
  // One chunk would hold the whole file: without the commit on failure, nothing would be kept.
  await assert.rejects(
    runSplit({ ...task(memoryReader(truncated, 512), truncated.length), compression: 'gzip' }, { job, options: {}, store, chunkRecords: 100_000 }),
    (e: unknown) => isSluiceError(e) && e.code === ErrorCode.CORRUPT_INPUT,
  );
  const committed = store.applied.reduce((a, c) => a + c.stats.records, 0);
  assert.ok(committed > 1000 && committed < 6000, `${committed} records committed before the corruption`);
  assert.equal(total(store.counts), committed, 'exactly the committed records are counted');
  const fence = await store.progress('r', 's');
  assert.ok(fence !== undefined && fence.resumeAt < SPLIT_DONE, 'the split is not marked done');
  // The fence resumes right after the last committed record: a line start in the uncompressed text.
  const lineStarts = new Set([0, ...[...many.matchAll(/\n/g)].map((m) => (m.index ?? 0) + 1)]);
  assert.ok(lineStarts.has(fence.resumeAt), `resumeAt ${fence.resumeAt} is a line start`);
  assert.equal(fence.resumeAt, many.split('\n').slice(0, committed).join('\n').length + 1);
});

test('a transient read error keeps only the regular chunks: a retry resumes from the last of them', async () => {
  const full = memoryReader(many, 512);
  const half = Math.floor(Buffer.byteLength(many) / 2);
  const failing: RangeReader = {
    ...full,
    async *stream(offset: number, end?: number) {
      for await (const piece of full.stream(offset, end)) {
        yield piece;
        if (offset === 0) throw new SluiceError(ErrorCode.UNAVAILABLE, 'connection reset by the DataNode');
      }
    },
  };
  // Fail after the first piece read past the middle: a cut there would depend on where the error fell.
  let served = 0;
  const midway: RangeReader = {
    ...full,
    async *stream(offset: number, end?: number) {
      for await (const piece of full.stream(offset, end)) {
        served += piece.length;
        if (served > half) throw new SluiceError(ErrorCode.UNAVAILABLE, 'connection reset by the DataNode');
        yield piece;
      }
    },
  };
  for (const reader of [failing, midway]) {
    const store = memoryStore();
    served = 0;
    await assert.rejects(runSplit(task(reader, Buffer.byteLength(many)), { job, options: {}, store, chunkRecords: 1000 }), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.UNAVAILABLE);
    assert.ok(store.applied.every((c) => c.stats.records === 1000), `only whole chunks: ${store.applied.map((c) => c.stats.records).join(',')}`);
    const before = store.applied.length;
    await runSplit(task(memoryReader(many, 512), Buffer.byteLength(many)), { job, options: {}, store, chunkRecords: 1000 });
    assert.equal(store.applied.length, 6, `the retry added the chunks after the ${before} kept`);
    assert.equal(total(store.counts), 6000, 'every record counted once after the retry');
    assert.equal(store.applied.reduce((a, c) => a + c.stats.records, 0), 6000);
  }
});

test('an input mostly undecodable fails its split once 1000 lines failed, keeping what was committed', async () => {
  // 400 good lines, then garbage: 1000 bad lines come after 1400 read, more than half of them.
  const garbage = Array.from({ length: 3000 }, (_, i) => `\u0001\u0002 not json ${i}`);
  const mostlyBad = `${[...Array.from({ length: 400 }, (_, i) => JSON.stringify({ ts: T0 + i, ip: '10.0.0.1' })), ...garbage].join('\n')}\n`;
  const store = memoryStore();
  const failure = await runSplit(task(memoryReader(mostlyBad, 4096), Buffer.byteLength(mostlyBad)), { job, options: {}, store, chunkRecords: 100 }).then(
    () => assert.fail('the split should fail'),
    (error: unknown) => error,
  );
  assert.ok(isSluiceError(failure), String(failure));
  assert.equal(failure.code, ErrorCode.CORRUPT_INPUT);
  assert.equal(failure.retryable, false);
  assert.match(failure.message, /^mem:\/\/input\.ndjson: \d+ of the \d+ lines read by this attempt do not decode as ndjson \(the first: .*\); check the input's format or name, or raise --set maxBadFraction \(now 0\.5\)$/u);
  // Judged after each decoded batch (2048 lines): within one batch of the 1000th failure.
  const judgedAt = Number(failure.context.undecodable);
  assert.ok(judgedAt >= 1000 && judgedAt < 1000 + 2048, `judged once 1000 failed (${judgedAt})`);
  assert.ok(store.dead.length <= judgedAt, `garbage past the judgement is not kept (${store.dead.length} dead letters)`);
  assert.equal(total(store.counts) > 0, true, 'the good lines before it were committed');

  // The same input with the check off (1) runs to the end, every garbage line a dead letter.
  const tolerant = memoryStore();
  const result = await runSplit(task(memoryReader(mostlyBad, 4096), Buffer.byteLength(mostlyBad)), { job, options: {}, store: tolerant, chunkRecords: 100, maxBadFraction: 1 });
  assert.equal(result.badRecords, 3000);
  // A few bad lines among many good ones never trip it (the existing dead-letter test), nor do 999.
  const someBad = `${[...Array.from({ length: 999 }, (_, i) => `bad ${i}`), ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ ts: T0 + i, ip: '10.0.0.1' }))].join('\n')}\n`;
  assert.equal((await runSplit(task(memoryReader(someBad, 4096), Buffer.byteLength(someBad)), { job, options: {}, store: memoryStore() })).badRecords, 999);
});

test('an attempt that finds another one committed past it stops there; a replay of its own last chunk does not stop it', async () => {
  // Many read batches (2,048 records each), so stopping early is visible in the bytes read.
  const big = `${Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ ts: T0 + i, ip: `10.0.${i % 7}.1` })).join('\n')}\n`;
  const size = Buffer.byteLength(big);
  const clean = memoryStore();
  await runSplit(task(memoryReader(big, 4096), size), { job, options: {}, store: clean, chunkRecords: 2000 });
  assert.ok(clean.applied.length >= 8, 'enough chunks to stop early');

  // A zombie: while its commit of chunk 1 is in flight (the process paused past its lock), another
  // attempt takes the split over and finishes it.
  const shared = memoryStore();
  let zombieCommits = 0;
  let tookOver = false;
  const zombieStore: CommitTarget = {
    async commit(runId, chunk) {
      zombieCommits += 1;
      const outcome = await shared.commit(runId, chunk);
      if (chunk.seq === 1 && !tookOver) {
        tookOver = true;
        await runSplit(task(memoryReader(big, 4096), size), { job, options: {}, store: shared, chunkRecords: 2000 });
      }
      return outcome;
    },
    progress: (runId, splitId) => shared.progress(runId, splitId),
  };
  const reader = memoryReader(big, 4096);
  let bytesRead = 0;
  const counting: RangeReader = {
    ...reader,
    async *stream(offset: number, end?: number) {
      for await (const piece of reader.stream(offset, end)) {
        bytesRead += piece.byteLength;
        yield piece;
      }
    },
  };
  const zombie = await runSplit(task(counting, size), { job, options: {}, store: zombieStore, chunkRecords: 2000 });
  assert.ok(bytesRead < size / 2, `it stopped reading too: ${bytesRead} of ${size} bytes`);
  assert.ok(zombie.supersededAt === 2 || zombie.supersededAt === 3, `stopped at its first refused chunk (or the one already cut): ${zombie.supersededAt}`);
  assert.ok(zombieCommits <= 4, `it read and committed no further: ${zombieCommits} commits of ${clean.applied.length}`);
  assert.deepEqual(shared.applied, clean.applied, 'each chunk applied once');
  assert.deepEqual(shared.counts, clean.counts);

  // A commit delivered twice (resent after a reconnect) is refused the second time with the fence
  // at that very chunk: the attempt's own progress, so it goes on to the end.
  const twice = memoryStore();
  const replaying: CommitTarget = {
    async commit(runId, chunk) {
      const first = await twice.commit(runId, chunk);
      return chunk.seq === 2 ? twice.commit(runId, chunk) : first;
    },
    progress: (runId, splitId) => twice.progress(runId, splitId),
  };
  const whole = await runSplit(task(memoryReader(big, 4096), size), { job, options: {}, store: replaying, chunkRecords: 2000 });
  assert.equal(whole.supersededAt, undefined);
  assert.equal(whole.duplicateChunks, 1);
  assert.deepEqual(twice.applied, clean.applied, 'every chunk, to the end');

  // The same with the final chunk: the fence then reads done, but at this attempt's own chunk, so
  // it ended its split and is not superseded (the worker would otherwise not record it done).
  const last = clean.applied.length - 1;
  const finalTwice = memoryStore();
  const replayingFinal: CommitTarget = {
    async commit(runId, chunk) {
      const first = await finalTwice.commit(runId, chunk);
      return chunk.seq === last ? finalTwice.commit(runId, chunk) : first;
    },
    progress: (runId, splitId) => finalTwice.progress(runId, splitId),
  };
  const ended = await runSplit(task(memoryReader(big, 4096), size), { job, options: {}, store: replayingFinal, chunkRecords: 2000 });
  assert.equal(ended.duplicateChunks, 1, 'the final chunk was refused once');
  assert.equal(ended.supersededAt, undefined);
  assert.equal((await finalTwice.progress('r', 's'))?.resumeAt, SPLIT_DONE);
  assert.deepEqual(finalTwice.applied, clean.applied);
});

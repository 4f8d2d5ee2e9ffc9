/**
 * The exactly-once invariant, as a property against the real Redis: random records of all five
 * series types, cut into random splits and chunks (folded by the real combiner), committed in a
 * random interleaving with duplicate, stale, concurrent and out-of-order commits mixed in, leave
 * Redis holding exactly what one sequential pass of kairos inserts over the input would: same keys,
 * types, values, list order and TTLs, and run stats that count every record and expired write once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { Redis } from 'ioredis';
import { ErrorCode, createCombiner, createIntervalCalc, encodeValue, isSluiceError } from '@sluice/core';
import type { Chunk, SeriesDecl } from '@sluice/core';
import { createTimeseriesStore } from '@sluice/timeseries';
import { redisUrl, uniqueName } from '../support/env.ts';

const NOW = 1_400_000_000;
const S = 1_000_000;

/** Each family under its own kairos prefix: the same metric name in two families must not share a key. */
const SERIES: Record<string, SeriesDecl> = {
  hits: { type: 'count', prefix: 'hits', intervals: { m: { step: 60, steps: 4, resolution: 20 }, h: { step: 3600 } } },
  codes: { type: 'histogram', prefix: 'codes', intervals: { m: { step: 60, steps: 4 } } },
  peers: { type: 'set', prefix: 'peers', intervals: { m: { step: 60 }, d: { step: 'daily', steps: 2 } } },
  temp: { type: 'gauge', prefix: 'temp', intervals: { m: { step: 60, steps: 4 } } },
  lat: { type: 'series', prefix: 'lat', intervals: { m: { step: 60, steps: 4, resolution: 30 }, h: { step: 3600 } } },
};

interface Rec {
  family: string;
  name: string;
  value: string | number;
  tsMicros: number;
  /** A record the processor rejects: a dead letter, no emits. */
  bad: boolean;
}

interface Dumped {
  type: string;
  value: unknown;
  ttl: number;
}

const VALUES: Record<string, fc.Arbitrary<string | number>> = {
  hits: fc.integer({ min: -2, max: 5 }).filter((v) => v !== 0),
  codes: fc.constantFrom<string | number>(1, 2, 2.5, 'x', 200, 404),
  peers: fc.constantFrom<string | number>('u1', 'u2', 'u3', 7),
  temp: fc.integer({ min: 0, max: 20 }),
  lat: fc.constantFrom<string | number>(1.5, 2, 0.1, 3, 'z'),
};

const recordArb: fc.Arbitrary<Rec> = fc
  .record(
    {
      family: fc.constantFrom(...Object.keys(SERIES)),
      name: fc.constantFrom('a', 'b', 'c.d'),
      // Half in the current minute (so chunks meet in the same keys), half from 6 minutes back
      // (beyond the 4-bucket retention of the minute intervals) to 1 minute ahead.
      offset: fc.oneof(fc.integer({ min: -20 * S, max: 39 * S }), fc.integer({ min: -360 * S, max: 60 * S })),
      pick: fc.nat(),
      bad: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    },
    { noNullPrototype: true },
  )
  .chain((r) =>
    (VALUES[r.family] as fc.Arbitrary<string | number>).map((value) => ({ family: r.family, name: r.name, value, tsMicros: NOW * S + r.offset, bad: r.bad })),
  );

/** Redis after one sequential pass of kairos inserts (gauges by greatest event time, then value). */
function modelOf(records: readonly Rec[]): { keys: Map<string, Dumped>; expired: number } {
  const keys = new Map<string, Dumped>();
  const gaugeTimes = new Map<string, number>();
  let expired = 0;
  const touch = (key: string, type: string, initial: unknown, ttl: number): Dumped => {
    let entry = keys.get(key);
    if (entry === undefined) {
      entry = { type, value: initial, ttl };
      keys.set(key, entry);
    }
    entry.ttl = ttl;
    return entry;
  };
  for (const record of records) {
    if (record.bad) continue;
    const decl = SERIES[record.family] as SeriesDecl;
    const encoded = decl.type === 'count' ? '' : encodeValue(record.value, typeof record.value === 'string' ? 'string' : Number.isInteger(record.value) ? 'integer' : 'float');
    for (const [interval, config] of Object.entries(decl.intervals)) {
      const calc = createIntervalCalc(config);
      const iBucket = calc.iCalc.toBucket(record.tsMicros);
      const ttl = calc.ttlSeconds(iBucket, NOW * S);
      if (ttl === 0) {
        expired += 1;
        continue;
      }
      const keyTtl = ttl ?? -1;
      let key = `${record.family}:${record.name}:${interval}:${iBucket}`;
      if (!calc.coarse) {
        const rBucket = calc.rCalc.toBucket(record.tsMicros);
        (touch(key, 'set', new Set<string>(), keyTtl).value as Set<string>).add(String(rBucket));
        key = `${key}:${rBucket}`;
      }
      switch (decl.type) {
        case 'count': {
          const entry = touch(key, 'string', '0', keyTtl);
          entry.value = String(Number(entry.value) + (record.value as number));
          break;
        }
        case 'histogram': {
          const fields = touch(key, 'hash', new Map<string, number>(), keyTtl).value as Map<string, number>;
          fields.set(encoded, (fields.get(encoded) ?? 0) + 1);
          break;
        }
        case 'set':
          (touch(key, 'set', new Set<string>(), keyTtl).value as Set<string>).add(encoded);
          break;
        case 'series':
          (touch(key, 'list', [], keyTtl).value as string[]).push(encoded);
          break;
        case 'gauge': {
          const entry = touch(key, 'string', encoded, keyTtl);
          const time = gaugeTimes.get(key);
          if (time === undefined || record.tsMicros > time || (record.tsMicros === time && Buffer.compare(Buffer.from(encoded), Buffer.from(entry.value as string)) > 0)) {
            entry.value = encoded;
            gaugeTimes.set(key, record.tsMicros);
          }
          break;
        }
      }
    }
  }
  for (const entry of keys.values()) {
    if (entry.value instanceof Set) entry.value = [...entry.value].toSorted();
    else if (entry.value instanceof Map) entry.value = Object.fromEntries([...entry.value].map(([f, c]) => [f, String(c)]).toSorted(([a], [b]) => (a < b ? -1 : 1)));
  }
  return { keys: new Map([...keys].toSorted(([a], [b]) => (a < b ? -1 : 1))), expired };
}

/** Cuts the records into splits, and each split into chunks folded by the real combiner. */
function chunksOf(records: readonly Rec[], splitCuts: readonly number[], chunkCuts: readonly number[]): Chunk[][] {
  const bounds = [...new Set([0, ...splitCuts.map((c) => c % (records.length + 1)), records.length])].toSorted((a, b) => a - b);
  const splits: Chunk[][] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const from = bounds[s] as number;
    const to = bounds[s + 1] as number;
    const inner = [...new Set([from, ...chunkCuts.map((c) => from + (c % (to - from + 1))), to])].toSorted((a, b) => a - b);
    const chunks: Chunk[] = [];
    for (let c = 0; c + 1 < inner.length; c++) {
      const slice = records.slice(inner[c], inner[c + 1]);
      const combiner = createCombiner({ name: 'property', series: SERIES });
      const deadLetters = [];
      for (const [i, record] of slice.entries()) {
        if (record.bad) deadLetters.push({ provenance: `input@${(inner[c] as number) + i}`, reason: 'rejected', raw: String(record.value) });
        else combiner.emit(record.family, record.name, record.value, record.tsMicros);
      }
      chunks.push({
        splitId: `split-${s}`,
        seq: c,
        resumeAt: inner[c + 1] as number,
        splitOrdinal: s,
        aggregates: combiner.drain(),
        stats: { records: slice.length, badRecords: deadLetters.length, bytes: slice.length * 100 },
        deadLetters,
      });
    }
    splits.push(chunks);
  }
  return splits;
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

async function dumpPrefix(redis: Redis, prefix: string, expected: Map<string, Dumped>): Promise<Map<string, Dumped>> {
  const out = new Map<string, Dumped>();
  for (const key of (await scanKeys(redis, `${prefix}*`)).toSorted()) {
    const type = await redis.type(key);
    const pttl = await redis.pttl(key);
    const want = expected.get(key.slice(prefix.length))?.ttl;
    // Seconds pass while a run commits: a TTL within 10 s of the model's counts as equal.
    const ttl = pttl < 0 ? pttl : want !== undefined && want > 0 && Math.abs(pttl / 1000 - want) <= 10 ? want : Math.round(pttl / 1000);
    const value =
      type === 'string'
        ? await redis.get(key)
        : type === 'hash'
          ? Object.fromEntries(Object.entries(await redis.hgetall(key)).toSorted(([a], [b]) => (a < b ? -1 : 1)))
          : type === 'set'
            ? (await redis.smembers(key)).toSorted()
            : await redis.lrange(key, 0, -1);
    out.set(key.slice(prefix.length), { type, value, ttl });
  }
  return out;
}

test('any interleaving of fenced commits, with replays, equals one sequential pass', async (t) => {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const base = uniqueName('prop');
  t.after(async () => {
    const keys = [
      ...(await scanKeys(redis, `${base}*`)),
      ...(await scanKeys(redis, `sluice:*:${base}*`)),
    ];
    if (keys.length > 0) await redis.del(keys);
    await redis.quit();
  });
  let run = 0;

  await fc.assert(
    fc.asyncProperty(
      fc.array(recordArb, { minLength: 1, maxLength: 120, size: 'max' }),
      fc.array(fc.nat(), { maxLength: 3, size: 'max' }),
      fc.array(fc.nat(), { maxLength: 10, size: 'max' }),
      fc.array(fc.nat(), { minLength: 20, maxLength: 200 }),
      async (records, splitCuts, chunkCuts, choices) => {
        run += 1;
        const prefix = `${base}-${run}:`;
        const runId = `${base}-${run}`;
        const store = createTimeseriesStore({ redis, series: SERIES, keyPrefix: prefix, clock: () => NOW * S });
        const splits = chunksOf(records, splitCuts, chunkCuts);
        const next = splits.map(() => 0);
        const committed: Chunk[] = [];
        let step = 0;
        const choose = (): number => (choices[step++ % choices.length] as number) + step;
        const pending = (): number[] => splits.flatMap((chunks, s) => ((next[s] as number) < chunks.length ? [s] : []));

        for (let open = pending(); open.length > 0; open = pending()) {
          const c = choose();
          const s = open[c % open.length] as number;
          const chunks = splits[s] as Chunk[];
          const seq = next[s] as number;
          switch (c % 8) {
            case 0:
            case 1: {
              // A duplicate or a stale replay of any applied chunk (a retried job, a zombie worker).
              const replay = committed[c % Math.max(committed.length, 1)];
              if (replay !== undefined) assert.equal((await store.commit(runId, replay)).applied, false);
              break;
            }
            case 2: {
              const ahead = chunks[seq + 1 + (c % 2)];
              if (ahead !== undefined) {
                await assert.rejects(store.commit(runId, ahead), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.FENCE_GAP);
              }
              break;
            }
            case 3: {
              // A stalled job run twice at once: exactly one of the two applies.
              const chunk = chunks[seq] as Chunk;
              const results = await Promise.all([store.commit(runId, chunk), store.commit(runId, chunk)]);
              assert.deepEqual(results.map((r) => r.applied).toSorted(), [false, true]);
              committed.push(chunk);
              next[s] = seq + 1;
              break;
            }
            default: {
              const chunk = chunks[seq] as Chunk;
              assert.equal((await store.commit(runId, chunk)).applied, true);
              committed.push(chunk);
              next[s] = seq + 1;
            }
          }
        }

        const model = modelOf(records);
        assert.deepEqual(await dumpPrefix(redis, prefix, model.keys), model.keys);
        const stats = await redis.hgetall(`sluice:run:${runId}:stats`);
        const bad = records.filter((r) => r.bad).length;
        assert.deepEqual(
          { ...stats },
          {
            records: String(records.length),
            badRecords: String(bad),
            bytes: String(records.length * 100),
            expired: String(model.expired),
            chunks: String(splits.reduce((n, chunks) => n + chunks.length, 0)),
          },
        );
        assert.equal(await redis.llen(`sluice:run:${runId}:dead`), bad);
        for (const [s, chunks] of splits.entries()) {
          assert.deepEqual(await store.progress(runId, `split-${s}`), { seq: chunks.length - 1, resumeAt: chunks.at(-1)?.resumeAt });
        }

        const keys = [
          ...(await scanKeys(redis, `${prefix}*`)),
          ...(await scanKeys(redis, `sluice:*:${prefix}*`)),
          `sluice:fence:${runId}`,
          `sluice:run:${runId}:stats`,
          `sluice:run:${runId}:dead`,
        ];
        await redis.del(keys);
      },
    ),
    { numRuns: 30 },
  );
});

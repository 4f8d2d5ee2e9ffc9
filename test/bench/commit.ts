/**
 * Throughput of the fenced commit against raw pipelined HINCRBY, on the same data in the same run:
 * 1M histogram field updates over 50k keys, 10k field updates per round trip, 4 in flight, both
 * ways. Prints both rates and their ratio (target: fenced / raw >= 0.5), then checks both wrote
 * the same hashes. Run: `node test/bench/commit.ts [keys] [fieldsPerKey]`.
 */
import { Redis } from 'ioredis';
import type { Chunk, HistogramAggregate } from '@sluice/core';
import { createTimeseriesStore } from '@sluice/timeseries';
import { redisUrl, uniqueName } from '../support/env.ts';

const KEYS = Number(process.argv[2] ?? 50_000);
const FIELDS = Number(process.argv[3] ?? 20);
const PER_ROUND_TRIP = 10_000;
const IN_FLIGHT = 4;
const NOW = 1_400_000_000;

const redis = new Redis(redisUrl());
const base = uniqueName('bench-commit');
const fencedPrefix = `${base}-fenced:`;
const rawPrefix = `${base}-raw:`;
const runId = base;
const series = { resp: { type: 'histogram' as const, intervals: { m: { step: 60 } } } };
const store = createTimeseriesStore({ redis, series, keyPrefix: fencedPrefix, clock: () => NOW * 1_000_000 });

/** Key i holds fields 0..FIELDS-1, each incremented by (i + f) % 7 + 1. */
function fieldsOf(i: number): Map<string, number> {
  const fields = new Map<string, number>();
  for (let f = 0; f < FIELDS; f++) fields.set(String(f * 17 + 3), ((i + f) % 7) + 1);
  return fields;
}

function buildChunks(): Chunk[][] {
  const keysPerChunk = Math.max(1, Math.floor(PER_ROUND_TRIP / FIELDS));
  const splits: Chunk[][] = Array.from({ length: IN_FLIGHT }, () => []);
  for (let first = 0, n = 0; first < KEYS; first += keysPerChunk, n++) {
    const aggregates: HistogramAggregate[] = [];
    for (let i = first; i < Math.min(KEYS, first + keysPerChunk); i++) {
      aggregates.push({ type: 'histogram', series: 'resp', name: `k${i}`, interval: 'm', iBucket: 23_333_333, emits: FIELDS, fields: fieldsOf(i) });
    }
    const split = n % IN_FLIGHT;
    const chunks = splits[split] as Chunk[];
    chunks.push({
      splitId: `s${split}`,
      seq: chunks.length,
      resumeAt: first,
      splitOrdinal: split,
      aggregates,
      stats: { records: aggregates.length, badRecords: 0, bytes: 0 },
      deadLetters: [],
    });
  }
  return splits;
}

async function runFenced(splits: Chunk[][]): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(
    splits.map(async (chunks) => {
      for (const chunk of chunks) {
        const result = await store.commit(runId, chunk);
        if (!result.applied) throw new Error(`chunk ${chunk.splitId}/${chunk.seq} was not applied`);
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function runRaw(): Promise<number> {
  const keysPerBatch = Math.max(1, Math.floor(PER_ROUND_TRIP / FIELDS));
  const batches: number[] = [];
  for (let first = 0; first < KEYS; first += keysPerBatch) batches.push(first);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, lane) => {
      for (let b = lane; b < batches.length; b += IN_FLIGHT) {
        const first = batches[b] as number;
        const pipe = redis.pipeline();
        for (let i = first; i < Math.min(KEYS, first + keysPerBatch); i++) {
          const key = `${rawPrefix}k${i}:m:23333333`;
          for (const [field, count] of fieldsOf(i)) pipe.hincrby(key, field, count);
        }
        const results = await pipe.exec();
        const failed = results?.find(([error]) => error !== null);
        if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('pipeline discarded');
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function deleteByPattern(pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(keys);
  } while (cursor !== '0');
}

async function sameContents(): Promise<void> {
  for (const i of [0, 1, Math.floor(KEYS / 2), KEYS - 1]) {
    const fenced = await redis.hgetall(`${fencedPrefix}k${i}:m:23333333`);
    const raw = await redis.hgetall(`${rawPrefix}k${i}:m:23333333`);
    const want = Object.fromEntries([...fieldsOf(i)].map(([f, c]) => [f, String(c)]));
    if (JSON.stringify(fenced) !== JSON.stringify(want) || JSON.stringify(raw) !== JSON.stringify(want)) {
      throw new Error(`key ${i} differs: fenced ${JSON.stringify(fenced)}, raw ${JSON.stringify(raw)}, want ${JSON.stringify(want)}`);
    }
  }
}

try {
  const updates = KEYS * FIELDS;
  const splits = buildChunks();
  const info = await redis.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  process.stdout.write(`Redis ${version}, ${updates} field updates over ${KEYS} keys, ${PER_ROUND_TRIP} per round trip, ${IN_FLIGHT} in flight\n`);
  // Raw first, so the fenced run does not benefit from a warmer server.
  const rawSeconds = await runRaw();
  const fencedSeconds = await runFenced(splits);
  await sameContents();
  const raw = updates / rawSeconds;
  const fenced = updates / fencedSeconds;
  process.stdout.write(`raw pipelined HINCRBY: ${Math.round(raw).toLocaleString('en-US')} updates/s (${rawSeconds.toFixed(2)} s)\n`);
  process.stdout.write(`fenced commit:         ${Math.round(fenced).toLocaleString('en-US')} updates/s (${fencedSeconds.toFixed(2)} s)\n`);
  process.stdout.write(`ratio fenced / raw:    ${(fenced / raw).toFixed(2)}\n`);
} finally {
  await deleteByPattern(`${fencedPrefix}*`);
  await deleteByPattern(`${rawPrefix}*`);
  await redis.del(`sluice:fence:${runId}`, `sluice:run:${runId}:stats`, `sluice:run:${runId}:dead`);
  await redis.quit();
}

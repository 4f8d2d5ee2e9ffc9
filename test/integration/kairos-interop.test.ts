/**
 * Interop with real Python: kairos 0.10.1 (patched for Python 3), pandas and redis-py with
 * decode_responses=True. (a) The seed's own reading code reads series Sluice wrote through the
 * exactly-once path; (b) what kairos's insert writes, Sluice's reader reads identically, for all
 * five types; (c) the same inserts by kairos and by Sluice leave the same keys, values and TTLs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createCombiner, defineJob } from '@sluice/core';
import type { IntervalDecl, SeriesDecl } from '@sluice/core';
import { createTimeseriesStore } from '@sluice/timeseries';
import { redisUrl } from '../support/env.ts';
import { callKairos } from '../support/kairos-python.ts';
import { deleteKeys } from '../support/network-metrics-reference.ts';

const NOW = 1_400_000_000;
const clock = (): number => NOW * 1e6;
const SEED_INTERVALS: Record<string, IntervalDecl> = { days: { step: 60, steps: 2880 }, months: { step: 1800, steps: 4032 } };

test('(a) the seed\'s pandas code reads a histogram Sluice committed through the fenced path', async (t) => {
  const redis = new Redis(redisUrl());
  // The seed's code takes no prefix: a unique metric name keeps this test apart.
  const metric = `interop-${randomUUID()}.tls.versions.10.0.0.1`;
  t.after(async () => {
    await deleteKeys(redis, `${metric}:*`);
    redis.disconnect();
  });
  const job = defineJob({ name: 'interop', series: { versions: { type: 'histogram', intervals: SEED_INTERVALS } }, process: () => {} });
  const store = createTimeseriesStore({ redis, series: job.series, clock });
  const combiner = createCombiner(job);
  const emits: [string | number, number][] = [['TLSv12', NOW], ['TLSv12', NOW - 10], ['TLSv13', NOW - 1800], [3, NOW - 1800], ['TLSv10', NOW - 5400]];
  for (const [value, ts] of emits) combiner.emit('versions', metric, value, ts * 1e6);
  const result = await store.commit(`interop-${randomUUID()}`, {
    splitId: 's', seq: 0, resumeAt: 1, splitOrdinal: 0, aggregates: combiner.drain(), stats: { records: emits.length, badRecords: 0, bytes: 0 }, deadLetters: [],
  });
  assert.equal(result.applied, true);

  const frame = await callKairos<{ columns: string[]; index: number[]; data: { entries: Record<string, number> }[] }>('seed_read.py', { metric_name: metric, now: NOW });
  assert.deepEqual(frame.columns, ['data']);
  assert.equal(frame.index.length, 4032, "one row per 'months' bucket of the last steps");
  const expected = new Map<number, Record<string, number>>();
  for (const [value, ts] of emits) {
    const bucket = Math.floor(ts / 1800) * 1800;
    const row = expected.get(bucket) ?? {};
    row[String(value)] = (row[String(value)] ?? 0) + 1;
    expected.set(bucket, row);
  }
  const got = new Map(frame.index.map((ts, i) => [ts, frame.data[i]?.entries ?? {}]));
  for (const [bucket, row] of expected) assert.deepEqual(got.get(bucket), row, `bucket ${bucket}`);
  const nonEmpty = [...got].filter(([, row]) => Object.keys(row).length > 0).map(([ts]) => ts);
  assert.deepEqual(nonEmpty, [...expected.keys()].sort((a, b) => a - b));
  assert.equal(frame.index.at(-1), Math.floor(NOW / 1800) * 1800);
});

interface Case { type: SeriesDecl['type']; intervals: Record<string, IntervalDecl>; values: (string | number | { float: number })[] }
const CASES: Case[] = [
  { type: 'series', intervals: { m: { step: 60, steps: 10 }, daily: { step: 'daily', steps: 30 } }, values: [1.5, 2, 0.1, 1e-5, { float: 3 }, 'x'] },
  { type: 'histogram', intervals: { m: { step: 60, steps: 10 }, h: { step: '1h', steps: 24, resolution: 60 } }, values: [3, 3, 2.5, 'a', 1e-5, { float: 3 }] },
  { type: 'count', intervals: { m: { step: 60, steps: 10 }, h: { step: '1h', steps: 24, resolution: 60 } }, values: [1, 4, 2, 7] },
  { type: 'gauge', intervals: { m: { step: 60, steps: 10 }, daily: { step: 'daily' } }, values: [21.5, 22, 'warm'] },
  { type: 'set', intervals: { m: { step: 60, steps: 10 }, h: { step: '1h', resolution: 600 } }, values: ['alice', 7, 'alice', 2.5] },
];

/** kairos_read's encoding and Sluice's rows brought to one comparable form. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('entries' in v && 'keyType' in v) return normalize(v.entries);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  }
  return value;
}

function jsValue(v: string | number | { float: number }): string | number {
  return typeof v === 'object' ? v.float : v;
}

for (const c of CASES) {
  test(`(b)+(c) ${c.type}: kairos writes, Sluice reads the same; Sluice writes the same bytes as kairos`, async (t) => {
    const redis = new Redis(redisUrl());
    const kp = `interop-k-${randomUUID().slice(0, 8)}`;
    const sp = `interop-s-${randomUUID().slice(0, 8)}`;
    t.after(async () => {
      await deleteKeys(redis, `${kp}:*`);
      await deleteKeys(redis, `${sp}:*`);
      redis.disconnect();
    });
    // In time order, where kairos's last-write-wins gauge and Sluice's latest-event gauge agree.
    const inserts = c.values.map((value, i) => ({ name: 'm.1', value, timestamp: NOW - 30 * (c.values.length - 1 - i) }));
    await callKairos('kairos_write.py', { prefix: kp, type: c.type, intervals: c.intervals, now: NOW, inserts });

    // (b) Sluice reads what kairos wrote.
    const decl = (prefix: string): Record<string, SeriesDecl> => ({
      fam: { type: c.type, intervals: c.intervals, prefix },
    });
    const reader = createTimeseriesStore({ redis, series: decl(kp), clock });
    for (const interval of Object.keys(c.intervals)) {
      for (const [op, kwargs, call] of [
        ['get', { timestamp: NOW }, () => reader.get('fam', 'm.1', interval, { timestamp: NOW })],
        ['get', { timestamp: NOW, condense: true }, () => reader.get('fam', 'm.1', interval, { timestamp: NOW, condense: true })],
        ['series', { end: NOW, steps: 3 }, () => reader.series('fam', 'm.1', interval, { end: NOW, steps: 3 })],
        ['series', { end: NOW, steps: 3, condense: true }, () => reader.series('fam', 'm.1', interval, { end: NOW, steps: 3, condense: true })],
        ['series', { end: NOW, steps: 3, collapse: true }, () => reader.series('fam', 'm.1', interval, { end: NOW, steps: 3, collapse: true })],
      ] as const) {
        const fromKairos = await callKairos('kairos_read.py', { prefix: kp, type: c.type, intervals: c.intervals, read_func: null, name: 'm.1', interval, op, kwargs, now: NOW });
        assert.deepEqual(normalize(await call()), normalize(fromKairos), `${c.type} ${interval} ${op} ${JSON.stringify(kwargs)}`);
      }
    }
    const props = await callKairos('kairos_read.py', { prefix: kp, type: c.type, intervals: c.intervals, read_func: null, name: 'm.1', op: 'properties', kwargs: {}, now: NOW });
    assert.deepEqual(normalize(await reader.properties('fam', 'm.1')), normalize(props));

    // (c) The same inserts through Sluice leave the same keys, values and TTLs.
    const writer = createTimeseriesStore({ redis, series: decl(sp), clock });
    for (const ins of inserts) await writer.insert('fam', 'm.1', jsValue(ins.value), ins.timestamp * 1e6);
    if (c.values.some((v) => typeof v === 'object')) {
      // A Python float 3.0 has no JS twin; kairos wrote '3.0' where Sluice, given the number 3, writes '3'.
      return;
    }
    assert.deepEqual(await dump(redis, sp), await dump(redis, kp));
  });
}

async function dump(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const keys = (await redis.keys(`${prefix}:*`)).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    const value = type === 'string' ? await redis.get(key) : type === 'hash' ? await redis.hgetall(key) : type === 'set' ? (await redis.smembers(key)).sort() : await redis.lrange(key, 0, -1);
    // The two writes are seconds apart and TTLs count down from each write: compare them by the minute.
    out[key.slice(prefix.length)] = { type, value, ttlMinutes: Math.round((await redis.ttl(key)) / 60) };
  }
  return out;
}

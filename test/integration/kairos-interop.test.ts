/**
 * Interop with the real Python side, both directions, with every clock fixed at NOW = 1400000000:
 * (a) the seed's own reading code (kairos + pandas) reads a histogram Sluice committed the way
 * workers do; (b) for all five types, Sluice's reader returns what kairos's reader returns over data
 * kairos wrote; (c) the same inserts done by kairos and by Sluice leave the same Redis contents.
 * The Python side is `test/interop/` (real kairos 0.10.1 patched for Python 3, redis-py, pandas).
 */
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createCombiner, defineJob } from '@sluice/core';
import type { Chunk, SeriesDecl } from '@sluice/core';
import { createTimeseriesStore } from '@sluice/timeseries';
import type { TimeseriesStore } from '@sluice/timeseries';
import { redisUrl, uniqueName } from '../support/env.ts';
import { bindKairosScripts, setupKairosPython } from '../support/kairos-python.ts';
import type { KairosDict, KairosInsert, KairosInterval, KairosReadKwargs, KairosScripts, KairosType, KairosValue } from '../support/kairos-python.ts';

const NOW = 1_400_000_000;
const S = 1_000_000;
const DAY = 86_400;

/**
 * The seed's code takes no key prefix (`Timeseries(rclient, type="histogram", intervals=...)`), so
 * test (a) isolates itself with a Redis database of its own instead, emptied before and after.
 * Nothing else in the repository uses this database.
 */
const SEED_DB = 9;
const SEED_INTERVALS = { days: { step: 60, steps: 2880 }, months: { step: 1800, steps: 4032 } } as const;

let python: string;
let redis: Redis;
let kairos: KairosScripts;

before(async () => {
  python = await setupKairosPython();
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  kairos = bindKairosScripts(python, redisUrl());
});

after(async () => {
  await redis.quit();
});

function databaseUrl(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Deletes every key matching the patterns when the test ends. */
function cleanUpAfter(t: TestContext, patterns: readonly string[]): void {
  t.after(async () => {
    const keys = (await Promise.all(patterns.map((pattern) => scanKeys(redis, pattern)))).flat();
    if (keys.length > 0) await redis.del(keys);
  });
}

// ---------------------------------------------------------------------------------------------
// (a) The seed's reading code over a histogram written through fenced commits.

interface TlsRecord {
  client: string;
  /** A protocol name, or the numeric version code (771 = 0x0303 = TLS 1.2). */
  version: string | number;
  /** Epoch seconds. */
  ts: number;
}

const NOW_MONTH = Math.floor(NOW / 1800);
/** A time `monthsAgo` half-hour buckets before the current one, `offset` seconds into its bucket. */
const monthAt = (monthsAgo: number, offset: number): number => (NOW_MONTH - monthsAgo) * 1800 + offset;

const TLS_RECORDS: readonly TlsRecord[] = [
  { client: '10.0.0.1', version: 'TLSv12', ts: monthAt(0, 5) },
  { client: '10.0.0.1', version: 771, ts: monthAt(0, 60) },
  { client: '10.0.0.1', version: 'TLSv13', ts: monthAt(0, 700) },
  { client: '10.0.0.1', version: 'TLSv12', ts: monthAt(0, 1300) },
  { client: '10.0.0.2', version: 'TLSv13', ts: monthAt(0, 30) },
  { client: '10.0.0.1', version: 'TLSv12', ts: monthAt(1, 10) },
  { client: '10.0.0.1', version: 769, ts: monthAt(1, 20) },
  { client: '10.0.0.1', version: 771, ts: monthAt(3, 1799) },
  // The oldest bucket the seed's frame shows: "months" keeps it, "days" (2 days) already dropped it.
  { client: '10.0.0.1', version: 'TLSv10', ts: monthAt(4031, 0) },
  // One bucket older than "months" keeps: kairos's TTL rule skips it in both intervals.
  { client: '10.0.0.1', version: 'SSLv3', ts: monthAt(4032, 0) },
  { client: '10.0.0.1', version: 'TLSv12', ts: monthAt(0, 1390) },
];

const tlsJob = defineJob<TlsRecord>({
  name: 'tls-versions',
  series: { tls: { type: 'histogram', intervals: SEED_INTERVALS } },
  process(record, emit) {
    emit('tls', `tls.versions.${record.client}`, record.version, record.ts * S);
  },
  eventTime: (record) => record.ts * S,
});

/** Runs the job's processor over `records` through the combiner, as a worker does for one chunk. */
function processChunk(records: readonly TlsRecord[], seq: number, resumeAt: number): Chunk {
  const combiner = createCombiner(tlsJob);
  for (const record of records) tlsJob.process(record, combiner.emit, { options: {} });
  return {
    splitId: 'tls-split-0',
    seq,
    resumeAt,
    splitOrdinal: 0,
    aggregates: combiner.drain(),
    stats: { records: records.length, badRecords: 0, bytes: records.length * 64 },
    deadLetters: [],
  };
}

test("(a) the seed's reading code (kairos + pandas) reads a histogram Sluice committed through the fenced path", async (t) => {
  const seedUrl = databaseUrl(redisUrl(), SEED_DB);
  const seedRedis = new Redis(seedUrl, { maxRetriesPerRequest: 1 });
  await seedRedis.flushdb();
  t.after(async () => {
    await seedRedis.flushdb();
    await seedRedis.quit();
  });
  const store = createTimeseriesStore({ redis: seedRedis, series: tlsJob.series, clock: () => NOW * S });
  t.after(() => store.close());
  const runId = uniqueName('interop-run');

  const first = processChunk(TLS_RECORDS.slice(0, 6), 0, 6);
  const second = processChunk(TLS_RECORDS.slice(6), 1, TLS_RECORDS.length);
  const committedFirst = await store.commit(runId, first);
  const committedSecond = await store.commit(runId, second);
  assert.equal(committedFirst.applied && committedSecond.applied, true);
  // Dropped by the TTL rule: SSLv3 in both intervals, TLSv10 in "days".
  assert.equal(committedFirst.expired + committedSecond.expired, 3);
  // A replayed chunk (a worker retrying after a lost reply) must not count twice in the frame.
  assert.equal((await store.commit(runId, second)).applied, false);

  const frame = await bindKairosScripts(python, seedUrl).readSeed({ metric_name: 'tls.versions.10.0.0.1', now: NOW });

  // Expected, from the records alone: kairos's bucket starts and per-bucket counts of str(value).
  const counts = new Map<number, Record<string, number>>();
  for (const { client, version, ts } of TLS_RECORDS) {
    const bucket = Math.floor(ts / 1800);
    if (client !== '10.0.0.1' || NOW_MONTH - bucket >= 4032) continue;
    const row = counts.get(bucket * 1800) ?? {};
    row[String(version)] = (row[String(version)] ?? 0) + 1;
    counts.set(bucket * 1800, row);
  }
  const index = Array.from({ length: 4032 }, (_, i) => (NOW_MONTH - 4031 + i) * 1800);
  const data = index.map((ts): KairosDict => {
    const row = counts.get(ts);
    // No read_func in the seed: the keys stay the strings kairos stored; an empty dict has no key type.
    return row === undefined ? { keyType: null, entries: {} } : { keyType: 'str', entries: row };
  });

  assert.deepEqual(frame.columns, ['data']);
  assert.match(frame.indexDtype, /^datetime64/);
  assert.equal(frame.index.length, 4032, "one row per 'months' bucket: the seed's steps");
  assert.deepEqual(frame.index, index);
  assert.deepEqual(frame.data, data);
  assert.equal(counts.size, 4, 'the expectation itself covers four buckets');
  // The newest rows, spelled out: the current half hour, the one before, an empty one, three back.
  assert.deepEqual(frame.data.slice(-4), [
    { keyType: 'str', entries: { '771': 1 } },
    { keyType: null, entries: {} },
    { keyType: 'str', entries: { TLSv12: 1, '769': 1 } },
    { keyType: 'str', entries: { TLSv12: 3, TLSv13: 1, '771': 1 } },
  ]);
  assert.equal(frame.index.at(-1), 1_399_998_600);
  assert.deepEqual(frame.data[0], { keyType: 'str', entries: { TLSv10: 1 } });
});

// ---------------------------------------------------------------------------------------------
// (b) and (c): kairos's inserts for all five types.

/**
 * Every kind of interval: coarse in seconds, a unit step with a resolution, a Gregorian calendar
 * day, and one without `steps` (never expires, nothing skipped). Every TTL these produce is a whole
 * number of minutes, which the byte comparison relies on.
 */
const INTERVALS = {
  minute: { step: 60, steps: 10 },
  hour: { step: '1h', steps: 24, resolution: 60 },
  daily: { step: 'daily', steps: 30 },
  week: { step: '1w' },
} as const satisfies Record<string, KairosInterval>;

/**
 * Insert times relative to NOW: now, earlier minutes, a future minute, the previous hour (too old
 * for "minute"), two days back (too old for "minute" and "hour"), 40 days back (only "week" keeps
 * it), and a minute used by no other insert. Values cycle through these, so some keys take several.
 */
const OFFSETS = [0, -30, -100, 90, -3700, -2 * DAY, -40 * DAY, -200] as const;

/** Python-side values; `{ float: n }` is a Python float such as 3.0, and 1e16 floats print as '1e+16'. */
const VALUES: Record<KairosType, readonly (KairosValue | undefined)[]> = {
  series: ['a', 7, 2.5, { float: 3 }, 1e-5, 'naïve', 'a', -4, { float: 1e16 }, 0.1],
  histogram: ['TLSv12', 3, { float: 3 }, 2.5, 'TLSv12', 1e-5, 3, 'naïve', { float: 1e16 }, 3],
  // undefined: kairos's default increment (1); 0 sends no INCRBY but, with a resolution, still the SADD.
  count: [undefined, 4, { float: 3 }, 2, -2, 5, 1, 0, 7, 3],
  // One value per time: a gauge keeps kairos's last write only when no two writes share an event time (see (c)).
  gauge: [21.5, 22, 'warm', { float: 3 }, 1e-5, 'naïve', 7, -1],
  set: ['alice', 7, 2.5, { float: 3 }, 'alice', 1e-5, 'naïve', 3, { float: 1e16 }, 'bob'],
};

const TYPES = ['series', 'histogram', 'count', 'gauge', 'set'] as const satisfies readonly KairosType[];
const METRIC = 'host.10.0.0.1.rtt';

interface Insert {
  value: KairosValue | undefined;
  /** Epoch seconds. */
  ts: number;
}

/**
 * The inserts of one type. Gauges are written in event-time order, because there kairos keeps the
 * last write and Sluice, on purpose, the value of the greatest event time; with writes in time
 * order both keep the same value.
 */
function insertsOf(type: KairosType): Insert[] {
  const inserts = VALUES[type].map((value, i) => ({ value, ts: NOW + (OFFSETS[i % OFFSETS.length] ?? 0) }));
  return type === 'gauge' ? inserts.toSorted((a, b) => a.ts - b.ts) : inserts;
}

function kairosInserts(inserts: readonly Insert[]): KairosInsert[] {
  return inserts.map(({ value, ts }) => (value === undefined ? { name: METRIC, timestamp: ts } : { name: METRIC, value, timestamp: ts }));
}

/** The family a type's plain values go to, and the one for Python floats (declared `value: 'float'`, so 3 writes '3.0'). */
function familiesOf(type: KairosType): Record<string, SeriesDecl> {
  const plain: SeriesDecl = { type, intervals: INTERVALS };
  // A count must be an integer: kairos's INCRBYFLOAT of 3.0 and Sluice's INCRBY of 3 leave the same string.
  return type === 'count' ? { plain } : { plain, float: { type, intervals: INTERVALS, value: 'float' } };
}

/** The same insert through Sluice: the family and the JavaScript value. */
function sluiceInsert(type: KairosType, value: KairosValue | undefined): { family: string; value: string | number } {
  if (value === undefined) return { family: 'plain', value: 1 };
  if (typeof value === 'object') return { family: type === 'count' ? 'plain' : 'float', value: value.float };
  return { family: 'plain', value };
}

/** One read, as kairos's `get`/`series`/`properties` takes it. */
interface Read {
  op: 'get' | 'series' | 'properties';
  interval: keyof typeof INTERVALS | '';
  kwargs: KairosReadKwargs;
}

const READS: readonly Read[] = [
  { op: 'get', interval: 'minute', kwargs: { timestamp: NOW } },
  { op: 'get', interval: 'hour', kwargs: { timestamp: NOW } },
  { op: 'get', interval: 'hour', kwargs: { timestamp: NOW, condense: true } },
  { op: 'get', interval: 'daily', kwargs: { timestamp: NOW - 2 * DAY } },
  { op: 'get', interval: 'week', kwargs: { timestamp: NOW - 40 * DAY } },
  // Neither start nor end: the last `steps` minutes before the clock.
  { op: 'series', interval: 'minute', kwargs: {} },
  { op: 'series', interval: 'minute', kwargs: { start: NOW - 300, steps: 8, collapse: true } },
  { op: 'series', interval: 'hour', kwargs: { end: NOW, steps: 3 } },
  { op: 'series', interval: 'hour', kwargs: { start: NOW - 7200, end: NOW + 3600, condense: true } },
  { op: 'series', interval: 'daily', kwargs: { end: NOW, steps: 3 } },
  { op: 'series', interval: 'week', kwargs: { start: NOW - 50 * DAY, end: NOW, collapse: true } },
  { op: 'properties', interval: '', kwargs: {} },
];

/** Data from either side in the common form: histogram rows → counts by field, set rows → sorted members, the rest as is. */
type Norm = unknown;

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A row from either side in the common form; kairos's histogram dicts must have str keys (no read_func). */
function normalizeRow(type: KairosType, row: unknown, where: string): Norm {
  if (type === 'histogram' && row !== null && typeof row === 'object' && 'keyType' in row) {
    const dict = row as KairosDict;
    const empty = Object.keys(dict.entries).length === 0;
    assert.equal(dict.keyType, empty ? null : 'str', `${where}: kairos without read_func keys histograms by str`);
    return dict.entries;
  }
  if (type === 'set') {
    assert.ok(Array.isArray(row), `${where}: a set row is a list`);
    return (row as string[]).toSorted(compareText);
  }
  return row;
}

/** `[ts, row]` pairs from either side, with nested `[ts, [[rts, row]]]` for an interval with a resolution read uncondensed. */
function normalizePoints(type: KairosType, points: unknown, nested: boolean, where: string): Norm {
  assert.ok(Array.isArray(points), `${where}: pairs expected, got ${JSON.stringify(points)}`);
  return (points as [number, unknown][]).map(([ts, row]) => [ts, nested ? normalizePoints(type, row, false, where) : normalizeRow(type, row, where)]);
}

/** Whether normalized points hold any non-empty row (kairos's empty rows: [], {}, 0, None). */
function hasData(points: Norm, nested: boolean): boolean {
  return (points as [number, unknown][]).some(([, row]) => {
    if (nested) return hasData(row, false);
    if (row === null || row === 0) return false;
    if (Array.isArray(row)) return row.length > 0;
    return typeof row !== 'object' || Object.keys(row).length > 0;
  });
}

async function readWithSluice(store: TimeseriesStore, read: Read): Promise<unknown> {
  const { op, interval, kwargs } = read;
  if (op === 'properties') return await store.properties('plain', METRIC);
  if (op === 'get') return await store.get('plain', METRIC, interval, kwargs);
  return await store.series('plain', METRIC, interval, kwargs);
}

/** What kairos's `get('minute', NOW)` holds per type: proof that the comparisons compare data, not emptiness. */
const MINUTE_NOW: Record<KairosType, Norm> = {
  series: ['a', '1e+16'],
  histogram: { TLSv12: 1, '1e+16': 1 },
  count: 8,
  gauge: '21.5',
  set: ['1e+16', 'alice'],
};

for (const type of TYPES) {
  test(`(b) ${type}: Sluice's reader returns what kairos's reader returns over kairos's inserts`, async (t) => {
    const prefix = uniqueName('interop');
    cleanUpAfter(t, [`${prefix}:*`]);
    const inserts = insertsOf(type);
    const written = await kairos.write({ prefix, type, intervals: INTERVALS, now: NOW, inserts: kairosInserts(inserts) });
    assert.equal(written.inserts, inserts.length);

    const store = createTimeseriesStore({ redis, series: { plain: { type, intervals: INTERVALS } }, keyPrefix: prefix, clock: () => NOW * S });
    t.after(() => store.close());
    const fromKairos = await Promise.all(
      READS.map((read) =>
        kairos.read({ prefix, type, intervals: INTERVALS, read_func: null, name: METRIC, interval: read.interval, op: read.op, kwargs: read.kwargs, now: NOW }),
      ),
    );
    let nonEmpty = 0;
    for (const [i, read] of READS.entries()) {
      const where = `${type} ${read.op} ${read.interval} ${JSON.stringify(read.kwargs)}`;
      const theirs = fromKairos[i];
      const ours = await readWithSluice(store, read);
      if (read.op === 'properties') {
        assert.deepEqual(ours, theirs, where);
        assert.deepEqual(Object.keys(ours as object).toSorted(), ['daily', 'hour', 'minute', 'week'], where);
        continue;
      }
      // `series` over an interval with a resolution, uncondensed, nests the sub-bucket pairs in each interval.
      const nested = read.op === 'series' && read.interval === 'hour' && read.kwargs.condense !== true && read.kwargs.collapse !== true;
      const expected = normalizePoints(type, theirs, nested, `kairos ${where}`);
      assert.deepEqual(normalizePoints(type, ours, nested, `sluice ${where}`), expected, where);
      if (hasData(expected, nested)) nonEmpty += 1;
    }
    assert.deepEqual(normalizePoints(type, fromKairos[0], false, 'kairos minute'), [[1_399_999_980, MINUTE_NOW[type]]]);
    assert.equal(nonEmpty, READS.length - 1, 'every get/series read finds data');
  });
}

// ---------------------------------------------------------------------------------------------
// (c) Same bytes.

interface Dumped {
  type: string;
  value: unknown;
  /** The EXPIRE that was set, in seconds (-1: none); see `dumpPrefix`. */
  ttl: number;
}

/**
 * Every key under `prefix:` with the prefix stripped. TTLs are read as PTTL rounded up to the
 * minute: every TTL of INTERVALS is a whole number of minutes, so this recovers the EXPIRE argument
 * exactly as long as less than a minute passed since the write.
 */
async function dumpPrefix(prefix: string): Promise<Map<string, Dumped>> {
  const out = new Map<string, Dumped>();
  for (const key of (await scanKeys(redis, `${prefix}:*`)).toSorted()) {
    const type = await redis.type(key);
    const pttl = await redis.pttl(key);
    const ttl = pttl < 0 ? pttl : Math.ceil(pttl / 60_000) * 60;
    let value: unknown;
    switch (type) {
      case 'string':
        value = await redis.get(key);
        break;
      case 'hash':
        value = Object.fromEntries(Object.entries(await redis.hgetall(key)).toSorted(([a], [b]) => compareText(a, b)));
        break;
      case 'set':
        value = (await redis.smembers(key)).toSorted(compareText);
        break;
      case 'list':
        value = await redis.lrange(key, 0, -1);
        break;
      default:
        assert.fail(`${key} has type ${type}, which kairos never writes`);
    }
    out.set(key.slice(prefix.length + 1), { type, value, ttl });
  }
  return out;
}

for (const type of TYPES) {
  test(`(c) ${type}: the same inserts by kairos and by Sluice leave the same keys, values and TTLs`, async (t) => {
    const kairosPrefix = uniqueName('interop-kairos');
    const sluicePrefix = uniqueName('interop-sluice');
    // Sluice's own keys (gauge event times, series order) live under `sluice:` and are not compared.
    cleanUpAfter(t, [`${kairosPrefix}:*`, `${sluicePrefix}:*`, `sluice:gauge:${sluicePrefix}:*`, `sluice:order:${sluicePrefix}:*`]);
    const inserts = insertsOf(type);
    await kairos.write({ prefix: kairosPrefix, type, intervals: INTERVALS, now: NOW, inserts: kairosInserts(inserts) });

    const store = createTimeseriesStore({ redis, series: familiesOf(type), keyPrefix: sluicePrefix, clock: () => NOW * S });
    t.after(() => store.close());
    for (const { value, ts } of inserts) {
      const insert = sluiceInsert(type, value);
      await store.insert(insert.family, METRIC, insert.value, ts * S);
    }

    const theirs = await dumpPrefix(kairosPrefix);
    const ours = await dumpPrefix(sluicePrefix);
    assert.deepEqual(ours, theirs);
    // What was compared: keys of every interval, with and without expiry.
    const intervals = new Set([...theirs.keys()].map((key) => key.split(':')[1]));
    assert.deepEqual([...intervals].toSorted(), ['daily', 'hour', 'minute', 'week']);
    const ttls = new Set([...theirs.values()].map((d) => d.ttl));
    for (const ttl of [-1, 600, 86_400, 2_592_000]) assert.ok(ttls.has(ttl), `a key with TTL ${ttl} (have ${[...ttls].join(', ')})`);
  });
}

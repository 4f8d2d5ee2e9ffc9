/**
 * The kairos layout against the real Redis: the spec's recorded vectors (V1, V2, V3, gauge, set)
 * reproduced key for key, type for type, value for value and TTL for TTL with the clock fixed at
 * NOW = 1400000000, written both as plain inserts and as fenced chunk commits; kairos's reads over
 * them; and the fence's behaviour on duplicate, stale, out-of-order and conflicting commits.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { COMMIT_PROTOCOL_FIELD, ErrorCode, createCombiner, isSluiceError } from '@sluice/core';
import type { Chunk, SeriesDecl } from '@sluice/core';
import { readFile } from 'node:fs/promises';
import { COMMIT_PROTOCOL, createTimeseriesStore, encodeCommitArgs } from '@sluice/timeseries';
import type { CommitOp, TimeseriesStore } from '@sluice/timeseries';
import { redisUrl, uniqueName } from '../support/env.ts';

const NOW = 1_400_000_000;
const S = 1_000_000;

interface Dumped {
  type: string;
  value: unknown;
  /** Seconds left, -1 without expiry. */
  ttl: number;
}

interface Fixture {
  redis: Redis;
  prefix: string;
  runId: string;
  store: TimeseriesStore;
  /** Every key under the fixture's prefix, without the prefix. */
  dump(): Promise<Map<string, Dumped>>;
  /** Stats hash of the fixture's run. */
  stats(): Promise<Record<string, string>>;
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

async function dumpKey(redis: Redis, key: string): Promise<Dumped> {
  const type = await redis.type(key);
  const pttl = await redis.pttl(key);
  const ttl = pttl < 0 ? pttl : Math.round(pttl / 1000);
  switch (type) {
    case 'string':
      return { type, value: await redis.get(key), ttl };
    case 'hash':
      return { type, value: Object.fromEntries(Object.entries(await redis.hgetall(key)).toSorted(([a], [b]) => (a < b ? -1 : 1))), ttl };
    case 'set':
      return { type, value: (await redis.smembers(key)).toSorted(), ttl };
    case 'list':
      return { type, value: await redis.lrange(key, 0, -1), ttl };
    default:
      return { type, value: undefined, ttl };
  }
}

async function createFixture(t: TestContext, series: Record<string, SeriesDecl>, clockSeconds = NOW): Promise<Fixture> {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const prefix = `${uniqueName('ts')}:`;
  const runId = uniqueName('run');
  const store = createTimeseriesStore({ redis, series, keyPrefix: prefix, clock: () => clockSeconds * S });
  t.after(async () => {
    const keys = [
      ...(await scanKeys(redis, `${prefix}*`)),
      ...(await scanKeys(redis, `sluice:gauge:${prefix}*`)),
      ...(await scanKeys(redis, `sluice:order:${prefix}*`)),
      `sluice:fence:${runId}`,
      `sluice:run:${runId}:stats`,
      `sluice:run:${runId}:dead`,
    ];
    await redis.del(keys);
    await store.close();
    await redis.quit();
  });
  return {
    redis,
    prefix,
    runId,
    store,
    async dump() {
      const out = new Map<string, Dumped>();
      for (const key of (await scanKeys(redis, `${prefix}*`)).toSorted()) out.set(key.slice(prefix.length), await dumpKey(redis, key));
      return out;
    },
    stats: () => redis.hgetall(`sluice:run:${runId}:stats`),
  };
}

/** One emit: family, name, value, epoch seconds. */
type Emit = [string, string, string | number, number];

/** Folds emits with the real combiner into one chunk of split `s0`. */
function chunkOf(series: Record<string, SeriesDecl>, emits: readonly Emit[], seq = 0, splitId = 's0', splitOrdinal = 0): Chunk {
  const combiner = createCombiner({ name: 'vectors', series });
  for (const [family, name, value, ts] of emits) combiner.emit(family, name, value, ts * S);
  return {
    splitId,
    seq,
    resumeAt: (seq + 1) * 100,
    splitOrdinal,
    aggregates: combiner.drain(),
    stats: { records: emits.length, badRecords: 0, bytes: emits.length * 10 },
    deadLetters: [],
  };
}

/** Writes the emits as plain inserts on one fixture and as one fenced commit on another; both must give `expected`. */
async function writeBothWays(t: TestContext, series: Record<string, SeriesDecl>, emits: readonly Emit[], expected: Map<string, Dumped>): Promise<Fixture> {
  const inserted = await createFixture(t, series);
  for (const [family, name, value, ts] of emits) await inserted.store.insert(family, name, value, ts * S);
  assert.deepEqual(await inserted.dump(), expected, 'plain inserts');
  const committed = await createFixture(t, series);
  const result = await committed.store.commit(committed.runId, chunkOf(series, emits));
  assert.deepEqual(result, { applied: true, expired: 0, keysWritten: expected.size });
  assert.deepEqual(await committed.dump(), expected, 'fenced commit');
  return inserted;
}

test('V1: histogram, coarse, two intervals', async (t) => {
  const series: Record<string, SeriesDecl> = {
    resp: { type: 'histogram', intervals: { days: { step: 60, steps: 2880 }, months: { step: 1800, steps: 4032 } } },
  };
  const name = 'ip.10.0.0.1.responses';
  const fixture = await writeBothWays(
    t,
    series,
    [['resp', name, 3, NOW], ['resp', name, 3, NOW], ['resp', name, 2.5, NOW + 1]],
    new Map([
      [`${name}:days:23333333`, { type: 'hash', value: { '2.5': '1', '3': '2' }, ttl: 172_800 }],
      [`${name}:months:777777`, { type: 'hash', value: { '2.5': '1', '3': '2' }, ttl: 7_257_600 }],
    ]),
  );
  const row = { '3': 2, '2.5': 1 };
  assert.deepEqual(await fixture.store.get('resp', name, 'days', { timestamp: NOW }), [[1_399_999_980, row]]);
  assert.deepEqual(await fixture.store.series('resp', name, 'days', { end: NOW, steps: 3 }), [
    [1_399_999_860, {}],
    [1_399_999_920, {}],
    [1_399_999_980, row],
  ]);
  assert.deepEqual(await fixture.store.series('resp', name, 'months', { start: NOW, steps: 2 }), [
    [1_399_998_600, row],
    [1_400_000_400, {}],
  ]);
  assert.deepEqual(await fixture.store.properties('resp', name), {
    days: { first: 1_399_999_980, last: 1_399_999_980 },
    months: { first: 1_399_998_600, last: 1_399_998_600 },
  });
});

test('V2: count with a kairos prefix and a sub-resolution', async (t) => {
  const series: Record<string, SeriesDecl> = {
    hits: { type: 'count', prefix: 'kairos', intervals: { hour: { step: '1h', steps: 24, resolution: 60 } } },
  };
  const fixture = await writeBothWays(
    t,
    series,
    [['hits', 'hits', 1, NOW], ['hits', 'hits', 4, NOW + 30], ['hits', 'hits', 1, NOW + 100]],
    new Map([
      ['kairos:hits:hour:388888', { type: 'set', value: ['23333333', '23333335'], ttl: 86_400 }],
      ['kairos:hits:hour:388888:23333333', { type: 'string', value: '5', ttl: 86_400 }],
      ['kairos:hits:hour:388888:23333335', { type: 'string', value: '1', ttl: 86_400 }],
    ]),
  );
  const { store } = fixture;
  assert.deepEqual(await store.get('hits', 'hits', 'hour', { timestamp: NOW }), [[1_399_999_980, 5], [1_400_000_100, 1]]);
  assert.deepEqual(await store.get('hits', 'hits', 'hour', { timestamp: NOW, condense: true }), [[1_399_996_800, 6]]);
  assert.deepEqual(await store.series('hits', 'hits', 'hour', { end: NOW, steps: 2 }), [
    [1_399_993_200, []],
    [1_399_996_800, [[1_399_999_980, 5], [1_400_000_100, 1]]],
  ]);
  assert.deepEqual(await store.series('hits', 'hits', 'hour', { end: NOW, steps: 2, condense: true }), [[1_399_993_200, 0], [1_399_996_800, 6]]);
  assert.deepEqual(await store.series('hits', 'hits', 'hour', { end: NOW, steps: 2, collapse: true }), [[1_399_993_200, 6]]);
  assert.deepEqual(await store.properties('hits', 'hits'), { hour: { first: 1_399_996_800, last: 1_399_996_800 } });
});

test('V3: series, Gregorian daily with steps plus a relative interval without steps', async (t) => {
  const series: Record<string, SeriesDecl> = {
    lat: { type: 'series', intervals: { daily: { step: 'daily', steps: 30 }, minute: { step: 60 } } },
  };
  const fixture = await writeBothWays(
    t,
    series,
    [['lat', 'lat', 1.5, NOW], ['lat', 'lat', 2, NOW], ['lat', 'lat', 0.1, NOW]],
    new Map([
      ['lat:daily:20140513', { type: 'list', value: ['1.5', '2', '0.1'], ttl: 2_592_000 }],
      ['lat:minute:23333333', { type: 'list', value: ['1.5', '2', '0.1'], ttl: -1 }],
    ]),
  );
  assert.deepEqual(await fixture.store.get('lat', 'lat', 'daily', { timestamp: NOW }), [[1_399_939_200, ['1.5', '2', '0.1']]]);
  assert.deepEqual(await fixture.store.series('lat', 'lat', 'minute', { end: NOW, steps: 2, collapse: true }), [[1_399_999_920, ['1.5', '2', '0.1']]]);
});

test('gauge and set vectors (step 60, steps 10)', async (t) => {
  const series: Record<string, SeriesDecl> = {
    temp: { type: 'gauge', intervals: { m: { step: 60, steps: 10 } } },
    users: { type: 'set', intervals: { m: { step: 60, steps: 10 } } },
  };
  const fixture = await writeBothWays(
    t,
    series,
    [['temp', 'temp', 21.5, NOW], ['temp', 'temp', 22, NOW], ['users', 'users', 'alice', NOW], ['users', 'users', 7, NOW]],
    new Map([
      ['temp:m:23333333', { type: 'string', value: '22', ttl: 600 }],
      ['users:m:23333333', { type: 'set', value: ['7', 'alice'], ttl: 600 }],
    ]),
  );
  assert.deepEqual(await fixture.store.get('temp', 'temp', 'm', { timestamp: NOW }), [[1_399_999_980, '22']]);
  assert.deepEqual(await fixture.store.get('temp', 'temp', 'm', { timestamp: NOW + 60 }), [[1_400_000_040, null]]);
  assert.deepEqual(await fixture.store.get('users', 'users', 'm', { timestamp: NOW }), [[1_399_999_980, ['7', 'alice']]]);
  assert.deepEqual(await fixture.store.series('users', 'users', 'm', { end: NOW + 60, steps: 2, collapse: true }), [[1_399_999_980, ['7', 'alice']]]);
});

test('rolling vector: resolution keys of earlier intervals get the shorter TTLs', async (t) => {
  const series: Record<string, SeriesDecl> = { r: { type: 'histogram', intervals: { m: { step: 60, steps: 10, resolution: 10 } } } };
  const fixture = await createFixture(t, series);
  // kairos's intervals=-2 inserts at the start of the two previous intervals too.
  for (const ts of [1_400_000_025, 1_399_999_860, 1_399_999_920]) await fixture.store.insert('r', 'r', 9, ts * S);
  assert.deepEqual(
    [...(await fixture.dump())].map(([key, { ttl }]) => [key, ttl]),
    [
      ['r:m:23333331', 480],
      ['r:m:23333331:139999986', 480],
      ['r:m:23333332', 540],
      ['r:m:23333332:139999992', 540],
      ['r:m:23333333', 600],
      ['r:m:23333333:140000002', 600],
    ],
  );
});

test('writes older than steps buckets are skipped and counted as expired, never silently', async (t) => {
  const series: Record<string, SeriesDecl> = {
    resp: { type: 'histogram', intervals: { days: { step: 60, steps: 2880 } } },
    hits: { type: 'count', intervals: { m: { step: 60, steps: 10 }, forever: { step: 60 } } },
  };
  // The same 2014 writes with today's clock: kairos writes nothing.
  const late = await createFixture(t, series, 1_760_000_000);
  const result = await late.store.commit(late.runId, chunkOf(series, [['resp', 'x', 3, NOW], ['resp', 'x', 4, NOW], ['hits', 'h', 2, NOW]]));
  assert.deepEqual(result, { applied: true, expired: 3, keysWritten: 1 });
  assert.deepEqual([...(await late.dump()).keys()], ['h:forever:23333333'], 'only the interval without steps is written');
  assert.equal((await late.stats()).expired, '3');
  assert.deepEqual(await late.store.insert('resp', 'x', 3, NOW * S), { expired: 1, keysWritten: 0 });

  // The boundary: 10 buckets back is out, 9 is in with one step left.
  const edge = await createFixture(t, series);
  const edgeResult = await edge.store.commit(edge.runId, chunkOf(series, [['hits', 'h', 1, NOW - 600], ['hits', 'h', 1, NOW - 540]]));
  assert.equal(edgeResult.expired, 1);
  const dumped = await edge.dump();
  assert.deepEqual(dumped.get('h:m:23333324'), { type: 'string', value: '1', ttl: 60 });
  assert.equal(dumped.has('h:m:23333323'), false);
});

test('the fence: duplicates and stale chunks are no-ops, a gap is refused, progress resumes', async (t) => {
  const series: Record<string, SeriesDecl> = { hits: { type: 'count', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId } = fixture;
  const chunk = (seq: number): Chunk => ({ ...chunkOf(series, [['hits', 'h', seq + 1, NOW]], seq), deadLetters: [{ provenance: `f@${seq}`, reason: 'bad', raw: '{' }] });

  assert.equal(await store.progress(runId, 's0'), undefined);
  assert.equal((await store.commit(runId, chunk(0))).applied, true);
  assert.deepEqual(await store.commit(runId, chunk(0)), { applied: false, expired: 0, keysWritten: 0 });
  await assert.rejects(store.commit(runId, chunk(2)), (error: unknown) => {
    assert.ok(isSluiceError(error));
    assert.equal(error.code, ErrorCode.FENCE_GAP);
    assert.equal(error.retryable, true);
    assert.equal(error.context.lastApplied, 0);
    return true;
  });
  assert.equal((await store.commit(runId, chunk(1))).applied, true);
  assert.equal((await store.commit(runId, chunk(0))).applied, false, 'stale');
  assert.equal((await store.commit(runId, chunk(2))).applied, true, 'the refused chunk goes in once its turn comes');
  assert.deepEqual(await store.progress(runId, 's0'), { seq: 2, resumeAt: 300 });
  assert.equal(await store.progress(runId, 's1'), undefined);

  assert.deepEqual((await fixture.dump()).get('h:m:23333333'), { type: 'string', value: '6', ttl: 600 }, '1 + 2 + 3, each once');
  const stats = await fixture.stats();
  assert.deepEqual({ ...stats }, { records: '3', badRecords: '0', bytes: '30', expired: '0', chunks: '3' });
  const dead = (await fixture.redis.lrange(`sluice:run:${runId}:dead`, 0, -1)).map((s) => JSON.parse(s) as { provenance: string; seq: number });
  assert.deepEqual(dead.map((d) => [d.provenance, d.seq]), [['f@0', 0], ['f@1', 1], ['f@2', 2]]);
});

test('the fence: a chunk that does not start where the applied chunks end is refused, retryable, with nothing written', async (t) => {
  const series: Record<string, SeriesDecl> = { hits: { type: 'count', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId } = fixture;
  const chunk = (seq: number, startsAt: number, resumeAt: number): Chunk => ({ ...chunkOf(series, [['hits', 'h', 1, NOW]], seq), startsAt, resumeAt });
  assert.equal((await store.commit(runId, chunk(0, 0, 100))).applied, true);
  // Another attempt cut its first chunk at 90 (its input changed between the two attempts).
  await assert.rejects(store.commit(runId, chunk(1, 90, 200)), (error: unknown) => {
    assert.ok(isSluiceError(error));
    assert.equal(error.code, ErrorCode.FENCE_GAP);
    assert.equal(error.retryable, true);
    assert.equal(error.context.fencedAt, 100);
    assert.match(error.message, /starts at 90, but the chunks applied end at 100: .*a retry resumes at 100/);
    return true;
  });
  assert.deepEqual(await store.progress(runId, 's0'), { seq: 0, resumeAt: 100 }, 'the fence did not move');
  assert.deepEqual((await fixture.dump()).get('h:m:23333333'), { type: 'string', value: '1', ttl: 600 }, 'nothing of the refused chunk was written');
  assert.equal((await store.commit(runId, chunk(1, 100, 200))).applied, true, 'the chunk that follows the fence applies');
  assert.equal((await store.commit(runId, chunk(1, 90, 200))).applied, false, 'a duplicate stays a no-op, wherever it starts');
  assert.deepEqual({ ...(await fixture.stats()) }, { records: '2', badRecords: '0', bytes: '20', expired: '0', chunks: '2' });
});

test('a key of the wrong type aborts the whole commit before anything is written', async (t) => {
  const series: Record<string, SeriesDecl> = {
    hits: { type: 'count', intervals: { m: { step: 60, steps: 10 } } },
    resp: { type: 'histogram', intervals: { m: { step: 60, steps: 10 } } },
  };
  const fixture = await createFixture(t, series);
  await fixture.redis.set(`${fixture.prefix}x:m:23333333`, 'not a hash');
  const before = await fixture.dump();
  await assert.rejects(fixture.store.commit(fixture.runId, chunkOf(series, [['hits', 'h', 1, NOW], ['resp', 'x', 3, NOW]])), (error: unknown) => {
    assert.ok(isSluiceError(error));
    assert.equal(error.code, ErrorCode.INVALID_DEFINITION);
    assert.equal(error.context.key, `${fixture.prefix}x:m:23333333`);
    assert.equal(error.context.actual, 'string');
    return true;
  });
  assert.deepEqual(await fixture.dump(), before, 'the count in the same chunk was not written');
  assert.equal(await fixture.store.progress(fixture.runId, 's0'), undefined, 'the fence did not move');

  await fixture.redis.set(`${fixture.prefix}h:m:23333333`, '1.5');
  await assert.rejects(fixture.store.commit(fixture.runId, chunkOf(series, [['hits', 'h', 1, NOW]])), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_DEFINITION);
  await assert.rejects(fixture.store.get('hits', 'h', 'm', { timestamp: NOW }), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.CORRUPT_INPUT);

  // A counter key holding another type is refused by its GET, and names that type.
  await fixture.redis.del(`${fixture.prefix}h:m:23333333`, `${fixture.prefix}x:m:23333333`);
  await fixture.redis.hset(`${fixture.prefix}h:m:23333333`, 'f', '1');
  const beforeHash = await fixture.dump();
  await assert.rejects(fixture.store.commit(fixture.runId, chunkOf(series, [['resp', 'x', 3, NOW], ['hits', 'h', 1, NOW]])), (error: unknown) => {
    assert.ok(isSluiceError(error));
    assert.equal(error.code, ErrorCode.INVALID_DEFINITION);
    assert.equal(error.context.key, `${fixture.prefix}h:m:23333333`);
    assert.equal(error.context.actual, 'hash');
    return true;
  });
  assert.deepEqual(await fixture.dump(), beforeHash, 'the histogram in the same chunk was not written');
});

test('counters keep their TTL without steps and stay exact past 2^53; a count INCRBY would refuse is refused before anything is written', async (t) => {
  const series: Record<string, SeriesDecl> = {
    hits: { type: 'count', intervals: { m: { step: 60, steps: 10 }, h: { step: 3600 } } },
    temp: { type: 'gauge', intervals: { h: { step: 3600 } } },
    resp: { type: 'histogram', intervals: { m: { step: 60, steps: 10 } } },
  };
  const fixture = await createFixture(t, series);
  const { redis, prefix } = fixture;
  // An interval without steps sends no EXPIRE: a counter keeps the TTL it had (INCRBY does), a
  // gauge loses it (kairos SETs it).
  await redis.set(`${prefix}h:h:388888`, '5', 'EX', 1000);
  await redis.set(`${prefix}g:h:388888`, '1', 'EX', 1000);
  // Beyond 2^53 a double cannot hold the sum; the count must stay exact.
  await redis.set(`${prefix}big:m:23333333`, '9007199254740990');
  const result = await fixture.store.commit(fixture.runId, chunkOf(series, [
    ['hits', 'h', 1, NOW], ['hits', 'big', 5, NOW], ['hits', 'new', -3, NOW], ['temp', 'g', 7, NOW],
  ]));
  assert.equal(result.applied, true);
  assert.equal(await redis.get(`${prefix}h:h:388888`), '6');
  const keptTtl = await redis.ttl(`${prefix}h:h:388888`);
  assert.ok(keptTtl > 990 && keptTtl <= 1000, `counter TTL kept, got ${keptTtl}`);
  assert.equal(await redis.get(`${prefix}h:m:23333333`), '1');
  assert.equal(await redis.ttl(`${prefix}h:m:23333333`), 10 * 60, 'counter with steps: TTL of steps × step set');
  assert.equal(await redis.get(`${prefix}big:m:23333333`), '9007199254740995');
  assert.equal(await redis.get(`${prefix}new:m:23333333`), '-3');
  assert.equal(await redis.object('ENCODING', `${prefix}new:m:23333333`), 'int');
  assert.equal(await redis.get(`${prefix}g:h:388888`), '7');
  assert.equal(await redis.ttl(`${prefix}g:h:388888`), -1, 'gauge without steps: TTL cleared as kairos does');

  // A count INCRBY would refuse (or that could overflow) is refused before anything is written.
  for (const bad of ['007', '-0', '1e3', '12345678901234567890']) {
    await redis.set(`${prefix}z:m:23333333`, bad);
    // Values only: TTLs tick down while the test runs.
    const values = async (): Promise<[string, unknown][]> => [...(await fixture.dump())].map(([key, d]) => [key, d.value]);
    const before = await values();
    await assert.rejects(
      fixture.store.commit(fixture.runId, chunkOf(series, [['resp', 'x', 3, NOW], ['hits', 'z', 1, NOW]], 1)),
      (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_DEFINITION && error.context.key === `${prefix}z:m:23333333`,
      bad,
    );
    assert.deepEqual(await values(), before, `nothing written next to ${bad}`);
    assert.equal(await redis.exists(`${prefix}x:m:23333333`), 0, `the histogram next to ${bad} was not written`);
    assert.equal((await fixture.store.progress(fixture.runId, 's0'))?.seq, 0, 'the fence did not move');
  }
});

test('series lists keep source order across splits, whatever the commit order', async (t) => {
  const series: Record<string, SeriesDecl> = { lat: { type: 'series', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId } = fixture;
  const part = (splitOrdinal: number, seq: number, values: string[]): Chunk =>
    chunkOf(series, values.map((v): Emit => ['lat', 'l', v, NOW]), seq, `s${splitOrdinal}`, splitOrdinal);
  await store.commit(runId, part(2, 0, ['c1']));
  await store.commit(runId, part(0, 0, ['a1', 'a2']));
  await store.commit(runId, part(2, 1, ['c2']));
  await store.commit(runId, part(1, 0, ['b1']));
  await store.commit(runId, part(0, 1, ['a3']));
  await store.commit(runId, part(1, 0, ['b1']));
  await store.commit(runId, part(1, 1, ['b2']));
  assert.deepEqual((await fixture.dump()).get('l:m:23333333'), { type: 'list', value: ['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'c2'], ttl: 600 });
  assert.deepEqual(await store.get('lat', 'l', 'm', { timestamp: NOW }), [[1_399_999_980, ['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'c2']]]);
});

test('gauges keep the latest event time whatever the commit order; ties go to the greater value', async (t) => {
  const series: Record<string, SeriesDecl> = { temp: { type: 'gauge', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId } = fixture;
  const at = (splitOrdinal: number, value: number, ts: number): Chunk => chunkOf(series, [['temp', 't', value, ts]], 0, `s${splitOrdinal}`, splitOrdinal);
  await store.commit(runId, at(0, 30, NOW + 5));
  await store.commit(runId, at(1, 10, NOW + 1));
  assert.equal((await fixture.dump()).get('t:m:23333333')?.value, '30', 'an older event committed later does not win');
  await store.commit(runId, at(2, 20, NOW + 5));
  assert.equal((await fixture.dump()).get('t:m:23333333')?.value, '30', "tie: '30' > '20'");
  await store.commit(runId, at(3, 40, NOW + 5));
  assert.equal((await fixture.dump()).get('t:m:23333333')?.value, '40');
  assert.equal(await fixture.redis.get(`sluice:gauge:${fixture.prefix}t:m:23333333`), String((NOW + 5) * S));
  assert.equal(await fixture.redis.pttl(`sluice:gauge:${fixture.prefix}t:m:23333333`) > 590_000, true, 'the side key expires with the gauge');
});

/** Ops that meet each key type twice in one commit, under key prefix `p`. */
function repeatedOps(p: string): CommitOp[] {
  return [
    { kind: 'count', key: `${p}c`, ttl: 600, increment: 2 },
    { kind: 'hash', key: `${p}h`, ttl: 600, fields: new Map([['a', 1], ['b', 2]]) },
    { kind: 'gauge', key: `${p}g`, ttl: 600, tsMicros: 20, value: 'm' },
    { kind: 'count', key: `${p}c`, ttl: 900, increment: 3 },
    { kind: 'hash', key: `${p}h`, ttl: 900, fields: new Map([['a', 5], ['c', 1]]) },
    { kind: 'gauge', key: `${p}g`, ttl: 900, tsMicros: 20, value: 'z' },
    { kind: 'gauge', key: `${p}g`, ttl: 900, tsMicros: 10, value: 'zz' },
    { kind: 'count', key: `${p}fresh`, ttl: 0, increment: -4 },
    { kind: 'gauge', key: `${p}tie`, ttl: 0, tsMicros: 30, value: 'a' },
  ];
}

test('ops of one commit on the same key, absent or present, write what the ops would one call at a time', async (t) => {
  // The script writes a key it found absent with one SET or HSET (its EXPIRE folded in), and reuses
  // what it read while checking; a second op on that key in the same call must still add to the first.
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const lua = await readFile(new URL('../../packages/timeseries/src/commit.lua', import.meta.url), 'utf8');
  const prefixes = [`${uniqueName('ops')}:`, `${uniqueName('ops')}:`];
  t.after(async () => {
    for (const prefix of prefixes) {
      const keys = [...(await scanKeys(redis, `${prefix}*`)), ...(await scanKeys(redis, `sluice:gauge:${prefix}*`))];
      if (keys.length > 0) await redis.del(keys);
    }
    await redis.quit();
  });
  const run = async (ops: readonly CommitOp[]): Promise<void> => {
    const { keys, args } = encodeCommitArgs(ops);
    await redis.eval(lua, keys.length, ...keys, ...args);
  };
  const dumpAll = async (p: string): Promise<Record<string, Dumped>> => {
    const keys = [...(await scanKeys(redis, `${p}*`)), ...(await scanKeys(redis, `sluice:gauge:${p}*`))];
    const out: Record<string, Dumped> = {};
    for (const key of keys.toSorted()) out[key.replace(p, '')] = await dumpKey(redis, key);
    return out;
  };
  for (const present of [false, true]) {
    const [together, oneByOne] = prefixes.map((p) => `${p}${present}:`) as [string, string];
    for (const p of [together, oneByOne]) {
      if (!present) continue;
      await redis.set(`${p}c`, '10');
      await redis.hset(`${p}h`, 'a', '1');
      await redis.set(`${p}tie`, 'b');
      await redis.set(`sluice:gauge:${p}tie`, '30');
    }
    await run(repeatedOps(together));
    for (const op of repeatedOps(oneByOne)) await run([op]);
    const got = await dumpAll(together);
    assert.deepEqual(got, await dumpAll(oneByOne), `keys ${present ? 'present' : 'absent'} before`);
    assert.deepEqual(got.c, { type: 'string', value: present ? '15' : '5', ttl: 900 });
    assert.deepEqual(got.h?.value, present ? { a: '7', b: '2', c: '1' } : { a: '6', b: '2', c: '1' });
    assert.deepEqual(got.g, { type: 'string', value: 'z', ttl: 900 }, 'the later tie wins by value, the older event loses');
    assert.deepEqual(got.fresh, { type: 'string', value: '-4', ttl: -1 });
    assert.equal(got.tie?.value, present ? 'b' : 'a', "a tie with the stored gauge goes to the greater value ('b' > 'a')");
  }
});

test('the store refuses an ioredis client with its own keyPrefix, and unknown series', async (t) => {
  const prefixed = new Redis(redisUrl(), { keyPrefix: 'x:', lazyConnect: true });
  t.after(() => prefixed.disconnect());
  assert.throws(() => createTimeseriesStore({ redis: prefixed, series: {} }), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG);
  const fixture = await createFixture(t, { hits: { type: 'count', intervals: { m: { step: 60 } } } });
  await assert.rejects(fixture.store.insert('nope', 'h', 1), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_DEFINITION);
  await assert.rejects(fixture.store.get('hits', 'h', 'hour'), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_DEFINITION);
});

test('a live range below its partition\'s floor (fence compacted once it completed) is a duplicate, alone or together, and reads as done', async (t) => {
  const series: Record<string, SeriesDecl> = { hits: { type: 'count', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId, redis } = fixture;
  await redis.hset(`sluice:fence:${runId}`, 'kafka://tp/0@floor', '200');
  const chunk = (splitId: string, seq = 0): Chunk => chunkOf(series, [['hits', 'h', 1, NOW]], seq, splitId);
  assert.equal((await store.commit(runId, chunk('kafka://tp/0@100-200'))).applied, false, 'a late first chunk');
  assert.equal((await store.commit(runId, chunk('kafka://tp/0@100-200', 3))).applied, false, 'a late later chunk: no fence gap, just a duplicate');
  assert.equal((await store.commitTogether(runId, ['kafka://tp/1@0-100', 'kafka://tp/0@150-200'], chunk('unused'))).applied, false, 'one of a group');
  assert.deepEqual(await fixture.dump(), new Map(), 'nothing was written');
  assert.deepEqual(await store.progress(runId, 'kafka://tp/0@100-200'), { seq: Number.MAX_SAFE_INTEGER, resumeAt: Number.MAX_SAFE_INTEGER }, 'a retry finds nothing left to do');
  assert.equal(await store.progress(runId, 'kafka://tp/1@0-100'), undefined, 'the group left no fence behind');

  assert.equal((await store.commit(runId, chunk('kafka://tp/0@200-300'))).applied, true, 'at the floor: a range in flight');
  assert.equal((await store.commit(runId, chunk('kafka://tp/1@0-100'))).applied, true, 'the floor is per partition');
  assert.equal((await store.commit(runId, chunk('hdfs://nn/tp/0@100-200.ndjson#0-100'))).applied, true, 'a backfill split is never a range');
  assert.equal((await fixture.dump()).get('h:m:23333333')?.value, '3');
  assert.deepEqual(await store.progress(runId, 'kafka://tp/0@200-300'), { seq: 0, resumeAt: 100 });
});

test('a run whose fences were pruned takes no chunk of any split, alone or together, and every split reads as done', async (t) => {
  const series: Record<string, SeriesDecl> = { hits: { type: 'count', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId, redis } = fixture;
  const chunk = (splitId: string, seq = 0): Chunk => chunkOf(series, [['hits', 'h', 1, NOW]], seq, splitId);
  assert.equal((await store.commit(runId, chunk('f#0-10'))).applied, true, 'before the prune');
  await redis.del(`sluice:fence:${runId}`);
  await redis.hset(`sluice:fence:${runId}`, '@pruned', '1');
  const before = await fixture.dump();
  assert.equal((await store.commit(runId, chunk('f#0-10'))).applied, false, 'a zombie replaying the first chunk');
  assert.equal((await store.commit(runId, chunk('f#0-10', 4))).applied, false, 'a later chunk: a duplicate, not a fence gap');
  assert.equal((await store.commit(runId, chunk('kafka://tp/0@0-10'))).applied, false, 'a range of the run');
  assert.equal((await store.commitTogether(runId, ['kafka://tp/0@10-20', 'kafka://tp/0@20-30'], chunk('unused'))).applied, false, 'a group');
  assert.deepEqual(await fixture.dump(), before, 'nothing was written');
  assert.deepEqual({ ...(await fixture.stats()) }, { records: '1', badRecords: '0', bytes: '10', expired: '0', chunks: '1' }, 'nor counted');
  for (const split of ['f#0-10', 'g#0-10', 'kafka://tp/0@0-10']) {
    assert.deepEqual(await store.progress(runId, split), { seq: Number.MAX_SAFE_INTEGER, resumeAt: Number.MAX_SAFE_INTEGER }, split);
  }
});

test('a run marked for a newer commit protocol takes no chunk from this one, alone or together; its own protocol is taken', async (t) => {
  const series: Record<string, SeriesDecl> = { hits: { type: 'count', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId, redis } = fixture;
  const fence = `sluice:fence:${runId}`;
  const chunk = (splitId: string, seq = 0): Chunk => chunkOf(series, [['hits', 'h', 1, NOW]], seq, splitId);
  assert.equal((await store.commit(runId, chunk('f#0-10'))).applied, true, 'before the mark');
  const outdated = (required: string) => (error: unknown): boolean => {
    assert.ok(isSluiceError(error), String(error));
    assert.deepEqual([error.code, error.retryable], [ErrorCode.OUTDATED, false]);
    assert.equal(error.message, `run ${runId} is written by a newer Sluice (commit protocol ${required}; this worker's is ${COMMIT_PROTOCOL}): upgrade this worker; nothing was written`);
    return true;
  };
  // Above this protocol, or not a whole number (Lua's tonumber reads ' 1', '0x1' and 'nan', whose comparisons are all false).
  for (const required of [String(COMMIT_PROTOCOL + 1), '99999999999999999999', 'not-a-number', 'nan', ' 1', '0x1', '1.0', '0', 'two words']) {
    await redis.hset(fence, COMMIT_PROTOCOL_FIELD, required);
    const before = await fixture.dump();
    await assert.rejects(store.commit(runId, chunk('f#0-10', 1)), outdated(required), `the next chunk of a split (${required})`);
    await assert.rejects(store.commit(runId, chunk('g#0-10')), outdated(required), 'a new split');
    await assert.rejects(store.commitTogether(runId, ['kafka://tp/0@0-10', 'kafka://tp/0@10-20'], chunk('unused')), outdated(required), 'a group');
    await assert.rejects(store.progress(runId, 'f#0-10'), outdated(required), 'nor is a fence read, which a newer version may write differently');
    assert.deepEqual(await fixture.dump(), before, 'nothing was written');
    assert.deepEqual({ ...(await fixture.stats()) }, { records: '1', badRecords: '0', bytes: '10', expired: '0', chunks: '1' }, 'nor counted');
    assert.equal(await redis.hget(fence, 'f#0-10'), '0:100', 'the fence did not move');
  }
  await redis.hset(fence, COMMIT_PROTOCOL_FIELD, String(COMMIT_PROTOCOL));
  assert.deepEqual(await store.progress(runId, 'f#0-10'), { seq: 0, resumeAt: 100 }, 'a run marked with this protocol');
  assert.equal((await store.commit(runId, chunk('f#0-10', 1))).applied, true);
  assert.equal((await fixture.dump()).get('h:m:23333333')?.value, '2');
});

test('commitTogether applies one chunk as several fresh splits at once, or nothing when any has a fence', async (t) => {
  const series: Record<string, SeriesDecl> = { hits: { type: 'count', intervals: { m: { step: 60, steps: 10 } } } };
  const fixture = await createFixture(t, series);
  const { store, runId } = fixture;
  const together = chunkOf(series, [['hits', 'h', 2, NOW], ['hits', 'h', 3, NOW]], 0, 'unused');
  const first = await store.commitTogether(runId, ['r1', 'r2'], together);
  assert.equal(first.applied, true);
  assert.equal((await fixture.dump()).get('h:m:23333333')?.value, '5');
  assert.deepEqual([await store.progress(runId, 'r1'), await store.progress(runId, 'r2')], [{ seq: 0, resumeAt: 100 }, { seq: 0, resumeAt: 100 }], 'both fences set');
  assert.deepEqual({ ...(await fixture.stats()) }, { records: '2', badRecords: '0', bytes: '20', expired: '0', chunks: '1' });

  assert.equal((await store.commitTogether(runId, ['r1', 'r2'], together)).applied, false, 'the same again is a no-op');
  assert.equal((await store.commit(runId, { ...together, splitId: 'r2' })).applied, false, 'so is either split alone');
  // Keys and values only: the TTLs tick down between the two dumps and, rounded to seconds, can
  // differ by one on a slow machine without anything having been written.
  const values = async (): Promise<[string, unknown][]> => [...(await fixture.dump())].map(([key, d]) => [key, d.value]);
  const before = await values();
  assert.equal((await store.commitTogether(runId, ['r3', 'r2'], together)).applied, false, 'r2 has a fence: nothing is written');
  assert.deepEqual(await values(), before);
  assert.equal(await store.progress(runId, 'r3'), undefined, 'and r3 keeps no fence, to run alone');
  assert.equal((await store.commit(runId, { ...together, splitId: 'r3' })).applied, true);
  assert.equal((await fixture.dump()).get('h:m:23333333')?.value, '10');
  await assert.rejects(store.commitTogether(runId, ['r4'], together), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INTERNAL);
});

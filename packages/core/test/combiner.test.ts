import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, createCombiner, defineJob, isSluiceError } from '../src/index.ts';
import type { Aggregate } from '../src/index.ts';

const job = defineJob({
  name: 'combine',
  series: {
    hits: { type: 'count', intervals: { minute: { step: 60 }, hour: { step: 3600, resolution: 60 } } },
    codes: { type: 'histogram', intervals: { minute: { step: 60 } } },
    peers: { type: 'set', intervals: { minute: { step: 60 } } },
    lat: { type: 'series', intervals: { minute: { step: 60 } }, value: 'float' },
    last: { type: 'gauge', intervals: { minute: { step: 60 } } },
  },
  process: () => {},
});
const S = 1_000_000;

function byKey(aggregates: Aggregate[]): Map<string, Aggregate> {
  return new Map(aggregates.map((a) => [`${a.series}|${a.name}|${a.interval}|${a.iBucket}|${a.rBucket ?? ''}`, a]));
}

test('counts sum per key and interval, with sub-resolution buckets', () => {
  const c = createCombiner(job);
  c.emit('hits', 'h.a', 1, 1_400_000_000 * S);
  c.emit('hits', 'h.a', 4, 1_400_000_030 * S);
  c.emit('hits', 'h.a', 1, 1_400_000_100 * S);
  c.emit('hits', 'h.a', 0, 1_400_000_100 * S);
  const got = byKey(c.drain());
  assert.equal((got.get('hits|h.a|minute|23333333|') as { increment: number }).increment, 5);
  assert.equal((got.get('hits|h.a|minute|23333335|') as { increment: number }).increment, 1);
  assert.equal((got.get('hits|h.a|hour|388888|23333333') as { increment: number }).increment, 5);
  assert.equal((got.get('hits|h.a|hour|388888|23333335') as { increment: number }).increment, 1);
  assert.equal(got.size, 4);
  assert.equal(c.weight, 0, 'drain starts empty again');
});

test('histograms count encoded values, sets keep distinct members, series keep order', () => {
  const c = createCombiner(job);
  const t = 1_400_000_000 * S;
  for (const v of ['NOERROR', 'NXDOMAIN', 'NOERROR']) c.emit('codes', 'c', v, t);
  c.emit('codes', 'c', 3, t);
  c.emit('codes', 'c', 2.5, t);
  for (const v of ['10.0.0.1', '10.0.0.2', '10.0.0.1']) c.emit('peers', 'p', v, t);
  for (const v of [1.5, 2, 0.1, 1e-5]) c.emit('lat', 'l', v, t);
  const got = byKey(c.drain());
  assert.deepEqual(Object.fromEntries((got.get('codes|c|minute|23333333|') as { fields: Map<string, number> }).fields), { NOERROR: 2, NXDOMAIN: 1, '3': 1, '2.5': 1 });
  assert.deepEqual([...(got.get('peers|p|minute|23333333|') as { members: Set<string> }).members].sort(), ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual((got.get('lat|l|minute|23333333|') as { values: string[] }).values, ['1.5', '2.0', '0.1', '1e-05']);
});

test('a gauge keeps the value of the latest event, ties broken by the greater value, in any order', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('A', 'AAAA', 'MX', 'PTR')), { minLength: 1, maxLength: 30 }), (emits) => {
      const expected = [...emits].sort(([ta, va], [tb, vb]) => ta - tb || (va < vb ? -1 : va > vb ? 1 : 0)).at(-1) as [number, string];
      for (const order of [emits, [...emits].reverse()]) {
        const c = createCombiner(job);
        for (const [t, v] of order) c.emit('last', 'g', v, 1_400_000_000 * S + t);
        const [g] = c.drain() as unknown as [{ value: string; tsMicros: number }];
        assert.equal(g.value, expected[1]);
        assert.equal(g.tsMicros, 1_400_000_000 * S + expected[0]);
      }
    }),
  );
});

test('emitting to an undeclared series is a definition error naming the job and the series', () => {
  const c = createCombiner(job);
  assert.throws(() => c.emit('nope', 'x', 1, 0), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_DEFINITION && /"combine"/.test(e.message) && /"nope"/.test(e.message));
});

test('bad event times and non-integer counts are bad records', () => {
  const c = createCombiner(job);
  assert.throws(() => c.emit('hits', 'x', 1, 1.5), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.BAD_RECORD);
  assert.throws(() => c.emit('hits', 'x', 1.5, 0), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.BAD_RECORD);
});

test('the weight counts keys and distinct members, and full turns on at the threshold', () => {
  const c = createCombiner(job, { maxWeight: 5 });
  c.emit('peers', 'p', 'a', 0);
  assert.equal(c.weight, 2);
  c.emit('peers', 'p', 'a', 0);
  assert.equal(c.weight, 2);
  c.emit('peers', 'p', 'b', 0);
  assert.equal(c.full, false);
  c.emit('codes', 'c', 'x', 0);
  assert.equal(c.weight, 5);
  assert.equal(c.full, true);
});

test('a namePrefix goes in front of the emitted name, per family, whatever the emit order', () => {
  const prefixed = defineJob({
    name: 'prefixed',
    series: {
      queries: { type: 'count', intervals: { minute: { step: 60 }, hour: { step: 3600 } }, namePrefix: 'dns.queries.' },
      codes: { type: 'histogram', intervals: { minute: { step: 60 } }, namePrefix: 'dns.rcodes.' },
      plain: { type: 'count', intervals: { minute: { step: 60 } } },
    },
    process: () => {},
  });
  const c = createCombiner(prefixed);
  const t = 1_400_000_000 * S;
  // One IP string serves both families; a second bucket of the same name makes a second entry.
  const ip = '10.0.0.1';
  c.emit('queries', ip, 1, t);
  c.emit('codes', ip, 'NOERROR', t);
  c.emit('queries', ip, 2, t + 120 * S);
  c.emit('plain', ip, 1, t);
  c.emitAll([
    { series: 'queries', name: '10.0.0.2', value: 1, tsMicros: t },
    { series: 'codes', name: '10.0.0.2', value: 'NXDOMAIN', tsMicros: t },
  ], 2);
  const got = byKey(c.drain());
  assert.deepEqual([...got.keys()].sort(), [
    'codes|dns.rcodes.10.0.0.1|minute|23333333|',
    'codes|dns.rcodes.10.0.0.2|minute|23333333|',
    'plain|10.0.0.1|minute|23333333|',
    'queries|dns.queries.10.0.0.1|hour|388888|',
    'queries|dns.queries.10.0.0.1|minute|23333333|',
    'queries|dns.queries.10.0.0.1|minute|23333335|',
    'queries|dns.queries.10.0.0.2|hour|388888|',
    'queries|dns.queries.10.0.0.2|minute|23333333|',
  ]);
  assert.equal((got.get('queries|dns.queries.10.0.0.1|hour|388888|') as { increment: number }).increment, 3);
});

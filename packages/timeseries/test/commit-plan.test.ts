import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { Aggregate } from '@sluice/core';
import { encodeCommitArgs } from '../src/commit-args.ts';
import { planAggregates, planInsert } from '../src/commit-plan.ts';
import type { CommitOp } from '../src/commit-plan.ts';
import { resolveFamilies } from '../src/families.ts';

const NOW = 1_400_000_000_000_000;

const families = resolveFamilies(
  {
    hits: { type: 'count', prefix: 'kairos', intervals: { hour: { step: '1h', steps: 24, resolution: 60 } } },
    resp: { type: 'histogram', intervals: { days: { step: 60, steps: 2880 }, months: { step: 1800, steps: 4032 } } },
    lat: { type: 'series', intervals: { daily: { step: 'daily', steps: 30 }, minute: { step: 60 } } },
    temp: { type: 'gauge', intervals: { m: { step: 60, steps: 10 } } },
  },
  't1:',
);

test('planAggregates: kairos keys, TTLs, one index op per interval key, and expired emits counted', () => {
  const aggregates: Aggregate[] = [
    { type: 'count', series: 'hits', name: 'hits', interval: 'hour', iBucket: 388_888, rBucket: 23_333_333, emits: 2, increment: 5 },
    { type: 'count', series: 'hits', name: 'hits', interval: 'hour', iBucket: 388_888, rBucket: 23_333_335, emits: 1, increment: 1 },
    // 24 hours back: kairos skips it (bucket(now) - bucket(ts) >= steps).
    { type: 'count', series: 'hits', name: 'hits', interval: 'hour', iBucket: 388_864, rBucket: 23_331_840, emits: 7, increment: 7 },
    { type: 'histogram', series: 'resp', name: 'ip', interval: 'days', iBucket: 23_333_333, emits: 3, fields: new Map([['3', 2], ['2.5', 1]]) },
    { type: 'series', series: 'lat', name: 'lat', interval: 'minute', iBucket: 23_333_333, emits: 2, values: ['1.5', '2'] },
    { type: 'gauge', series: 'temp', name: 'temp', interval: 'm', iBucket: 23_333_333, emits: 2, value: '22', tsMicros: NOW },
  ];
  const plan = planAggregates(families, aggregates, 4, NOW);
  assert.equal(plan.expired, 7);
  const expected: CommitOp[] = [
    { kind: 'set', key: 't1:kairos:hits:hour:388888', ttl: 86_400, members: ['23333333', '23333335'] },
    { kind: 'count', key: 't1:kairos:hits:hour:388888:23333333', ttl: 86_400, increment: 5 },
    { kind: 'count', key: 't1:kairos:hits:hour:388888:23333335', ttl: 86_400, increment: 1 },
    { kind: 'hash', key: 't1:ip:days:23333333', ttl: 172_800, fields: new Map([['3', 2], ['2.5', 1]]) },
    { kind: 'list', key: 't1:lat:minute:23333333', ttl: 0, ordinal: 4, values: ['1.5', '2'] },
    { kind: 'gauge', key: 't1:temp:m:23333333', ttl: 600, tsMicros: NOW, value: '22' },
  ];
  assert.deepEqual(plan.ops, expected);
});

test('planAggregates rejects aggregates that do not match the declarations', () => {
  const cases: [Aggregate, string][] = [
    [{ type: 'count', series: 'nope', name: 'x', interval: 'hour', iBucket: 1, emits: 1, increment: 1 }, ErrorCode.INVALID_DEFINITION],
    [{ type: 'count', series: 'hits', name: 'x', interval: 'day', iBucket: 1, emits: 1, increment: 1 }, ErrorCode.INVALID_DEFINITION],
    [{ type: 'set', series: 'hits', name: 'x', interval: 'hour', iBucket: 388_888, rBucket: 1, emits: 1, members: new Set(['a']) }, ErrorCode.INVALID_DEFINITION],
    [{ type: 'count', series: 'hits', name: 'x', interval: 'hour', iBucket: 388_888, emits: 1, increment: 1 }, ErrorCode.INTERNAL],
    [{ type: 'histogram', series: 'resp', name: 'x', interval: 'days', iBucket: 23_333_333, rBucket: 1, emits: 1, fields: new Map() }, ErrorCode.INTERNAL],
    [{ type: 'count', series: 'hits', name: 'x', interval: 'hour', iBucket: 388_888, rBucket: 1, emits: 1, increment: 0.5 }, ErrorCode.INTERNAL],
  ];
  for (const [aggregate, code] of cases) {
    assert.throws(
      () => planAggregates(families, [aggregate], 0, NOW),
      (error: unknown) => isSluiceError(error) && error.code === code,
      JSON.stringify({ ...aggregate, fields: undefined, members: undefined }),
    );
  }
});

test('planInsert: one kairos insert per interval, gregorian TTL, no EXPIRE without steps, count 0 only touches', () => {
  assert.deepEqual(planInsert(families.get('lat')!, 'lat', 1.5, NOW, NOW).ops, [
    { kind: 'push', key: 't1:lat:daily:20140513', ttl: 2_592_000, values: ['1.5'] },
    { kind: 'push', key: 't1:lat:minute:23333333', ttl: 0, values: ['1.5'] },
  ]);
  assert.deepEqual(planInsert(families.get('hits')!, 'hits', 0, NOW, NOW).ops, [
    { kind: 'set', key: 't1:kairos:hits:hour:388888', ttl: 86_400, members: ['23333333'] },
    { kind: 'touch', key: 't1:kairos:hits:hour:388888:23333333', ttl: 86_400 },
  ]);
  assert.deepEqual(planInsert(families.get('resp')!, 'ip', 3, NOW, NOW).ops.map((op) => op.kind === 'hash' && [...op.fields]), [
    [['3', 1]],
    [['3', 1]],
  ]);
  const old = planInsert(families.get('temp')!, 'temp', 21.5, NOW - 600_000_000, NOW);
  assert.deepEqual(old, { ops: [], expired: 1 });
  assert.throws(() => planInsert(families.get('hits')!, 'hits', 1.5, NOW, NOW), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.BAD_RECORD);
});

/** Reads KEYS/ARGV back with the grammar commit.lua walks, so the two sides cannot drift apart unnoticed. */
function decodeCommitArgs(keys: readonly string[], args: readonly string[]): { fence: string[] | undefined; ops: unknown[] } {
  let i = 0;
  let k = 0;
  const next = (): string => {
    const value = args[i++];
    if (value === undefined) throw new Error(`ARGV ended at ${i}`);
    return value;
  };
  const key = (): string => {
    const value = keys[k++];
    if (value === undefined) throw new Error(`KEYS ended at ${k}`);
    return value;
  };
  let fence: string[] | undefined;
  if (next() === 'F') {
    fence = [key(), key(), key(), next(), next(), next(), next(), next(), next(), next(), next()];
    const dead = Number(next());
    for (let d = 0; d < dead; d++) fence.push(next());
  }
  const ops: unknown[] = [];
  const list = (n: number): string[] => Array.from({ length: n }, next);
  while (i < args.length) {
    const kind = next();
    const ttl = Number(next());
    switch (kind) {
      case 'C':
        ops.push({ kind: 'count', key: key(), ttl, increment: Number(next()) });
        break;
      case 'H': {
        const n = Number(next());
        const fields = new Map<string, number>();
        for (let f = 0; f < n; f++) fields.set(next(), Number(next()));
        ops.push({ kind: 'hash', key: key(), ttl, fields });
        break;
      }
      case 'S':
        ops.push({ kind: 'set', key: key(), ttl, members: list(Number(next())) });
        break;
      case 'G': {
        const k0 = key();
        assert.equal(key(), `sluice:gauge:${k0}`);
        ops.push({ kind: 'gauge', key: k0, ttl, tsMicros: Number(next()), value: next() });
        break;
      }
      case 'L': {
        const k0 = key();
        assert.equal(key(), `sluice:order:${k0}`);
        const ordinal = Number(next());
        ops.push({ kind: 'list', key: k0, ttl, ordinal, values: list(Number(next())) });
        break;
      }
      case 'R':
        ops.push({ kind: 'push', key: key(), ttl, values: list(Number(next())) });
        break;
      case 'T':
        ops.push({ kind: 'touch', key: key(), ttl });
        break;
      default:
        throw new Error(`unknown op ${kind}`);
    }
  }
  assert.equal(k, keys.length, 'every key is consumed');
  return { fence, ops };
}

const text = fc.string({ unit: 'binary', maxLength: 8 });
const ttl = fc.nat({ max: 10_000_000 });
const plain = { noNullPrototype: true } as const;
const opArb: fc.Arbitrary<CommitOp> = fc.oneof(
  fc.record({ kind: fc.constant('count' as const), key: text, ttl, increment: fc.integer() }, plain),
  fc.record({ kind: fc.constant('hash' as const), key: text, ttl, fields: fc.array(fc.tuple(text, fc.nat()), { minLength: 1 }).map((e) => new Map(e)) }, plain),
  fc.record({ kind: fc.constant('set' as const), key: text, ttl, members: fc.array(text, { minLength: 1 }) }, plain),
  fc.record({ kind: fc.constant('gauge' as const), key: text, ttl, tsMicros: fc.nat({ max: Number.MAX_SAFE_INTEGER }), value: text }, plain),
  fc.record({ kind: fc.constant('list' as const), key: text, ttl, ordinal: fc.nat(), values: fc.array(text, { minLength: 1 }) }, plain),
  fc.record({ kind: fc.constant('push' as const), key: text, ttl, values: fc.array(text, { minLength: 1 }) }, plain),
  fc.record({ kind: fc.constant('touch' as const), key: text, ttl }, plain),
);

test('encodeCommitArgs round-trips through the script grammar, fenced or not', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 12 }), fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }), (ops, dead) => {
      const fence =
        dead === undefined
          ? undefined
          : {
              fenceKey: 'f',
              statsKey: 's',
              deadLettersKey: 'd',
              splitId: 'split:0',
              seq: 3,
              resumeAt: 4096,
              ...(dead.length === 1 ? {} : { startsAt: 2048 }),
              stats: { records: 10, badRecords: dead.length, bytes: 4000 },
              expired: 2,
              deadLetters: dead,
            };
      const { keys, args } = encodeCommitArgs(ops, fence);
      const decoded = decodeCommitArgs(keys, args);
      assert.deepEqual(decoded.ops, ops);
      assert.deepEqual(decoded.fence, fence === undefined ? undefined : ['f', 's', 'd', 'split:0', '3', '4096', dead?.length === 1 ? '' : '2048', '10', String(dead?.length), '4000', '2', ...(dead ?? [])]);
    }),
    { numRuns: 300 },
  );
});

/**
 * Turns partial aggregates (or one kairos-style insert) into the Redis operations of one atomic
 * commit. Pure: the clock reading is an argument, so the TTL rule is applied exactly as kairos
 * would at that instant, and writes kairos would skip become an `expired` count instead.
 */
import { ErrorCode, SluiceError, encodeValue } from '@sluice/core';
import type { Aggregate, IntervalCalc, ValueKind } from '@sluice/core';
import { lookupInterval } from './families.ts';
import type { SeriesFamily } from './families.ts';
import { intervalKey, resolutionKey } from './keys.ts';

/** One Redis operation of a commit. `ttl` is the EXPIRE in seconds, 0 for none. */
export type CommitOp =
  /** INCRBY. */
  | { kind: 'count'; key: string; ttl: number; increment: number }
  /** HINCRBY per field. */
  | { kind: 'hash'; key: string; ttl: number; fields: ReadonlyMap<string, number> }
  /** SADD: set values, or the r_buckets of an interval key. */
  | { kind: 'set'; key: string; ttl: number; members: readonly string[] }
  /** SET when (tsMicros, value) beats the stored pair. */
  | { kind: 'gauge'; key: string; ttl: number; tsMicros: number; value: string }
  /** Insert after every element of lower split ordinals (and earlier chunks of the same split). */
  | { kind: 'list'; key: string; ttl: number; ordinal: number; values: readonly string[] }
  /** Plain RPUSH at the end, as one kairos insert does. */
  | { kind: 'push'; key: string; ttl: number; values: readonly string[] }
  /** EXPIRE only: kairos's count insert of 0 sends no INCRBY but still its EXPIREs. */
  | { kind: 'touch'; key: string; ttl: number };

/** The operations of one commit and the emits dropped by the TTL rule. */
export interface CommitPlan {
  ops: CommitOp[];
  /** Emits (per interval) that kairos would not have written: their bucket is out of the retention window. */
  expired: number;
}

/** Plans a chunk's aggregates at clock reading `nowMicros`. Aggregates for undeclared series or mismatched types throw. */
export function planAggregates(
  families: ReadonlyMap<string, SeriesFamily>,
  aggregates: readonly Aggregate[],
  ordinal: number,
  nowMicros: number,
): CommitPlan {
  const ops: CommitOp[] = [];
  const indexes = new Map<string, { ttl: number; members: Set<string> }>();
  let expired = 0;
  for (const aggregate of aggregates) {
    const { family, calc } = lookupInterval(families, aggregate.series, aggregate.interval);
    if (aggregate.type !== family.type) {
      throw new SluiceError(
        ErrorCode.INVALID_DEFINITION,
        `a ${aggregate.type} aggregate was committed to ${family.type} series ${JSON.stringify(family.name)}`,
        { context: { series: family.name, name: aggregate.name, expected: family.type, got: aggregate.type } },
      );
    }
    const ttl = calc.ttlSeconds(aggregate.iBucket, nowMicros);
    if (ttl === 0) {
      expired += aggregate.emits;
      continue;
    }
    const key = targetKey(family, calc, aggregate, indexes, ttl ?? 0);
    const op = toOp(aggregate, key, ttl ?? 0, ordinal);
    if (op !== undefined) ops.push(op);
  }
  const index: CommitOp[] = [...indexes].map(([key, { ttl, members }]) => ({ kind: 'set', key, ttl, members: [...members] }));
  return { ops: [...index, ...ops], expired };
}

/**
 * Plans one kairos `insert(name, value, timestamp)` at clock reading `nowMicros`: per interval, the
 * resolution index, the type command and the EXPIREs, or nothing when the TTL rule skips it.
 */
export function planInsert(family: SeriesFamily, name: string, value: string | number, tsMicros: number, nowMicros: number): CommitPlan {
  if (family.type === 'count' && (typeof value !== 'number' || !Number.isSafeInteger(value))) {
    throw new SluiceError(
      ErrorCode.BAD_RECORD,
      `count ${JSON.stringify(family.name)} takes an integer increment, got ${JSON.stringify(value)} (kairos cannot read a float count back)`,
      { context: { series: family.name, name } },
    );
  }
  const encoded = family.type === 'count' ? '' : encodeValue(value, family.kind ?? inferKind(value));
  const ops: CommitOp[] = [];
  let expired = 0;
  for (const [interval, calc] of family.intervals) {
    const iBucket = calc.iCalc.toBucket(tsMicros);
    const ttl = calc.ttlSeconds(iBucket, nowMicros);
    if (ttl === 0) {
      expired += 1;
      continue;
    }
    const iKey = intervalKey(family.prefix, name, interval, iBucket);
    let key = iKey;
    if (!calc.coarse) {
      const rBucket = calc.rCalc.toBucket(tsMicros);
      ops.push({ kind: 'set', key: iKey, ttl: ttl ?? 0, members: [String(rBucket)] });
      key = resolutionKey(iKey, rBucket);
    }
    ops.push(insertOp(family, key, ttl ?? 0, value, encoded, tsMicros));
  }
  return { ops, expired };
}

function insertOp(family: SeriesFamily, key: string, ttl: number, value: string | number, encoded: string, tsMicros: number): CommitOp {
  switch (family.type) {
    case 'count':
      return value === 0 ? { kind: 'touch', key, ttl } : { kind: 'count', key, ttl, increment: value as number };
    case 'histogram':
      return { kind: 'hash', key, ttl, fields: new Map([[encoded, 1]]) };
    case 'set':
      return { kind: 'set', key, ttl, members: [encoded] };
    case 'series':
      return { kind: 'push', key, ttl, values: [encoded] };
    case 'gauge':
      return { kind: 'gauge', key, ttl, tsMicros, value: encoded };
  }
}

function targetKey(
  family: SeriesFamily,
  calc: IntervalCalc,
  aggregate: Aggregate,
  indexes: Map<string, { ttl: number; members: Set<string> }>,
  ttl: number,
): string {
  const iKey = intervalKey(family.prefix, aggregate.name, aggregate.interval, aggregate.iBucket);
  if (calc.coarse === (aggregate.rBucket !== undefined)) {
    throw new SluiceError(
      ErrorCode.INTERNAL,
      `aggregate for ${iKey} ${calc.coarse ? 'has an r_bucket but the interval has no resolution' : 'lacks the r_bucket its resolution needs'}`,
      { context: { series: family.name, name: aggregate.name, interval: aggregate.interval, iBucket: aggregate.iBucket } },
    );
  }
  if (aggregate.rBucket === undefined) return iKey;
  let index = indexes.get(iKey);
  if (index === undefined) {
    index = { ttl, members: new Set() };
    indexes.set(iKey, index);
  }
  index.members.add(String(aggregate.rBucket));
  return resolutionKey(iKey, aggregate.rBucket);
}

function toOp(aggregate: Aggregate, key: string, ttl: number, ordinal: number): CommitOp | undefined {
  switch (aggregate.type) {
    case 'count':
      if (!Number.isSafeInteger(aggregate.increment)) {
        throw new SluiceError(ErrorCode.INTERNAL, `count increment for ${key} is not a safe integer: ${aggregate.increment}`, {
          context: { key, increment: aggregate.increment },
        });
      }
      // A zero sum still creates the key, as kairos's nonzero INCRBYs that cancel out would.
      return { kind: 'count', key, ttl, increment: aggregate.increment };
    case 'histogram':
      return aggregate.fields.size === 0 ? undefined : { kind: 'hash', key, ttl, fields: aggregate.fields };
    case 'set':
      return aggregate.members.size === 0 ? undefined : { kind: 'set', key, ttl, members: [...aggregate.members] };
    case 'series':
      return aggregate.values.length === 0 ? undefined : { kind: 'list', key, ttl, ordinal, values: aggregate.values };
    case 'gauge':
      return { kind: 'gauge', key, ttl, tsMicros: aggregate.tsMicros, value: aggregate.value };
  }
}

/** Without a declared kind, numbers encode as kairos would write a Python int or float, strings as is. */
function inferKind(value: string | number): ValueKind {
  if (typeof value === 'string') return 'string';
  return Number.isInteger(value) ? 'integer' : 'float';
}

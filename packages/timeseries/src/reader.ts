/**
 * kairos's reads (`get`, `series`, `properties`) over the same keys, giving kairos's results as
 * ordered `[tsSeconds, row]` arrays instead of OrderedDicts. Timestamps in and out are epoch
 * seconds, as in kairos; rows are raw strings (kairos without `read_func`).
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { IntervalCalc, SeriesType } from '@sluice/core';
import type { Redis } from 'ioredis';
import type { SeriesFamily } from './families.ts';
import { intervalKey, metricPattern, resolutionKey } from './keys.ts';
import { execPipeline, toStoreError } from './redis-error.ts';
import { condenseRows, decodeRow } from './rows.ts';
import type { Point, RawRow, Row } from './rows.ts';

/** Options of `get`. */
export interface GetOptions {
  /** Epoch seconds inside the wanted interval; defaults to the store's clock. */
  timestamp?: number;
  /** With a resolution, fold the sub-buckets into one row stamped with the interval start. */
  condense?: boolean;
}

/** Options of `series`, with kairos's range rules (see the spec, section 3). */
export interface SeriesOptions {
  /** Epoch seconds of the first interval. */
  start?: number;
  /** Epoch seconds of the last interval. */
  end?: number;
  /** Intervals to return when only one end is given; defaults to the interval's `steps`, else 1. */
  steps?: number;
  /** Fold each interval's sub-buckets into one row. */
  condense?: boolean;
  /** Fold everything into one row stamped with the first interval (implies condense). */
  collapse?: boolean;
}

/**
 * `series` result: `[intervalTs, row]` per interval, or, for an interval with a resolution read
 * without condense/collapse, `[intervalTs, [resolutionTs, row][]]`.
 */
export type SeriesResult = Point<Row>[] | Point<Point<Row>[]>[];

/** `properties` result: per configured interval with data, the first and last interval start (epoch seconds). */
export type Properties = Record<string, { first: number; last: number }>;

/** kairos `get`: the interval holding `timestampMicros`. */
export async function readGet(
  redis: Redis,
  family: SeriesFamily,
  name: string,
  interval: string,
  calc: IntervalCalc,
  timestampMicros: number,
  condense: boolean,
): Promise<Point<Row>[]> {
  const iBucket = calc.iCalc.toBucket(timestampMicros);
  const iKey = intervalKey(family.prefix, name, interval, iBucket);
  if (calc.coarse) {
    const [raw] = await fetchRows(redis, family.type, [iKey]);
    return [[calc.iCalc.fromBucket(iBucket), decodeRow(family.type, raw ?? null, iKey)]];
  }
  const rBuckets = await readResolutionBuckets(redis, iKey);
  const rows = await readResolutionRows(redis, family.type, calc, iKey, rBuckets);
  if (!condense) return rows;
  return [[calc.iCalc.normalize(timestampMicros), condenseRows(family.type, rows.map(([, row]) => row))]];
}

/** kairos `series`: a range of intervals, empty ones included, in ascending order. */
export async function readSeries(
  redis: Redis,
  family: SeriesFamily,
  name: string,
  interval: string,
  calc: IntervalCalc,
  options: SeriesOptions,
  nowMicros: number,
): Promise<SeriesResult> {
  const buckets = seriesBuckets(calc, options, nowMicros);
  const collapse = options.collapse === true;
  const condense = collapse || options.condense === true;
  const keys = buckets.map((b) => intervalKey(family.prefix, name, interval, b));
  let points: Point<Row>[];
  if (calc.coarse) {
    const raws = await fetchRows(redis, family.type, keys);
    points = buckets.map((b, i) => [calc.iCalc.fromBucket(b), decodeRow(family.type, raws[i] ?? null, keys[i] ?? '')]);
  } else {
    const pipe = redis.pipeline();
    for (const key of keys) pipe.smembers(key);
    const members = (await execPipeline(pipe, 'read resolution buckets', { keys: keys.length, first: keys[0] })) as string[][];
    const nested = await Promise.all(
      keys.map(async (key, i) => {
        const rows = await readResolutionRows(redis, family.type, calc, key, parseBuckets(members[i] ?? [], key));
        return [calc.iCalc.fromBucket(buckets[i] ?? 0), rows] as Point<Point<Row>[]>;
      }),
    );
    if (!condense) return nested;
    points = nested.map(([ts, rows]) => [ts, condenseRows(family.type, rows.map(([, row]) => row))]);
  }
  if (!collapse) return points;
  const first = points[0];
  if (first === undefined) return [];
  return [[first[0], condenseRows(family.type, points.map(([, row]) => row))]];
}

/** kairos `properties`: per configured interval with keys, the first and last interval start. */
export async function readProperties(redis: Redis, family: SeriesFamily, name: string): Promise<Properties> {
  const prefix = `${family.prefix}${name}:`;
  const pattern = metricPattern(family.prefix, name);
  const range = new Map<string, { first: number; last: number }>();
  let cursor = '0';
  try {
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const [interval = '', bucketText = ''] = key.slice(prefix.length).split(':');
        // kairos would crash on a key whose bucket is not an integer; such a key is not kairos's.
        if (!/^-?[0-9]+$/.test(bucketText)) continue;
        const bucket = Number(bucketText);
        const seen = range.get(interval);
        if (seen === undefined) range.set(interval, { first: bucket, last: bucket });
        else range.set(interval, { first: Math.min(seen.first, bucket), last: Math.max(seen.last, bucket) });
      }
    } while (cursor !== '0');
  } catch (error) {
    throw toStoreError(error, 'scan the keys of a metric', { pattern });
  }
  const out: Properties = {};
  for (const [interval, { first, last }] of range) {
    const calc = family.intervals.get(interval);
    if (calc !== undefined) out[interval] = { first: calc.iCalc.fromBucket(first), last: calc.iCalc.fromBucket(last) };
  }
  return out;
}

/** The interval buckets kairos's `series` reads for these options. */
export function seriesBuckets(calc: IntervalCalc, options: SeriesOptions, nowMicros: number): number[] {
  const steps = options.steps !== undefined && options.steps !== 0 ? options.steps : (calc.steps ?? 1);
  const { iCalc } = calc;
  let startBucket: number;
  let endBucket: number;
  if (options.end === undefined) {
    if (options.start === undefined) {
      endBucket = iCalc.toBucket(nowMicros);
      startBucket = iCalc.toBucket(nowMicros, -steps + 1);
    } else {
      startBucket = iCalc.toBucket(at(options.start));
      endBucket = iCalc.toBucket(at(options.start), steps - 1);
    }
  } else {
    endBucket = iCalc.toBucket(at(options.end));
    startBucket = options.start === undefined ? iCalc.toBucket(at(options.end), -steps + 1) : iCalc.toBucket(at(options.start));
  }
  const start = iCalc.fromBucket(startBucket);
  const end = Math.max(start, iCalc.fromBucket(endBucket));
  return iCalc.buckets(start * 1_000_000, end * 1_000_000);
}

function at(seconds: number): number {
  return Math.round(seconds * 1_000_000);
}

async function readResolutionBuckets(redis: Redis, iKey: string): Promise<number[]> {
  try {
    return parseBuckets(await redis.smembers(iKey), iKey);
  } catch (error) {
    throw toStoreError(error, 'read resolution buckets', { key: iKey });
  }
}

function parseBuckets(members: readonly string[], iKey: string): number[] {
  return members
    .map((member) => {
      if (!/^-?[0-9]+$/.test(member)) {
        throw new SluiceError(ErrorCode.CORRUPT_INPUT, `${iKey} holds ${JSON.stringify(member)}, which is not a resolution bucket`, {
          context: { key: iKey, member },
        });
      }
      return Number(member);
    })
    .toSorted((a, b) => a - b);
}

async function readResolutionRows(
  redis: Redis,
  type: SeriesType,
  calc: IntervalCalc,
  iKey: string,
  rBuckets: readonly number[],
): Promise<Point<Row>[]> {
  if (rBuckets.length === 0) return [];
  const keys = rBuckets.map((rb) => resolutionKey(iKey, rb));
  const raws = await fetchRows(redis, type, keys);
  return rBuckets.map((rb, i) => [calc.rCalc.fromBucket(rb), decodeRow(type, raws[i] ?? null, keys[i] ?? '')]);
}

/** kairos `_type_get` for each key, in one pipeline. */
async function fetchRows(redis: Redis, type: SeriesType, keys: readonly string[]): Promise<RawRow[]> {
  const pipe = redis.pipeline();
  for (const key of keys) {
    switch (type) {
      case 'series':
        pipe.lrange(key, 0, -1);
        break;
      case 'histogram':
        pipe.hgetall(key);
        break;
      case 'count':
      case 'gauge':
        pipe.get(key);
        break;
      case 'set':
        pipe.smembers(key);
        break;
    }
  }
  return (await execPipeline(pipe, `read ${type} rows`, { keys: keys.length, first: keys[0] })) as RawRow[];
}

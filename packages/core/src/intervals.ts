/**
 * kairos 0.10.1 interval math (`_resolve_time`, `RelativeTime`, `GregorianTime`), on integer epoch
 * microseconds so bucketing is exact: the same timestamp lands in the same bucket on every worker,
 * which is what lets partial aggregates from different splits meet in the same Redis key.
 *
 * Calendar intervals reproduce kairos on a host whose local time zone is UTC (kairos converts
 * buckets back with `time.mktime`, which uses the local zone).
 */
import { ErrorCode, SluiceError } from './errors.ts';
import type { IntervalDecl, StepSpec } from './series.ts';

/** kairos's calendar steps (`GregorianTime`). */
export const GregorianStep = {
  DAILY: 'daily',
  WEEKLY: 'weekly',
  MONTHLY: 'monthly',
  YEARLY: 'yearly',
} as const;

/** One of kairos's calendar steps. */
export type GregorianStep = (typeof GregorianStep)[keyof typeof GregorianStep];

/** A resolved step: whole seconds, or a calendar step. */
export type ResolvedStep = number | GregorianStep;

/** Bucket arithmetic of one step (kairos `i_calc` / `r_calc`). Times in, epoch microseconds; times out, epoch seconds. */
export interface BucketCalc {
  readonly step: ResolvedStep;
  /** kairos `to_bucket(ts, steps)`: the bucket of `tsMicros`, moved by `steps` buckets. */
  toBucket(tsMicros: number, steps?: number): number;
  /** kairos `from_bucket(bucket)`: the start of the bucket, epoch seconds. */
  fromBucket(bucket: number): number;
  /** kairos `normalize(ts, steps)`: the start of the bucket of `tsMicros` moved by `steps`, epoch seconds. */
  normalize(tsMicros: number, steps?: number): number;
  /** kairos `buckets(start, end)`: the buckets from `startMicros` to `endMicros`, both included. */
  buckets(startMicros: number, endMicros: number): number[];
}

/** One configured interval, preprocessed like kairos's constructor does. */
export interface IntervalCalc {
  readonly step: ResolvedStep;
  /** Buckets kept; undefined means the data never expires. */
  readonly steps: number | undefined;
  readonly resolution: ResolvedStep;
  /** True when resolution equals step: no sub-buckets, the interval key holds the data itself. */
  readonly coarse: boolean;
  readonly iCalc: BucketCalc;
  readonly rCalc: BucketCalc;
  /** kairos `config['expire']`: the TTL of a write into the current bucket, or undefined without `steps`. */
  readonly expire: number | undefined;
  /**
   * kairos's per-write TTL rule for a write into interval bucket `iBucket` when the clock reads
   * `nowMicros`: undefined means no EXPIRE (no `steps`); 0 means kairos skips the write because the
   * bucket is out of the retention window; otherwise the seconds to pass to EXPIRE.
   */
  ttlSeconds(iBucket: number, nowMicros: number): number | undefined;
  /** True when kairos would skip a write into `iBucket` at `nowMicros` (see `ttlSeconds`). */
  isExpired(iBucket: number, nowMicros: number): boolean;
}

const SIMPLE_TIMES = { h: 3600, d: 86_400, w: 604_800, m: 2_592_000, y: 31_536_000 } as const;
const SIMPLE_TIME = /^([0-9]+)([hdwmy])$/;
const NUMBER_TIME = /^[0-9]+$/;
const GREGORIAN: ReadonlySet<string> = new Set(Object.values(GregorianStep));
const MICROS = 1_000_000;
const DAY_SECONDS = 86_400;
/** Largest step whose width in microseconds is still an exact integer. */
const MAX_STEP_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / MICROS);
const ACCEPTED =
  "whole seconds (60), a digit string ('60'), a count and a unit h|d|w|m|y ('1h', '2d', '1w', '1m' = 30 days, '1y' = 365 days), or daily|weekly|monthly|yearly";

/** kairos `_resolve_time`: the step in seconds, or the calendar step. Throws INVALID_DEFINITION naming the value and the accepted forms. */
export function resolveStep(spec: StepSpec): ResolvedStep {
  if (typeof spec === 'number') return checkSeconds(spec, spec);
  if (typeof spec === 'string') {
    if (NUMBER_TIME.test(spec)) return checkSeconds(Number(spec), spec);
    const simple = SIMPLE_TIME.exec(spec);
    if (simple !== null) {
      const unit = simple[2] as keyof typeof SIMPLE_TIMES;
      return checkSeconds(Number(simple[1]) * SIMPLE_TIMES[unit], spec);
    }
    if (GREGORIAN.has(spec)) return spec as GregorianStep;
  }
  throw invalidStep(spec, `step ${describe(spec)} is not a step kairos accepts; use ${ACCEPTED}`);
}

function checkSeconds(seconds: number, spec: StepSpec): number {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw invalidStep(spec, `step ${describe(spec)} must be a positive whole number of seconds; use ${ACCEPTED}`);
  }
  if (seconds > MAX_STEP_SECONDS) {
    throw invalidStep(spec, `step ${describe(spec)} is longer than ${MAX_STEP_SECONDS} seconds, too long to bucket exactly in microseconds`);
  }
  return seconds;
}

function invalidStep(spec: unknown, message: string): SluiceError {
  return new SluiceError(ErrorCode.INVALID_DEFINITION, message, { context: { step: spec, accepted: ACCEPTED } });
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
}

/** Preprocesses one interval declaration like kairos's constructor: resolves step and resolution, builds both calculators and the TTL rule. */
export function createIntervalCalc(decl: IntervalDecl): IntervalCalc {
  const step = resolveStep(decl.step);
  const resolution = decl.resolution === undefined ? step : resolveStep(decl.resolution);
  const steps = decl.steps;
  if (steps !== undefined && (!Number.isSafeInteger(steps) || steps <= 0)) {
    throw new SluiceError(ErrorCode.INVALID_DEFINITION, `steps must be a positive integer, got ${describe(steps)}`, {
      context: { steps },
    });
  }
  const iCalc = createBucketCalc(step);
  const rCalc = createBucketCalc(resolution);
  const ttlSeconds =
    steps === undefined
      ? (): number | undefined => undefined
      : typeof step === 'number'
        ? (iBucket: number, nowMicros: number): number => {
            const nowBucket = iCalc.toBucket(nowMicros);
            if (nowBucket - iBucket > steps) return 0;
            return (steps + iBucket - nowBucket) * step;
          }
        : (iBucket: number, nowMicros: number): number => {
            // kairos approximates a calendar step in days (a month is 30 days), counted between bucket starts.
            const stepDays = steps * (SIMPLE_TIMES[step[0] as 'd' | 'w' | 'm' | 'y'] / DAY_SECONDS);
            const dayDiff = (iCalc.fromBucket(iCalc.toBucket(nowMicros)) - iCalc.fromBucket(iBucket)) / DAY_SECONDS;
            if (dayDiff > stepDays) return 0;
            return (stepDays - dayDiff) * DAY_SECONDS;
          };
  const expire =
    steps === undefined ? undefined : typeof step === 'number' ? steps * step : steps * SIMPLE_TIMES[step[0] as 'd' | 'w' | 'm' | 'y'];
  return {
    step,
    steps,
    resolution,
    coarse: step === resolution,
    iCalc,
    rCalc,
    expire,
    ttlSeconds,
    isExpired: (iBucket, nowMicros) => ttlSeconds(iBucket, nowMicros) === 0,
  };
}

/** The calculator of one step: kairos `RelativeTime` for seconds, `GregorianTime` for calendar steps. */
export function createBucketCalc(step: ResolvedStep): BucketCalc {
  return typeof step === 'number' ? createRelativeCalc(step) : createGregorianCalc(step);
}

function createRelativeCalc(step: number): BucketCalc {
  const width = step * MICROS;
  const toBucket = (tsMicros: number, steps = 0): number => truncDiv(tsMicros, width) + steps;
  const fromBucket = (bucket: number): number => bucket * step;
  return {
    step,
    toBucket,
    fromBucket,
    normalize: (tsMicros, steps = 0) => fromBucket(toBucket(tsMicros, steps)),
    buckets(startMicros, endMicros) {
      const out: number[] = [];
      for (let b = toBucket(startMicros), last = toBucket(endMicros); b <= last; b++) out.push(b);
      return out;
    },
  };
}

function createGregorianCalc(step: GregorianStep): BucketCalc {
  const toBucket = (tsMicros: number, steps = 0): number => {
    // utcfromtimestamp: the UTC calendar day holding the instant (floor, also before 1970).
    let days = floorDiv(floorDiv(tsMicros, MICROS), DAY_SECONDS);
    if (step === 'daily') days += steps;
    else if (step === 'weekly') days += 7 * steps;
    const { year, month, day } = civilFromDays(days);
    switch (step) {
      case 'daily':
        return year * 10_000 + month * 100 + day;
      case 'weekly':
        return year * 100 + sundayWeekOfYear(days, year);
      case 'monthly': {
        // MonthDelta clamps the day of month, which %Y%m never shows.
        const index = year * 12 + (month - 1) + steps;
        return floorDiv(index, 12) * 100 + (index - floorDiv(index, 12) * 12) + 1;
      }
      case 'yearly':
        return year + steps;
    }
  };
  const fromBucket = (bucket: number): number => {
    switch (step) {
      case 'daily':
        return daysFromCivil(Math.floor(bucket / 10_000), Math.floor(bucket / 100) % 100, bucket % 100) * DAY_SECONDS;
      case 'weekly':
        // kairos: Jan 1 plus WW weeks, because strptime ignores %U; this does not invert %U.
        return (daysFromCivil(Math.floor(bucket / 100), 1, 1) + 7 * (bucket % 100)) * DAY_SECONDS;
      case 'monthly':
        return daysFromCivil(Math.floor(bucket / 100), bucket % 100, 1) * DAY_SECONDS;
      case 'yearly':
        return daysFromCivil(bucket, 1, 1) * DAY_SECONDS;
    }
  };
  return {
    step,
    toBucket,
    fromBucket,
    normalize: (tsMicros, steps = 0) => fromBucket(toBucket(tsMicros, steps)),
    buckets(startMicros, endMicros) {
      // kairos walks forward from start until a bucket starts at or after end.
      const out = [toBucket(startMicros)];
      for (let k = 1; ; k++) {
        const bucket = toBucket(startMicros, k);
        const startsAt = fromBucket(bucket) * MICROS;
        if (startsAt >= endMicros) {
          if (startsAt === endMicros) out.push(bucket);
          return out;
        }
        out.push(bucket);
      }
    },
  };
}

/** strftime %U: weeks start on Sunday; days before the year's first Sunday are week 0. */
function sundayWeekOfYear(days: number, year: number): number {
  const yday = days - daysFromCivil(year, 1, 1);
  // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
  const weekday = ((days % 7) + 7 + 4) % 7;
  return Math.floor((yday + 7 - weekday) / 7);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12); exact integer math. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01. */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = floorDiv(z, 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Floor of a / b for an integer a and a positive integer b, exact where a / b in floating point may round up. */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  const r = a - q * b;
  if (r < 0) q -= 1;
  else if (r >= b) q += 1;
  return q;
}

/** Python's `int(a / b)`: truncation toward zero, as kairos's `RelativeTime.to_bucket`. */
function truncDiv(a: number, b: number): number {
  // `0 -` rather than unary minus, so a bucket is never -0.
  return a < 0 ? 0 - floorDiv(-a, b) : floorDiv(a, b);
}

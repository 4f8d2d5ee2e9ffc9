/**
 * Options every job accepts, on top of its own: `timeShift`, the way to replay recorded traffic as
 * recent. kairos drops writes older than `steps` buckets, so data from 2018 would vanish unless
 * shifted; shifting by whole days keeps every bucket's alignment.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { JobDefinition } from '@sluice/core';

/** Seconds to add to event times, or `auto`: whole days so the newest record lands within the last 24 hours. */
export type TimeShift = number | 'auto';

/** Framework options split from the job's own. */
export interface RunOptions<Options> {
  options: Options;
  timeShift: TimeShift;
  /** Only records with event time at or after this (epoch microseconds, before any shift). */
  since?: number;
  /** Only records with event time before this (epoch microseconds, before any shift). */
  until?: number;
}

// `start` is read by the coordinator for stream runs (where a new partition begins).
const FRAMEWORK_KEYS = new Set(['timeShift', 'since', 'until', 'start']);

/** Splits `--set` pairs into framework options and the job's parsed options. */
export function resolveRunOptions<Options>(job: JobDefinition<unknown, Options>, raw: Readonly<Record<string, string>>): RunOptions<Options> {
  const own: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) if (!FRAMEWORK_KEYS.has(key)) own[key] = value;
  const options = job.options === undefined ? (own as Options) : job.options(own);
  const since = parseEventTimeBound('since', raw.since);
  const until = parseEventTimeBound('until', raw.until);
  return {
    options,
    timeShift: parseTimeShift(raw.timeShift),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  };
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses an event-time bound: an ISO-8601 time or epoch microseconds. */
export function parseEventTimeBound(option: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  // Date.parse also takes forms like '-5' or 'May 5' and guesses a date: only ISO-8601 may reach it.
  const ms = ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${option} must be an ISO-8601 time (e.g. 2018-03-24T17:20:00Z) or epoch microseconds, got ${JSON.stringify(value)}`, {
      context: { option, value },
    });
  }
  return ms * 1000;
}

/** Parses `timeShift`: whole seconds (may be negative) or `auto`; anything else fails fast. */
export function parseTimeShift(value: string | undefined): TimeShift {
  if (value === undefined || value === '' || value === '0') return 0;
  if (value === 'auto') return 'auto';
  if (/^-?\d+$/.test(value)) return Number(value);
  throw new SluiceError(ErrorCode.INVALID_CONFIG, `timeShift must be whole seconds or 'auto', got ${JSON.stringify(value)}`, {
    context: { option: 'timeShift', value },
  });
}

/** `auto` time shift: `86400 * floor((now - newest) / 86400)` seconds, so buckets keep their alignment. */
export function computeAutoShiftSeconds(newestMicros: number, nowMicros: number): number {
  const ageSeconds = Math.floor((nowMicros - newestMicros) / 1e6);
  return 86_400 * Math.floor(ageSeconds / 86_400);
}

/**
 * Options every job accepts, on top of its own: `timeShift`, the way to replay recorded traffic as
 * recent. kairos drops writes older than `steps` buckets, so data from 2018 would vanish unless
 * shifted; shifting by whole days keeps every bucket's alignment.
 */
import { ErrorCode, FRAMEWORK_OPTION_NAMES, SluiceError } from '@sluice/core';
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
  /** The share of lines or messages that may fail to decode, once 1000 have, before a split fails (see RunSplitOptions). */
  maxBadFraction: number;
}

/** Default `maxBadFraction`: an input more than half undecodable is not in the format it claims. */
export const DEFAULT_MAX_BAD_FRACTION = 0.5;

// `start` is read by the coordinator for stream runs (where a new partition begins).
const FRAMEWORK_KEYS: ReadonlySet<string> = new Set(FRAMEWORK_OPTION_NAMES);

/** Splits `--set` pairs into framework options and the job's parsed options. */
export function resolveRunOptions<Options>(job: JobDefinition<unknown, Options>, raw: Readonly<Record<string, string>>): RunOptions<Options> {
  const own: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) if (!FRAMEWORK_KEYS.has(key)) own[key] = value;
  if (job.optionNames !== undefined) checkOptionNames(job.name, job.optionNames, Object.keys(own));
  const options = job.options === undefined ? (own as Options) : job.options(own);
  const since = parseEventTimeBound('since', raw.since);
  const until = parseEventTimeBound('until', raw.until);
  return {
    options,
    timeShift: parseTimeShift(raw.timeShift),
    maxBadFraction: parseMaxBadFraction(raw.maxBadFraction),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  };
}

/** Refuses keys a job does not take, suggesting the option a typo was probably meant to be. */
function checkOptionNames(job: string, names: readonly string[], given: readonly string[]): void {
  const unknown = given.filter((key) => !names.includes(key));
  if (unknown.length === 0) return;
  const known = [...names, ...FRAMEWORK_OPTION_NAMES];
  const hints = unknown.map((key) => closestName(key, known)).filter((hint) => hint !== undefined);
  const takes = names.length === 0 ? 'it takes no options of its own' : `it takes ${names.join(', ')}`;
  throw new SluiceError(
    ErrorCode.INVALID_CONFIG,
    `job ${job} has no option ${unknown.map((key) => JSON.stringify(key)).join(', ')} (--set ${unknown[0]}=…); ${takes}, and every job takes ${FRAMEWORK_OPTION_NAMES.join(', ')}` +
      (hints.length === 0 ? '' : `; did you mean ${[...new Set(hints)].join(', ')}?`),
    { context: { job, unknown, known } },
  );
}

/** The known name a key most likely misspells: the same but for case, or at most 2 edits away. */
function closestName(key: string, known: readonly string[]): string | undefined {
  const sameCase = known.find((name) => name.toLowerCase() === key.toLowerCase());
  if (sameCase !== undefined) return sameCase;
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance of two short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
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

/** Parses `maxBadFraction`: a number from 0 to 1 (1: never fail a split for undecodable input). */
export function parseMaxBadFraction(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_MAX_BAD_FRACTION;
  const fraction = /^(?:0(?:\.\d+)?|1(?:\.0+)?|\.\d+)$/u.test(value) ? Number(value) : Number.NaN;
  if (Number.isNaN(fraction)) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `maxBadFraction must be a number from 0 to 1 (e.g. 0.5; 1 never fails a split for undecodable input), got ${JSON.stringify(value)}`, {
      context: { option: 'maxBadFraction', value },
    });
  }
  return fraction;
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

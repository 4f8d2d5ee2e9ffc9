/**
 * `defineJob`: one processor definition that runs unchanged over historical splits (HDFS) and live
 * offset ranges (Kafka). The processor is synchronous and pure; all I/O is the framework's.
 */
import { ErrorCode, SluiceError } from './errors.ts';
import { SeriesType } from './series.ts';
import type { SeriesDecl } from './series.ts';
import { resolveStep } from './intervals.ts';

/**
 * Inserts one value like kairos's `insert(name, value, timestamp)`; the metric name is the
 * family's `namePrefix` (if any) followed by `name`.
 * `tsMicros` is the event time in whole microseconds since the epoch: integers bucket exactly, and
 * gauges order by it. Count series add `value` (default 1 when the job passes 1).
 */
export type Emit = (series: string, name: string, value: string | number, tsMicros: number) => void;

/** What a processor sees besides the record. */
export interface ProcessContext<Options> {
  /** The job's options, parsed from `--set key=value` by the job's `options` function. */
  readonly options: Options;
}

/** A job definition: its series families and the per-record processor. */
export interface JobDefinition<Record = unknown, Options = unknown> {
  /** Unique job name, used in CLI commands, queue payloads and run ids. */
  name: string;
  /** Series families the job may emit to, declared like kairos `Timeseries` objects. */
  series: Readonly<{ [family: string]: SeriesDecl }>;
  /** Called once per record; must be synchronous and pure (no I/O, no clock, no randomness). */
  process: (record: Record, emit: Emit, context: ProcessContext<Options>) => void;
  /**
   * The record's event time in epoch microseconds, or undefined when it has none. The framework
   * uses it for `timeShift=auto` and for the backfill/stream boundary.
   */
  eventTime?: (record: Record) => number | undefined;
  /**
   * The one field `eventTime` reads, when it is the field's timestamp as `parseTimestampMicros`
   * reads it (ISO string or epoch seconds). Declaring it lets a backfill bounded by `--since` or
   * `--until` skip the Parquet row groups whose statistics of that column lie outside the bounds.
   */
  eventTimeField?: string;
  /** Parses `--set key=value` pairs into typed options; throw an INVALID_CONFIG SluiceError on bad input. */
  options?: (raw: Readonly<{ [key: string]: string }>) => Options;
  /**
   * The `--set` keys `options` understands. When given, any other key (besides the framework's,
   * `FRAMEWORK_OPTION_NAMES`) is refused before a run starts, so a typo is an error instead of an
   * option silently ignored; without it every key reaches `options`.
   */
  optionNames?: readonly string[];
  /** Record fields the processor reads; columnar formats read only these. */
  fields?: readonly string[];
  /** Human description shown by the CLI. */
  description?: string;
}

/**
 * The `--set` keys every job accepts, read by the framework: `timeShift` (replay recorded events as
 * recent), `since`/`until` (event-time bounds), `start` (where a stream begins) and `maxBadFraction`
 * (how much of an input may fail to decode before its split fails).
 */
export const FRAMEWORK_OPTION_NAMES: readonly string[] = Object.freeze(['timeShift', 'since', 'until', 'start', 'maxBadFraction']);

const JOB_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const TYPES = new Set<string>(Object.values(SeriesType));

/** Validates and freezes a job definition; a mistake throws an error that names the job, the series and the fix. */
export function defineJob<Record, Options = { readonly [key: string]: string }>(
  definition: JobDefinition<Record, Options>,
): JobDefinition<Record, Options> {
  const job = definition.name;
  if (typeof job !== 'string' || !JOB_NAME.test(job)) {
    throw invalid(String(job), undefined, `job name ${JSON.stringify(job)} must match ${JOB_NAME} (lowercase letters, digits, '.', '_', '-')`);
  }
  if (typeof definition.process !== 'function') {
    throw invalid(job, undefined, 'process must be a function (record, emit, context) => void');
  }
  const families = Object.entries(definition.series ?? {});
  if (families.length === 0) throw invalid(job, undefined, 'declare at least one series family in `series`');
  for (const [family, decl] of families) validateSeries(job, family, decl);
  validateOptionNames(job, definition.optionNames);
  validateEventTimeField(job, definition);
  return Object.freeze({ ...definition });
}

function validateEventTimeField(job: string, definition: { eventTimeField?: string; eventTime?: unknown; fields?: readonly string[] }): void {
  const field = definition.eventTimeField;
  if (field === undefined) return;
  if (typeof field !== 'string' || field === '') throw invalid(job, undefined, `eventTimeField must be a field name, got ${JSON.stringify(field)}`);
  if (definition.eventTime === undefined) throw invalid(job, undefined, `eventTimeField ${JSON.stringify(field)} names the field of eventTime(record), which the job does not define`);
  if (definition.fields !== undefined && !definition.fields.includes(field)) {
    throw invalid(job, undefined, `eventTimeField ${JSON.stringify(field)} is not among fields; add it there, since columnar formats read only those`);
  }
}

function validateOptionNames(job: string, names: readonly string[] | undefined): void {
  if (names === undefined) return;
  if (!Array.isArray(names) || names.some((name) => typeof name !== 'string' || name === '' || name.includes('='))) {
    throw invalid(job, undefined, `optionNames must be an array of option keys (non-empty, without '='), got ${JSON.stringify(names)}`);
  }
  const framework = names.filter((name) => FRAMEWORK_OPTION_NAMES.includes(name));
  if (framework.length > 0) {
    throw invalid(job, undefined, `optionNames lists ${framework.join(', ')}, which the framework reads for every job; remove ${framework.length === 1 ? 'it' : 'them'}`);
  }
}

function validateSeries(job: string, family: string, decl: SeriesDecl): void {
  if (!TYPES.has(decl.type)) {
    throw invalid(job, family, `unknown type ${JSON.stringify(decl.type)}; use one of ${[...TYPES].join(', ')}`);
  }
  if (decl.prefix !== undefined && (typeof decl.prefix !== 'string' || decl.prefix.includes(' '))) {
    throw invalid(job, family, `prefix must be a string without spaces, got ${JSON.stringify(decl.prefix)}`);
  }
  if (decl.namePrefix !== undefined && typeof decl.namePrefix !== 'string') {
    throw invalid(job, family, `namePrefix must be a string, got ${JSON.stringify(decl.namePrefix)}`);
  }
  if (decl.value !== undefined && !['integer', 'float', 'string'].includes(decl.value)) {
    throw invalid(job, family, `value must be 'integer', 'float' or 'string', got ${JSON.stringify(decl.value)}`);
  }
  if (decl.type === SeriesType.COUNT && decl.value !== undefined && decl.value !== 'integer') {
    throw invalid(job, family, "a count must have value 'integer': kairos reads counts with int(), so a float count cannot be read back");
  }
  const intervals = Object.entries(decl.intervals ?? {});
  if (intervals.length === 0) throw invalid(job, family, "declare at least one interval, e.g. intervals: { minute: { step: 60 } }");
  for (const [interval, config] of intervals) {
    if (interval.includes(':')) throw invalid(job, family, `interval name ${JSON.stringify(interval)} must not contain ':' (kairos splits keys on it)`);
    if (config === null || typeof config !== 'object' || config.step === undefined) {
      throw invalid(job, family, `interval ${JSON.stringify(interval)} has no step; add e.g. { step: 60 } or { step: '1h' }`);
    }
    try {
      resolveStep(config.step);
      if (config.resolution !== undefined) resolveStep(config.resolution);
    } catch (error) {
      throw invalid(job, family, `interval ${JSON.stringify(interval)}: ${(error as Error).message}`, error);
    }
    if (config.steps !== undefined && (!Number.isInteger(config.steps) || config.steps <= 0)) {
      throw invalid(job, family, `interval ${JSON.stringify(interval)}: steps must be a positive integer, got ${JSON.stringify(config.steps)}`);
    }
  }
}

function invalid(job: string, series: string | undefined, fix: string, cause?: unknown): SluiceError {
  const where = series === undefined ? `job ${JSON.stringify(job)}` : `job ${JSON.stringify(job)}, series ${JSON.stringify(series)}`;
  return new SluiceError(ErrorCode.INVALID_DEFINITION, `${where}: ${fix}`, {
    context: { job, ...(series === undefined ? {} : { series }) },
    ...(cause === undefined ? {} : { cause }),
  });
}

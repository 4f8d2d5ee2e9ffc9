/**
 * Series declarations, in kairos's vocabulary: a family of metrics of one `type`, stored at one or
 * more intervals. Parsing and validation live here so a bad declaration fails when a job loads.
 */

/** kairos's five series types. */
export const SeriesType = {
  SERIES: 'series',
  HISTOGRAM: 'histogram',
  COUNT: 'count',
  GAUGE: 'gauge',
  SET: 'set',
} as const;

/** One of kairos's series types. */
export type SeriesType = (typeof SeriesType)[keyof typeof SeriesType];

/** A step or resolution as kairos accepts it: seconds, `'60'`, `'1h'`, `'2d'`, `'1w'`, `'1m'` (30 days), `'1y'`, or a calendar name. */
export type StepSpec = number | string;

/** One interval: bucket width, how many buckets to keep, optional finer resolution. */
export interface IntervalDecl {
  step: StepSpec;
  /** Buckets kept; writes older than this many buckets are skipped and counted as expired. */
  steps?: number;
  resolution?: StepSpec;
}

/** How emitted values are written: integer as `'3'`, float as Python `repr` (`'3.0'`), string as is. */
export type ValueKind = 'integer' | 'float' | 'string';

/** A series family declaration. */
export interface SeriesDecl {
  type: SeriesType;
  intervals: Readonly<Record<string, IntervalDecl>>;
  /** kairos key prefix; `':'` is appended when missing, as kairos does. */
  prefix?: string;
  /**
   * Put in front of every name emitted to this family: with `namePrefix: 'dns.queries.'`,
   * `emit('dns.queries', ip, 1, ts)` writes the metric `dns.queries.<ip>`. A processor that emits
   * only the varying part (a field of the record, the same string for several families) spares
   * the worker building and hashing a new name per emit, which was half its processing time.
   */
  namePrefix?: string;
  /** Encoding of values; defaults to `integer` for count, `string` otherwise. */
  value?: ValueKind;
}

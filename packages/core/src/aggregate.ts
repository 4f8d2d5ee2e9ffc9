/**
 * The unit of commit: a chunk of partial aggregates, one entry per Redis key, folded from the emits
 * of consecutive records of one split. A chunk is a pure function of (split, chunk sequence), which
 * is what lets a fenced commit apply it at most once and a retry recompute it identically.
 */
import type { SeriesType } from './series.ts';

/** Where an aggregate lands: series family, metric name, interval and buckets (kairos's key parts). */
export interface AggregateTarget {
  /** The series family (a key of the job's `series`). */
  series: string;
  /** The metric name passed to `emit`, e.g. `tls.responses.10.0.0.1`. */
  name: string;
  /** The interval name, e.g. `days`. */
  interval: string;
  /** The interval bucket (kairos `i_bucket`): `int(ts/step)` or e.g. `20140513` for Gregorian. */
  iBucket: number;
  /** The resolution bucket (kairos `r_bucket`) when the interval has a finer resolution. */
  rBucket?: number;
  /** How many emits were folded into this entry; counted as *expired* if the TTL rule drops it. */
  emits: number;
}

/** A count: the sum of the emitted values (kairos INCRBY). */
export interface CountAggregate extends AggregateTarget {
  type: 'count';
  /** Integer sum; counts are integers because kairos reads them with `int()`. */
  increment: number;
}

/** A histogram: per encoded value, how many times it was emitted (kairos HINCRBY value 1). */
export interface HistogramAggregate extends AggregateTarget {
  type: 'histogram';
  /** Encoded value (Python `str`/`repr` form) to count. */
  fields: Map<string, number>;
}

/** A set: the distinct encoded values (kairos SADD). */
export interface SetAggregate extends AggregateTarget {
  type: 'set';
  members: Set<string>;
}

/** A series: encoded values in source order (kairos RPUSH). */
export interface SeriesAggregate extends AggregateTarget {
  type: 'series';
  values: string[];
}

/**
 * A gauge: the value of the emit with the greatest event time, ties broken by the greater encoded
 * value in string order. Keeping the winning event time lets chunks merge in any order with the
 * same result, unlike kairos's last-write-wins.
 */
export interface GaugeAggregate extends AggregateTarget {
  type: 'gauge';
  value: string;
  /** Event time of the winning emit, epoch microseconds. */
  tsMicros: number;
}

/** Any partial aggregate. */
export type Aggregate = CountAggregate | HistogramAggregate | SetAggregate | SeriesAggregate | GaugeAggregate;

/** Compile-time check that aggregates cover every series type. */
export type AggregateType = Aggregate['type'] & SeriesType;

/** Statistics folded alongside the aggregates; committed in the same fenced write. */
export interface ChunkStats {
  /** Records read (good and bad). */
  records: number;
  /** Records that failed to decode or process (dead letters). */
  badRecords: number;
  /** Bytes of input consumed by this chunk. */
  bytes: number;
}

/** A dead letter: a record that could not be decoded or processed, with where it came from. */
export interface DeadLetter {
  /** File URL and byte offset, or `topic/partition@offset`. */
  provenance: string;
  /** Why it was rejected. */
  reason: string;
  /** The raw record, truncated for storage. */
  raw: string;
}

/** What one fenced commit applies. */
export interface Chunk {
  /** The split this chunk belongs to; fences are per (run, split). */
  splitId: string;
  /** 0-based position of this chunk within its split; commits of one split must be contiguous. */
  seq: number;
  /** Position in the input just after this chunk (byte offset or Kafka offset), to resume a retry. */
  resumeAt: number;
  /**
   * Position where this chunk starts: the `resumeAt` of the chunk before it. When given, the commit
   * applies only if the fence ended exactly there, so an attempt that cut its chunks elsewhere
   * than the one whose chunks were applied (input that changed between them) can never apply a
   * chunk that overlaps or skips records; it is refused as retryable and resumes at the fence.
   */
  startsAt?: number;
  /** Ordinal of the split in the run's input order, used to keep `series` lists in source order. */
  splitOrdinal: number;
  aggregates: Aggregate[];
  stats: ChunkStats;
  deadLetters: DeadLetter[];
}

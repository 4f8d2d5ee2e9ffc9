/**
 * How failed attempts are retried. A backfill split has a fixed number of attempts, then the run
 * reports it failed: the run ends either way. A live range has no end to wait for: a Kafka or Redis
 * outage of any length must not stall its partition for good, so a range retries retryable errors
 * for as long as it takes, with a capped backoff, as a Kafka consumer or a Flink job with a fixed-delay
 * restart strategy would. A non-retryable error still fails it at once.
 */
import type { BackoffOptions } from 'bullmq';

/** Attempts of a live range: unbounded in practice (BullMQ needs a number). */
export const RANGE_ATTEMPTS = 2 ** 31 - 1;

/** The backoff strategy named on range jobs; the consumer computes it with `cappedBackoffMs`. */
export const RANGE_BACKOFF: BackoffOptions = { type: 'sluice-capped-exponential' };

/** Delays of the capped backoff. */
export interface RetryDelays {
  /** Delay after the first failed attempt; doubles with each one. */
  baseMs: number;
  /** The delay never exceeds this. */
  maxMs: number;
}

/** What a range waits after failed attempts: 1 s, 2 s, 4 s, ... up to 30 s between attempts. */
export const DEFAULT_RANGE_RETRY_DELAYS: RetryDelays = { baseMs: 1000, maxMs: 30_000 };

/** Milliseconds to wait after `attemptsMade` failed attempts under a capped exponential backoff. */
export function cappedBackoffMs(attemptsMade: number, delays: RetryDelays): number {
  // 2 ** 40 already dwarfs any cap; bounding the exponent keeps the product finite.
  return Math.min(delays.maxMs, delays.baseMs * 2 ** Math.min(40, Math.max(0, attemptsMade - 1)));
}

/**
 * Exponential backoff with jitter, so that many workers retrying a restarted NameNode spread out
 * instead of arriving together.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SluiceError, coerceError } from '@sluice/core';

/** Bounds of the backoff between attempts. */
export interface BackoffOptions {
  /** Delay cap of the first retry, in ms; doubles with each retry. Default 200. */
  baseMs?: number;
  /** Largest delay, in ms. Default 5000. */
  maxMs?: number;
}

/** Options of `retryWithBackoff`. */
export interface RetryOptions {
  /** Retries after the first attempt; 0 tries once. */
  retries: number;
  backoff?: BackoffOptions;
  /** Whether a failure may be retried; the error's `retryable` flag is checked before it. */
  shouldRetry?: (error: SluiceError) => boolean;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (error: SluiceError, retry: number, delayMs: number) => void;
  /** Aborts the wait between attempts. */
  signal?: AbortSignal;
  /** Source of jitter in [0, 1); injectable for tests. */
  random?: () => number;
}

const DEFAULT_BASE_MS = 200;
const DEFAULT_MAX_MS = 5000;

/**
 * The delay before retry number `retry` (1-based): uniformly in [cap/2, cap) with
 * cap = min(maxMs, baseMs * 2^(retry-1)), so it grows exponentially yet never collapses to zero.
 */
export function computeBackoffMs(retry: number, backoff: BackoffOptions = {}, random: () => number = Math.random): number {
  const baseMs = backoff.baseMs ?? DEFAULT_BASE_MS;
  const maxMs = backoff.maxMs ?? DEFAULT_MAX_MS;
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Runs `attempt` until it succeeds, fails for good, or the retries are spent; throws the last error. */
export async function retryWithBackoff<T>(attempt: (retry: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await attempt(retry);
    } catch (thrown) {
      const error = coerceError(thrown);
      const again = retry < options.retries && error.retryable && (options.shouldRetry?.(error) ?? true);
      if (!again) throw retry === 0 ? error : withAttempts(error, retry + 1);
      const delayMs = computeBackoffMs(retry + 1, options.backoff, options.random);
      options.onRetry?.(error, retry + 1, delayMs);
      try {
        await sleep(delayMs, undefined, options.signal === undefined ? {} : { signal: options.signal });
      } catch (aborted) {
        throw new SluiceError(ErrorCode.CANCELLED, `cancelled while waiting to retry: ${error.message}`, {
          cause: aborted,
          context: error.context,
        });
      }
    }
  }
}

function withAttempts(error: SluiceError, attempts: number): SluiceError {
  return new SluiceError(error.code, `${error.message} (after ${attempts} attempts)`, {
    cause: error,
    retryable: error.retryable,
    context: { ...error.context, attempts },
  });
}

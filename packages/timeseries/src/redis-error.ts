/**
 * Converts what ioredis throws into SluiceErrors in one place: connection trouble is UNAVAILABLE
 * (retryable), an error reply from Redis is REMOTE (not retryable: the same command fails again).
 */
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { ChainableCommander } from 'ioredis';

const CONNECTION = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable|LOADING|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN/;

/** Wraps an ioredis failure; `what` says what was being done, `context` what it was done to. */
export function toStoreError(error: unknown, what: string, context: Readonly<Record<string, unknown>>): SluiceError {
  if (isSluiceError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const unavailable = CONNECTION.test(message) || (error instanceof Error && error.name === 'MaxRetriesPerRequestError');
  if (!unavailable && message.startsWith('OOM ')) {
    // Not retried: memory is freed by an operator, not by waiting a few seconds.
    return new SluiceError(
      ErrorCode.REMOTE,
      `${what}: Redis is out of memory (${message}); raise its maxmemory or free memory, then resubmit the run with the same flags to resume it (committed chunks are not written twice)`,
      { cause: error, context },
    );
  }
  return new SluiceError(unavailable ? ErrorCode.UNAVAILABLE : ErrorCode.REMOTE, `${what}: ${message}`, { cause: error, context });
}

/** Unwraps an ioredis pipeline result, throwing the first command error. */
export function unwrapPipeline(results: [Error | null, unknown][] | null, what: string, context: Readonly<Record<string, unknown>>): unknown[] {
  if (results === null) throw new SluiceError(ErrorCode.UNAVAILABLE, `${what}: the pipeline was discarded`, { context });
  return results.map(([error, value]) => {
    if (error !== null) throw toStoreError(error, what, context);
    return value;
  });
}

/** Executes a pipeline and unwraps its results; any failure becomes a SluiceError. */
export async function execPipeline(pipe: ChainableCommander, what: string, context: Readonly<Record<string, unknown>>): Promise<unknown[]> {
  let results: [Error | null, unknown][] | null;
  try {
    results = await pipe.exec();
  } catch (error) {
    throw toStoreError(error, what, context);
  }
  return unwrapPipeline(results, what, context);
}

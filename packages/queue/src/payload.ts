/**
 * Job payloads cross process boundaries as JSON; a version field lets a worker refuse a payload
 * it does not understand instead of misreading it: an older one's is malformed, a newer one's
 * means the worker itself must be upgraded.
 */
import { ErrorCode, SluiceError } from '@sluice/core';

/** Current payload format version. */
export const PAYLOAD_VERSION = 1;

/** Work for one split of a run: which job, which input bytes, which options. */
export interface SplitPayload {
  v: typeof PAYLOAD_VERSION;
  runId: string;
  job: string;
  /** Stable id within the run; the fence key of exactly-once commits. */
  splitId: string;
  /** Position of the split in the run's input order. */
  ordinal: number;
  /** Input URL (`webhdfs://`, `file://`, `kafka://topic/partition`). */
  url: string;
  format: string;
  compression: string;
  /** Byte offset for text files, row index for Parquet, Kafka offset for ranges (inclusive). */
  start: number;
  /** Exclusive end, in the same unit as `start`. */
  end: number;
  options: Readonly<Record<string, string>>;
}

/**
 * Checks an incoming payload and returns it typed; a malformed one is a non-retryable error, and
 * one of a newer payload version is OUTDATED.
 */
export function decodeSplitPayload(data: unknown): SplitPayload {
  const p = data as Partial<SplitPayload> | null;
  if (p === null || typeof p !== 'object') throw malformed('payload is not an object', data);
  if (typeof p.v === 'number' && Number.isSafeInteger(p.v) && p.v > PAYLOAD_VERSION) {
    // Written by a newer coordinator: not a bad split, so it must not fail; an upgraded worker runs it.
    throw new SluiceError(ErrorCode.OUTDATED, `split payload version ${p.v} is newer than this worker's ${PAYLOAD_VERSION}: upgrade the worker`, {
      retryable: false,
      context: { payloadVersion: p.v, workerVersion: PAYLOAD_VERSION, runId: typeof p.runId === 'string' ? p.runId : undefined },
    });
  }
  if (p.v !== PAYLOAD_VERSION) throw malformed(`payload version ${String(p.v)} is not ${PAYLOAD_VERSION}`, data);
  for (const field of ['runId', 'job', 'splitId', 'url', 'format', 'compression'] as const) {
    if (typeof p[field] !== 'string' || p[field] === '') throw malformed(`field ${field} must be a non-empty string`, data);
  }
  for (const field of ['ordinal', 'start', 'end'] as const) {
    if (!Number.isSafeInteger(p[field]) || (p[field] as number) < 0) throw malformed(`field ${field} must be a non-negative integer`, data);
  }
  if (p.options === null || typeof p.options !== 'object') throw malformed('field options must be an object', data);
  return p as SplitPayload;
}

function malformed(reason: string, data: unknown): SluiceError {
  return new SluiceError(ErrorCode.INVALID_CONFIG, `malformed split payload: ${reason}`, {
    retryable: false,
    context: { payload: JSON.stringify(data).slice(0, 500) },
  });
}

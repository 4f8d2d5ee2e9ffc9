/**
 * What a range reader does about a partition-level error in a fetch response. Kept pure so that
 * every branch, in particular the retention gap, is tested without provoking it on a broker.
 */
import { nameKafkaErrorCode } from './kafka-error.ts';

/** The reader's reaction to a partition error code. */
export const FetchErrorAction = {
  /** The fetch position is outside the log: ask for the log bounds, then `classifyOutOfRange`. */
  CHECK_BOUNDS: 'check-bounds',
  /** Leadership moved or the replica is not ready: refresh metadata, back off, retry (bounded). */
  REFRESH_AND_RETRY: 'refresh-and-retry',
  /** The topic or partition does not exist (it may appear right after creation: retried first). */
  NOT_FOUND: 'not-found',
  /** We may not read the topic. */
  DENIED: 'denied',
  /** Anything else; not retried here. */
  FAIL: 'fail',
} as const;

/** Union of the reactions. */
export type FetchErrorAction = (typeof FetchErrorAction)[keyof typeof FetchErrorAction];

const REFRESH = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'REPLICA_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'OFFSET_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'CORRUPT_MESSAGE',
  'FETCH_SESSION_ID_NOT_FOUND',
  'INVALID_FETCH_SESSION_EPOCH',
  'FETCH_SESSION_TOPIC_ID_ERROR',
  'INCONSISTENT_TOPIC_ID',
  'THROTTLING_QUOTA_EXCEEDED',
]);

/** Maps a partition error code of a Fetch response to the reader's reaction. */
export function classifyFetchError(errorCode: number): FetchErrorAction {
  const name = nameKafkaErrorCode(errorCode);
  if (name === 'OFFSET_OUT_OF_RANGE') return FetchErrorAction.CHECK_BOUNDS;
  if (REFRESH.has(name)) return FetchErrorAction.REFRESH_AND_RETRY;
  if (name === 'UNKNOWN_TOPIC_OR_PARTITION' || name === 'UNKNOWN_TOPIC_ID') return FetchErrorAction.NOT_FOUND;
  if (name === 'TOPIC_AUTHORIZATION_FAILED' || name === 'CLUSTER_AUTHORIZATION_FAILED') return FetchErrorAction.DENIED;
  return FetchErrorAction.FAIL;
}

/** Where an out-of-range fetch position lies relative to the partition's log. */
export const OutOfRange = {
  /** Below the log start offset: retention or `deleteRecords` removed records the range needs. */
  GAP: 'gap',
  /** Past the high watermark: the records are not written yet; wait for them. */
  AHEAD: 'ahead',
  /** Inside the log after all (the bounds moved between the two requests): fetch again. */
  INSIDE: 'inside',
} as const;

/** Union of the out-of-range cases. */
export type OutOfRange = (typeof OutOfRange)[keyof typeof OutOfRange];

/** Log bounds of one partition, as ListOffsets reports them. */
export interface LogBounds {
  logStartOffset: number;
  highWatermark: number;
}

/**
 * Classifies a position the broker called out of range. The Fetch response cannot tell us which
 * side (it reports the bounds as -1 with this error), so the reader asks ListOffsets first.
 */
export function classifyOutOfRange(position: number, bounds: LogBounds): OutOfRange {
  if (position < bounds.logStartOffset) return OutOfRange.GAP;
  if (position > bounds.highWatermark) return OutOfRange.AHEAD;
  return OutOfRange.INSIDE;
}

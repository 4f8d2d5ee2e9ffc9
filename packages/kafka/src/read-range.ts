/**
 * Reads exactly the records with offsets in `[from, until)` of one partition, from its leader,
 * without a consumer group: no JoinGroup, SyncGroup, Heartbeat or OffsetCommit ever leaves this
 * process, because a range job's position lives in Redis and the coordinator, not in Kafka. Only
 * Metadata, ApiVersions, Fetch and ListOffsets requests are sent.
 *
 * Reads are READ_COMMITTED: records of aborted transactions and control records are dropped, and a
 * read waits at the last stable offset while a transaction is open.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import { FetchErrorAction, OutOfRange, classifyFetchError, classifyOutOfRange } from './classify-fetch-error.ts';
import type { ClientInternals } from './client.ts';
import { convertKafkaError, nameKafkaErrorCode } from './kafka-error.ts';
import { checkKafkaSource, openKafkaSource } from './kafka-source.ts';
import type { KafkaSource } from './kafka-source.ts';
import { readLogBounds } from './list-offsets.ts';
import type { PartitionFetchResult } from './node-fetcher.ts';
import { invalidOption, requireInteger, requireOffset, requireTopic } from './options.ts';
import { trimBatches } from './trim-batches.ts';
import type { RangeBatch } from './trim-batches.ts';

/** Options of `readRange`. */
export type ReadRangeOptions = KafkaSource & {
  topic: string;
  partition: number;
  /** First offset of the range (inclusive). */
  from: number;
  /** End of the range (exclusive); may lie beyond the high watermark, then the read waits. */
  until: number;
  /** Bytes per fetch of this partition (a batch larger than this still comes whole); default 1 MiB. */
  maxBytes?: number;
  /** How long the broker holds a fetch that has no data yet; default 500 ms, at most 20,000. */
  maxWaitMs?: number;
  /** Attempts after a leader change or network failure before UNAVAILABLE; default 8. */
  retries?: number;
  /**
   * How long a position past the partition's end is waited for (default 30,000 ms) before
   * OFFSET_REWOUND: a range planned below the end finding itself past it means the offsets went back.
   */
  aheadTimeoutMs?: number;
  /** Stops the read: CANCELLED, or TIMEOUT when the reason is a TimeoutError (`AbortSignal.timeout`). */
  signal?: AbortSignal;
};

/** A validated range read. */
export interface RangePlan {
  topic: string;
  partition: number;
  from: number;
  until: number;
  maxBytes: number;
  maxWaitMs: number;
  retries: number;
  aheadTimeoutMs: number;
  signal?: AbortSignal;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_MAX_WAIT_MS = 500;
const DEFAULT_RETRIES = 8;
const DEFAULT_AHEAD_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 2_000;

/**
 * Yields the records of `[from, until)` in offset order, in batches of one fetch each, and ends
 * after the last one. Offsets missing from the log (compaction) are skipped, not waited for.
 * Throws OFFSET_GAP when records of the range were deleted (below the log start offset), and
 * checks the options before returning, so bad options throw at the call.
 *
 * Records reference the fetch response's memory: copy a key or value that outlives the batch.
 */
export function readRange(options: ReadRangeOptions): AsyncGenerator<RangeBatch, void, undefined> {
  const plan = planRangeRead(options);
  checkKafkaSource(options);
  return (async function* read() {
    const lease = openKafkaSource(options);
    try {
      yield* iterateRange(lease.internals, plan);
    } finally {
      await lease.release();
    }
  })();
}

/** Checks the options of `readRange`; each failure is INVALID_CONFIG naming the option. */
export function planRangeRead(options: ReadRangeOptions): RangePlan {
  const topic = requireTopic(options.topic);
  const partition = requireInteger(options.partition, 'partition', 0, 2 ** 31 - 1);
  const from = requireOffset(options.from, 'from');
  const until = requireOffset(options.until, 'until');
  if (until < from) throw invalidOption('until', until, `at least from (${from})`);
  const plan: RangePlan = {
    topic,
    partition,
    from,
    until,
    maxBytes: requireInteger(options.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes', 1, 2 ** 31 - 1),
    maxWaitMs: requireInteger(options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, 'maxWaitMs', 0, 20_000),
    retries: requireInteger(options.retries ?? DEFAULT_RETRIES, 'retries', 0, 1_000),
    aheadTimeoutMs: requireInteger(options.aheadTimeoutMs ?? DEFAULT_AHEAD_TIMEOUT_MS, 'aheadTimeoutMs', 0, 24 * 3600 * 1000),
  };
  if (options.signal !== undefined) {
    if (!(options.signal instanceof AbortSignal)) throw invalidOption('signal', options.signal, 'an AbortSignal');
    plan.signal = options.signal;
  }
  return plan;
}

/** The read loop over a client's internals (a fake in unit tests). */
export async function* iterateRange(internals: ClientInternals, plan: RangePlan): AsyncGenerator<RangeBatch, void, undefined> {
  const { topic, partition, until, signal } = plan;
  let position = plan.from;
  let failures = 0;
  let refresh = false;
  // Since when the position has been past the partition's end, without progress in between.
  let aheadSince: number | undefined;
  const context = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    topic,
    partition,
    from: plan.from,
    until,
    position,
    brokers: internals.brokers,
    ...extra,
  });

  /** Counts a failed attempt and waits before the next; throws `error` once the retries are spent. */
  async function retryAfter(error: SluiceError): Promise<void> {
    if (failures >= plan.retries) throw error;
    failures++;
    refresh = true;
    internals.invalidate();
    await pause(Math.min(MAX_BACKOFF_MS, 100 * 2 ** (failures - 1)), plan, context);
  }

  while (position < until) {
    throwIfAborted(plan, context);
    let result: PartitionFetchResult;
    try {
      const location = await internals.locate(topic, partition, refresh);
      refresh = false;
      result = await internals.fetch(location, { offset: position, maxBytes: plan.maxBytes, maxWaitMs: plan.maxWaitMs }, signal);
    } catch (error) {
      throwIfAborted(plan, context);
      const converted = convertKafkaError(error, `cannot fetch ${topic}/${partition} at offset ${position}`, context());
      if (!converted.retryable) throw converted;
      await retryAfter(converted);
      continue;
    }

    if (result.errorCode !== 0) {
      const kafkaError = nameKafkaErrorCode(result.errorCode);
      const action = classifyFetchError(result.errorCode);
      if (action === FetchErrorAction.CHECK_BOUNDS) {
        const bounds = await readLogBounds(internals, topic, partition);
        const where = classifyOutOfRange(position, bounds);
        if (where === OutOfRange.GAP) {
          throw new SluiceError(
            ErrorCode.OFFSET_GAP,
            `records [${position}, ${bounds.logStartOffset}) of ${topic}/${partition} were deleted before range [${plan.from}, ${until}) read them`,
            { context: context({ logStartOffset: bounds.logStartOffset, highWatermark: bounds.highWatermark }) },
          );
        }
        if (where === OutOfRange.AHEAD) {
          aheadSince ??= Date.now();
          const waited = Date.now() - aheadSince;
          if (waited >= plan.aheadTimeoutMs) {
            throw new SluiceError(
              ErrorCode.OFFSET_REWOUND,
              `offset ${position} of ${topic}/${partition} has been past the partition's end (${bounds.highWatermark}) for ${Math.round(waited / 1000)} s: ` +
                'the offsets went back (the topic was deleted and re-created, or its log truncated by an unclean leader election), so the records this range was planned over are gone',
              { retryable: false, context: context({ logStartOffset: bounds.logStartOffset, highWatermark: bounds.highWatermark, waitedMs: waited }) },
            );
          }
          // Past the high watermark the broker refuses to long-poll; wait as long as it would have.
          await pause(plan.maxWaitMs, plan, context);
          continue;
        }
        aheadSince = undefined;
        await retryAfter(unavailable(`offset ${position} of ${topic}/${partition} was out of range, then in range`, context({ kafkaError, ...bounds })));
        continue;
      }
      if (action === FetchErrorAction.REFRESH_AND_RETRY) {
        await retryAfter(unavailable(`fetching ${topic}/${partition} failed with ${kafkaError}`, context({ kafkaError })));
        continue;
      }
      if (action === FetchErrorAction.NOT_FOUND) {
        // Right after a topic is created its partitions may be unknown to the leader for a moment.
        const missing = new SluiceError(ErrorCode.NOT_FOUND, `${topic}/${partition} does not exist (${kafkaError})`, {
          retryable: false,
          context: context({ kafkaError }),
        });
        await retryAfter(missing);
        continue;
      }
      const code = action === FetchErrorAction.DENIED ? ErrorCode.PERMISSION_DENIED : ErrorCode.REMOTE;
      throw new SluiceError(code, `fetching ${topic}/${partition} failed with ${kafkaError}`, { retryable: false, context: context({ kafkaError }) });
    }

    aheadSince = undefined;
    const { records, nextOffset } = trimBatches(result.batches, { position, until, abortedTransactions: result.abortedTransactions });
    if (nextOffset > position) {
      failures = 0;
      position = nextOffset;
    } else if (result.batches.length > 0 || result.lastStableOffset > position) {
      // Data below the stable offset that did not move the position: retry, but never spin.
      await retryAfter(unavailable(`fetching ${topic}/${partition} at ${position} made no progress`, context({ lastStableOffset: result.lastStableOffset })));
    }
    if (records.length > 0) yield { records };
  }
}

function unavailable(message: string, context: Record<string, unknown>): SluiceError {
  return new SluiceError(ErrorCode.UNAVAILABLE, message, { context });
}

function throwIfAborted(plan: RangePlan, context: () => Record<string, unknown>): void {
  const signal = plan.signal;
  if (signal === undefined || !signal.aborted) return;
  const reason: unknown = signal.reason;
  if (isSluiceError(reason)) throw reason;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  throw new SluiceError(
    timedOut ? ErrorCode.TIMEOUT : ErrorCode.CANCELLED,
    `range read of ${plan.topic}/${plan.partition} ${timedOut ? 'timed out' : 'was cancelled'}`,
    { cause: reason, retryable: timedOut, context: context() },
  );
}

async function pause(ms: number, plan: RangePlan, context: () => Record<string, unknown>): Promise<void> {
  try {
    await sleep(ms, undefined, plan.signal === undefined ? undefined : { signal: plan.signal });
  } catch (error) {
    throwIfAborted(plan, context);
    throw error;
  }
}

/**
 * The producer side of the splits queue. Splits are enqueued in bounded chunks with `addBulk` so
 * that a run of 100,000 splits neither builds one huge Redis command nor one job at a time.
 */
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { ConnectionOptions, JobsOptions } from 'bullmq';
import type { SplitPayload } from './payload.ts';
import { DEFAULT_QUEUE_PREFIX, QueueKind, queueName } from './names.ts';
import { RANGE_ATTEMPTS, RANGE_BACKOFF } from './retry-policy.ts';

/** Options of `createSplitQueue`. */
export interface SplitQueueOptions {
  connection: ConnectionOptions;
  /** Which queue: backfill splits (default) or live Kafka ranges. */
  kind?: QueueKind;
  /** Namespace for queue names; tests pass a unique one. */
  namespace?: string;
  prefix?: string;
  /** Jobs per `addBulk` call. */
  bulkSize?: number;
  /** Attempts per backfill split before the run marks it failed; live ranges retry until they succeed (`retry-policy.ts`). */
  attempts?: number;
  /** Errors of the queue's own Redis connections (BullMQ retries them); without it BullMQ prints each one. */
  onError?: (error: Error) => void;
}

/** A queue of split jobs. */
export interface SplitQueue {
  readonly queue: Queue<SplitPayload>;
  /** Enqueues splits under deterministic job ids (`splitJobId`), so enqueuing twice is a no-op. */
  enqueue(splits: readonly SplitPayload[]): Promise<number>;
  close(): Promise<void>;
}

/** Opens the splits queue; the caller owns it and must `close()` it. */
export function createSplitQueue(options: SplitQueueOptions): SplitQueue {
  const queue = new Queue<SplitPayload>(queueName(options.kind ?? QueueKind.SPLITS, options.namespace), {
    connection: options.connection,
    prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
  });
  const onError = options.onError;
  if (onError !== undefined) queue.on('error', onError);
  const bulkSize = options.bulkSize ?? 1000;
  const ranges = options.kind === QueueKind.RANGES;
  const jobOptions: JobsOptions = {
    attempts: ranges ? RANGE_ATTEMPTS : (options.attempts ?? 5),
    backoff: ranges ? RANGE_BACKOFF : { type: 'exponential', delay: 1000 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 10000 },
  };
  return {
    queue,
    async enqueue(splits) {
      for (let i = 0; i < splits.length; i += bulkSize) {
        const slice = splits.slice(i, i + bulkSize);
        await queue.addBulk(
          slice.map((data) => ({ name: data.job, data, opts: { ...jobOptions, jobId: splitJobId(data.runId, data.splitId) } })),
        );
      }
      return splits.length;
    },
    async close() {
      await queue.close();
    },
  };
}

/** What `removePendingJobs` did. */
export interface PendingRemoval {
  removed: number;
  /** Jobs a worker took between the listing and their removal: left to it (it skips a cancelled run). */
  taken: number;
}

/**
 * Removes a run's jobs that no worker holds (waiting, delayed, prioritized). A job a worker locked
 * in the meantime is counted as taken, not removed; any other failure is thrown.
 */
export async function removePendingJobs(splits: SplitQueue, runId: string): Promise<PendingRemoval> {
  const pending = await splits.queue.getJobs(['waiting', 'delayed', 'prioritized', 'waiting-children'], 0, -1);
  const outcome: PendingRemoval = { removed: 0, taken: 0 };
  for (const job of pending) {
    if (job.data.runId !== runId) continue;
    try {
      await job.remove();
      outcome.removed += 1;
    } catch (error) {
      // BullMQ's only word for a job locked by a worker is this message.
      if (!(error instanceof Error && /could not be removed because it is locked/.test(error.message))) throw error;
      outcome.taken += 1;
    }
  }
  return outcome;
}

/**
 * The BullMQ job id of a split: stable across resubmissions of the run, and free of ':' (which
 * BullMQ refuses in custom ids) whatever the split id (a URL and byte range) contains.
 */
export function splitJobId(runId: string, splitId: string): string {
  return `${runId}.${createHash('sha256').update(splitId).digest('hex').slice(0, 24)}`;
}

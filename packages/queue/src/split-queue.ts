/**
 * The producer side of the splits queue. Splits are enqueued in bounded chunks with `addBulk` so
 * that a run of 100,000 splits neither builds one huge Redis command nor one job at a time.
 */
import { Queue } from 'bullmq';
import type { ConnectionOptions, JobsOptions } from 'bullmq';
import type { SplitPayload } from './payload.ts';
import { DEFAULT_QUEUE_PREFIX, QueueKind, queueName } from './names.ts';

/** Options of `createSplitQueue`. */
export interface SplitQueueOptions {
  connection: ConnectionOptions;
  /** Namespace for queue names; tests pass a unique one. */
  namespace?: string;
  prefix?: string;
  /** Jobs per `addBulk` call. */
  bulkSize?: number;
  /** Attempts per split before the run marks it failed. */
  attempts?: number;
}

/** A queue of split jobs. */
export interface SplitQueue {
  readonly queue: Queue<SplitPayload>;
  /** Enqueues splits; the BullMQ job id is `${runId}:${splitId}`, so enqueuing twice is a no-op. */
  enqueue(splits: readonly SplitPayload[]): Promise<number>;
  close(): Promise<void>;
}

/** Opens the splits queue; the caller owns it and must `close()` it. */
export function createSplitQueue(options: SplitQueueOptions): SplitQueue {
  const queue = new Queue<SplitPayload>(queueName(QueueKind.SPLITS, options.namespace), {
    connection: options.connection,
    prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
  });
  const bulkSize = options.bulkSize ?? 1000;
  const jobOptions: JobsOptions = {
    attempts: options.attempts ?? 5,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 10000 },
  };
  return {
    queue,
    async enqueue(splits) {
      for (let i = 0; i < splits.length; i += bulkSize) {
        const slice = splits.slice(i, i + bulkSize);
        await queue.addBulk(
          slice.map((data) => ({ name: data.job, data, opts: { ...jobOptions, jobId: `${data.runId}:${data.splitId}` } })),
        );
      }
      return splits.length;
    },
    async close() {
      await queue.close();
    },
  };
}

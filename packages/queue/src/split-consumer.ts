/**
 * The consumer side of the splits queue: a BullMQ Worker that hands decoded payloads to a
 * processor, converts Sluice errors into BullMQ's retry decisions in one place, and drains within a
 * bounded time on shutdown.
 */
import { UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { ErrorCode, SluiceError, coerceError } from '@sluice/core';
import type { SerializedError } from '@sluice/core';
import { DEFAULT_QUEUE_PREFIX, QueueKind, queueName } from './names.ts';
import { decodeSplitPayload } from './payload.ts';
import type { SplitPayload } from './payload.ts';

/** What the processor gets besides the payload. */
export interface SplitContext {
  /** Aborted when the consumer must release the split (shutdown past its drain time). */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** Whether no retry follows if this attempt fails. */
  finalAttempt: boolean;
}

/** Options of `createSplitConsumer`. */
export interface SplitConsumerOptions<R> {
  connection: ConnectionOptions;
  /** Which queue to consume: backfill splits (default) or live Kafka ranges. */
  kind?: QueueKind;
  namespace?: string;
  prefix?: string;
  concurrency?: number;
  /** How long a split's lock lives without renewal; a killed worker's split is retried after it. */
  lockDurationMs?: number;
  /** How often stalled splits (of dead workers) are looked for. */
  stalledIntervalMs?: number;
  process: (payload: SplitPayload, context: SplitContext) => Promise<R>;
  /** Called when a split failed for good (non-retryable error, or its last attempt). */
  onFinalFailure?: (payload: SplitPayload, error: SerializedError, attempts: number) => Promise<void> | void;
}

/** A running consumer. */
export interface SplitConsumer {
  /** Stops taking splits, waits up to `drainMs` for running ones, then aborts them so they are retried elsewhere. */
  close(drainMs?: number): Promise<void>;
  readonly worker: Worker<SplitPayload, Result>;
}
type Result = unknown;

/** Starts consuming splits. */
export function createSplitConsumer<R>(options: SplitConsumerOptions<R>): SplitConsumer {
  const aborts = new Set<AbortController>();
  const released = new SluiceError(ErrorCode.CANCELLED, 'worker shutting down: split released for retry', { retryable: true });
  const worker = new Worker<SplitPayload, Result>(
    queueName(options.kind ?? QueueKind.SPLITS, options.namespace),
    async (job: Job<SplitPayload>, token?: string) => {
      const controller = new AbortController();
      aborts.add(controller);
      const attempts = job.opts.attempts ?? 1;
      try {
        const payload = decodeSplitPayload(job.data);
        return await options.process(payload, {
          signal: controller.signal,
          attempt: job.attemptsMade + 1,
          finalAttempt: job.attemptsMade + 1 >= attempts,
        });
      } catch (error) {
        if (controller.signal.reason === released) {
          // A shutdown is not the split's failure: back to the head of the queue, no attempt spent,
          // so even a split on its last attempt is run by another worker instead of failing.
          await job.moveToWait(token);
          throw new WaitingError();
        }
        const failure = coerceError(error);
        if (job.attemptsMade + 1 >= attempts || !failure.retryable) {
          await options.onFinalFailure?.(job.data, failure.toJSON(), job.attemptsMade + 1);
        }
        // BullMQ retries anything but UnrecoverableError; a non-retryable Sluice error must not burn attempts.
        if (!failure.retryable) throw new UnrecoverableError(`[${failure.code}] ${failure.message}`);
        throw new Error(`[${failure.code}] ${failure.message}`, { cause: error });
      } finally {
        aborts.delete(controller);
      }
    },
    {
      connection: options.connection,
      prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 15_000,
      // A split may be interrupted by several worker crashes; exactly-once commits make reruns safe.
      maxStalledCount: 20,
    },
  );
  return {
    worker,
    async close(drainMs = 30_000) {
      const closing = worker.close();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), drainMs);
      });
      const outcome = await Promise.race([closing.then(() => 'closed' as const), deadline]);
      if (timer !== undefined) clearTimeout(timer);
      if (outcome === 'timeout') {
        for (const controller of aborts) controller.abort(released);
        await closing;
      }
    },
  };
}

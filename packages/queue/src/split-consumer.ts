/**
 * The consumer side of the splits queue: a BullMQ Worker that hands decoded payloads to a
 * processor, converts Sluice errors into BullMQ's retry decisions in one place, and drains within a
 * bounded time on shutdown.
 */
import { UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { ErrorCode, SluiceError, coerceError, settledWithin } from '@sluice/core';
import type { SerializedError } from '@sluice/core';
import { DEFAULT_QUEUE_PREFIX, QueueKind, queueName } from './names.ts';
import { decodeSplitPayload } from './payload.ts';
import type { SplitPayload } from './payload.ts';
import { DEFAULT_RANGE_RETRY_DELAYS, RANGE_BACKOFF, cappedBackoffMs } from './retry-policy.ts';
import type { RetryDelays } from './retry-policy.ts';

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
  /** Called after every failed attempt (before `onFinalFailure` on the last): where an operator sees retries. */
  onAttemptFailed?: (payload: SplitPayload, error: SerializedError, attempt: number, willRetry: boolean) => void;
  /** Errors of the queue's own Redis connections (BullMQ retries them); without it BullMQ prints each one. */
  onError?: (error: Error) => void;
  /** Backoff between the attempts of a live range (default 1 s doubling to at most 30 s). */
  rangeRetryDelays?: RetryDelays;
  /**
   * Called once, on the first OUTDATED error (a payload or a run of a newer version): the split
   * went back to the queue with no attempt spent, and the consumer takes no more splits. Upgrade
   * the process; a caller usually closes the consumer and exits.
   */
  onOutdated?: (error: SluiceError) => void;
}

/** A running consumer. */
export interface SplitConsumer {
  /**
   * Stops taking splits, waits up to `drainMs` for running ones, then aborts them so they are
   * retried elsewhere. Fails with TIMEOUT if BullMQ then does not close within 10 s.
   */
  close(drainMs?: number): Promise<void>;
  readonly worker: Worker<SplitPayload, Result>;
}
type Result = unknown;

/** How long aborted splits get to hand their jobs back after the drain time. */
const RELEASE_GRACE_MS = 5000;
/** How long BullMQ's close may take once no split runs. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Starts consuming splits. */
export function createSplitConsumer<R>(options: SplitConsumerOptions<R>): SplitConsumer {
  const aborts = new Set<AbortController>();
  const rangeRetryDelays = options.rangeRetryDelays ?? DEFAULT_RANGE_RETRY_DELAYS;
  const released = new SluiceError(ErrorCode.CANCELLED, 'worker shutting down: split released for retry', { retryable: true });
  let releasing = false;
  let outdated: SluiceError | undefined;
  // Jobs BullMQ has taken ('active' is emitted a few ticks before the processor is called) and
  // whose processor has not finished: what the drain and the release wait for.
  const taken = new Set<string>();
  let idleWaiters: Array<() => void> = [];
  const untaken = (id: string | undefined): void => {
    taken.delete(id ?? '');
    if (taken.size > 0) return;
    for (const wake of idleWaiters) wake();
    idleWaiters = [];
  };
  const idle = (): Promise<void> => (taken.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)));
  const worker = new Worker<SplitPayload, Result>(
    queueName(options.kind ?? QueueKind.SPLITS, options.namespace),
    async (job: Job<SplitPayload>, token?: string) => {
      const controller = new AbortController();
      // Taken by BullMQ after the drain time ran out: released before any work is done.
      if (releasing) controller.abort(released);
      aborts.add(controller);
      const attempts = job.opts.attempts ?? 1;
      try {
        controller.signal.throwIfAborted();
        // A split taken once this process knew it is outdated (in the few ticks before the pause
        // took effect, or after anything resumed the worker) goes back like the first, unrun.
        if (outdated !== undefined) throw outdated;
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
        if (failure.code === ErrorCode.OUTDATED) {
          // Not the split's failure either: this process is older than the run. It stops taking
          // splits first (paused without waiting, since this very split is one of the active
          // ones; again if something resumed it), then hands this one back with no attempt spent,
          // for an upgraded worker.
          if (!worker.isPaused()) {
            // Reported as BullMQ reports its own errors: to onError, or printed without one.
            worker.pause(true).catch((pauseError: unknown) => worker.emit('error', coerceError(pauseError)));
          }
          if (outdated === undefined) {
            outdated = failure;
            options.onOutdated?.(failure);
          }
          try {
            await job.moveToWait(token);
          } catch (moveError) {
            // Still no attempt spent: the job stays active until its lock expires, and the stalled
            // check then puts it back in the queue.
            worker.emit('error', coerceError(moveError));
          }
          throw new WaitingError();
        }
        const final = job.attemptsMade + 1 >= attempts || !failure.retryable;
        options.onAttemptFailed?.(job.data, failure.toJSON(), job.attemptsMade + 1, !final);
        if (final) await options.onFinalFailure?.(job.data, failure.toJSON(), job.attemptsMade + 1);
        // BullMQ retries anything but UnrecoverableError; a non-retryable Sluice error must not burn attempts.
        if (!failure.retryable) throw new UnrecoverableError(`[${failure.code}] ${failure.message}`);
        throw new Error(`[${failure.code}] ${failure.message}`, { cause: error });
      } finally {
        aborts.delete(controller);
        untaken(job.id);
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
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) => {
          if (type === RANGE_BACKOFF.type) return cappedBackoffMs(attemptsMade, rangeRetryDelays);
          throw new SluiceError(ErrorCode.INTERNAL, `no backoff strategy ${String(type)}`, { context: { type } });
        },
      },
    },
  );
  worker.on('active', (job) => taken.add(job.id ?? ''));
  // A job BullMQ fails before calling the processor (a deferred failure) is not taken either.
  worker.on('failed', (job) => untaken(job?.id));
  const onError = options.onError;
  if (onError !== undefined) worker.on('error', onError);
  return {
    worker,
    async close(drainMs = 30_000) {
      const closing = worker.close();
      // Taken splits get the drain time, then are aborted (released for retry) and get a little
      // more to hand their jobs back. Taken, not merely running: BullMQ may have taken a split whose
      // processor starts only a few ticks later, and its close waits for that one too. Not BullMQ's
      // close itself either: with Redis away it never settles, and the drain would always be spent.
      const drained = await settledWithin(Promise.race([closing, idle()]), drainMs);
      // Past this point a split BullMQ still starts (a fetch in flight) is released at once.
      releasing = true;
      if (!drained) {
        for (const controller of aborts) controller.abort(released);
        await settledWithin(idle(), RELEASE_GRACE_MS);
      }
      // BullMQ's own close can wait forever on a connection left reconnecting after a Redis outage
      // (taskforcesh/bullmq#4656): bounded, so a stopping worker always stops.
      if (!(await settledWithin(closing, CLOSE_TIMEOUT_MS))) {
        throw new SluiceError(ErrorCode.TIMEOUT, `the queue did not close within ${CLOSE_TIMEOUT_MS} ms of releasing its splits (a split ignoring its abort signal, or a Redis connection left reconnecting); splits not handed back are retried once their locks expire`, {
          retryable: false,
          context: { queue: worker.name, timeoutMs: CLOSE_TIMEOUT_MS },
        });
      }
      // Settled by now: this only passes on a failure of BullMQ's close.
      await closing;
    },
  };
}

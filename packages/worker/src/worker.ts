/**
 * A Sluice worker: any number of them, anywhere, each running any split of any registered job.
 * Workers hold no state: what a split has committed lives in Redis behind its fence, so a worker
 * can be killed at any instant and the split resumes elsewhere without double counting.
 */
import type { Redis } from 'ioredis';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { JobDefinition, RangeReader, SerializedError } from '@sluice/core';
import { RunState, createRunStore } from '@sluice/control';
import { QueueKind, createSplitConsumer } from '@sluice/queue';
import type { SplitConsumer, SplitPayload } from '@sluice/queue';
import { SPLIT_DONE, loadJob, resolveRunOptions, runSplit, runSplitsTogether } from '@sluice/runtime';
import type { CommitTarget, RunSplitOptions, SplitResult, SplitTask, TogetherShare } from '@sluice/runtime';
import type { RecordBatch, SplitCompression, SplitFormat } from '@sluice/formats';

/** Options of `createWorker`. */
export interface WorkerOptions {
  /** Connection for the queue (BullMQ needs `maxRetriesPerRequest: null`). */
  connection: { url: string };
  /** A Redis client for the store and run records (not owned). */
  redis: Redis;
  /** Builds the fenced store for a job's series. */
  createStore: (job: JobDefinition<unknown, unknown>) => CommitTarget;
  /** Opens a ranged reader on an input URL (WebHDFS, file). */
  openReader: (url: string) => RangeReader;
  /** Opens the record batches of a Kafka range; with it, the worker also consumes the ranges queue. */
  openSource?: SourceOpener;
  /**
   * Called once a range's last chunk is committed (advances the stream's committed position), with
   * what this attempt read of it: the newest committed event time per partition comes from there.
   */
  onRangeDone?: (payload: SplitPayload, read: RangeRead) => Promise<void>;
  /** Ranges run at once by this process; those of one run that arrive together are combined. */
  rangeConcurrency?: number;
  /**
   * How long a range waits for others of its run to be combined with (default 10 ms); 0 runs
   * every range alone. See `runSplitsTogether`.
   */
  combineLingerMs?: number;
  namespace?: string;
  concurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  chunkRecords?: number;
  /** Called when ranges gathered to run together declined (nothing written) and run one by one instead. */
  onGroupDeclined?: (runId: string, splitIds: readonly string[], reason: string) => void;
  /** Called after every split this worker finished. */
  onSplitDone?: (payload: SplitPayload, result: SplitResult | 'skipped') => void;
  /** Errors of the queue connections (retried until Redis is back); without it BullMQ prints each one. */
  onQueueError?: (error: Error) => void;
  /** Called after every failed attempt of a split: `willRetry` false means it failed for good. */
  onSplitAttemptFailed?: (payload: SplitPayload, error: SerializedError, attempt: number, willRetry: boolean) => void;
  /**
   * Called when a split or a run turns out to be of a newer version (OUTDATED): the split went back
   * to the queue, and the queue it came from takes no more splits here. Upgrade the worker.
   */
  onOutdated?: (error: SluiceError) => void;
}

/** A batch of a Kafka range: with each record's Kafka timestamp (ms), parallel to `offsets`, when known. */
export type SourceBatch = RecordBatch & { timestamps?: readonly number[] };

/** Opens a Kafka range's batches from `resumeFrom` (or the range start). */
export type SourceOpener = (payload: SplitPayload, resumeFrom: number | undefined, signal: AbortSignal) => AsyncIterable<SourceBatch>;

/**
 * What one attempt read of a range. A retry resumes after the chunks an earlier attempt committed,
 * and an attempt that finds the range committed reads nothing, so `readFrom` says which part of
 * `[start, end)` the timestamp covers: the offsets below it were read by earlier attempts.
 */
export interface RangeRead {
  /** First offset this attempt read; undefined when it read nothing. */
  readFrom: number | undefined;
  /** Greatest Kafka timestamp (ms) of the records this attempt read; undefined when none had one. */
  maxTimestamp: number | undefined;
  /** Message value bytes and messages (bad ones included) this attempt read: what sizes ranges by bytes. */
  bytes: number;
  records: number;
}

/** A running worker. */
export interface SluiceWorker {
  /** Stops taking splits; running ones finish within `drainMs` or are released for retry. */
  close(drainMs?: number): Promise<void>;
}

/** Starts a worker. */
export function createWorker(options: WorkerOptions): SluiceWorker {
  const runs = createRunStore(options.redis);
  const rangeConcurrency = options.rangeConcurrency ?? 1;
  const linger = options.combineLingerMs ?? 10;
  const batcher = rangeConcurrency > 1 && linger > 0 ? createRangeBatcher(rangeConcurrency, linger, options.onGroupDeclined) : undefined;
  const jobs = new Map<string, Promise<JobDefinition<unknown, unknown>>>();
  const stores = new Map<string, CommitTarget>();
  const jobFor = (name: string): Promise<JobDefinition<unknown, unknown>> => {
    let job = jobs.get(name);
    if (job === undefined) {
      job = loadJob(name);
      jobs.set(name, job);
      job.catch(() => jobs.delete(name));
    }
    return job;
  };

  const consume = (kind: QueueKind, concurrency: number): SplitConsumer => createSplitConsumer<SplitResult | 'skipped'>({
    connection: { url: options.connection.url, maxRetriesPerRequest: null },
    kind,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    concurrency,
    ...(options.lockDurationMs === undefined ? {} : { lockDurationMs: options.lockDurationMs }),
    ...(options.stalledIntervalMs === undefined ? {} : { stalledIntervalMs: options.stalledIntervalMs }),
    ...(options.onQueueError === undefined ? {} : { onError: options.onQueueError }),
    ...(options.onSplitAttemptFailed === undefined ? {} : { onAttemptFailed: options.onSplitAttemptFailed }),
    ...(options.onOutdated === undefined ? {} : { onOutdated: options.onOutdated }),
    async process(payload, { signal }) {
      const run = await runs.get(payload.runId);
      if (run === undefined) {
        throw new SluiceError(ErrorCode.NOT_FOUND, `run ${payload.runId} does not exist (deleted, or forgotten by the coordinator's --forget-finished); dropping its split`, {
          retryable: false,
          context: { runId: payload.runId, splitId: payload.splitId },
        });
      }
      if (run.state === RunState.CANCELLING || run.state === RunState.CANCELLED) {
        options.onSplitDone?.(payload, 'skipped');
        return 'skipped';
      }
      const job = await jobFor(payload.job);
      let store = stores.get(job.name);
      if (store === undefined) {
        store = options.createStore(job);
        stores.set(job.name, store);
      }
      const { options: jobOptions, timeShift, since, until, maxBadFraction } = resolveRunOptions(job, payload.options);
      if (timeShift === 'auto') {
        throw new SluiceError(ErrorCode.INTERNAL, 'timeShift=auto must be resolved by the coordinator before splits are enqueued', {
          retryable: false,
          context: { runId: payload.runId },
        });
      }
      const read: RangeRead = { readFrom: undefined, maxTimestamp: undefined, bytes: 0, records: 0 };
      const task: SplitTask = {
        runId: payload.runId,
        splitId: payload.splitId,
        ordinal: payload.ordinal,
        ...(kind === QueueKind.RANGES
          ? { source: (resumeFrom: number | undefined) => trackTimestamps((options.openSource as SourceOpener)(payload, resumeFrom, signal), read, resumeFrom ?? payload.start), url: payload.url }
          : { reader: options.openReader(payload.url) }),
        format: payload.format as SplitFormat,
        compression: payload.compression as SplitCompression,
        start: payload.start,
        end: payload.end,
      };
      const runOptions: RunSplitOptions<unknown, unknown> = {
        job,
        options: jobOptions,
        store,
        timeShiftMicros: timeShift * 1e6,
        maxBadFraction,
        signal,
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        ...(options.chunkRecords === undefined ? {} : { chunkRecords: options.chunkRecords }),
      };
      const share = kind === QueueKind.RANGES && batcher !== undefined ? await batcher.join(payload.runId, task, runOptions) : undefined;
      const result: SplitResult = share === undefined
        ? await runSplit(task, runOptions)
        : { ...share, expired: 0, keysWritten: 0, chunks: 1, duplicateChunks: 0, resumedFrom: undefined };
      // A superseded attempt records the outcome only once the fence says the split is done:
      // before that, recording it could finish a run, or move a stream's committed position past
      // a range, while the attempt that took the split over is still committing chunks (that one
      // records it when it ends; a retry of it if it dies). It succeeds rather than throws either
      // way: a retry of this job would only find the split held again, and fail the run when its
      // attempts ran out.
      const superseded = result.supersededAt !== undefined;
      if (!superseded || ((await store.progress(payload.runId, payload.splitId))?.resumeAt ?? 0) >= SPLIT_DONE) {
        if (kind === QueueKind.RANGES) {
          await runs.recordRangeDone(payload.runId, payload.splitId);
          // This attempt stopped part-way, so the range's greatest timestamp is read whole again.
          await options.onRangeDone?.(payload, superseded ? { ...read, readFrom: undefined, maxTimestamp: undefined } : read);
        } else await runs.recordSplitDone(payload.runId, payload.splitId);
      }
      options.onSplitDone?.(payload, result);
      return result;
    },
    async onFinalFailure(payload, error, attempts) {
      await runs.recordFailedSplit(payload.runId, { splitId: payload.splitId, code: error.code, message: error.message, attempts });
    },
  });

  const consumers = [consume(QueueKind.SPLITS, options.concurrency ?? 1)];
  // Live ranges get their own consumer, so they never wait behind a queue of backfill splits.
  if (options.openSource !== undefined) consumers.push(consume(QueueKind.RANGES, rangeConcurrency));
  return {
    close: async (drainMs) => {
      await Promise.all(consumers.map((c) => c.close(drainMs)));
    },
  };
}

/** Passes a range's batches through, noting where the read started and the greatest record timestamp. */
async function* trackTimestamps(batches: AsyncIterable<SourceBatch>, read: RangeRead, from: number): AsyncGenerator<RecordBatch, void, undefined> {
  read.readFrom = from;
  // A range first read in a group that declined is read again: only this read counts.
  read.maxTimestamp = undefined;
  read.bytes = 0;
  read.records = 0;
  for await (const batch of batches) {
    read.bytes += batch.bytes;
    read.records += batch.records.length + batch.deadLetters.length;
    for (const ts of batch.timestamps ?? []) {
      // Kafka reports -1 for a record written without a timestamp: it says nothing about event time.
      if (ts >= 0 && (read.maxTimestamp === undefined || ts > read.maxTimestamp)) read.maxTimestamp = ts;
    }
    yield batch;
  }
}

interface Waiting {
  task: SplitTask;
  run: RunSplitOptions<unknown, unknown>;
  resolve: (share: TogetherShare | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the ranges of one run that this process is given within `lingerMs` (up to `max`) and
 * runs them together; each caller gets its range's share, or undefined to run it alone (a lone
 * range, or a group that declined or failed: nothing of it was written), or the OUTDATED error
 * of a run newer than this worker.
 */
function createRangeBatcher(
  max: number,
  lingerMs: number,
  onDeclined: WorkerOptions['onGroupDeclined'],
): { join(runId: string, task: SplitTask, run: RunSplitOptions<unknown, unknown>): Promise<TogetherShare | undefined> } {
  const groups = new Map<string, { waiting: Waiting[]; timer: NodeJS.Timeout }>();
  const flush = (runId: string): void => {
    const group = groups.get(runId);
    if (group === undefined) return;
    groups.delete(runId);
    clearTimeout(group.timer);
    const { waiting } = group;
    if (waiting.length === 1) {
      (waiting[0] as Waiting).resolve(undefined);
      return;
    }
    const first = waiting[0] as Waiting;
    // Any range's drain or cancellation stops the group; each then runs alone and sees its own signal.
    const signals = waiting.map((w) => w.run.signal).filter((x): x is AbortSignal => x !== undefined);
    const run = { ...first.run, ...(signals.length === 0 ? {} : { signal: AbortSignal.any(signals) }) };
    const ids = waiting.map((w) => w.task.splitId);
    runSplitsTogether(waiting.map((w) => w.task), run).then(
      (out) => {
        if (!out.combined) onDeclined?.(runId, ids, out.reason);
        waiting.forEach((w, i) => w.resolve(out.combined ? out.shares[i] : undefined));
      },
      (error: unknown) => {
        // Each range alone would be refused the same way: each is handed back instead.
        if (isSluiceError(error) && error.code === ErrorCode.OUTDATED) {
          waiting.forEach((w) => w.reject(error));
          return;
        }
        onDeclined?.(runId, ids, `failed together: ${String(error)}`);
        waiting.forEach((w) => w.resolve(undefined));
      },
    );
  };
  return {
    join(runId, task, run) {
      return new Promise((resolve, reject) => {
        let group = groups.get(runId);
        if (group === undefined) {
          group = { waiting: [], timer: setTimeout(() => flush(runId), lingerMs) };
          groups.set(runId, group);
        }
        group.waiting.push({ task, run, resolve, reject });
        if (group.waiting.length >= max) flush(runId);
      });
    },
  };
}

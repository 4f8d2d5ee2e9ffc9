/**
 * The coordinator: a long-running service, one active at a time behind a Redis lease (standbys wait
 * and take over when it dies). It plans submitted backfills into splits, enqueues them in bounded
 * batches, and moves runs to their final state as workers report. It holds no state of its own:
 * a restarted coordinator finds everything it needs in Redis.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ErrorCode, SluiceError, coerceError, createRepeatFilter, isSluiceError, settledWithin } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { RunState, claimPlanningProtocol, coordinatorLeaseKey, coordinatorProtocolKey, createDeadLetterLog, createLease, createRunStore, isFinalState } from '@sluice/control';
import type { RunRecord } from '@sluice/control';
import { QueueKind, createSplitQueue, removePendingJobs } from '@sluice/queue';
import type { SplitPayload, SplitQueue } from '@sluice/queue';
import { computeAutoShiftSeconds, loadJob, parseTimeShift } from '@sluice/runtime';
import { eventTimeBounds, readSplit } from '@sluice/formats';
import type { SplitCompression, SplitFormat } from '@sluice/formats';
import { mergeAdjacentSplits, planBackfill } from './plan-backfill.ts';
import { partitionEndedBefore, prunePartitionsBefore } from './prune-partitions.ts';
import { tickStreamRun } from './stream-loop.ts';
import type { RangeLimits, RewoundWatch, StreamKafka, StreamPositionsView } from './stream-loop.ts';
import { DEFAULT_RANGE_LIMITS } from './stream-loop.ts';
import type { InputFile } from './plan-backfill.ts';
import { DEFAULT_ARCHIVE_LIMITS, archiveDeadLetters } from './archive-dead-letters.ts';
import type { ArchiveLimits, DeadLetterArchive } from './archive-dead-letters.ts';

/** How often a coordinator checks live stream runs for new data when it is given no period. */
export const DEFAULT_STREAM_POLL_MS = 100;

/** How long `stop()` tries to hand the lease back; past it a standby waits out the lease instead. */
const LEASE_RELEASE_TIMEOUT_MS = 2000;
/** How often a live stream run's enqueued ranges are summed up in the log. */
const ENQUEUE_LOG_EVERY_MS = 10_000;
/** How long `stop()` waits for the queues' Redis connections to close. */
const QUEUE_CLOSE_TIMEOUT_MS = 10_000;
/** How often the leader prunes the bookkeeping of runs completed longer ago than `retainCompletedMs`, and forgets those finished before `forgetFinishedMs`. */
const PRUNE_EVERY_MS = 10 * 60_000;
/**
 * What this version's planning protocol is: bump it whenever a coordinator would plan a run
 * differently from the previous version (other split ids or range bounds for the same inputs and
 * options). A coordinator records it when it starts leading, and one of a lower protocol refuses
 * to lead where a higher one has: it would re-plan a newer coordinator's runs under other split
 * ids, which their fences do not cover. 1: Parquet row groups skipped by statistics, recorded per
 * run (`skipRowGroupsBy`).
 */
export const PLANNING_PROTOCOL = 1;

/** The least `forgetFinishedMs`: whoever waits on a run (`sluice backfill --wait`) must be able to read how it ended. */
export const FORGET_FINISHED_AT_LEAST_MS = 3_600_000;
/** How often the leader moves dead letters beyond `ArchiveLimits.keepInRedis` to the archive. */
export const DEFAULT_ARCHIVE_EVERY_MS = 30_000;
/** Runs read at leadership for dead letters to archive, beyond the active ones (runs that finished under another leader). */
const ARCHIVE_SCAN_RUNS = 1000;
/** How long `stop()` waits for an archive step in progress: bounded, so the coordinator still exits in about 15 s. */
const ARCHIVE_STOP_WAIT_MS = 3000;
/** Without an archive, dead letters of one run in Redis past which the leader says how to move them out. */
const DEAD_LETTERS_WARN = 100_000;

/** What the coordinator asks of an input listing. */
export interface ListInputOptions {
  /** Directories (absolute paths) that need not be listed: date partitions that ended before `--since`. */
  skipDirectory?: (path: string) => boolean;
}

/** Options of `createCoordinator`. */
export interface CoordinatorOptions {
  /** Redis URL for the queue. */
  redisUrl: string;
  /** A client for run records and the lease (not owned). */
  redis: Redis;
  /** A second client for blocking reads (not owned). */
  blockingRedis: Redis;
  /** Lists the files an input URL or glob names, not listing the directories `skipDirectory` names. */
  listInputs: (input: string, options?: ListInputOptions) => Promise<InputFile[]>;
  /** Opens a ranged reader (for `timeShift=auto`, which needs the newest event time). */
  openReader: (url: string) => RangeReader;
  namespace?: string;
  holder?: string;
  leaseTtlMs?: number;
  /** Progress check period. */
  tickMs?: number;
  /**
   * Period of the checks while a stream run is live (default 100 ms, never longer than `tickMs`):
   * a range is planned at the first check that sees new data, so this bounds what planning adds
   * to the time from produce to visible.
   */
  streamPollMs?: number;
  /** Attempts per backfill split (live ranges retry retryable errors until they succeed). */
  attempts?: number;
  log?: (line: string) => void;
  nowMicros?: () => number;
  /** Kafka offsets for stream runs; without it, stream runs are refused. */
  kafka?: StreamKafka;
  /** Stream positions in Redis; required with `kafka`. */
  positions?: StreamPositionsView;
  rangeLimits?: Partial<RangeLimits>;
  /** Ticks a run's planning may fail with a retryable error before the run fails. */
  planningRetries?: number;
  /** Errors of the queue connections (retried until Redis is back); without it BullMQ prints each one. */
  onQueueError?: (error: Error) => void;
  /**
   * How long a completed run keeps its exactly-once bookkeeping (fences and split ids, about 300
   * bytes a split) before the leader prunes it (`RunStore.pruneCompleted`); undefined keeps it
   * forever. Records, stats and dead letters stay either way.
   */
  retainCompletedMs?: number;
  /**
   * How long a finished run (completed, failed or cancelled) is kept at all before the leader
   * deletes it (`RunStore.forgetFinished`): record, stats, dead letters in Redis, stream positions
   * and fences. Its id stays refused. What it committed to the series stays, and so do archived
   * dead-letter files. Undefined keeps every run forever.
   */
  forgetFinishedMs?: number;
  /**
   * Where the leader moves each run's oldest dead letters, keeping the newest `keepInRedis` in
   * Redis; undefined keeps them all in Redis.
   */
  deadLetterArchive?: DeadLetterArchive;
  archiveLimits?: Partial<ArchiveLimits>;
  /** How often the leader archives dead letters (default 30 s). */
  archiveEveryMs?: number;
}

/** A coordinator process's handle. */
export interface Coordinator {
  /**
   * Runs until `stop()`; resolves when stopped. While Redis is away a tick waits for it, so this
   * may resolve only once Redis is back: a process that must exit bounds its wait on it.
   */
  run(): Promise<void>;
  /**
   * Stops planning, hands the lease back and closes the queues, in bounded time even while Redis
   * is away (TIMEOUT when the queues did not close).
   */
  stop(): Promise<void>;
  readonly isLeader: boolean;
}

/** The coordinator's default log: one timestamped line on stdout. */
export function logCoordinatorLine(line: string): void {
  process.stdout.write(`${new Date().toISOString()} coordinator ${line}\n`);
}

/** Creates a coordinator (call `run()` to start it). */
export function createCoordinator(options: CoordinatorOptions): Coordinator {
  const forgetMs = options.forgetFinishedMs;
  if (forgetMs !== undefined && !(Number.isSafeInteger(forgetMs) && forgetMs >= FORGET_FINISHED_AT_LEAST_MS)) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `forgetFinishedMs must be whole milliseconds of at least ${FORGET_FINISHED_AT_LEAST_MS} (1h), got ${String(forgetMs)}`, {
      retryable: false,
      context: { forgetFinishedMs: forgetMs },
    });
  }
  const log = options.log ?? logCoordinatorLine;
  const lease = createLease(options.redis, {
    key: coordinatorLeaseKey(options.namespace),
    holder: options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    ...(options.leaseTtlMs === undefined ? {} : { ttlMs: options.leaseTtlMs }),
  });
  // Every state change and update of a run is fenced by the lease: see `RunStoreOptions.fence`.
  const runs = createRunStore(options.redis, { fence: () => lease.fence() });
  const blockingRuns = createRunStore(options.blockingRedis);
  const onQueueError = options.onQueueError === undefined ? {} : { onError: options.onQueueError };
  const queue = createSplitQueue({
    connection: { url: options.redisUrl, maxRetriesPerRequest: null },
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
    ...onQueueError,
  });
  const ranges = createSplitQueue({
    connection: { url: options.redisUrl, maxRetriesPerRequest: null },
    kind: QueueKind.RANGES,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...onQueueError,
  });
  const limits: RangeLimits = { ...DEFAULT_RANGE_LIMITS, ...options.rangeLimits };
  const streamTicked = new Set<string>();
  const rewound: RewoundWatch = { since: new Map() };
  const deadLetters = createDeadLetterLog(options.redis);
  const archiveLimits: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...options.archiveLimits };
  const archiveEveryMs = options.archiveEveryMs ?? DEFAULT_ARCHIVE_EVERY_MS;
  /** Runs whose dead letters the archiver checks beyond the active ones: those it saw active, until their backlog is gone. */
  const archiveCandidates = new Set<string>();
  const warnedDeadLetters = new Set<string>();
  let archiveScanned = false;
  let archivedAt = 0;
  let archiving: Promise<void> | undefined;
  // A live run plans at most polls (up to ten a second): its first plan is logged, then a sum per period.
  const enqueueLog = new Map<string, { ranges: number; since: number }>();
  const noteEnqueued = (runId: string, count: number): void => {
    const now = Date.now();
    const entry = enqueueLog.get(runId);
    if (entry === undefined) {
      enqueueLog.set(runId, { ranges: 0, since: now });
      log(`stream run ${runId}: ${count} ranges enqueued`);
      return;
    }
    entry.ranges += count;
    if (now - entry.since >= ENQUEUE_LOG_EVERY_MS) {
      log(`stream run ${runId}: ${entry.ranges} ranges enqueued in the last ${Math.round((now - entry.since) / 1000)} s`);
      entry.ranges = 0;
      entry.since = now;
    }
  };
  /** Retryable planning failures of stream runs, logged once a minute while they last. */
  const streamRetries = createRepeatFilter(60_000);
  const planningAttempts = new Map<string, number>();
  const planningRetries = options.planningRetries ?? 5;
  const tickMs = options.tickMs ?? 1000;
  const streamPollMs = Math.min(tickMs, options.streamPollMs ?? DEFAULT_STREAM_POLL_MS);
  /** Whether the last tick saw a live stream run: the loop then checks again after `streamPollMs`. */
  let streaming = false;
  let stopped = false;
  let leader = false;
  let renewTimer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const stopRenewing = (): void => {
    if (renewTimer !== undefined) clearInterval(renewTimer);
    renewTimer = undefined;
  };

  const standDown = (why: string): void => {
    stopRenewing();
    if (!leader) return;
    leader = false;
    log(`${why}; standing by`);
  };

  const becomeLeader = (token: number): void => {
    leader = true;
    // Ranges planned under an earlier lease may have been dropped while another leader ran: each
    // stream run's first tick under this lease re-enqueues what is planned and not completed.
    streamTicked.clear();
    // Runs that finished under another leader may still hold a backlog: look at the recent ones once.
    archiveScanned = false;
    stopRenewing();
    log(`is the leader (fencing token ${token})`);
    let renewedAt = Date.now();
    renewTimer = setInterval(() => {
      lease.renew().then((ok) => {
        if (ok) renewedAt = Date.now();
        else standDown('lost the lease');
      }, (error: unknown) => {
        log(`lease renewal failed: ${coerceError(error).message}`);
        // Past its TTL the lease may be another's: planning on would make two leaders.
        if (Date.now() - renewedAt >= lease.ttlMs) standDown(`could not renew the lease for ${lease.ttlMs} ms`);
      });
    }, Math.max(100, Math.floor(lease.ttlMs / 3)));
  };

  const plan = async (run: RunRecord): Promise<void> => {
    if (!(await runs.transition(run.runId, [RunState.SUBMITTED, RunState.PLANNING], RunState.PLANNING))) return;
    try {
      const files: InputFile[] = [];
      // Date partitions that ended before --since hold nothing the run keeps: not even listed.
      const since = run.since;
      let skippedDirectories = 0;
      for (const input of run.inputs) {
        // A set: a walk may ask about one directory more than once.
        const skipped = new Set<string>();
        const listOptions: ListInputOptions = since === undefined ? {} : {
          skipDirectory: (path) => {
            const skip = partitionEndedBefore(path, since);
            if (skip) skipped.add(path);
            return skip;
          },
        };
        const listed = await options.listInputs(input, listOptions);
        skippedDirectories += skipped.size;
        // Name the input that matched nothing: the planner only sees files, not what was typed.
        if (listed.length === 0 && skipped.size === 0) {
          throw new SluiceError(ErrorCode.NOT_FOUND, `input ${input} matched no file; check the URL and glob`, { retryable: false, context: { runId: run.runId, input } });
        }
        files.push(...listed);
      }
      // A lister that lists them anyway (or a glob naming files in them) leaves them to this filter.
      const { kept, pruned } = prunePartitionsBefore(files, since);
      if (pruned > 0 || skippedDirectories > 0) {
        const directories = skippedDirectories === 0 ? '' : `${skippedDirectories} partition ${skippedDirectories === 1 ? 'directory' : 'directories'}`;
        const what = [directories, pruned > 0 ? `${pruned} files` : ''].filter(Boolean).join(' and ');
        if (kept.length === 0) {
          throw new SluiceError(ErrorCode.NOT_FOUND, `all ${what} of the input lie in date partitions (dt=…) that ended before --since ${new Date(Number(since) / 1000).toISOString()}: nothing to backfill; check --since and the input`, {
            retryable: false, context: { runId: run.runId, inputs: run.inputs, since },
          });
        }
        const notes = [directories === '' ? '' : `${directories} not listed`, pruned > 0 ? `${pruned} of ${files.length} files skipped` : ''];
        log(`run ${run.runId}: ${notes.filter(Boolean).join(' and ')}, in date partitions that ended before --since`);
      }
      files.splice(0, files.length, ...kept);
      const runOptions = { ...run.options };
      if (run.since !== undefined) runOptions.since = String(run.since);
      if (run.until !== undefined) runOptions.until = String(run.until);
      // Row groups outside --since/--until are skipped by their statistics, when the job says which
      // column holds its event time; timeShift=auto still looks at every row, as without the skip.
      // Decided once per run: a run planned before (by this version, or by one that never skipped)
      // is planned the same way again, whatever the job says now, so its split ids do not change.
      const skipRowGroupsBy = run.skipRowGroupsBy !== undefined ? run.skipRowGroupsBy
        : run.splitsTotal !== undefined || (run.since === undefined && run.until === undefined) ? null
        : (await loadJob(run.job)).eventTimeField ?? null;
      const bounds = skipRowGroupsBy === null ? undefined : eventTimeBounds(skipRowGroupsBy, run.since, run.until);
      const eventTime = bounds === undefined ? {} : { eventTime: bounds };
      const auto = parseTimeShift(runOptions.timeShift) === 'auto';
      let planned = await planBackfill({ runId: run.runId, job: run.job, splitSize: run.splitSize, options: runOptions, ...(auto ? {} : eventTime) }, files, options.openReader);
      if (auto) {
        runOptions.timeShift = String(await resolveAutoShift(run.job, planned.splits));
        planned = await planBackfill({ runId: run.runId, job: run.job, splitSize: run.splitSize, options: runOptions, ...eventTime }, files, options.openReader);
      }
      if (planned.skippedRowGroups > 0) log(`run ${run.runId}: ${planned.skippedRowGroups} Parquet row groups skipped: their ${skipRowGroupsBy ?? ''} statistics lie outside --since/--until`);
      await runs.update(run.runId, { splitsTotal: planned.splits.length, bytesTotal: planned.bytes, startedAt: run.startedAt ?? Date.now(), plannedBy: lease.token as number, options: runOptions, skipRowGroupsBy });
      // Retried splits that failed in an earlier submission must be re-added, not deduplicated.
      await removeFailedJobs(run.runId);
      await queue.enqueue(planned.splits);
      await runs.transition(run.runId, [RunState.PLANNING], RunState.RUNNING);
      // A resubmission of this run later gets its full planning attempts again.
      planningAttempts.delete(run.runId);
      log(`run ${run.runId}: ${planned.files} files, ${planned.splits.length} splits, ${planned.bytes} bytes enqueued`);
    } catch (error) {
      const failure = coerceError(error);
      // Deposed: the run is the new leader's to plan, and failing it would be refused anyway.
      if (failure.code === ErrorCode.FENCED) throw failure;
      const attempts = (planningAttempts.get(run.runId) ?? 0) + 1;
      planningAttempts.set(run.runId, attempts);
      // A transient failure (NameNode restarting) is retried on the next ticks, but not forever:
      // an input that stays unreachable fails the run with the error that says what to check.
      if (failure.retryable && attempts < planningRetries) {
        log(`run ${run.runId}: planning attempt ${attempts} of ${planningRetries} failed, will retry: ${failure.message}`);
        return;
      }
      planningAttempts.delete(run.runId);
      await runs.transition(run.runId, [RunState.PLANNING], RunState.FAILED, { error: `[${failure.code}] ${failure.message}`, finishedAt: Date.now() });
      log(`run ${run.runId} failed at planning: ${failure.message}`);
    }
  };

  const resolveAutoShift = async (jobName: string, splits: readonly SplitPayload[]): Promise<number> => {
    const job = await loadJob(jobName);
    if (job.eventTime === undefined) {
      throw new SluiceError(ErrorCode.INVALID_DEFINITION, `job ${jobName} has no eventTime(record), which timeShift=auto needs`, { retryable: false });
    }
    const eventTime = job.eventTime;
    let newest: number | undefined;
    // Reads `range`; false when it stopped at a corrupt input (its records up to there counted).
    const scan = async (range: { url: string; format: string; compression: string; start: number; end: number }): Promise<boolean> => {
      const batches = readSplit(options.openReader(range.url), { format: range.format as SplitFormat, compression: range.compression as SplitCompression, start: range.start, end: range.end, ...(job.fields === undefined ? {} : { columns: job.fields }) });
      try {
        for await (const batch of batches) {
          for (const record of batch.records) {
            const ts = eventTime(record);
            if (ts !== undefined && (newest === undefined || ts > newest)) newest = ts;
          }
        }
        return true;
      } catch (error) {
        // A corrupt file fails its own split on a worker, with what it holds before the corruption.
        if (!(isSluiceError(error) && error.code === ErrorCode.CORRUPT_INPUT)) throw error;
        return false;
      }
    };
    for (const range of mergeAdjacentSplits(splits)) {
      // Past a corruption, the splits after it still read on their own: scan them one by one.
      if (!(await scan(range)) && range.parts.length > 1) for (const split of range.parts) await scan(split);
    }
    if (newest === undefined) throw new SluiceError(ErrorCode.INVALID_CONFIG, 'timeShift=auto: the input has no record with an event time', { retryable: false });
    return computeAutoShiftSeconds(newest, (options.nowMicros ?? (() => Date.now() * 1000))());
  };

  const removeFailedJobs = async (runId: string, from: SplitQueue = queue): Promise<void> => {
    const failed = await from.queue.getJobs(['failed'], 0, -1);
    for (const job of failed) if (job.data.runId === runId) await job.remove();
  };

  const cancel = async (run: RunRecord): Promise<void> => {
    // A failure (Redis away) fails the tick, which cancels again at the next one.
    const splits = await removePendingJobs(queue, run.runId);
    const live = await removePendingJobs(ranges, run.runId);
    const removed = splits.removed + live.removed;
    const taken = splits.taken + live.taken;
    await runs.transition(run.runId, [RunState.CANCELLING], RunState.CANCELLED, { finishedAt: Date.now() });
    log(`run ${run.runId} cancelled (${removed} pending splits removed${taken === 0 ? '' : `, ${taken} taken by workers meanwhile, which skip them`})`);
  };

  const track = async (run: RunRecord): Promise<void> => {
    const progress = await runs.progress(run.runId);
    if (progress === undefined || run.splitsTotal === undefined) return;
    if (progress.splitsDone + progress.splitsFailed < run.splitsTotal) return;
    const state = progress.splitsFailed > 0 ? RunState.FAILED : RunState.COMPLETED;
    const error = progress.splitsFailed > 0 ? `${progress.splitsFailed} of ${run.splitsTotal} splits failed` : '';
    if (await runs.transition(run.runId, [RunState.RUNNING], state, { finishedAt: Date.now(), ...(error === '' ? {} : { error }) })) {
      log(`run ${run.runId} ${state}: ${progress.records} records, ${progress.badRecords} bad, ${progress.expired} expired writes`);
    }
  };

  const tickStream = async (run: RunRecord): Promise<void> => {
    if (run.state === RunState.CANCELLING) {
      await cancel(run);
      return;
    }
    if (options.kafka === undefined || options.positions === undefined) {
      await runs.transition(run.runId, [RunState.SUBMITTED], RunState.FAILED, { error: `[${ErrorCode.INVALID_CONFIG}] this coordinator has no Kafka brokers configured: restart it with --brokers host:port (or KAFKA_BROKERS), then resubmit the run with --run-id ${run.runId}`, finishedAt: Date.now() });
      log(`stream run ${run.runId} failed: no Kafka brokers configured (--brokers or KAFKA_BROKERS)`);
      return;
    }
    if (run.state === RunState.SUBMITTED) {
      // A resumed run (failed or stopped before): its failed ranges run again, and its first tick
      // re-enqueues every range planned and not completed, those removed when it stopped too.
      await removeFailedJobs(run.runId, ranges);
      streamTicked.delete(run.runId);
      await runs.transition(run.runId, [RunState.SUBMITTED], RunState.RUNNING, { startedAt: run.startedAt ?? Date.now(), plannedBy: lease.token as number });
      log(`stream run ${run.runId} on ${run.inputs.join(', ')} ${run.startedAt === undefined ? 'started' : 'resumed'}`);
    } else if (run.state !== RunState.RUNNING) {
      return;
    }
    // A range that failed for good (a non-retryable error) holds its partition back for ever: the
    // run fails, as a Flink job does, and says how to resume once the cause is fixed.
    const failedRanges = await runs.countFailedSplits(run.runId);
    if (failedRanges > 0) {
      // No count in the message: ranges in flight may still fail after it is written.
      const error = `a range failed for good (see the run's failed ranges); fix the cause, then resubmit the run with the same flags and --run-id ${run.runId} to resume it`;
      if (await runs.transition(run.runId, [RunState.RUNNING], RunState.FAILED, { error, finishedAt: Date.now() })) log(`stream run ${run.runId} failed: ${error}`);
      return;
    }
    try {
      // Ranges planned before a restart are re-enqueued under the same ids by the first tick, so
      // none is lost if the previous leader died between reserving and enqueueing.
      const planned = await tickStreamRun({ ...run, state: RunState.RUNNING }, {
        kafka: options.kafka, positions: options.positions, queue: ranges, limits, firstTick: !streamTicked.has(run.runId), rewound,
      });
      streamTicked.add(run.runId);
      if (streamRetries.forget(run.runId)) log(`stream run ${run.runId}: planning again`);
      if (planned > 0) noteEnqueued(run.runId, planned);
    } catch (error) {
      // The tick may have reserved ranges it never enqueued: the next one re-enqueues every
      // pending range, as a new leader's first tick does, or they would hold their partition back.
      streamTicked.delete(run.runId);
      const failure = coerceError(error);
      if (failure.code === ErrorCode.FENCED) throw failure;
      if (!failure.retryable) {
        await runs.transition(run.runId, [RunState.RUNNING], RunState.FAILED, { error: `[${failure.code}] ${failure.message}`, finishedAt: Date.now() });
        log(`stream run ${run.runId} failed: ${failure.message}`);
      } else {
        // Retried at every stream poll while Kafka is away.
        if (streamRetries.admit(run.runId, failure.message)) log(`stream run ${run.runId}: ${failure.message} (will retry)`);
      }
    }
  };

  let activeIndexed = false;
  const tick = async (): Promise<void> => {
    if (!activeIndexed) {
      // Runs submitted before the active index existed are found once, by a scan of every run.
      const found = await runs.indexActiveRuns();
      if (found > 0) log(`indexed ${found} active runs`);
      activeIndexed = true;
    }
    // Every active run, not the newest N: an old run still running must not drop out of sight
    // behind finished ones.
    let live = false;
    for (const run of await runs.listActive()) {
      if (!leader || stopped) break;
      if (isFinalState(run.state)) continue;
      // Another namespace's runs belong to its own coordinators and queues.
      if ((run.namespace ?? '') !== (options.namespace ?? '')) continue;
      archiveCandidates.add(run.runId);
      if (run.kind === 'stream') {
        await tickStream(run);
        live = true;
      } else if (run.state === RunState.SUBMITTED || run.state === RunState.PLANNING) await plan(run);
      else if (run.state === RunState.RUNNING) await track(run);
      else if (run.state === RunState.CANCELLING) await cancel(run);
    }
    streaming = live;
    await pruneIfDue();
    archiveIfDue();
  };

  // Off the tick: writing a file of dead letters to HDFS takes long enough to delay stream planning.
  const archiveIfDue = (): void => {
    const now = Date.now();
    if (!leader || stopped || archiving !== undefined || now - archivedAt < archiveEveryMs) return;
    archivedAt = now;
    archiving = archivePass().catch((error: unknown) => {
      const failure = coerceError(error);
      log(`archiving dead letters failed (will retry in ${Math.round(archiveEveryMs / 1000)} s): [${failure.code}] ${failure.message}`);
    }).finally(() => {
      archiving = undefined;
    });
  };

  const archivePass = async (): Promise<void> => {
    if (!archiveScanned) {
      for (const run of await runs.list(ARCHIVE_SCAN_RUNS)) {
        if ((run.namespace ?? '') === (options.namespace ?? '')) archiveCandidates.add(run.runId);
      }
      archiveScanned = true;
    }
    const ids = [...archiveCandidates];
    const archive = options.deadLetterArchive;
    // Runs this pass moved dead letters of: only those chain the next pass (a run whose every step
    // loses a race would otherwise write and delete a file at every tick).
    const progressed = new Set<string>();
    if (archive === undefined) {
      for (const [runId, count] of await deadLetters.counts(ids)) {
        if (count.stored > DEAD_LETTERS_WARN && !warnedDeadLetters.has(runId)) {
          warnedDeadLetters.add(runId);
          log(`run ${runId} holds ${count.stored} dead letters in Redis; start the coordinator with --dead-letter-archive <directory url> to move all but the newest ${archiveLimits.keepInRedis} of each run there`);
        }
      }
    } else {
      for (const outcome of await archiveDeadLetters(deadLetters, ids, archive, archiveLimits, () => leader && !stopped)) {
        if (outcome.moved > 0) {
          progressed.add(outcome.runId);
          log(`run ${outcome.runId}: moved ${outcome.moved} dead letters to ${outcome.files} ${outcome.files === 1 ? 'file' : 'files'} under ${archive.url}`);
        }
        if (outcome.lostRace === true) {
          const copy = `this one's copy ${outcome.orphan === undefined ? 'was deleted' : `could not be deleted (${outcome.orphan.error.message}) and may go: ${outcome.orphan.url}`}`;
          // A run forgotten between reading and trimming its dead letters refuses the trim the same way.
          const forgotten = (await runs.forgotten(outcome.runId)) !== undefined;
          log(`run ${outcome.runId}: ${forgotten ? 'forgotten while its dead letters were being archived' : 'another coordinator archived the same dead letters first'}; ${copy}`);
        }
      }
    }
    // A run stays a candidate while it is active or still has more than it keeps in Redis.
    const active = new Set((await runs.listActive()).map((r) => r.runId));
    const left = await deadLetters.counts(ids);
    for (const id of ids) {
      if (!active.has(id) && (left.get(id)?.stored ?? 0) <= archiveLimits.keepInRedis) archiveCandidates.delete(id);
    }
    // A backlog of a full file or more that the pass's file limit left behind goes from the next
    // tick on, not a whole period later: only the file system then bounds how fast it drains.
    if (leader && !stopped && [...progressed].some((id) => (left.get(id)?.stored ?? 0) >= archiveLimits.keepInRedis + archiveLimits.maxPerFile)) archivedAt = 0;
  };

  let prunedAt = 0;
  const pruneIfDue = async (): Promise<void> => {
    const retain = options.retainCompletedMs;
    const forget = options.forgetFinishedMs;
    const now = Date.now();
    if ((retain === undefined && forget === undefined) || !leader || stopped || now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    // Forgetting first: a run old enough for both is deleted without being pruned on the way.
    if (forget !== undefined) {
      const forgotten = await runs.forgetFinished(now - forget, options.namespace ?? '', now);
      if (forgotten.length > 0) log(`forgot ${runsOf(forgotten.length)} finished before ${new Date(now - forget).toISOString()} (record, stats, dead letters and fences deleted; the ids stay refused): ${some(forgotten)}`);
    }
    if (retain !== undefined) {
      const pruned = await runs.pruneCompleted(now - retain, options.namespace ?? '', now);
      if (pruned.length > 0) log(`pruned the fences and split ids of ${runsOf(pruned.length)} completed before ${new Date(now - retain).toISOString()}: ${some(pruned)}`);
    }
  };

  return {
    get isLeader() {
      return leader;
    },
    async run() {
      log('starting');
      // Set when a newer coordinator has led here: no later attempt of this one may lead.
      let refusal: SluiceError | undefined;
      for (;;) {
        if (stopped) break;
        try {
          if (!leader) {
            const token = await lease.tryAcquire();
            if (token === undefined) {
              await sleep(Math.floor(lease.ttlMs / 3));
              continue;
            }
            const fence = lease.fence();
            const claim = fence === undefined ? { ok: false as const, reason: 'not-leader' as const } : await claimPlanningProtocol(options.redis, coordinatorProtocolKey(options.namespace), fence, PLANNING_PROTOCOL);
            if (!claim.ok) {
              if (claim.reason === 'not-leader') continue;
              await lease.release();
              refusal = new SluiceError(
                ErrorCode.INVALID_CONFIG,
                `a coordinator of planning protocol ${claim.recorded} has led ${options.namespace === undefined || options.namespace === '' ? 'this Redis' : `namespace ${options.namespace}`}, and this one speaks ${PLANNING_PROTOCOL}: it would plan that coordinator's runs under other split ids. Run the newer version instead (see the upgrade notes in docs/design/exactly-once.md)`,
                { retryable: false, context: { recordedProtocol: claim.recorded, protocol: PLANNING_PROTOCOL, namespace: options.namespace ?? '' } },
              );
              log(`refusing to lead: ${refusal.message}`);
              break;
            }
            // stop() saw no leader while the claim was in flight: hand the lease back here instead.
            if (stopped) {
              await lease.release();
              break;
            }
            becomeLeader(token);
          }
          await tick();
          // stop() cannot interrupt the blocking pop below, which may last a whole tick.
          if (stopped) break;
          // A lease lost during the tick: stand by (and try again) now, not after a whole tick.
          if (!leader) continue;
          // A submission wakes the loop at once; otherwise the blocking pop times out at the next tick.
          await blockingRuns.waitForSubmission((streaming ? streamPollMs : tickMs) / 1000);
        } catch (error) {
          const failure = coerceError(error);
          if (failure.code === ErrorCode.FENCED) {
            // Redis refused a write: another coordinator leads. Stand by at once, writing nothing more.
            standDown(`another coordinator took the lease (${failure.message})`);
            continue;
          }
          log(`error (will retry): [${failure.code}] ${failure.message}`);
          await sleep(tickMs);
        }
      }
      if (refusal !== undefined) {
        stopped = true;
        throw refusal;
      }
    },
    async stop() {
      stopped = true;
      wake?.();
      // A pass in progress ends after its step (file written, then trimmed), before the lease goes
      // back, rather than leave a file no list names.
      if (archiving !== undefined && !(await settledWithin(archiving, ARCHIVE_STOP_WAIT_MS))) log(`archiving dead letters did not finish its step within ${ARCHIVE_STOP_WAIT_MS} ms; a file it wrote may be left unlisted (harmless)`);
      stopRenewing();
      if (leader) {
        // Handing the lease back lets a standby take over at once; when Redis is away it expires instead.
        const releasing = lease.release();
        if (await settledWithin(releasing, LEASE_RELEASE_TIMEOUT_MS)) await releasing;
        else log(`could not hand the lease back within ${LEASE_RELEASE_TIMEOUT_MS} ms; a standby takes over when it expires`);
      }
      leader = false;
      // BullMQ's close can wait forever on a connection still reconnecting (taskforcesh/bullmq#4656).
      const closing = Promise.all([queue.close(), ranges.close()]);
      if (!(await settledWithin(closing, QUEUE_CLOSE_TIMEOUT_MS))) {
        throw new SluiceError(ErrorCode.TIMEOUT, `the queues' Redis connections did not close within ${QUEUE_CLOSE_TIMEOUT_MS} ms`, {
          retryable: false,
          context: { timeoutMs: QUEUE_CLOSE_TIMEOUT_MS },
        });
      }
      await closing;
    },
  };
}

/** The first few of some run ids, for a log line. */
function some(ids: readonly string[]): string {
  return `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''}`;
}

/** "1 run", "3 runs". */
function runsOf(n: number): string {
  return `${n} ${n === 1 ? 'run' : 'runs'}`;
}

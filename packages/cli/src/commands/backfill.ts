/**
 * `sluice backfill <job> --input <url>...`: submits a backfill run to the coordinator through
 * Redis, and with `--wait` follows it with a progress bar to its summary. Everything that can be
 * checked before submitting (Redis URL, job name, job options, input URLs, a live coordinator) is,
 * so a typo fails here and not minutes later in a worker.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { Option } from 'commander';
import cliProgress from 'cli-progress';
import { ErrorCode, SluiceError } from '@sluice/core';
import { coordinatorLeaseKey, createRunStore, isFinalState, readLeaseHolder, RunState } from '@sluice/control';
import type { RunProgress, RunStore } from '@sluice/control';
import { createSplitQueue } from '@sluice/queue';
import type { SplitQueue } from '@sluice/queue';
import type { Redis } from 'ioredis';
import { loadJob, parseEventTimeBound, resolveRunOptions } from '@sluice/runtime';
import { byteSizeFlag, collectSet, resolveRedisUrl } from '../config.ts';
import { missingRun } from '../missing-run.ts';
import { connectRedis, redactRedisUrl, withRedis } from '../redis-connection.ts';
import { normalizeInput } from '../inputs.ts';
import { formatProgress } from './status.ts';

interface BackfillFlags {
  input: string[];
  since?: string;
  until?: string;
  set: Record<string, string>;
  runId?: string;
  splitSize: number;
  redis?: string;
  wait?: boolean;
  json?: boolean;
  namespace?: string;
}

/** Registers `sluice backfill` and `sluice cancel`. */
export function registerBackfillCommand(program: Command): void {
  program
    .command('backfill <job>')
    .description('submit a backfill of a job over HDFS or local files to the coordinator')
    .requiredOption('-i, --input <url...>', 'webhdfs://host:port/path, hdfs://host/path, file:///path or a local path; globs allowed')
    .option('--since <iso>', 'only records with event time at or after this')
    .option('--until <iso>', 'only records with event time before this')
    .option('--set <key=value>', 'job option (repeatable), e.g. --set timeShift=auto', collectSet, {})
    .option('--run-id <id>', 'run id; resubmitting an id with the same inputs and options resumes it, doing only what is missing')
    .addOption(new Option('--split-size <bytes>', 'target split size for splittable text files').argParser(byteSizeFlag('--split-size', 1024)).default(128 * 1024 ** 2, '128m'))
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--namespace <name>', 'the coordinators and workers to run it (their --namespace)')
    .option('--wait', 'follow the run with a progress bar until it ends')
    .option('--json', 'with --wait, print the final progress as JSON')
    .action(async (jobName: string, flags: BackfillFlags) => {
      const redisUrl = resolveRedisUrl(flags.redis);
      const job = await loadJob(jobName);
      const options = { ...flags.set };
      resolveRunOptions(job, options);
      const since = parseEventTimeBound('--since', flags.since);
      const until = parseEventTimeBound('--until', flags.until);
      if (since !== undefined && until !== undefined && since >= until) {
        throw new SluiceError(ErrorCode.INVALID_CONFIG, `--since (${flags.since}) must be before --until (${flags.until}): no record could be in between`, {
          context: { since: flags.since, until: flags.until },
        });
      }
      const inputs = flags.input.map(normalizeInput);
      const redis = await connectRedis(redisUrl);
      try {
        if ((await readLeaseHolder(redis, coordinatorLeaseKey(flags.namespace))) === undefined) {
          throw new SluiceError(ErrorCode.UNAVAILABLE, 'no coordinator is alive: start one with `sluice coordinator` (and workers with `sluice worker`), then submit again', {
            retryable: false,
            context: { redis: redactRedisUrl(redisUrl) },
          });
        }
        const runs = createRunStore(redis);
        const runId = flags.runId ?? `${job.name}-${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
        const run = await runs.submit({
          runId,
          kind: 'backfill',
          job: job.name,
          inputs,
          options,
          splitSize: flags.splitSize,
          ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
          ...(since === undefined ? {} : { since }),
          ...(until === undefined ? {} : { until }),
        });
        // Ctrl-C stops the waiting, not the run: say so, and how to watch or stop it from here.
        // Listening before saying "submitted", so an interrupt right after it is not Node's default exit.
        const onInterrupt = (): void => {
          process.stderr.write(`\nstopped waiting; run ${run.runId} goes on: \`sluice status ${run.runId}\` shows it, \`sluice cancel ${run.runId}\` stops it\n`);
          process.exit(130);
        };
        if (flags.wait === true) process.once('SIGINT', onInterrupt);
        process.stderr.write(`submitted run ${run.runId} (${run.state})\n`);
        if (flags.wait !== true) {
          process.stdout.write(`${run.runId}\n`);
          return;
        }
        const watch = watchRun(redis, redisUrl, flags.namespace);
        const final = await follow(runs, run.runId, watch).finally(() => {
          process.removeListener('SIGINT', onInterrupt);
          return watch.close();
        });
        process.stdout.write(flags.json === true ? `${JSON.stringify(final)}\n` : `${formatProgress(final)}\n`);
        if (final.run.state !== RunState.COMPLETED) process.exitCode = 1;
      } finally {
        redis.disconnect();
      }
    });

  program
    .command('cancel <run-id>')
    .description('cancel a run: pending splits are dropped, committed ones stay')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .action(async (runId: string, flags: { redis?: string }) => {
      await withRedis(flags.redis, async (redis) => {
        const runs = createRunStore(redis);
        const moved = await runs.transition(runId, [RunState.SUBMITTED, RunState.PLANNING, RunState.RUNNING], RunState.CANCELLING);
        const run = await runs.get(runId);
        if (run === undefined) throw await missingRun(runs, runId);
        process.stdout.write(moved ? `cancelling ${runId}\n` : `run ${runId} is ${run.state}; nothing to cancel\n`);
      });
    });
}

/** What `follow` checks while it waits, so a run that cannot move says why instead of sitting still. */
export interface RunWatch {
  /** Whether a coordinator of the run's namespace holds the lease. */
  coordinatorAlive(): Promise<boolean>;
  /** Workers connected to the run's queue; undefined when Redis cannot tell (CLIENT LIST refused). */
  workers(): Promise<number | undefined>;
  /** How to start what is missing, e.g. ` --namespace x` (empty for the default namespace). */
  namespaceFlag: string;
}

/** How often `follow` checks the coordinator and the workers, and how long one may be missing before it says so. */
const WATCH_EVERY_MS = 2000;
const MISSING_FOR_MS = 10_000;
// A chunk (50,000 records by default) commits within a few seconds at any sane rate: this long
// with none, while workers run, means one is stuck or died holding a split.
const STALLED_FOR_MS = 20_000;

/** The run's queue workers and the coordinator lease, read from the run's Redis. */
export function watchRun(redis: Redis, redisUrl: string, namespace: string | undefined): RunWatch & { close(): Promise<void> } {
  let splits: SplitQueue | undefined;
  return {
    namespaceFlag: namespace === undefined ? '' : ` --namespace ${namespace}`,
    async coordinatorAlive() {
      return (await readLeaseHolder(redis, coordinatorLeaseKey(namespace))) !== undefined;
    },
    async workers() {
      splits ??= createSplitQueue({ connection: { url: redisUrl, maxRetriesPerRequest: null }, ...(namespace === undefined ? {} : { namespace }) });
      try {
        return await splits.queue.getWorkersCount();
      } catch (error) {
        // Managed Redis services may refuse or rename CLIENT LIST: then follow says nothing about workers.
        if (error instanceof Error && /unknown command|NOPERM|CLIENT/i.test(error.message)) return undefined;
        throw error;
      }
    },
    async close() {
      await splits?.close();
    },
  };
}

/** Tracks one condition a run needs, and says once when it has been missing a while and once when it is back. */
function createMissingNotice(missing: string, back: string, say: (line: string) => void, afterMs = MISSING_FOR_MS): (present: boolean, now: number) => void {
  let missingSince: number | undefined;
  let said = false;
  return (present, now) => {
    if (present) {
      if (said) say(back);
      missingSince = undefined;
      said = false;
      return;
    }
    missingSince ??= now;
    if (!said && now - missingSince >= afterMs) {
      say(missing);
      said = true;
    }
  };
}

/** Follows a run with a progress bar until it ends; returns its final progress. */
export async function follow(runs: RunStore, runId: string, watch?: RunWatch): Promise<RunProgress> {
  const tty = process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar(
    {
      format: 'backfill |{bar}| {percentage}% | {value}/{total} splits | {records} records | {rate} rec/s | bad {bad} | eta {etaText}',
      stream: process.stderr,
      noTTYOutput: !tty,
      notTTYSchedule: 5000,
      hideCursor: tty,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  // A notice goes above the bar: the bar's line is cleared first and redrawn at its next update.
  const say = (line: string): void => {
    process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
  };
  const ns = watch?.namespaceFlag ?? '';
  const coordinatorNotice = createMissingNotice(`no coordinator is alive: run ${runId} waits until one runs (sluice coordinator${ns})`, 'a coordinator is alive again', say);
  const workerNotice = createMissingNotice(`no worker is running: run ${runId} waits until one runs (sluice worker${ns})`, 'a worker is running again', say);
  const stallNotice = createMissingNotice(
    `run ${runId} has committed nothing for ${STALLED_FOR_MS / 1000} s while workers run: one may be stuck, or have died holding a split, which another worker takes once its lock expires (the workers' --lock-duration, 30 s by default)`,
    `run ${runId} is committing again`,
    say,
    0,
  );
  let watched = 0;
  let workers: number | undefined;
  let lastMove = { seen: '', at: Date.now() };
  for (;;) {
    const p = await runs.progress(runId);
    if (p === undefined) throw (await runs.forgotten(runId)) === undefined ? new SluiceError(ErrorCode.NOT_FOUND, `run ${runId} disappeared`, { context: { runId } }) : await missingRun(runs, runId);
    const now = Date.now();
    const seen = `${p.run.state} ${p.bytes} ${p.records} ${p.splitsDone} ${p.splitsFailed}`;
    if (seen !== lastMove.seen) lastMove = { seen, at: now };
    const splitsLeft = p.run.splitsTotal === undefined || p.splitsDone + p.splitsFailed < p.run.splitsTotal;
    const stalled = p.run.state === RunState.RUNNING && splitsLeft && now - lastMove.at >= STALLED_FOR_MS;
    if (watch !== undefined && !isFinalState(p.run.state) && now - watched >= WATCH_EVERY_MS) {
      watched = now;
      coordinatorNotice(await watch.coordinatorAlive(), now);
      // Workers matter once there are splits to run.
      workers = p.run.state === RunState.RUNNING ? await watch.workers() : undefined;
      workerNotice(workers === undefined || workers > 0, now);
    }
    // At every poll, so the commit that ends a stall is announced even when it ends the run. With
    // no worker at all, the notice above already says why nothing moves.
    if (watch !== undefined && workers !== 0) stallNotice(!stalled, now);
    const payload = {
      records: p.records.toLocaleString('en-US'),
      rate: Math.round(p.recordsPerSecond).toLocaleString('en-US'),
      bad: p.badRecords,
      // The ETA extrapolates the average rate, which a stall makes meaningless.
      etaText: p.etaSeconds === undefined || stalled ? '-' : `${Math.ceil(p.etaSeconds)}s`,
    };
    if (p.run.splitsTotal !== undefined) {
      if (!started) {
        bar.start(p.run.splitsTotal, 0, payload);
        started = true;
      }
      bar.update(p.splitsDone + p.splitsFailed, payload);
    }
    if (isFinalState(p.run.state)) {
      if (started) bar.stop();
      return p;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

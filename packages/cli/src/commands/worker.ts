/**
 * `sluice worker [--concurrency N]`: a stateless worker process. SIGTERM or SIGINT stops it taking
 * splits; running splits get `--drain` seconds to finish, then are released for another worker.
 */
import type { Command } from 'commander';
import type { SluiceError } from '@sluice/core';
import { createTimeseriesStore } from '@sluice/timeseries';
import { createWorker } from '@sluice/worker';
import { integerFlag, numberFlag, resolveRedisUrl } from '../config.ts';
import { logFileSystemEvents, openInputReader } from '../inputs.ts';
import { connectRedis, createOutageReporter, redactRedisUrl } from '../redis-connection.ts';
import { stopOnSignal } from '../stop-signal.ts';
import { createRangeLog, createRepeatLog } from '../worker-log.ts';
import { createStreamWiring, isRangeUrl, resolveBrokers } from '../stream-wiring.ts';

interface WorkerFlags { brokers?: string; rangeConcurrency: number; redis?: string; concurrency: number; drain: number; namespace?: string; lockDuration: number; keyPrefix?: string; chunkRecords?: number }

/** Prints one timestamped line of this worker process. */
function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} worker ${process.pid} ${line}\n`);
}

/** Registers `sluice worker`. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run splits from the queue until stopped (SIGTERM drains)')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--concurrency <n>', 'splits run at once by this process', integerFlag('--concurrency', { min: 1, max: 1024 }), 1)
    .option('--drain <seconds>', 'on SIGTERM, how long running splits may take before they are released', numberFlag('--drain', { min: 0, max: 86_400, unit: 'seconds' }), 30)
    .option('--lock-duration <ms>', 'split lock lifetime; a dead worker\'s split is retried after it', integerFlag('--lock-duration', { min: 1000, max: 2 ** 31 - 1, unit: 'milliseconds' }), 30_000)
    .option('--namespace <name>', 'queue namespace (isolates installations sharing a Redis)')
    .option('--key-prefix <prefix>', 'prefix for every kairos key written')
    .option('--brokers <list>', 'Kafka bootstrap brokers: also run live ranges of stream runs (default: KAFKA_BROKERS)')
    .option('--range-concurrency <n>', 'Kafka ranges run at once by this process; those of one run arriving together are committed as one chunk', integerFlag('--range-concurrency', { min: 1, max: 1024 }), 4)
    .option('--chunk-records <n>', 'records per committed chunk (smaller: less rework after a crash, more commits)', integerFlag('--chunk-records', { min: 1, unit: 'records' }))
    .action(async (flags: WorkerFlags) => {
      logFileSystemEvents(log);
      const url = resolveRedisUrl(flags.redis);
      // Every setting is checked before the first connection, which would keep a failed start alive.
      const brokers = resolveBrokers(flags.brokers);
      const outages = createOutageReporter(log);
      const redis = await connectRedis(url, { maxRetriesPerRequest: null, outages, serverCheck: { warn: log } });
      const queueWhat = `queue at ${redactRedisUrl(url)}`;
      const wiring = brokers === undefined ? undefined : createStreamWiring(brokers, redis, log);
      let outdated: ((error: SluiceError) => void) | undefined;
      // Set when the report comes, so the exit code says so even if a signal's stop finishes first.
      let wasOutdated = false;
      const outdatedSeen = new Promise<SluiceError>((resolve) => {
        outdated = (error) => {
          wasOutdated = true;
          resolve(error);
        };
      });
      const attempts = createRepeatLog(log);
      const groupsDeclined = createRepeatLog(log);
      const ranges = createRangeLog(log);
      const worker = createWorker({
        ...(wiring === undefined ? {} : { openSource: wiring.openSource, onRangeDone: wiring.onRangeDone, rangeConcurrency: flags.rangeConcurrency }),
        connection: { url },
        redis,
        createStore: (job) => createTimeseriesStore({ redis, series: job.series, ...(flags.keyPrefix === undefined ? {} : { keyPrefix: flags.keyPrefix }) }),
        openReader: openInputReader,
        concurrency: flags.concurrency,
        ...(flags.chunkRecords === undefined ? {} : { chunkRecords: flags.chunkRecords }),
        lockDurationMs: flags.lockDuration,
        stalledIntervalMs: Math.max(1000, Math.floor(flags.lockDuration / 2)),
        ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
        onQueueError: (error) => outages.failed(queueWhat, error),
        onSplitAttemptFailed: (payload, error, attempt, willRetry) => {
          const errorText = `[${error.code}] ${error.message}`;
          // A final failure always prints; retries of one error are summed up once a minute.
          attempts.say(errorText, `split ${payload.splitId} of run ${payload.runId}: attempt ${attempt} failed${willRetry ? ', will retry' : ' for good'}: ${errorText}`, !willRetry);
        },
        onOutdated: (error) => outdated?.(error),
        onGroupDeclined: (runId, splitIds, reason) => {
          groupsDeclined.say(reason, `run ${runId}: ${splitIds.length} ranges gathered to commit together run one by one instead (${reason})`);
        },
        onSplitDone: (payload, result) => {
          if (isRangeUrl(payload.url)) {
            ranges.done(result === 'skipped' ? { records: 0, badRecords: 0, resumed: false } : { records: result.records, badRecords: result.badRecords, resumed: result.resumedFrom !== undefined });
            return;
          }
          const what = result === 'skipped' ? 'skipped (run cancelled)' : `${result.records} records, ${result.badRecords} bad, ${result.chunks} chunks${result.resumedFrom === undefined ? '' : `, resumed at ${result.resumedFrom}`}${result.supersededAt === undefined ? '' : `; stopped at chunk ${result.supersededAt}: another attempt took the split over (this one lost its lock) and committed past it, so nothing from here on was applied`}`;
          log(`split ${payload.splitId}: ${what}`);
        },
      });
      log(`ready (concurrency ${flags.concurrency})`);
      let closing: Promise<void> | undefined;
      const close = (): Promise<void> => (closing ??= worker.close(flags.drain * 1000));
      const stopped = stopOnSignal(log, 'draining', close);
      // A worker older than what it met stops by itself and exits 1, so an orchestrator sees it
      // fail and the splits go to workers that can run them; a signal during that stop joins the
      // same close.
      const stoppedOutdated = outdatedSeen.then(async (error) => {
        log(`[${error.code}] ${error.message}; the split went back to the queue; stopping`);
        try {
          await close();
        } catch (closeError) {
          log(`stopping: ${closeError instanceof Error ? closeError.message : String(closeError)}`);
        }
        return false;
      });
      const closed = await Promise.race([stopped, stoppedOutdated]);
      ranges.close();
      await wiring?.close();
      redis.disconnect();
      log('stopped');
      // Connections that did not close keep retry timers alive: the process must not wait on them.
      if (!closed || wasOutdated) process.exit(1);
    });
}

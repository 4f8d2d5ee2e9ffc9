/**
 * `sluice coordinator`: the long-running planner. Start several for availability: one leads, the
 * others stand by and take over within the lease time when it dies.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { DEFAULT_ARCHIVE_EVERY_MS, DEFAULT_ARCHIVE_LIMITS, DEFAULT_RANGE_LIMITS, DEFAULT_STREAM_POLL_MS, FORGET_FINISHED_AT_LEAST_MS, createCoordinator, logCoordinatorLine as log } from '@sluice/coordinator';
import { settledWithin } from '@sluice/core';
import { byteSizeFlag, durationFlag, integerFlag, resolveRedisUrl } from '../config.ts';
import { listInputFiles, logFileSystemEvents, openDeadLetterArchive, openInputReader } from '../inputs.ts';
import { connectRedis, createOutageReporter, redactRedisUrl } from '../redis-connection.ts';
import { stopOnSignal } from '../stop-signal.ts';
import { createStreamWiring, resolveBrokers } from '../stream-wiring.ts';

/** Time the planning loop gets, beyond one tick, to notice a stop. */
const RUN_EXIT_GRACE_MS = 2000;

/** Registers `sluice coordinator`. */
export function registerCoordinatorCommand(program: Command): void {
  program
    .command('coordinator')
    .description('plan submitted runs into splits and track them (one leader at a time)')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--namespace <name>', 'queue namespace (isolates installations sharing a Redis)')
    .option('--lease-ttl <ms>', 'leader lease lifetime; a standby takes over this long after the leader dies', integerFlag('--lease-ttl', { min: 300, max: 2 ** 31 - 1, unit: 'milliseconds' }), 10_000)
    .option('--tick <ms>', 'progress check period', integerFlag('--tick', { min: 10, max: 2 ** 31 - 1, unit: 'milliseconds' }), 1000)
    .option('--stream-poll <ms>', 'how often live stream runs are checked for new data (at most --tick)', integerFlag('--stream-poll', { min: 10, max: 2 ** 31 - 1, unit: 'milliseconds' }), DEFAULT_STREAM_POLL_MS)
    .option('--brokers <list>', 'Kafka bootstrap brokers for stream runs (default: KAFKA_BROKERS)')
    .option('--max-range-records <n>', 'most records in one planned Kafka range', integerFlag('--max-range-records', { min: 1, unit: 'records' }), DEFAULT_RANGE_LIMITS.maxRecords)
    .addOption(new Option('--max-range-bytes <bytes>', 'about this many message bytes in one planned Kafka range, by each partition\'s average message size so far (its log size on disk before the first range)').argParser(byteSizeFlag('--max-range-bytes', 1024)).default(DEFAULT_RANGE_LIMITS.maxBytes, `${DEFAULT_RANGE_LIMITS.maxBytes / 1024 ** 2}m`))
    .option('--max-in-flight <n>', 'planned but unfinished ranges per partition', integerFlag('--max-in-flight', { min: 1, max: 1000 }), DEFAULT_RANGE_LIMITS.maxInFlightPerPartition)
    .option('--attempts <n>', 'attempts per backfill split before it counts as failed (live ranges retry until Kafka and Redis are back)', integerFlag('--attempts', { min: 1, max: 1000 }), 5)
    .addOption(new Option('--retain-completed <duration>', 'how long a completed backfill keeps its exactly-once bookkeeping (fences and split ids, about 300 bytes a split) before it is pruned; its record, stats and dead letters stay. never keeps it').argParser(durationFlag('--retain-completed')).default(7 * 86_400_000, '7d'))
    .addOption(new Option('--forget-finished <duration>', 'how long a finished run (completed, failed or cancelled) is kept before it is deleted: its record, stats, dead letters in Redis and fences (what it committed to the series stays, and its id stays refused). never keeps every run; at least 1h, so a run is not gone before whoever waits on it has read how it ended').argParser(durationFlag('--forget-finished', FORGET_FINISHED_AT_LEAST_MS)).default(Number.POSITIVE_INFINITY, 'never'))
    .option('--dead-letter-archive <dir-url>', 'directory (webhdfs://, hdfs://, file:// or a local path) the oldest dead letters of each run move to, beyond the newest --dead-letters-in-redis; without it they all stay in Redis')
    .option('--dead-letters-in-redis <n>', 'dead letters each run keeps in Redis when --dead-letter-archive is given (the newest)', integerFlag('--dead-letters-in-redis', { min: 0, max: 100_000_000 }), DEFAULT_ARCHIVE_LIMITS.keepInRedis)
    .option('--dead-letter-archive-every <ms>', 'how often the leader moves dead letters to --dead-letter-archive', integerFlag('--dead-letter-archive-every', { min: 100, max: 2 ** 31 - 1, unit: 'milliseconds' }), DEFAULT_ARCHIVE_EVERY_MS)
    .action(async (flags: { redis?: string; namespace?: string; leaseTtl: number; tick: number; streamPoll: number; brokers?: string; maxRangeRecords: number; maxRangeBytes: number; maxInFlight: number; attempts: number; retainCompleted: number; forgetFinished: number; deadLetterArchive?: string; deadLettersInRedis: number; deadLetterArchiveEvery: number }) => {
      logFileSystemEvents(log);
      const archive = flags.deadLetterArchive === undefined ? undefined : await openDeadLetterArchive(flags.deadLetterArchive);
      const url = resolveRedisUrl(flags.redis);
      const brokers = resolveBrokers(flags.brokers);
      const outages = createOutageReporter(log);
      const redis = await connectRedis(url, { maxRetriesPerRequest: null, outages, serverCheck: { warn: log } });
      const blocking = await connectRedis(url, { maxRetriesPerRequest: null, outages });
      const queueWhat = `queue at ${redactRedisUrl(url)}`;
      const wiring = brokers === undefined ? undefined : createStreamWiring(brokers, redis, log);
      const coordinator = createCoordinator({
        ...(wiring === undefined ? {} : { kafka: wiring.kafka, positions: wiring.positions }),
        attempts: flags.attempts,
        rangeLimits: { maxRecords: flags.maxRangeRecords, maxBytes: flags.maxRangeBytes, maxInFlightPerPartition: flags.maxInFlight },
        redisUrl: url,
        redis,
        blockingRedis: blocking,
        listInputs: listInputFiles,
        openReader: openInputReader,
        leaseTtlMs: flags.leaseTtl,
        tickMs: flags.tick,
        streamPollMs: flags.streamPoll,
        onQueueError: (error) => outages.failed(queueWhat, error),
        ...(Number.isFinite(flags.retainCompleted) ? { retainCompletedMs: flags.retainCompleted } : {}),
        ...(Number.isFinite(flags.forgetFinished) ? { forgetFinishedMs: flags.forgetFinished } : {}),
        ...(archive === undefined ? {} : { deadLetterArchive: archive, archiveLimits: { keepInRedis: flags.deadLettersInRedis }, archiveEveryMs: flags.deadLetterArchiveEvery }),
        ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
      });
      const running = coordinator.run();
      const stopped = stopOnSignal(log, 'stopping', () => coordinator.stop());
      // run() returns only after stop(). It rejects when this coordinator must not lead (a newer
      // planning protocol has led here) or on a defect: the command then ends with that error, and
      // the process exits without waiting on the connections it leaves open.
      await Promise.race([running, stopped]);
      let clean = await stopped;
      // The loop ends at its next check, unless a tick is waiting for Redis, which may never come back.
      if (!(await settledWithin(running, flags.tick + RUN_EXIT_GRACE_MS))) {
        log(`the planning loop is still waiting for Redis after ${flags.tick + RUN_EXIT_GRACE_MS} ms; exiting without it`);
        clean = false;
      } else {
        await running;
      }
      await wiring?.close();
      redis.disconnect();
      blocking.disconnect();
      log('stopped');
      // Connections that did not close keep retry timers alive: the process must not wait on them.
      if (!clean) process.exit(1);
    });
}

/**
 * `sluice stream <job> --topic <t>[,<t2>] [--start earliest|latest|<iso>]` registers a stream run;
 * `sluice stream stop <run>` stops it. The coordinator plans the topics' partitions into offset
 * ranges and the workers run them with the same processor as backfills.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { Redis } from 'ioredis';
import { RunState, coordinatorLeaseKey, createRunStore, createStreamPositions, isFinalState, readLeaseHolder } from '@sluice/control';
import { parseStreamStart } from '@sluice/coordinator';
import { loadJob, resolveRunOptions } from '@sluice/runtime';
import { collectSet, resolveRedisUrl } from '../config.ts';
import { missingRun } from '../missing-run.ts';
import { connectRedis, withRedis } from '../redis-connection.ts';

interface StreamFlags { topic: string; start: string; set: Record<string, string>; runId?: string; redis?: string; namespace?: string }

/** How long `stream start` waits for the coordinator to start the run before it returns anyway. */
const START_WAIT_MS = 15_000;

/**
 * Waits (up to `START_WAIT_MS`) for the coordinator to start a stream run, so a topic that does not
 * exist fails the command; says on stderr how to follow the run when the wait runs out.
 */
export async function confirmStreamStart(redis: Redis, runId: string, topics: readonly string[]): Promise<void> {
  if (!(await waitForStreamStart(redis, runId, topics, START_WAIT_MS))) {
    process.stderr.write(`the coordinator has not started ${runId} within ${START_WAIT_MS / 1000} s; follow it with \`sluice status ${runId}\`\n`);
  }
}

/**
 * Waits until the coordinator has started a stream run on every topic (each has its partitions'
 * positions); throws the run's error when it fails first. False when the wait ran out.
 */
async function waitForStreamStart(redis: Redis, runId: string, topics: readonly string[], timeoutMs: number): Promise<boolean> {
  const runs = createRunStore(redis);
  const positions = createStreamPositions(redis);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await runs.get(runId);
    if (run?.state === RunState.FAILED) {
      const error = run.error ?? 'no reason recorded';
      // The run keeps its error as "[CODE] message": the command fails with that same code.
      const code = /^\[(SLUICE_[A-Z_]+)\] /u.exec(error)?.[1];
      const known = Object.values(ErrorCode).find((c) => c === code);
      throw new SluiceError(known ?? ErrorCode.REMOTE, `stream run ${runId} did not start: ${error.replace(/^\[SLUICE_[A-Z_]+\] /u, '')}`, { retryable: false, context: { runId } });
    }
    if (run === undefined || isFinalState(run.state)) return true;
    if (run.state === RunState.RUNNING) {
      const seen = new Set((await positions.list(runId)).map((p) => p.topic));
      if (topics.every((topic) => seen.has(topic))) return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Registers `sluice stream` and `sluice stream stop`. */
export function registerStreamCommand(program: Command): void {
  const stream = program
    .command('stream')
    .description('keep a job current from Kafka topics (stream runs)');
  stream
    .command('start <job>', { isDefault: true })
    .description('register a stream run (also: sluice stream <job> --topic ...)')
    .requiredOption('-t, --topic <topics>', 'topic, or comma-separated topics')
    .option('--start <where>', 'earliest, latest or an ISO time, for partitions the run has not read yet', 'latest')
    .option('--set <key=value>', 'job option (repeatable)', collectSet, {})
    .option('--run-id <id>', 'run id; resubmitting a stopped run\'s id with the same topics and options resumes it')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--namespace <name>', 'the coordinators and workers to run it (their --namespace)')
    .action(async (jobName: string, flags: StreamFlags) => {
      const redisUrl = resolveRedisUrl(flags.redis);
      const job = await loadJob(jobName);
      const options = { ...flags.set, start: flags.start };
      parseStreamStart(flags.start);
      resolveRunOptions(job, options);
      const topics = flags.topic.split(',').map((t) => t.trim()).filter((t) => t !== '');
      if (topics.length === 0) throw new SluiceError(ErrorCode.INVALID_CONFIG, '--topic names no topic', { context: { flag: '--topic' } });
      const redis = await connectRedis(redisUrl);
      try {
        if ((await readLeaseHolder(redis, coordinatorLeaseKey(flags.namespace))) === undefined) {
          throw new SluiceError(ErrorCode.UNAVAILABLE, 'no coordinator is alive: start one with `sluice coordinator --brokers <host:port>`, then register the stream again', { retryable: false });
        }
        const runId = flags.runId ?? `${job.name}-stream-${randomUUID().slice(0, 8)}`;
        const run = await createRunStore(redis).submit({ runId, kind: 'stream', job: job.name, inputs: topics, options, splitSize: 0, ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }) });
        // Only the coordinator reaches Kafka: a misspelt topic is found when it starts the run, so
        // wait for that, and fail here rather than leave a failed run behind a 0 exit.
        await confirmStreamStart(redis, run.runId, topics);
        process.stdout.write(`${run.runId}\n`);
      } finally {
        redis.disconnect();
      }
    });
  stream
    .command('stop <run-id>')
    .description('stop a stream run; what was committed stays committed')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .action(async (runId: string, flags: { redis?: string }) => {
      await withRedis(flags.redis, async (redis) => {
        const runs = createRunStore(redis);
        const moved = await runs.transition(runId, [RunState.SUBMITTED, RunState.RUNNING], RunState.CANCELLING);
        const run = await runs.get(runId);
        if (run === undefined) throw await missingRun(runs, runId);
        process.stdout.write(moved ? `stopping ${runId}\n` : `run ${runId} is ${run.state}\n`);
      });
    });
}

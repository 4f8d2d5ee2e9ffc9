/**
 * `sluice run <job> --input <path or glob>...`: the embedded runner over local files, committing to
 * the Redis of `REDIS_URL` through the same exactly-once path as the workers.
 */
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Option } from 'commander';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { Command } from 'commander';
import { loadJob, runLocal } from '@sluice/runtime';
import type { LocalRunSummary } from '@sluice/runtime';
import { createTimeseriesStore } from '@sluice/timeseries';
import { byteSizeFlag, collectSet, integerFlag, numberFlag, resolveRedisUrl } from '../config.ts';
import { listInputFiles, normalizeInput } from '../inputs.ts';
import { connectRedis } from '../redis-connection.ts';
import { formatTable } from '../table.ts';
import { submitHandOff } from './hand-off.ts';

interface RunFlags {
  input?: string[];
  set: Record<string, string>;
  redis?: string;
  runId?: string;
  splitSize: number;
  concurrency: number;
  json?: boolean;
  keyPrefix?: string;
  backfill?: string[];
  stream?: string;
  boundary?: string;
  slack: number;
  namespace?: string;
}

/** Registers `sluice run`. */
export function registerRunCommand(program: Command): void {
  program
    .command('run <job>')
    .description('run a job over local files in this process (--input), or hand off from an HDFS backfill to a Kafka stream (--backfill, --stream)')
    .option('-i, --input <path...>', 'input files or globs (local run in this process)')
    .option('--backfill <url...>', 'hand-off mode: the archive (webhdfs://, hdfs://, file://) to backfill before the boundary')
    .option('--stream <topics>', 'hand-off mode: topics to stream from the boundary on')
    .option('--boundary <iso>', 'hand-off boundary (default: start of the largest-step bucket of the newest archive record)')
    .option('--namespace <name>', 'hand-off: the coordinators and workers to run it (their --namespace)')
    .option('--slack <seconds>', 'hand-off: the stream starts at the offsets for boundary minus this', numberFlag('--slack', { min: 0, unit: 'seconds' }), 300)
    .option('--set <key=value>', 'job option (repeatable), e.g. --set timeShift=auto', collectSet, {})
    .option('--redis <url>', 'Redis URL (default: REDIS_URL or redis://127.0.0.1:6379)')
    .option('--run-id <id>', 'run id; rerunning an id only does what is missing')
    .addOption(new Option('--split-size <bytes>', 'target split size for uncompressed text').argParser(byteSizeFlag('--split-size', 1024)).default(128 * 1024 ** 2, '128m'))
    .addOption(new Option('--concurrency <n>', 'splits processed at once').argParser(integerFlag('--concurrency', { min: 1, max: 1024 })).default(2))
    .option('--json', 'print the summary as JSON')
    .option('--key-prefix <prefix>', 'prefix for every kairos key written (kairos reads them with the same prefix)')
    .action(async (jobName: string, flags: RunFlags) => {
      if (flags.backfill !== undefined || flags.stream !== undefined) {
        if (flags.input !== undefined) {
          throw new SluiceError(ErrorCode.INVALID_CONFIG, '--input runs locally and --backfill/--stream hand off through the coordinator: pass one or the other', { context: { flags: ['--input', '--backfill', '--stream'] } });
        }
        if (flags.backfill === undefined || flags.stream === undefined) {
          throw new SluiceError(ErrorCode.INVALID_CONFIG, 'the hand-off needs both --backfill <url> and --stream <topic>', {});
        }
        const result = await submitHandOff(await loadJob(jobName), { ...flags, backfill: flags.backfill, stream: flags.stream });
        process.stdout.write(flags.json === true ? `${JSON.stringify(result)}\n` : `boundary ${result.boundary}\nbackfill run ${result.backfillRun}\nstream run ${result.streamRun}\n`);
        return;
      }
      if (flags.input === undefined) throw new SluiceError(ErrorCode.INVALID_CONFIG, 'pass --input <path or glob> (or --backfill and --stream for the hand-off)', {});
      const summary = await runCommand(jobName, { ...flags, input: flags.input });
      process.stdout.write(flags.json === true ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
    });
}

async function runCommand(jobName: string, flags: RunFlags & { input: string[] }): Promise<LocalRunSummary> {
  const redisUrl = resolveRedisUrl(flags.redis);
  const job = await loadJob(jobName);
  const inputs = await expandInputs(flags.input);
  const redis = await connectRedis(redisUrl, { maxRetriesPerRequest: 3, serverCheck: { warn: (line) => process.stderr.write(`${line}\n`) } });
  try {
    const store = createTimeseriesStore({ redis, series: job.series, ...(flags.keyPrefix === undefined ? {} : { keyPrefix: flags.keyPrefix }) });
    return await runLocal({
      job,
      inputs,
      rawOptions: flags.set,
      store,
      runId: flags.runId ?? `${job.name}-${randomUUID()}`,
      splitSize: flags.splitSize,
      concurrency: flags.concurrency,
    });
  } finally {
    redis.disconnect();
  }
}

/**
 * Expands local paths and globs to sorted, distinct absolute paths with the listing backfills use
 * (a directory contributes the visible files directly in it; `**` for any depth), so a local run
 * reads what a backfill of the same files would. A pattern that matches nothing is an error naming
 * `what` it was.
 */
export async function expandInputs(patterns: readonly string[], what: string = '--input'): Promise<string[]> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const url = normalizeInput(pattern);
    if (!url.startsWith('file:')) {
      throw new SluiceError(ErrorCode.INVALID_CONFIG, `${what} ${JSON.stringify(pattern)} is not a local path: this command reads local files (submit HDFS inputs with \`sluice backfill\`)`, { context: { input: pattern } });
    }
    const files = await listInputFiles(pattern).catch((error: unknown) => {
      if (isSluiceError(error) && error.code === ErrorCode.NOT_FOUND && error.context.exception === 'FileNotFoundException') {
        throw new SluiceError(ErrorCode.NOT_FOUND, `${what} ${JSON.stringify(pattern)} matches no file`, { cause: error, context: { input: pattern } });
      }
      throw error;
    });
    if (files.length === 0) {
      throw new SluiceError(ErrorCode.NOT_FOUND, `${what} ${JSON.stringify(pattern)} matches no file`, { context: { input: pattern } });
    }
    for (const file of files) out.add(fileURLToPath(file.url));
  }
  return [...out].sort();
}

function formatSummary(s: LocalRunSummary): string {
  return formatTable([
    ['run', s.runId],
    ['splits', String(s.splits)],
    ['records', s.records.toLocaleString('en-US')],
    ['bad records', s.badRecords === 0 ? '0' : `${s.badRecords.toLocaleString('en-US')} (sluice dead-letters ${s.runId})`],
    ['expired writes', s.expired.toLocaleString('en-US')],
    ['series written', s.series.toLocaleString('en-US')],
    ['keys written', s.keys.toLocaleString('en-US')],
    ['time shift', `${s.timeShiftSeconds} s (${(s.timeShiftSeconds / 86_400).toFixed(0)} days)`],
    ['elapsed', `${(s.elapsedMs / 1000).toFixed(2)} s`],
    ['records/s', Math.round(s.recordsPerSecond).toLocaleString('en-US')],
  ]);
}

/**
 * `sluice run <job> --backfill <url> --stream <topic>`: the hand-off from archive to live, in the
 * pattern of Flink's HybridSource. A boundary time T, aligned to the job's largest interval step,
 * splits the work: the backfill takes archive records with event time before T, the stream starts
 * from the offsets for T minus a slack and keeps records at or after T. Each event is counted once
 * provided the archive holds every event before T.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, SluiceError, resolveStep } from '@sluice/core';
import type { JobDefinition } from '@sluice/core';
import { coordinatorLeaseKey, createRunStore, readLeaseHolder } from '@sluice/control';
import { computeAutoShiftSeconds, parseEventTimeBound, resolveRunOptions } from '@sluice/runtime';
import { readSplit, detectFormat } from '@sluice/formats';
import type { SplitCompression, SplitFormat } from '@sluice/formats';
import { listInputFiles, normalizeInput, openInputReader } from '../inputs.ts';
import { resolveRedisUrl } from '../config.ts';
import { connectRedis } from '../redis-connection.ts';
import { confirmStreamStart } from './stream.ts';

const GREGORIAN_SECONDS: Readonly<Record<string, number>> = { daily: 86_400, weekly: 604_800, monthly: 2_592_000, yearly: 31_536_000 };

/** The job's largest interval step in seconds (calendar steps by their nominal length). */
export function largestStepSeconds(job: Pick<JobDefinition<unknown, unknown>, 'series'>): number {
  let largest = 1;
  for (const decl of Object.values(job.series)) {
    for (const interval of Object.values(decl.intervals)) {
      const step = resolveStep(interval.step);
      largest = Math.max(largest, typeof step === 'number' ? step : (GREGORIAN_SECONDS[step] ?? 86_400));
    }
  }
  return largest;
}

/** T aligned down to a multiple of `stepSeconds`, in epoch microseconds. */
export function alignBoundary(micros: number, stepSeconds: number): number {
  const step = stepSeconds * 1e6;
  return Math.floor(micros / step) * step;
}

/** Options of the hand-off submission. */
export interface HandOffFlags {
  backfill: string[];
  stream: string;
  boundary?: string;
  /** Seconds. */
  slack: number;
  set: Record<string, string>;
  runId?: string;
  /** Bytes. */
  splitSize: number;
  redis?: string;
  namespace?: string;
}

/** What was submitted. */
export interface HandOffResult {
  boundary: string;
  timeShiftSeconds: number;
  backfillRun: string;
  streamRun: string;
}

/** Submits the stream (from T - slack, event time >= T) once it starts, then the backfill (event time < T). */
export async function submitHandOff(job: JobDefinition<unknown, unknown>, flags: HandOffFlags): Promise<HandOffResult> {
  const redisUrl = resolveRedisUrl(flags.redis);
  const { timeShift } = resolveRunOptions(job, flags.set);
  const inputs = flags.backfill.map(normalizeInput);
  const topics = flags.stream.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (topics.length === 0) throw new SluiceError(ErrorCode.INVALID_CONFIG, '--stream names no topic', { context: { flag: '--stream' } });
  const slackSeconds = flags.slack;
  if (!Number.isFinite(slackSeconds) || slackSeconds < 0) throw new SluiceError(ErrorCode.INVALID_CONFIG, `--slack must be seconds >= 0, got ${flags.slack}`, { context: { flag: '--slack' } });
  const explicit = parseEventTimeBound('--boundary', flags.boundary);
  const redis = await connectRedis(redisUrl);
  try {
    if ((await readLeaseHolder(redis, coordinatorLeaseKey(flags.namespace))) === undefined) {
      throw new SluiceError(ErrorCode.UNAVAILABLE, 'no coordinator is alive: start one with `sluice coordinator --brokers <host:port>` and workers, then run again', { retryable: false });
    }
    const step = largestStepSeconds(job);
    const newest = explicit === undefined || timeShift === 'auto' ? await newestArchiveEvent(job, inputs) : undefined;
    const boundary = alignBoundary(explicit ?? (newest as number), step);
    // Both runs must shift by the same amount, so `auto` is resolved here, from the archive.
    const options = { ...flags.set };
    if (timeShift === 'auto') options.timeShift = String(computeAutoShiftSeconds(newest as number, Date.now() * 1000));
    const base = flags.runId ?? `${job.name}-${randomUUID().slice(0, 8)}`;
    const runs = createRunStore(redis);
    const ns = flags.namespace === undefined ? {} : { namespace: flags.namespace };
    // The stream first: a topic that does not exist fails it at once (only the coordinator reaches
    // Kafka), before a backfill is submitted that nothing would carry on from.
    const stream = await runs.submit({
      runId: `${base}-stream`, kind: 'stream', job: job.name, inputs: topics,
      options: { ...options, start: new Date(boundary / 1000 - slackSeconds * 1000).toISOString(), since: String(boundary) },
      splitSize: 0,
      ...ns,
    });
    await confirmStreamStart(redis, stream.runId, topics);
    const backfill = await runs.submit({
      runId: `${base}-backfill`, kind: 'backfill', job: job.name, inputs, options, until: boundary, splitSize: flags.splitSize, ...ns,
    });
    return { boundary: new Date(boundary / 1000).toISOString(), timeShiftSeconds: Number(options.timeShift ?? 0), backfillRun: backfill.runId, streamRun: stream.runId };
  } finally {
    redis.disconnect();
  }
}

/** Newest event time in the archive (the default boundary is the start of its largest-step bucket). */
async function newestArchiveEvent(job: JobDefinition<unknown, unknown>, inputs: readonly string[]): Promise<number> {
  const eventTime = job.eventTime;
  if (eventTime === undefined) throw new SluiceError(ErrorCode.INVALID_DEFINITION, `job ${job.name} has no eventTime(record), which the hand-off needs; or pass --boundary`, {});
  let newest: number | undefined;
  for (const input of inputs) {
    for (const file of await listInputFiles(input)) {
      const { format, compression } = detectFormat(new URL(file.url).pathname);
      const batches = readSplit(openInputReader(file.url), {
        format: format as SplitFormat, compression: compression as SplitCompression, start: 0, end: file.size,
        ...(job.fields === undefined ? {} : { columns: job.fields }),
      });
      for await (const batch of batches) {
        for (const record of batch.records) {
          const ts = eventTime(record);
          if (ts !== undefined && (newest === undefined || ts > newest)) newest = ts;
        }
      }
    }
  }
  if (newest === undefined) throw new SluiceError(ErrorCode.INVALID_CONFIG, 'the archive has no record with an event time; pass --boundary', {});
  return newest;
}

/**
 * The embedded runner: a whole job over local files, in this process, through the same split,
 * combine and commit path the workers use. It is what `sluice run` does without a cluster, and
 * the reference the distributed paths are tested against.
 */
import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { JobDefinition } from '@sluice/core';
import { SplitFormat, createFileRangeReader, detectFormat, eventTimeBounds, isSplittable, planParquetSplits, planTextSplits, readSplit } from '@sluice/formats';
import type { EventTimeBounds, SplitCompression } from '@sluice/formats';
import { runSplit } from './run-split.ts';
import type { CommitTarget, SplitResult, SplitTask } from './run-split.ts';
import { computeAutoShiftSeconds, resolveRunOptions } from './run-options.ts';

/** Options of `runLocal`. */
export interface LocalRunOptions {
  job: JobDefinition<unknown, unknown>;
  /** Local file paths (already expanded from globs). */
  inputs: readonly string[];
  /** `--set key=value` pairs, framework and job options together. */
  rawOptions?: Readonly<Record<string, string>>;
  store: CommitTarget;
  runId: string;
  /** Target split size in bytes for splittable (uncompressed text) files. */
  splitSize?: number;
  /** Splits run at once in this process. */
  concurrency?: number;
  /** Format and compression for every input, instead of detecting them from file names. */
  format?: { format: SplitFormat; compression: SplitCompression };
  /** Clock for `timeShift=auto`, epoch microseconds. */
  nowMicros?: () => number;
  chunkRecords?: number;
  onSplitDone?: (task: SplitTask, result: SplitResult) => void;
}

/** What a local run did. */
export interface LocalRunSummary {
  runId: string;
  splits: number;
  records: number;
  badRecords: number;
  expired: number;
  bytes: number;
  series: number;
  keys: number;
  timeShiftSeconds: number;
  elapsedMs: number;
  recordsPerSecond: number;
}

/** Runs a job over local files and returns its summary. */
export async function runLocal(run: LocalRunOptions): Promise<LocalRunSummary> {
  const started = performance.now();
  if (run.inputs.length === 0) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, 'no input files: pass --input with a path or glob that matches at least one file', {});
  }
  const { options, timeShift, since, until, maxBadFraction } = resolveRunOptions(run.job, run.rawOptions ?? {});
  const readers: { close(): Promise<void> }[] = [];
  try {
    // As the coordinator plans: row groups outside the bounds are skipped, unless timeShift=auto must see every row.
    const field = run.job.eventTimeField;
    const eventTime = field === undefined || timeShift === 'auto' ? undefined : eventTimeBounds(field, since, until);
    return await runPlanned(run, options, timeShift, since, until, maxBadFraction, await planLocalSplits(run, readers, eventTime), started);
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}

async function runPlanned(
  run: LocalRunOptions,
  options: unknown,
  timeShift: number | 'auto',
  since: number | undefined,
  until: number | undefined,
  maxBadFraction: number,
  tasks: SplitTask[],
  started: number,
): Promise<LocalRunSummary> {
  let shiftSeconds = timeShift === 'auto' ? 0 : timeShift;
  if (timeShift === 'auto') {
    const newest = await findNewestEventTime(run.job, tasks);
    if (newest === undefined) {
      throw new SluiceError(ErrorCode.INVALID_CONFIG, 'timeShift=auto needs records with an event time, and the input has none', { context: { job: run.job.name } });
    }
    shiftSeconds = computeAutoShiftSeconds(newest, (run.nowMicros ?? (() => Date.now() * 1000))());
  }
  const collect = { names: new Set<string>(), keys: new Set<string>() };
  const totals = { records: 0, badRecords: 0, expired: 0, bytes: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next] as SplitTask;
      next += 1;
      const result = await runSplit(task, {
        job: run.job,
        options,
        store: run.store,
        timeShiftMicros: shiftSeconds * 1e6,
        maxBadFraction,
        collect,
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        ...(run.chunkRecords === undefined ? {} : { chunkRecords: run.chunkRecords }),
      });
      totals.records += result.records;
      totals.badRecords += result.badRecords;
      totals.expired += result.expired;
      totals.bytes += result.bytes;
      run.onSplitDone?.(task, result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, run.concurrency ?? 2) }, () => worker()));
  const elapsedMs = performance.now() - started;
  return {
    runId: run.runId,
    splits: tasks.length,
    ...totals,
    series: collect.names.size,
    keys: collect.keys.size,
    timeShiftSeconds: shiftSeconds,
    elapsedMs,
    recordsPerSecond: totals.records / Math.max(elapsedMs / 1000, 1e-9),
  };
}

async function planLocalSplits(run: LocalRunOptions, readers: { close(): Promise<void> }[], eventTime: EventTimeBounds | undefined): Promise<SplitTask[]> {
  const tasks: SplitTask[] = [];
  const files = [...run.inputs].sort();
  for (const path of files) {
    const info = await stat(path).catch((error: unknown) => {
      throw new SluiceError(ErrorCode.NOT_FOUND, `input ${path} cannot be read: ${(error as Error).message}`, { cause: error, context: { path } });
    });
    const { format, compression } = run.format ?? detectFormat(path);
    const reader = createFileRangeReader(path);
    readers.push(reader);
    const splitSize = run.splitSize ?? 128 * 1024 * 1024;
    let ranges: readonly { start: number; end: number }[];
    let rangeId = '';
    if (format === SplitFormat.PARQUET) {
      // Row ranges of whole row groups, as the coordinator plans them.
      ranges = await planParquetSplits(reader, splitSize, eventTime === undefined ? {} : { eventTime });
      rangeId = 'rows=';
    } else {
      ranges = isSplittable(compression) ? planTextSplits(info.size, splitSize) : [{ start: 0, end: info.size }];
    }
    for (const range of ranges) {
      tasks.push({
        runId: run.runId,
        splitId: `${pathToFileURL(path).href}#${rangeId}${range.start}-${range.end}`,
        ordinal: tasks.length,
        reader,
        format,
        compression,
        start: range.start,
        end: range.end,
      });
    }
  }
  return tasks;
}

async function findNewestEventTime(job: JobDefinition<unknown, unknown>, tasks: readonly SplitTask[]): Promise<number | undefined> {
  const eventTime = job.eventTime;
  if (eventTime === undefined) {
    throw new SluiceError(ErrorCode.INVALID_DEFINITION, `job ${JSON.stringify(job.name)} has no eventTime(record), which timeShift=auto needs`, { context: { job: job.name } });
  }
  let newest: number | undefined;
  for (const task of tasks) {
    if (task.reader === undefined) continue;
    const columns = job.fields === undefined ? {} : { columns: job.fields };
    for await (const batch of readSplit(task.reader, { format: task.format, compression: task.compression, start: task.start, end: task.end, ...columns })) {
      for (const record of batch.records) {
        const ts = eventTime(record);
        if (ts !== undefined && (newest === undefined || ts > newest)) newest = ts;
      }
    }
  }
  return newest;
}

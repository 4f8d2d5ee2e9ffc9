/**
 * Runs one split: reads its records, hands each to the processor, folds the emits into chunks and
 * commits each chunk through a fenced store. Chunks are cut at record boundaries by a rule that
 * only looks at the records since the chunk began, so a retry that resumes after the last
 * committed chunk (or a zombie that starts over) cuts exactly the same chunks: that is what lets
 * the fence turn at-least-once execution into exactly-once results.
 */
import { ErrorCode, SluiceError, coerceError, createCombiner, isSluiceError } from '@sluice/core';
import type { Aggregate, Chunk, DeadLetter, Emit, EmitSlot, JobDefinition, RangeReader } from '@sluice/core';
import { readSplit } from '@sluice/formats';
import type { RecordBatch, SplitCompression, SplitFormat } from '@sluice/formats';
import { readAhead } from './read-ahead.ts';

/** The store side of a run: fenced commits and per-split progress. */
export interface CommitTarget {
  commit(runId: string, chunk: Chunk): Promise<{ applied: boolean; expired: number; keysWritten: number }>;
  /** One chunk as the whole of several splits none of which has a fence yet; else not applied (see runSplitsTogether). */
  commitTogether?(runId: string, splitIds: readonly string[], chunk: Chunk): Promise<{ applied: boolean; expired: number; keysWritten: number }>;
  progress(runId: string, splitId: string): Promise<{ seq: number; resumeAt: number } | undefined>;
}

/** One split of an input. */
export interface SplitTask {
  runId: string;
  splitId: string;
  ordinal: number;
  /** Bytes of a file split, decoded by `@sluice/formats`. */
  reader?: RangeReader;
  /** Records from elsewhere (a Kafka offset range), instead of `reader`; offsets are positions to resume from. */
  source?: BatchSource;
  /** Names the input in dead-letter provenance; defaults to the reader's URL. */
  url?: string;
  format: SplitFormat;
  compression: SplitCompression;
  start: number;
  end: number;
}

/** Yields a split's record batches, starting at `resumeFrom` when a retry resumes. */
export type BatchSource = (resumeFrom: number | undefined) => AsyncIterable<RecordBatch>;

/** How to run a split. */
export interface RunSplitOptions<Rec, Options> {
  job: JobDefinition<Rec, Options>;
  options: Options;
  store: CommitTarget;
  /** Added to every emitted event time (replaying recorded traffic as recent). */
  timeShiftMicros?: number;
  /** Keep only records whose event time (`job.eventTime`, before the shift) is at or after this. */
  since?: number;
  /** Keep only records whose event time is before this: the backfill side of a backfill/stream hand-off. */
  until?: number;
  /** Cut a chunk after this many records (good or bad). */
  chunkRecords?: number;
  /** Cut a chunk once the combiner holds this much (see CombinerOptions.maxWeight). */
  maxWeight?: number;
  /**
   * Fail the split (CORRUPT_INPUT, not retried) once at least 1000 lines or messages of this
   * attempt failed to decode and they are more than this share of those read: such an input is not
   * in its format, and keeping each line as a dead letter would only fill Redis. Default 0.5; 1
   * never fails. Chunks are cut as always, so the check decides only whether the split goes on.
   */
  maxBadFraction?: number;
  signal?: AbortSignal;
  /** When given, collects the distinct metric names and kairos key suffixes (name:interval:bucket) written. */
  collect?: { names: Set<string>; keys: Set<string> };
  /** Called after each committed chunk. */
  onChunk?: (chunk: ChunkReport) => void;
}

/** What one committed chunk did. */
export interface ChunkReport {
  seq: number;
  records: number;
  badRecords: number;
  bytes: number;
  applied: boolean;
  expired: number;
  keysWritten: number;
}

/** Totals of a split run (this attempt only: chunks committed by an earlier attempt are skipped). */
export interface SplitResult {
  records: number;
  badRecords: number;
  bytes: number;
  expired: number;
  keysWritten: number;
  chunks: number;
  /** Chunks whose commit was a no-op because the fence had them already. */
  duplicateChunks: number;
  /**
   * Set when another attempt of the split committed past this one (it took the split over while
   * this attempt was paused past its lock): this attempt stopped at this chunk, applying nothing
   * more. The split may be done (read the fence) or still in that other attempt's hands.
   */
  supersededAt?: number;
  resumedFrom: number | undefined;
}

const MAX_DEAD_LETTER_RAW = 1024;
/** Undecodable lines an attempt must meet before `maxBadFraction` judges the input. */
const MIN_BAD_TO_JUDGE = 1000;

/** `resumeAt` of a split's final chunk: nothing is left to read. */
export const SPLIT_DONE = Number.MAX_SAFE_INTEGER;

/** Runs one split to the end, committing each chunk exactly once; throws on a fatal error. */
export async function runSplit<Rec, Options>(task: SplitTask, run: RunSplitOptions<Rec, Options>): Promise<SplitResult> {
  const { job, store } = run;
  const chunkRecords = run.chunkRecords ?? 50_000;
  const shift = run.timeShiftMicros ?? 0;
  const combiner = createCombiner(job, run.maxWeight === undefined ? {} : { maxWeight: run.maxWeight });
  const progress = await store.progress(task.runId, task.splitId);
  if (progress !== undefined && progress.resumeAt >= SPLIT_DONE) {
    return { records: 0, badRecords: 0, bytes: 0, expired: 0, keysWritten: 0, chunks: 0, duplicateChunks: 0, resumedFrom: SPLIT_DONE };
  }
  let seq = progress === undefined ? 0 : progress.seq + 1;
  let chunkStart = progress === undefined ? task.start : progress.resumeAt;
  const result: SplitResult = {
    records: 0, badRecords: 0, bytes: 0, expired: 0, keysWritten: 0, chunks: 0, duplicateChunks: 0,
    resumedFrom: progress === undefined ? undefined : progress.resumeAt,
  };

  // Emits of one record are buffered and folded only when the processor returns, so a record
  // that throws half-way leaves no partial aggregates behind.
  const pending: EmitSlot[] = [];
  let used = 0;
  const bufferedEmit: Emit = (series, name, value, tsMicros) => {
    const slot = pending[used];
    const ts = tsMicros + shift;
    if (slot === undefined) pending.push({ series, name, value, tsMicros: ts });
    else {
      slot.series = series; slot.name = name; slot.value = value; slot.tsMicros = ts;
    }
    used += 1;
  };
  const context = { options: run.options };
  const filtered = run.since !== undefined || run.until !== undefined;
  const eventTime = job.eventTime;
  if (filtered && eventTime === undefined) {
    throw new SluiceError(ErrorCode.INVALID_DEFINITION, `job ${JSON.stringify(job.name)} has no eventTime(record), which since/until need`, { context: { job: job.name } });
  }
  const since = run.since ?? Number.MIN_SAFE_INTEGER;
  const until = run.until ?? Number.MAX_SAFE_INTEGER;

  let records = 0;
  let bad = 0;
  let deadLetters: DeadLetter[] = [];
  const maxBadFraction = run.maxBadFraction ?? 0.5;
  let decodedLines = 0;
  let undecodable = 0;
  let inFlight: Promise<void> | undefined;
  let lastEnd = chunkStart;
  // Offsets are file byte positions only for plain text; Parquet offsets are rows, Kafka offsets
  // are messages and gzip offsets are uncompressed, so their chunks count the bytes their batches
  // report instead (for gzip, compressed: the unit of the run's total).
  const offsetsAreBytes = task.source === undefined && task.format !== 'parquet' && task.compression !== 'gzip';
  let batchBytes = 0;

  // Set by a commit that finds another attempt ahead: reading on would only commit no-ops.
  let superseded = false;
  const cut = async (resumeAt: number, endOfBytes: number = resumeAt): Promise<void> => {
    if (superseded) return;
    const chunk: Chunk = {
      splitId: task.splitId,
      seq,
      resumeAt,
      startsAt: chunkStart,
      splitOrdinal: task.ordinal,
      aggregates: collectInto(run.collect, combiner.drain()),
      stats: { records, badRecords: bad, bytes: offsetsAreBytes ? endOfBytes - chunkStart : batchBytes },
      deadLetters,
    };
    seq += 1;
    chunkStart = resumeAt;
    batchBytes = 0;
    records = 0;
    bad = 0;
    deadLetters = [];
    // One commit in flight while the next chunk is being decoded; commits of a split stay ordered.
    if (inFlight !== undefined) await inFlight;
    inFlight = commitChunk(chunk);
    // A failed commit is thrown by the next `await inFlight`; until then it must not count as an
    // unhandled rejection, which would kill the whole worker while the next batch is being read.
    inFlight.catch(() => undefined);
  };
  const commitChunk = async (chunk: Chunk): Promise<void> => {
    const outcome = await store.commit(task.runId, chunk);
    result.chunks += 1;
    if (!outcome.applied) {
      result.duplicateChunks += 1;
      // Not applied because the fence is at this very chunk (a reply lost, the commit resent) is
      // this attempt's own progress, even when that chunk was its last; past it, or done at
      // another chunk, another attempt holds the split now.
      const fence = await store.progress(task.runId, task.splitId);
      if (fence !== undefined && fence.seq !== chunk.seq && (fence.seq > chunk.seq || fence.resumeAt >= SPLIT_DONE)) {
        superseded = true;
        result.supersededAt = chunk.seq;
      }
      return;
    }
    result.records += chunk.stats.records;
    result.badRecords += chunk.stats.badRecords;
    result.bytes += chunk.stats.bytes;
    result.expired += outcome.expired;
    result.keysWritten += outcome.keysWritten;
    run.onChunk?.({ seq: chunk.seq, ...chunk.stats, ...outcome });
  };

  const batches = openBatches(task, progress?.resumeAt, job.fields);
  let firstBatch = progress === undefined && task.start > 0;
  // Whether the loop is inside a batch: an error there leaves it half folded, one between batches
  // (the reader failing) leaves every record before it processed.
  let inBatch = false;
  try {
    for await (const batch of batches) {
      if (superseded) break;
      inBatch = true;
      if (firstBatch) {
        // The partial line before this split's first owned line was counted by the previous split.
        const first = Math.min(batch.offsets[0] ?? Number.MAX_SAFE_INTEGER, ...batch.deadLetters.map((d) => offsetOf(d.provenance)));
        if (first !== Number.MAX_SAFE_INTEGER && first > chunkStart) chunkStart = first;
        firstBatch = false;
      }
      if (run.signal?.aborted) {
        // The reason says whether the split is released for a retry (shutdown) or cancelled for good.
        const reason: unknown = run.signal.reason;
        throw isSluiceError(reason) ? reason : new SluiceError(ErrorCode.CANCELLED, `split ${task.splitId} cancelled`, { context: { runId: task.runId, splitId: task.splitId } });
      }
      // Decode failures are located by offset; fold them into the chunk that covers that offset.
      let nextDead = 0;
      const decodeDead = batch.deadLetters;
      const deadOffsets = decodeDead.map((d) => offsetOf(d.provenance));
      const { records: recs, offsets } = batch;
      for (let i = 0; i < recs.length; i += 1) {
        const offset = offsets[i] as number;
        while (nextDead < decodeDead.length && (deadOffsets[nextDead] as number) < offset) {
          if (records >= chunkRecords || combiner.full) await cut(deadOffsets[nextDead] as number);
          deadLetters.push(decodeDead[nextDead] as DeadLetter);
          records += 1;
          bad += 1;
          nextDead += 1;
        }
        if (records >= chunkRecords || combiner.full) await cut(offset);
        const record = recs[i] as Rec;
        used = 0;
        records += 1;
        try {
          if (filtered) {
            const ts = (eventTime as (r: Rec) => number | undefined)(record);
            // Records without an event time cannot be placed on either side of a boundary: bad records.
            if (ts === undefined) throw new SluiceError(ErrorCode.BAD_RECORD, 'record has no event time, so since/until cannot place it');
            if (ts < since || ts >= until) continue;
          }
          job.process(record, bufferedEmit, context);
          if (used > 0) combiner.emitAll(pending, used);
        } catch (error) {
          const failure = coerceError(error, ErrorCode.BAD_RECORD);
          if (failure.code === ErrorCode.INVALID_DEFINITION) throw failure;
          bad += 1;
          deadLetters.push({ provenance: `${batch.url ?? task.url ?? task.reader?.url ?? task.splitId}@${offset}`, reason: failure.message, raw: safeRaw(record) });
        }
      }
      while (nextDead < decodeDead.length) {
        deadLetters.push(decodeDead[nextDead] as DeadLetter);
        records += 1;
        bad += 1;
        nextDead += 1;
      }
      decodedLines += recs.length + decodeDead.length;
      undecodable += decodeDead.length;
      if (undecodable >= MIN_BAD_TO_JUDGE && undecodable > maxBadFraction * decodedLines) {
        const where = task.url ?? task.reader?.url ?? task.splitId;
        throw new SluiceError(
          ErrorCode.CORRUPT_INPUT,
          `${where}: ${undecodable} of the ${decodedLines} ${task.source === undefined ? 'lines' : 'messages'} read by this attempt do not decode as ${task.format} (the first: ${decodeDead[0]?.reason ?? 'see the dead letters'}); check the input's format or name, or raise --set maxBadFraction (now ${maxBadFraction})`,
          { retryable: false, context: { runId: task.runId, splitId: task.splitId, undecodable, read: decodedLines, maxBadFraction } },
        );
      }
      lastEnd = Math.max(lastEnd, batch.endOffset);
      batchBytes += batch.bytes;
      inBatch = false;
    }
  } catch (error) {
    // A corrupt input (truncated gzip, undecodable row group) fails the split for good after the
    // reader yielded every record before the corruption: commit them, so it loses only what cannot
    // be read. Only for corruption: it sits at the same place in every attempt, so this cut is as
    // deterministic as the others. A transient error (I/O, a Kafka fetch) could stop two attempts
    // at different places; those retry from the last regular chunk instead.
    if (!inBatch && records > 0 && isSluiceError(error) && error.code === ErrorCode.CORRUPT_INPUT) {
      await cut(lastEnd);
      if (inFlight !== undefined) await inFlight;
    }
    throw error;
  }
  // The last chunk is committed even when empty: its resumeAt marks the split done, so a retry
  // after it returns at once instead of committing an empty chunk again.
  await cut(SPLIT_DONE, Math.max(lastEnd, chunkStart));
  if (inFlight !== undefined) await inFlight;
  return result;
}

function collectInto(collect: RunSplitOptions<unknown, unknown>['collect'], aggregates: Aggregate[]): Aggregate[] {
  if (collect !== undefined) {
    for (const a of aggregates) {
      collect.names.add(a.name);
      collect.keys.add(`${a.name}:${a.interval}:${a.iBucket}${a.rBucket === undefined ? '' : `:${a.rBucket}`}`);
    }
  }
  return aggregates;
}

function openBatches(task: SplitTask, resumeFrom: number | undefined, columns: readonly string[] | undefined): AsyncIterable<RecordBatch> {
  // A source answers one request at a time (a Kafka fetch): keep the next one in the air.
  if (task.source !== undefined) return readAhead(task.source(resumeFrom));
  if (task.reader === undefined) {
    throw new SluiceError(ErrorCode.INTERNAL, `split ${task.splitId} has neither a reader nor a source`, { retryable: false, context: { splitId: task.splitId } });
  }
  return readSplit(task.reader, {
    format: task.format,
    compression: task.compression,
    start: task.start,
    end: task.end,
    ...(resumeFrom === undefined ? {} : { resumeFrom }),
    ...(columns === undefined ? {} : { columns }),
  });
}

function offsetOf(provenance: string): number {
  const at = provenance.lastIndexOf('@');
  const value = Number(provenance.slice(at + 1));
  return Number.isFinite(value) ? value : Number.MAX_SAFE_INTEGER;
}

function safeRaw(record: unknown): string {
  try {
    return JSON.stringify(record).slice(0, MAX_DEAD_LETTER_RAW);
  } catch {
    return String(record).slice(0, MAX_DEAD_LETTER_RAW);
  }
}

/**
 * Runs several splits of one run as one chunk. Kafka ranges of different partitions cover the
 * same stretch of event time, so each one committed alone writes the same keys again; combined,
 * the keys are written once. Exactly-once does not rest on the grouping: the chunk is committed
 * only if none of the splits has a fence yet, and sets all their fences in the same write. Any
 * other case (a fence exists, the group outgrows one chunk, an error) declines, writes nothing,
 * and the caller runs each split alone, which the fences then make exact as always; except a run
 * of a newer version (OUTDATED), which is thrown: every range alone would be refused the same.
 */
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { Chunk } from '@sluice/core';
import type { RecordBatch } from '@sluice/formats';
import { SPLIT_DONE, runSplit } from './run-split.ts';
import type { CommitTarget, RunSplitOptions, SplitTask } from './run-split.ts';

/** What one split contributed to a combined run. */
export interface TogetherShare {
  records: number;
  badRecords: number;
  bytes: number;
}

/** The outcome of `runSplitsTogether`. */
export type TogetherResult =
  | { combined: true; shares: TogetherShare[]; expired: number; keysWritten: number }
  | { combined: false; reason: string };

/** Stops a combined run without writing anything. */
class Declined extends Error {}

/** Combined runs hold their records' aggregates in one chunk; past this, run the splits alone. */
const MAX_WEIGHT_TOGETHER = 200_000;

/**
 * Runs `tasks` (each with a `source`) as one chunk committed through `store.commitTogether`;
 * `{ combined: false }` when it declined, with nothing written.
 */
export async function runSplitsTogether<Rec, Options>(tasks: readonly SplitTask[], run: RunSplitOptions<Rec, Options>): Promise<TogetherResult> {
  const store = run.store;
  const commitTogether = store.commitTogether?.bind(store);
  const first = tasks[0];
  if (first === undefined || tasks.length < 2) return { combined: false, reason: 'fewer than two splits' };
  if (commitTogether === undefined) return { combined: false, reason: 'the store cannot commit splits together' };
  if (tasks.some((t) => t.source === undefined || t.runId !== first.runId)) return { combined: false, reason: 'only sourced splits of one run combine' };
  // Series lists keep the order of split ordinals; one chunk of several splits has no single ordinal.
  if (Object.values(run.job.series).some((decl) => decl.type === 'series')) return { combined: false, reason: 'the job writes series lists' };

  const ids = tasks.map((t) => t.splitId);
  const shares: TogetherShare[] = tasks.map(() => ({ records: 0, badRecords: 0, bytes: 0 }));
  let outcome: { expired: number; keysWritten: number } | undefined;
  const target: CommitTarget = {
    progress: async () => undefined,
    commit: async (runId: string, chunk: Chunk) => {
      if (chunk.seq !== 0 || chunk.resumeAt !== SPLIT_DONE) throw new Declined('the splits outgrow one chunk');
      const done = await commitTogether(runId, ids, chunk);
      if (!done.applied) throw new Declined('a split already has a fence');
      outcome = done;
      return done;
    },
  };
  async function* concatenated(): AsyncGenerator<RecordBatch, void, undefined> {
    for (let i = 0; i < tasks.length; i += 1) {
      const task = tasks[i] as SplitTask;
      const share = shares[i] as TogetherShare;
      for await (const batch of (task.source as NonNullable<SplitTask['source']>)(undefined)) {
        share.records += batch.records.length + batch.deadLetters.length;
        share.badRecords += batch.deadLetters.length;
        share.bytes += batch.bytes;
        yield { ...batch, ...(task.url === undefined ? {} : { url: task.url }) };
      }
    }
  }
  try {
    await runSplit(
      { runId: first.runId, splitId: ids.join(','), ordinal: first.ordinal, source: () => concatenated(), format: first.format, compression: first.compression, start: 0, end: 0 },
      { ...run, store: target, chunkRecords: Number.MAX_SAFE_INTEGER, maxWeight: MAX_WEIGHT_TOGETHER },
    );
  } catch (error) {
    // A worker older than the run must not read every range again to be refused once per range.
    if (isSluiceError(error) && error.code === ErrorCode.OUTDATED) throw error;
    // Nothing was written unless the commit applied, and the commit is the run's last step.
    if (outcome === undefined) return { combined: false, reason: error instanceof Declined ? error.message : `failed together: ${String(error)}` };
    throw error;
  }
  if (outcome === undefined) return { combined: false, reason: 'nothing was committed' };
  return { combined: true, shares, expired: outcome.expired, keysWritten: outcome.keysWritten };
}

/**
 * Moves runs' oldest dead letters out of Redis into archive files, keeping the newest in Redis.
 * Each step reads the oldest entries, writes them to a new file with a name no other step uses,
 * then trims them from Redis in one atomic step that also lists the file (`DeadLetterLog`). A step
 * that dies between the two leaves a file no list names (harmless, and the next step writes its
 * own); of two steps racing over the same entries (two leaders around a failover), one trims and
 * the other deletes its file. So every dead letter is, at any moment, in Redis or in exactly one
 * listed file, never lost and never listed twice.
 */
import { randomUUID } from 'node:crypto';
import { coerceError } from '@sluice/core';
import type { DeadLetterLog } from '@sluice/control';

/** Where the archive files go, on whatever file system the caller wires. */
export interface DeadLetterArchive {
  /** Directory URL under which each run gets a directory of its own. */
  readonly url: string;
  /** Writes a new file; fails if it exists. */
  write(url: string, text: string): Promise<void>;
  /** Deletes a file; false when it was not there. */
  remove(url: string): Promise<boolean>;
}

/** Limits of the move. */
export interface ArchiveLimits {
  /** Dead letters each run keeps in Redis, the newest. */
  keepInRedis: number;
  /** Most dead letters in one file. */
  maxPerFile: number;
  /** Most files one call writes for one run, so a large backlog cannot hold the caller for long. */
  maxFilesPerRun: number;
}

/** Default limits: 10,000 dead letters (about 12 MB) in Redis per run, files of up to 10,000. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({ keepInRedis: 10_000, maxPerFile: 10_000, maxFilesPerRun: 10 });

/** What one call moved, per run. */
export interface ArchiveOutcome {
  runId: string;
  /** Dead letters moved to files by this call. */
  moved: number;
  /** Files this call wrote and listed. */
  files: number;
  /** Set when a step lost its race to another archiver (its file deleted). */
  lostRace?: boolean;
  /** A file of a lost race that could not be deleted: it holds copies no list names, and may go. */
  orphan?: { url: string; error: Error };
}

/**
 * Moves the dead letters of `runIds` beyond `keepInRedis` into files; returns what moved, per run
 * that had any to move. `proceed` is asked before each step: a coordinator that stopped leading
 * (or is stopping) ends the pass after the step in progress.
 */
export async function archiveDeadLetters(log: DeadLetterLog, runIds: readonly string[], archive: DeadLetterArchive, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS, proceed: () => boolean = () => true): Promise<ArchiveOutcome[]> {
  const counts = await log.counts(runIds);
  const outcomes: ArchiveOutcome[] = [];
  for (const runId of runIds) {
    if (!proceed()) break;
    const count = counts.get(runId);
    if (count === undefined || count.stored <= limits.keepInRedis) continue;
    const outcome: ArchiveOutcome = { runId, moved: 0, files: 0 };
    outcomes.push(outcome);
    let { archived: from, stored } = count;
    while (stored > limits.keepInRedis && outcome.files < limits.maxFilesPerRun && proceed()) {
      const entries = await log.head(runId, Math.min(stored - limits.keepInRedis, limits.maxPerFile));
      if (entries.length === 0) break;
      const file = { url: archiveFileUrl(archive.url, runId, from), from, count: entries.length };
      await archive.write(file.url, `${entries.join('\n')}\n`);
      // Refused can also mean applied: a reply lost and the script resent on reconnect finds its
      // own trim done. Only a file the list does not name is another archiver's duplicate.
      if (!(await log.trimArchived(runId, file)) && !(await log.files(runId)).some((listed) => listed.url === file.url)) {
        // Another archiver moved these entries first and listed its own file: this one holds copies.
        outcome.lostRace = true;
        try {
          await archive.remove(file.url);
        } catch (error) {
          outcome.orphan = { url: file.url, error: coerceError(error) };
        }
        break;
      }
      from += entries.length;
      stored -= entries.length;
      outcome.moved += entries.length;
      outcome.files += 1;
    }
  }
  return outcomes;
}

/** `<dir>/<run id>/dead-<from, 12 digits>-<nonce>.ndjson`: sorted by position, unique per step. */
export function archiveFileUrl(directory: string, runId: string, from: number): string {
  return `${directory.replace(/\/+$/, '')}/${encodeURIComponent(runId)}/dead-${String(from).padStart(12, '0')}-${randomUUID().slice(0, 8)}.ndjson`;
}

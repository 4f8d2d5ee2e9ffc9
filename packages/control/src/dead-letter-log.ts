/**
 * A run's dead letters as one log, oldest first, split between an archive and Redis. Commits append
 * to the Redis list (atomically with their aggregates); the coordinator moves the oldest entries
 * out to files in an archive (HDFS or local) so that a long stream with a trickle of bad messages
 * does not grow Redis for ever. This module is the Redis side of that move: what is there, and the
 * step that trims what a file now holds. Writing the files is the caller's (it knows file systems).
 */
import type { Redis } from 'ioredis';
import { ErrorCode, SluiceError } from '@sluice/core';
import { runDeadLetterFilesKey, runDeadLettersKey, runStatsKey } from './keys.ts';

/** Field of the run stats hash counting the dead letters moved out of Redis into archive files. */
export const DEAD_LETTERS_ARCHIVED_FIELD = 'deadLettersArchived';

/** One archive file of a run's dead letters. */
export interface DeadLetterFile {
  url: string;
  /** Index of its first dead letter among all of the run's, oldest first. */
  from: number;
  count: number;
}

/** How many dead letters a run has, and where. */
export interface DeadLetterCounts {
  /** Moved to archive files. */
  archived: number;
  /** Still in Redis (the newest). */
  stored: number;
}

// KEYS[1] dead letters, KEYS[2] run stats, KEYS[3] archive files; ARGV[1] from, ARGV[2] count,
// ARGV[3] file entry (JSON). Trims the `count` oldest dead letters once a file holds them, only if
// no other step archived any since `from` was read: of two archivers that wrote the same entries
// to two files, exactly one trims, and the other's file is not in the list (it deletes it). The
// count is checked too, so a file never stands for entries Redis no longer has.
const TRIM = `
local archived = tonumber(redis.call('HGET', KEYS[2], '${DEAD_LETTERS_ARCHIVED_FIELD}') or '0')
if archived ~= tonumber(ARGV[1]) then return 0 end
local count = tonumber(ARGV[2])
if redis.call('LLEN', KEYS[1]) < count then return 0 end
redis.call('LTRIM', KEYS[1], count, -1)
redis.call('HINCRBY', KEYS[2], '${DEAD_LETTERS_ARCHIVED_FIELD}', count)
redis.call('RPUSH', KEYS[3], ARGV[3])
return 1
`;

/** The Redis side of runs' dead-letter logs. */
export interface DeadLetterLog {
  /** How many dead letters each run has archived and in Redis, in one round trip. */
  counts(runIds: readonly string[]): Promise<Map<string, DeadLetterCounts>>;
  /** The oldest `count` dead letters still in Redis, as stored (JSON text). */
  head(runId: string, count: number): Promise<string[]>;
  /**
   * Drops the `file.count` oldest dead letters from Redis and lists `file` as holding them, if
   * `file.from` is still the number archived; returns whether it did.
   */
  trimArchived(runId: string, file: DeadLetterFile): Promise<boolean>;
  /** The archive files of a run, oldest first. */
  files(runId: string): Promise<DeadLetterFile[]>;
  /**
   * The oldest `limit` dead letters of a run, parsed, from its archive files (read with `readFile`)
   * and then Redis, and how many it has in all.
   */
  read(runId: string, limit: number, readFile: (url: string) => Promise<Uint8Array>): Promise<{ letters: unknown[]; total: number }>;
}

/** Creates the dead-letter log on a connection owned by the caller. */
export function createDeadLetterLog(redis: Redis): DeadLetterLog {
  const log: DeadLetterLog = {
    async counts(runIds) {
      const pipeline = redis.pipeline();
      for (const id of runIds) {
        pipeline.hget(runStatsKey(id), DEAD_LETTERS_ARCHIVED_FIELD);
        pipeline.llen(runDeadLettersKey(id));
      }
      const replies = runIds.length === 0 ? [] : ((await pipeline.exec()) ?? []);
      const counts = new Map<string, DeadLetterCounts>();
      for (const [i, id] of runIds.entries()) {
        const [archivedError, archived] = replies[2 * i] ?? [null, null];
        const [storedError, stored] = replies[2 * i + 1] ?? [null, 0];
        if (archivedError !== null) throw archivedError;
        if (storedError !== null) throw storedError;
        counts.set(id, { archived: Number(archived ?? 0), stored: Number(stored) });
      }
      return counts;
    },
    async head(runId, count) {
      if (count <= 0) return [];
      return redis.lrange(runDeadLettersKey(runId), 0, count - 1);
    },
    async trimArchived(runId, file) {
      const applied = await redis.eval(TRIM, 3, runDeadLettersKey(runId), runStatsKey(runId), runDeadLetterFilesKey(runId), String(file.from), String(file.count), JSON.stringify(file));
      return Number(applied) === 1;
    },
    async files(runId) {
      const raw = await redis.lrange(runDeadLetterFilesKey(runId), 0, -1);
      return raw.map((entry) => parseFile(runId, entry));
    },
    async read(runId, limit, readFile) {
      // An archiver may move entries from the list to a new file between reading the files and the
      // list; the list is read in one transaction with the archived count, which then differs from
      // where the files end, and the whole read starts again.
      for (let attempt = 1; ; attempt += 1) {
        const files = await log.files(runId);
        const letters: unknown[] = [];
        let next = 0;
        for (const file of files) {
          if (file.from !== next) {
            throw new SluiceError(ErrorCode.INTERNAL, `run ${runId}'s dead-letter files skip from ${next} to ${file.from} (${file.url})`, { retryable: false, context: { runId, url: file.url } });
          }
          next = file.from + file.count;
          if (letters.length >= limit) continue;
          const lines = new TextDecoder().decode(await readFile(file.url)).split('\n').filter((line) => line !== '');
          if (lines.length !== file.count) {
            throw new SluiceError(ErrorCode.CORRUPT_INPUT, `dead-letter file ${file.url} of run ${runId} holds ${lines.length} lines where ${file.count} were written; it was changed or truncated`, {
              retryable: false, context: { runId, url: file.url, expected: file.count, found: lines.length },
            });
          }
          for (const line of lines.slice(0, limit - letters.length)) letters.push(JSON.parse(line) as unknown);
        }
        const want = limit - letters.length;
        const replies = (await redis.multi()
          .hget(runStatsKey(runId), DEAD_LETTERS_ARCHIVED_FIELD)
          .llen(runDeadLettersKey(runId))
          // Start past the end when nothing more is wanted: LRANGE 0 -1 would be the whole list.
          .lrange(runDeadLettersKey(runId), want > 0 ? 0 : 1, want > 0 ? want - 1 : 0)
          .exec()) ?? [];
        for (const [error] of replies) if (error !== null) throw error;
        const archived = Number(replies[0]?.[1] ?? 0);
        if (archived !== next) {
          if (attempt >= 5) throw new SluiceError(ErrorCode.UNAVAILABLE, `run ${runId}'s dead letters kept moving to the archive while being read; try again`, { context: { runId } });
          continue;
        }
        if (want > 0) for (const entry of (replies[2]?.[1] ?? []) as string[]) letters.push(JSON.parse(entry) as unknown);
        return { letters, total: archived + Number(replies[1]?.[1] ?? 0) };
      }
    },
  };
  return log;
}

function parseFile(runId: string, entry: string): DeadLetterFile {
  const value = JSON.parse(entry) as Partial<DeadLetterFile>;
  if (typeof value.url !== 'string' || typeof value.from !== 'number' || typeof value.count !== 'number') {
    throw new SluiceError(ErrorCode.INTERNAL, `run ${runId} lists a dead-letter file that is not { url, from, count }: ${entry.slice(0, 200)}`, { retryable: false, context: { runId } });
  }
  return { url: value.url, from: value.from, count: value.count };
}

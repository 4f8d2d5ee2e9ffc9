/**
 * The kairos-compatible store: fenced, exactly-once commits of chunks; plain kairos-style inserts;
 * and kairos-shaped reads. Every write goes through one Lua script (`commit.lua`), loaded once per
 * connection and then called by SHA.
 */
import { readFileSync } from 'node:fs';
import { COMMIT_PROTOCOL_FIELD, ErrorCode, FENCES_PRUNED_FIELD, SluiceError, parseRangeSplitId, rangeFloorField } from '@sluice/core';
import type { Chunk, SeriesDecl } from '@sluice/core';
import { Redis } from 'ioredis';
import { encodeCommitArgs } from './commit-args.ts';
import { planAggregates, planInsert } from './commit-plan.ts';
import type { CommitOp, CommitPlan } from './commit-plan.ts';
import { lookupFamily, lookupInterval, resolveFamilies } from './families.ts';
import { fenceKey, runDeadLettersKey, runStatsKey } from './keys.ts';
import { readGet, readProperties, readSeries } from './reader.ts';
import type { GetOptions, Properties, SeriesOptions, SeriesResult } from './reader.ts';
import { toStoreError } from './redis-error.ts';
import type { Point, Row } from './rows.ts';

/**
 * The commit protocol of this version's commit script. Raise it when a change makes commits that
 * older workers must no longer mix with, and record it in each run's fence hash
 * (`COMMIT_PROTOCOL_FIELD`): their scripts then refuse that run's chunks (OUTDATED).
 */
export const COMMIT_PROTOCOL = 1;
const COMMIT_LUA = loadCommitScript();

function loadCommitScript(): string {
  const source = readFileSync(new URL('./commit.lua', import.meta.url), 'utf8');
  const declared = /^local PROTOCOL = (\d+)$/m.exec(source)?.[1];
  if (declared !== String(COMMIT_PROTOCOL)) {
    throw new SluiceError(ErrorCode.INTERNAL, `commit.lua declares protocol ${String(declared)}, store.ts COMMIT_PROTOCOL ${COMMIT_PROTOCOL}: raise both together`);
  }
  return source;
}
const COMMAND = 'sluiceTimeseriesCommit';
/** The `seq` reported for a split whose fence was compacted or pruned: past every chunk, with nothing left to read. */
const COMPACTED_SEQ = Number.MAX_SAFE_INTEGER;

/** Options of `createTimeseriesStore`. */
export interface TimeseriesStoreOptions {
  /** An ioredis client (not closed by the store; must not set ioredis's own `keyPrefix`), or a Redis URL the store connects to and owns. */
  redis: Redis | string;
  /** The series families, as declared by the job. */
  series: Readonly<Record<string, SeriesDecl>>;
  /** Prepended to every family's kairos prefix (isolates tests and demos); the result is normalized like kairos. */
  keyPrefix?: string;
  /** The clock kairos's TTL rule reads, epoch microseconds; defaults to `Date.now() * 1000`. */
  clock?: () => number;
}

/** What one fenced commit did. */
export interface CommitResult {
  /** False when the fence had already passed this chunk (a duplicate, stale or replayed commit): nothing was written. */
  applied: boolean;
  /** Emits (per interval) dropped by kairos's TTL rule; also added to the run's `expired` counter. */
  expired: number;
  /** kairos keys written (data keys and resolution index sets). */
  keysWritten: number;
}

/** Where a split stands: the last applied chunk and the input position just after it. */
export interface SplitProgress {
  seq: number;
  resumeAt: number;
}

/** What one plain insert did. */
export interface InsertResult {
  /** Intervals whose write kairos's TTL rule skipped. */
  expired: number;
  keysWritten: number;
}

/** A kairos-compatible time series store over one Redis. */
export interface TimeseriesStore {
  /**
   * Applies a chunk at most once: chunk `seq` of a split is applied only right after `seq - 1`
   * (or first, for 0), atomically with the run's stats, dead letters and the fence. A lower `seq`
   * is a no-op (`applied: false`); a higher one throws FENCE_GAP (retryable).
   */
  commit(runId: string, chunk: Chunk): Promise<CommitResult>;
  /**
   * Applies one chunk (`seq` 0) as the whole of several splits at once: only if none of them has a
   * fence yet, and then every fence is set in the same atomic write. Otherwise nothing is written
   * and `applied` is false, and the caller runs the splits one by one.
   */
  commitTogether(runId: string, splitIds: readonly string[], chunk: Chunk): Promise<CommitResult>;
  /**
   * The fence of a split, so a retry resumes after the last applied chunk; undefined before the
   * first. A live range whose fence was compacted (it completed), or any split of a run whose
   * fences were pruned, reads as done.
   */
  progress(runId: string, splitId: string): Promise<SplitProgress | undefined>;
  /**
   * One kairos `insert(name, value, timestamp)` into every interval of a family, not fenced. The
   * value is encoded like the combiner does; `tsMicros` defaults to the clock. Series values are
   * appended at the end; gauges keep the greatest (event time, value) like commits do.
   */
  insert(series: string, name: string, value: string | number, tsMicros?: number): Promise<InsertResult>;
  /** kairos `get`: `[[intervalTs, row]]`, or `[[resolutionTs, row], ...]` for an interval with a resolution. */
  get(series: string, name: string, interval: string, options?: GetOptions): Promise<Point<Row>[]>;
  /** kairos `series`: one entry per interval in the range (see `SeriesResult`). */
  series(series: string, name: string, interval: string, options?: SeriesOptions): Promise<SeriesResult>;
  /** kairos `properties`: first and last interval start per configured interval holding data. */
  properties(series: string, name: string): Promise<Properties>;
  /** Closes the connection if the store opened it. */
  close(): Promise<void>;
}

type CommitCommand = (numKeys: number, keys: string[], args: string[]) => Promise<[number, number]>;

/** Creates a store; with a URL it opens (and on `close()` closes) its own connection. */
export function createTimeseriesStore(options: TimeseriesStoreOptions): TimeseriesStore {
  const owned = typeof options.redis === 'string';
  const redis = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
  if (redis.options.keyPrefix !== undefined && redis.options.keyPrefix !== '') {
    throw new SluiceError(
      ErrorCode.INVALID_CONFIG,
      `the ioredis client has keyPrefix ${JSON.stringify(redis.options.keyPrefix)}; pass \`keyPrefix\` to createTimeseriesStore instead, so reads and key scans see the same names`,
      { context: { keyPrefix: redis.options.keyPrefix } },
    );
  }
  const families = resolveFamilies(options.series, options.keyPrefix ?? '');
  const clock = options.clock ?? (() => Date.now() * 1000);
  redis.defineCommand(COMMAND, { lua: COMMIT_LUA });
  const command = (redis as unknown as Record<string, CommitCommand>)[COMMAND] as CommitCommand;

  const run = async (keys: string[], args: string[], context: Readonly<Record<string, unknown>>): Promise<[number, number]> => {
    try {
      return await command.call(redis, keys.length, keys, args);
    } catch (error) {
      throw decodeScriptError(error, keys, context);
    }
  };

  const fencedCommit = async (runId: string, chunk: Chunk, also: readonly string[]): Promise<CommitResult> => {
    checkChunk(runId, chunk);
    const plan = planAggregates(families, chunk.aggregates, chunk.splitOrdinal, clock());
    const splitId = also.length === 0 ? chunk.splitId : [chunk.splitId, ...also].join(',');
    const deadLetters = chunk.deadLetters.map((letter) => JSON.stringify({ ...letter, splitId, seq: chunk.seq }));
    const { keys, args } = encodeCommitArgs(plan.ops, {
      fenceKey: fenceKey(runId),
      statsKey: runStatsKey(runId),
      deadLettersKey: runDeadLettersKey(runId),
      splitId: chunk.splitId,
      ...(also.length === 0 ? {} : { alsoSplitIds: also }),
      seq: chunk.seq,
      resumeAt: chunk.resumeAt,
      ...(chunk.startsAt === undefined ? {} : { startsAt: chunk.startsAt }),
      stats: chunk.stats,
      expired: plan.expired,
      deadLetters,
    });
    const [applied] = await run(keys, args, { runId, splitId, seq: chunk.seq, ...(chunk.startsAt === undefined ? {} : { startsAt: chunk.startsAt }) });
    if (applied !== 1) return { applied: false, expired: 0, keysWritten: 0 };
    return { applied: true, expired: plan.expired, keysWritten: countWritten(plan) };
  };

  return {
    async commit(runId, chunk) {
      return await fencedCommit(runId, chunk, []);
    },

    async commitTogether(runId, splitIds, chunk) {
      const [first, ...also] = splitIds;
      if (first === undefined || also.length === 0 || chunk.seq !== 0 || splitIds.some((id) => id.length === 0 || id.includes('\n'))) {
        throw new SluiceError(ErrorCode.INTERNAL, 'commitTogether takes two or more non-empty split ids without newlines and a chunk with seq 0', {
          context: { runId, splitIds: [...splitIds], seq: chunk.seq },
        });
      }
      return await fencedCommit(runId, { ...chunk, splitId: first }, also);
    },

    async progress(runId, splitId) {
      const range = parseRangeSplitId(splitId);
      let fields: (string | null)[];
      try {
        fields = await redis.hmget(fenceKey(runId), splitId, FENCES_PRUNED_FIELD, COMMIT_PROTOCOL_FIELD, ...(range === undefined ? [] : [rangeFloorField(range.url)]));
      } catch (error) {
        throw toStoreError(error, 'read a split fence', { runId, splitId });
      }
      const [value = null, pruned = null, required = null, floor = null] = fields;
      // A newer version may keep fences this one cannot read: refused as the commit would be, not misread.
      if (required !== null && !acceptsProtocol(required)) throw outdated(runId, required, { runId, splitId });
      // The run's fences were pruned once it completed, or this live range completed and its fence
      // was compacted below its partition's floor: either way nothing is left to do.
      if (value === null && (pruned !== null || (range !== undefined && floor !== null && range.from < Number(floor)))) return { seq: COMPACTED_SEQ, resumeAt: Number.MAX_SAFE_INTEGER };
      if (value === null) return undefined;
      const match = /^(\d+):(-?\d+)$/.exec(value);
      if (match === null) {
        throw new SluiceError(ErrorCode.INTERNAL, `fence of split ${splitId} holds ${JSON.stringify(value)}, not "seq:resumeAt"`, {
          context: { runId, splitId, key: fenceKey(runId), value },
        });
      }
      return { seq: Number(match[1]), resumeAt: Number(match[2]) };
    },

    async insert(series, name, value, tsMicros) {
      const now = clock();
      const at = tsMicros ?? now;
      if (!Number.isSafeInteger(at)) {
        throw new SluiceError(ErrorCode.BAD_RECORD, `insert time must be whole epoch microseconds, got ${String(at)}`, { context: { series, name } });
      }
      const plan = planInsert(lookupFamily(families, series), name, value, at, now);
      if (plan.ops.length > 0) {
        const { keys, args } = encodeCommitArgs(plan.ops);
        await run(keys, args, { series, name });
      }
      return { expired: plan.expired, keysWritten: countWritten(plan) };
    },

    async get(series, name, interval, getOptions = {}) {
      const { family, calc } = lookupInterval(families, series, interval);
      const at = getOptions.timestamp === undefined ? clock() : Math.round(getOptions.timestamp * 1_000_000);
      return await readGet(redis, family, name, interval, calc, at, getOptions.condense === true);
    },

    async series(series, name, interval, seriesOptions = {}) {
      const { family, calc } = lookupInterval(families, series, interval);
      return await readSeries(redis, family, name, interval, calc, seriesOptions, clock());
    },

    async properties(series, name) {
      return await readProperties(redis, lookupFamily(families, series), name);
    },

    async close() {
      if (owned) await redis.quit();
    },
  };
}

function countWritten(plan: CommitPlan): number {
  return plan.ops.filter((op: CommitOp) => op.kind !== 'touch').length;
}

function checkChunk(runId: string, chunk: Chunk): void {
  const problem =
    runId.length === 0
      ? 'run id is empty'
      : chunk.splitId.length === 0
        ? 'split id is empty'
        : !Number.isSafeInteger(chunk.seq) || chunk.seq < 0
          ? `seq ${chunk.seq} is not a non-negative integer`
          : !Number.isSafeInteger(chunk.resumeAt) || chunk.resumeAt < 0
            ? `resumeAt ${chunk.resumeAt} is not a non-negative integer`
            : chunk.startsAt !== undefined && (!Number.isSafeInteger(chunk.startsAt) || chunk.startsAt < 0)
              ? `startsAt ${chunk.startsAt} is not a non-negative integer`
              : !Number.isSafeInteger(chunk.splitOrdinal) || chunk.splitOrdinal < 0
              ? `splitOrdinal ${chunk.splitOrdinal} is not a non-negative integer`
              : undefined;
  if (problem !== undefined) {
    throw new SluiceError(ErrorCode.INTERNAL, `cannot commit chunk: ${problem}`, { context: { runId, splitId: chunk.splitId, seq: chunk.seq } });
  }
}

/** Whether a run's `COMMIT_PROTOCOL_FIELD` lets this version write it: a whole number up to `COMMIT_PROTOCOL`, as the script reads it. */
function acceptsProtocol(required: string): boolean {
  return /^[1-9]\d*$/.test(required) && Number(required) <= COMMIT_PROTOCOL;
}

/** The OUTDATED error of a run whose fence hash requires `required`, which this version does not speak. */
function outdated(runId: string, required: string, context: Readonly<Record<string, unknown>>, cause?: unknown): SluiceError {
  return new SluiceError(
    ErrorCode.OUTDATED,
    `run ${runId} is written by a newer Sluice (commit protocol ${required}; this worker's is ${COMMIT_PROTOCOL}): upgrade this worker; nothing was written`,
    { retryable: false, ...(cause === undefined ? {} : { cause }), context: { ...context, commitProtocol: COMMIT_PROTOCOL, requiredProtocol: required } },
  );
}

/** Turns the script's error replies (`SLUICE_<WHAT> ...`) into SluiceErrors that name the key. */
function decodeScriptError(error: unknown, keys: readonly string[], context: Readonly<Record<string, unknown>>): SluiceError {
  const message = error instanceof Error ? error.message : String(error);
  const match = /SLUICE_([A-Z_]+) ?([^\r\n]*)/.exec(message);
  if (match === null) return toStoreError(error, 'commit to Redis', context);
  const [, what = '', detail = ''] = match;
  const words = detail.split(' ');
  const keyAt = (index: string | undefined): string => keys[Number(index) - 1] ?? `KEYS[${index}]`;
  switch (what) {
    case 'FENCE_GAP': {
      const last = Number(words[0]);
      return new SluiceError(
        ErrorCode.FENCE_GAP,
        `chunk ${String(context.seq)} of split ${String(context.splitId)} arrived before chunk ${last + 1}; retry after the missing chunk is committed`,
        { cause: error, context: { ...context, lastApplied: last } },
      );
    }
    case 'FENCE_MOVED': {
      const last = Number(words[0]);
      return new SluiceError(
        ErrorCode.FENCE_GAP,
        `chunk ${String(context.seq)} of split ${String(context.splitId)} starts at ${String(context.startsAt)}, but the chunks applied end at ${words[1] ?? '?'}: another attempt cut this split's input differently; nothing was written, and a retry resumes at ${words[1] ?? '?'}`,
        { cause: error, context: { ...context, lastApplied: last, fencedAt: Number(words[1]) } },
      );
    }
    case 'OUTDATED':
      // The required value is the rest of the reply: it may hold spaces.
      return outdated(String(context.runId), detail.slice(detail.indexOf(' ') + 1), context, error);
    case 'WRONGTYPE': {
      const key = keyAt(words[0]);
      return new SluiceError(
        ErrorCode.INVALID_DEFINITION,
        `${key} is a Redis ${words[2] ?? '?'} but this commit writes it as a ${words[1] ?? '?'}: another series type, family or tool uses the same key; nothing was written`,
        { cause: error, context: { ...context, key, expected: words[1], actual: words[2] } },
      );
    }
    case 'NOTINT': {
      const key = keyAt(words[0]);
      return new SluiceError(
        ErrorCode.INVALID_DEFINITION,
        `${key} holds a value that is not a count Sluice can add to (an integer in canonical form, at most 18 digits); nothing was written`,
        { cause: error, context: { ...context, key } },
      );
    }
    default:
      return new SluiceError(ErrorCode.INTERNAL, `commit script rejected its arguments: ${message}`, { cause: error, context });
  }
}

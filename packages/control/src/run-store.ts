/**
 * Run records in Redis: what the CLI submits, what the coordinator plans, what workers report and
 * what `sluice status` shows. State changes are compare-and-set (a Lua script), so two
 * coordinators, or a coordinator and a cancelling user, never both win a transition.
 */
import type { Redis } from 'ioredis';
import { ErrorCode, FENCES_PRUNED_FIELD, SluiceError, fenceKey } from '@sluice/core';
import {
  ACTIVE_RUNS_INDEX, ACTIVE_RUNS_INDEXED, FORGOTTEN_FIELD, RUNS_INDEX, SUBMIT_WAKEUP, runDeadLetterFilesKey, runDeadLettersKey, runDoneKey, runFailedKey, runKey, runStatsKey,
  streamDoneKey, streamEndsKey, streamGapsKey, streamPlannedKey, streamPositionsKey, streamSizesKey, streamTimesKey,
} from './keys.ts';
import { RunState, isFinalState } from './run-state.ts';
import type { LeaseFence } from './lease.ts';

/** What a user submits. */
export interface RunSpec {
  runId: string;
  kind: 'backfill' | 'stream';
  job: string;
  /** Input URLs or globs (backfill) or topics (stream). */
  inputs: string[];
  /** `--set` pairs, framework and job options together. */
  options: Record<string, string>;
  /** Inclusive lower bound of event time, epoch microseconds. */
  since?: number;
  /** Exclusive upper bound of event time, epoch microseconds. */
  until?: number;
  /** Target split size in bytes. */
  splitSize: number;
  /** Queue namespace: only coordinators of this namespace plan the run (default: none). */
  namespace?: string;
}

/**
 * What a run was first submitted with, in a canonical form. The coordinator rewrites a run's
 * `options` when it plans it (bounds, a resolved `timeShift=auto`), so a resubmission is compared
 * with this instead: only the very same inputs, options, bounds and split size resume a run, since
 * its committed splits and fences belong to those. `options` keys are sorted.
 */
export type SubmittedSpec = Pick<RunSpec, 'inputs' | 'options' | 'since' | 'until' | 'splitSize' | 'namespace'>;

/** A run as stored. */
export interface RunRecord extends RunSpec {
  state: RunState;
  submittedAt: number;
  /** As first submitted; absent on runs stored before it was recorded. */
  submitted?: SubmittedSpec;
  startedAt?: number;
  finishedAt?: number;
  splitsTotal?: number;
  bytesTotal?: number;
  /** Why the run failed or was refused at planning, when it did. */
  error?: string;
  /** Fencing token of the coordinator that planned it. */
  plannedBy?: number;
  /** When its fences and split ids done were pruned (`pruneCompleted`), long after it completed. */
  prunedAt?: number;
  /**
   * The column whose statistics its first planning skipped Parquet row groups by, or null for none:
   * every later planning of the run (a resubmission, a new leader) decides the same, so its split
   * ids, and the fences they name, stay the same.
   */
  skipRowGroupsBy?: string | null;
}

/** A failed split and why. */
export interface FailedSplit {
  splitId: string;
  code: string;
  message: string;
  attempts: number;
}

/** Progress of a run, assembled from the run record, its committed stats and its failures. */
export interface RunProgress {
  run: RunRecord;
  splitsDone: number;
  splitsFailed: number;
  records: number;
  badRecords: number;
  bytes: number;
  expired: number;
  chunks: number;
  /** Records per second since the run started (committed records only). */
  recordsPerSecond: number;
  /** Seconds until done at the current rate, by bytes; undefined before anything is known. */
  etaSeconds: number | undefined;
  failed: FailedSplit[];
}

// A fenced write names the coordinator lease as its last key and the value the writer holds it
// with as ARGV[1]; it applies only while the lease still has that value. A leader deposed while
// paused (GC, SIGSTOP, a partition) then cannot overwrite what its successor planned.
const FENCE_CHECK = `
local fenced = ARGV[1] ~= ''
if fenced and redis.call('GET', KEYS[#KEYS]) ~= ARGV[1] then return {-1, ''} end
`;

// KEYS[1] run hash, KEYS[2] active runs, [KEYS[3] lease]; ARGV[1] fence value ('' for none),
// ARGV[2] new state, ARGV[3] '1' when it is final, ARGV[4] run id, ARGV[5] number of allowed
// current states, then those states, then field/value pairs to set in the same step. The active
// index changes with the state, so it never misses a live run. The run id comes as an argument,
// not from the record: nothing after the first write may fail.
const TRANSITION = FENCE_CHECK + `
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return {0, ''} end
local nFrom = tonumber(ARGV[5])
for i = 6, 5 + nFrom do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], 'state', ARGV[2])
    if ARGV[3] == '1' then
      redis.call('ZREM', KEYS[2], ARGV[4])
    else
      redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'submittedAt') or '0'), ARGV[4])
    end
    if #ARGV > 5 + nFrom then redis.call('HSET', KEYS[1], unpack(ARGV, 6 + nFrom)) end
    return {1, current}
  end
end
return {0, current}
`;

// KEYS[1] run hash, KEYS[2] failed splits, KEYS[3] active runs, KEYS[4] wake-up list; ARGV[1] run
// id, ARGV[2] the final state it was read in. Resumes a failed or cancelled run in one step: its
// failures and finishedAt go with the state change, so neither a coordinator nor a forgetting pass
// ever sees it half resumed, and a run that moved on meanwhile is left as it is (returns 0).
const RESUME = `
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'finishedAt')
redis.call('HSET', KEYS[1], 'state', '${RunState.SUBMITTED}', 'error', '')
redis.call('ZADD', KEYS[3], tonumber(redis.call('HGET', KEYS[1], 'submittedAt') or '0'), ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[1])
return 1
`;

// KEYS[1] run hash, [KEYS[2] lease]; ARGV[1] fence value ('' for none), then field/value pairs.
const UPDATE = FENCE_CHECK + `
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return {1, ''}
`;

// KEYS[1] run hash, KEYS[2] active runs; ARGV[1] run id, ARGV[2..] final states. Puts a run in the
// active index if it exists and is not final, and takes it out otherwise (deleted or finished).
const REINDEX = `
local state = redis.call('HGET', KEYS[1], 'state')
local final = not state
for i = 2, #ARGV do
  if ARGV[i] == state then final = true end
end
if final then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'submittedAt') or '0'), ARGV[1])
return 1
`;

// KEYS[1] run hash, KEYS[2] runs, KEYS[3] active runs, KEYS[4] wake-up list, KEYS[5] fence hash;
// ARGV[1] run id, ARGV[2] submission time, ARGV[3..] field/value pairs of the record. Returns 0 if
// the run exists, -1 if a run of this id was forgotten (its fences are gone: it cannot be resumed).
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[5], '${FORGOTTEN_FIELD}') == 1 then return -1 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[1])
return 1
`;

// KEYS[1] done set, KEYS[2] failed hash, KEYS[3] run hash, KEYS[4] wake-up list; ARGV[1] run id,
// ARGV[2] split id, ARGV[3] failure JSON ('' when the split is done). Records the split's outcome
// and, when that was the run's last split, wakes the coordinator: it would otherwise notice the
// run finished only at its next tick, up to a second later.
// ARGV[4] '1' for a live range: the stream positions count it as they complete it (a set of every
// range a stream ever ran would grow for as long as it runs).
const SPLIT_OUTCOME = `
-- A pruned run completed with every split done, and a forgotten one is gone: a late outcome (a
-- zombie attempt's) changes nothing, and recreates nothing.
if redis.call('EXISTS', KEYS[3]) == 0 or redis.call('HEXISTS', KEYS[3], 'prunedAt') == 1 then return 0 end
if ARGV[3] == '' then
  if ARGV[4] ~= '1' then redis.call('SADD', KEYS[1], ARGV[2]) end
  redis.call('HDEL', KEYS[2], ARGV[2])
else
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
end
local total = tonumber(redis.call('HGET', KEYS[3], 'splitsTotal') or '')
if total and redis.call('SCARD', KEYS[1]) + redis.call('HLEN', KEYS[2]) >= total then
  redis.call('LPUSH', KEYS[4], ARGV[1])
  -- Only a nudge: bounded, so workers finishing with no coordinator alive cannot grow it.
  redis.call('LTRIM', KEYS[4], 0, 999)
  return 1
end
return 0
`;

// KEYS[1] run hash, KEYS[2] done set, KEYS[3] failed hash, KEYS[4] fence hash, KEYS[5] stats;
// ARGV[1] finished-before (ms), ARGV[2] now (ms), ARGV[3] namespace. Drops what only exactly-once
// and progress needed of a run that completed before ARGV[1] (its fences and the ids of its splits
// done, about 300 bytes a split) and keeps its record, stats and dead letters. Its fences become
// one field the commit reads as "every chunk of this run is a duplicate", so a zombie attempt
// waking after the prune still writes nothing. Only a completed run: a failed or cancelled one
// resumes by its fences. Returns 1 when pruned, 0 otherwise (also when pruned already).
const PRUNE = `
local r = redis.call('HMGET', KEYS[1], 'state', 'finishedAt', 'namespace', 'prunedAt')
if r[1] ~= '${RunState.COMPLETED}' or r[4] or (r[3] or '') ~= ARGV[3] then return 0 end
local finished = tonumber(r[2] or '')
if not finished or finished >= tonumber(ARGV[1]) then return 0 end
local done = redis.call('SCARD', KEYS[2])
if done > 0 then redis.call('HINCRBY', KEYS[5], 'splitsDone', done) end
-- UNLINK frees a hash of 100k fences off the main thread; DEL blocked Redis about 50 ms for one.
redis.call('UNLINK', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[4], '${FENCES_PRUNED_FIELD}', ARGV[2])
redis.call('HSET', KEYS[1], 'prunedAt', ARGV[2])
return 1
`;

// KEYS[1] run hash, KEYS[2] runs, KEYS[3] active runs, KEYS[4] fence hash, then every other key of
// the run; ARGV[1] finished-before (ms), ARGV[2] now (ms), ARGV[3] namespace, ARGV[4] run id,
// ARGV[5..] the final states. Deletes a run that finished (in any final state) before ARGV[1]: its
// record, stats, dead letters, stream positions and fences. Its fence hash keeps two fields:
// '@pruned', so a zombie attempt's chunk is still a duplicate, and '@forgotten' (JSON: state, job,
// kind, finishedAt, forgottenAt), which refuses a new run of the same id: that would redo what the
// first one committed. Everything is read and built before the first write, and nothing after it
// can fail, so it never half applies. Returns 1 when forgotten, 0 otherwise.
const FORGET = `
local r = redis.call('HMGET', KEYS[1], 'state', 'finishedAt', 'namespace', 'job', 'kind')
if not r[1] or (r[3] or '') ~= ARGV[3] then return 0 end
local final = false
for i = 5, #ARGV do
  if ARGV[i] == r[1] then final = true end
end
if not final then return 0 end
local finished = tonumber(r[2] or '')
if not finished or finished >= tonumber(ARGV[1]) then return 0 end
local tombstone = '{"state":' .. cjson.encode(r[1]) .. ',"job":' .. cjson.encode(r[4] or '') .. ',"kind":' .. cjson.encode(r[5] or '') ..
  ',"finishedAt":' .. string.format('%d', finished) .. ',"forgottenAt":' .. string.format('%d', tonumber(ARGV[2])) .. '}'
redis.call('UNLINK', KEYS[1], unpack(KEYS, 4))
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[4])
redis.call('HSET', KEYS[4], '${FENCES_PRUNED_FIELD}', ARGV[2], '${FORGOTTEN_FIELD}', tombstone)
return 1
`;

const FINAL_STATES: readonly RunState[] = Object.values(RunState).filter(isFinalState);

/** What is left of a run that `forgetFinished` deleted. */
export interface ForgottenRun {
  runId: string;
  state: RunState;
  job: string;
  kind: RunSpec['kind'];
  finishedAt: number;
  forgottenAt: number;
}

/** The KEYS of `FORGET` for one run: its record, the indexes, its fence hash, then every other key of it. */
function forgetKeys(runId: string): string[] {
  return [
    runKey(runId), RUNS_INDEX, ACTIVE_RUNS_INDEX, fenceKey(runId),
    runDoneKey(runId), runFailedKey(runId), runStatsKey(runId), runDeadLettersKey(runId), runDeadLetterFilesKey(runId),
    streamPositionsKey(runId), streamPlannedKey(runId), streamDoneKey(runId), streamTimesKey(runId), streamEndsKey(runId), streamGapsKey(runId), streamSizesKey(runId),
  ];
}

/** The run store over one Redis connection (not owned: the caller closes it). */
export interface RunStore {
  /** Records a new run, or resubmits a failed or cancelled one with the same id. */
  submit(spec: RunSpec, now?: number): Promise<RunRecord>;
  get(runId: string): Promise<RunRecord | undefined>;
  /** Runs, newest first. */
  list(limit?: number): Promise<RunRecord[]>;
  /** Every run not in a final state, oldest first, whatever the number of finished runs. */
  listActive(): Promise<RunRecord[]>;
  /**
   * Fills the active index from every run once per Redis (runs submitted before the index existed);
   * a no-op afterwards. Returns the number of active runs found.
   */
  indexActiveRuns(): Promise<number>;
  /** Moves a run to `to` if its state is one of `from`; returns whether it moved. */
  transition(runId: string, from: readonly RunState[], to: RunState, fields?: Partial<RunRecord>): Promise<boolean>;
  /** Updates descriptive fields (not the state). */
  update(runId: string, fields: Partial<RunRecord>): Promise<void>;
  recordFailedSplit(runId: string, failure: FailedSplit): Promise<void>;
  /** Marks a split finished; idempotent. The run's last split outcome wakes the coordinator. */
  recordSplitDone(runId: string, splitId: string): Promise<void>;
  /** Marks a live range finished without keeping its id: the stream positions count it as they complete it. */
  recordRangeDone(runId: string, splitId: string): Promise<void>;
  clearFailedSplits(runId: string): Promise<void>;
  /** How many splits (or live ranges) of the run failed for good. */
  countFailedSplits(runId: string): Promise<number>;
  progress(runId: string, now?: number): Promise<RunProgress | undefined>;
  /** Pops run ids pushed by `submit` or by a run's last split outcome, waiting up to `timeoutSeconds` for one. */
  waitForSubmission(timeoutSeconds: number): Promise<string | undefined>;
  /** Dead letters of a run, oldest first. */
  deadLetters(runId: string, limit?: number): Promise<unknown[]>;
  /**
   * Prunes the exactly-once bookkeeping (fences, split ids done) of the runs of `namespace` that
   * completed before `finishedBefore` (ms); keeps their records, stats and dead letters. Returns
   * the ids pruned by this call.
   */
  pruneCompleted(finishedBefore: number, namespace?: string, now?: number): Promise<string[]>;
  /**
   * Deletes the runs of `namespace` that finished (completed, failed or cancelled) before
   * `finishedBefore` (ms), keeping only a marker that refuses their ids (`forgotten`). What they
   * committed to the series stays. Returns the ids forgotten by this call.
   */
  forgetFinished(finishedBefore: number, namespace?: string, now?: number): Promise<string[]>;
  /** What is left of a forgotten run, or undefined when no run of this id was forgotten. */
  forgotten(runId: string): Promise<ForgottenRun | undefined>;
  /**
   * Forgets one finished run now, as `forgetFinished` does; returns what is left of it. Throws
   * NOT_FOUND for no such run and INVALID_CONFIG for a run that has not finished.
   */
  forget(runId: string, now?: number): Promise<ForgottenRun>;
}

/** Options of `createRunStore`. */
export interface RunStoreOptions {
  /**
   * The lease a writer must hold for its state changes and updates to apply (`Lease.fence`), or
   * undefined while it holds none; those writes then throw FENCED. The coordinator passes its lease.
   */
  fence?: () => LeaseFence | undefined;
}

/** Creates a run store on a connection owned by the caller. */
export function createRunStore(redis: Redis, options: RunStoreOptions = {}): RunStore {
  const fenceArgs = (keys: string[], what: string, runId: string): { keys: string[]; value: string } => {
    if (options.fence === undefined) return { keys, value: '' };
    const fence = options.fence();
    if (fence === undefined) throw deposed(what, runId);
    return { keys: [...keys, fence.key], value: fence.value };
  };
  const reindex = async (runId: string): Promise<number> => Number(await redis.eval(REINDEX, 2, runKey(runId), ACTIVE_RUNS_INDEX, runId, ...FINAL_STATES));
  const store: RunStore = {
    async submit(spec, now = Date.now()) {
      validateSpec(spec);
      const submitted = canonicalSpec(spec);
      const record: RunRecord = { ...spec, state: RunState.SUBMITTED, submittedAt: now, submitted };
      // Created only if absent, in one step: of two submissions of a new id, one creates the run
      // and the other finds it and is checked against it like any resubmission.
      const created = Number(await redis.eval(CREATE, 5, runKey(spec.runId), RUNS_INDEX, ACTIVE_RUNS_INDEX, SUBMIT_WAKEUP, fenceKey(spec.runId), spec.runId, String(now), ...Object.entries(encode(record)).flat()));
      if (created === 1) return record;
      if (created === -1) throw await forgottenError(spec.runId);
      const existing = await store.get(spec.runId);
      if (existing === undefined) {
        throw new SluiceError(ErrorCode.UNAVAILABLE, `run ${spec.runId} was deleted while being submitted; submit it again`, { context: { runId: spec.runId } });
      }
      if (existing.job !== spec.job || existing.kind !== spec.kind) {
        throw new SluiceError(ErrorCode.INVALID_CONFIG, `run ${spec.runId} already exists for ${existing.kind} ${existing.job}; choose another --run-id`, {
          context: { runId: spec.runId, job: existing.job },
        });
      }
      const differences = diffSpecs(existing, submitted);
      if (differences.length > 0) {
        const fields = differences.map((d) => d.field).join(', ');
        throw new SluiceError(
          ErrorCode.INVALID_CONFIG,
          `run ${spec.runId} (${existing.state}) was submitted with other ${fields}; a run id resumes only the run as first submitted, whose committed splits belong to its inputs and options. Submit it with the same flags to resume it, or choose another --run-id for a new run`,
          { context: { runId: spec.runId, state: existing.state, ...Object.fromEntries(differences.map((d) => [d.field, { first: d.first, now: d.now }])) } },
        );
      }
      if (!isFinalState(existing.state) || existing.state === RunState.COMPLETED) return existing;
      // A failed or cancelled run resumes: splits already committed are skipped by their fences.
      // Running again: the end of the earlier attempt would freeze its elapsed time, rate and ETA.
      const resumed = Number(await redis.eval(RESUME, 4, runKey(spec.runId), runFailedKey(spec.runId), ACTIVE_RUNS_INDEX, SUBMIT_WAKEUP, spec.runId, existing.state));
      if (resumed !== 1) {
        // Moved on meanwhile: resubmitted by someone else (then it runs, as asked), or forgotten.
        const current = await store.get(spec.runId);
        if (current !== undefined && !isFinalState(current.state)) return current;
        if ((await store.forgotten(spec.runId)) !== undefined) throw await forgottenError(spec.runId);
        throw new SluiceError(ErrorCode.UNAVAILABLE, `run ${spec.runId} changed state while being resubmitted; \`sluice status ${spec.runId}\` shows where it is now, then submit it again`, { context: { runId: spec.runId } });
      }
      return (await store.get(spec.runId)) as RunRecord;
    },
    async get(runId) {
      const raw = await redis.hgetall(runKey(runId));
      return Object.keys(raw).length === 0 ? undefined : decode(raw);
    },
    async list(limit = 50) {
      const ids = await redis.zrevrange(RUNS_INDEX, 0, limit - 1);
      const runs = await Promise.all(ids.map((id) => store.get(id)));
      return runs.filter((r): r is RunRecord => r !== undefined);
    },
    async listActive() {
      const ids = await redis.zrange(ACTIVE_RUNS_INDEX, 0, -1);
      const runs = await Promise.all(ids.map((id) => store.get(id)));
      const active: RunRecord[] = [];
      for (const [i, run] of runs.entries()) {
        if (run !== undefined && !isFinalState(run.state)) active.push(run);
        // A run deleted, or whose state was written around the store: the index follows the record.
        else await reindex(ids[i] as string);
      }
      return active;
    },
    async indexActiveRuns() {
      if ((await redis.exists(ACTIVE_RUNS_INDEXED)) === 1) return 0;
      let active = 0;
      const page = 500;
      for (let start = 0; ; start += page) {
        const ids = await redis.zrange(RUNS_INDEX, start, start + page - 1);
        for (const id of ids) active += await reindex(id);
        if (ids.length < page) break;
      }
      await redis.set(ACTIVE_RUNS_INDEXED, String(Date.now()));
      return active;
    },
    async transition(runId, from, to, fields = {}) {
      const { state: _ignored, ...rest } = fields;
      const { keys, value } = fenceArgs([runKey(runId), ACTIVE_RUNS_INDEX], 'change the state of', runId);
      const [moved] = (await redis.eval(TRANSITION, keys.length, ...keys, value, to, isFinalState(to) ? '1' : '0', runId, String(from.length), ...from, ...Object.entries(encode(rest)).flat())) as [number, string];
      if (moved === -1) throw deposed('change the state of', runId);
      return moved === 1;
    },
    async update(runId, fields) {
      const { state: _ignored, ...rest } = fields;
      const encoded = encode(rest);
      if (Object.keys(encoded).length === 0) return;
      const { keys, value } = fenceArgs([runKey(runId)], 'update', runId);
      const [applied] = (await redis.eval(UPDATE, keys.length, ...keys, value, ...Object.entries(encoded).flat())) as [number, string];
      if (applied === -1) throw deposed('update', runId);
    },
    async recordFailedSplit(runId, failure) {
      await redis.eval(SPLIT_OUTCOME, 4, runDoneKey(runId), runFailedKey(runId), runKey(runId), SUBMIT_WAKEUP, runId, failure.splitId, JSON.stringify(failure), '0');
    },
    async recordSplitDone(runId, splitId) {
      await redis.eval(SPLIT_OUTCOME, 4, runDoneKey(runId), runFailedKey(runId), runKey(runId), SUBMIT_WAKEUP, runId, splitId, '', '0');
    },
    async recordRangeDone(runId, splitId) {
      await redis.eval(SPLIT_OUTCOME, 4, runDoneKey(runId), runFailedKey(runId), runKey(runId), SUBMIT_WAKEUP, runId, splitId, '', '1');
    },
    async clearFailedSplits(runId) {
      await redis.del(runFailedKey(runId));
    },
    async countFailedSplits(runId) {
      return redis.hlen(runFailedKey(runId));
    },
    async progress(runId, now = Date.now()) {
      const run = await store.get(runId);
      if (run === undefined) return undefined;
      const [stats, failedRaw, splitsDone] = await Promise.all([
        redis.hgetall(runStatsKey(runId)),
        redis.hgetall(runFailedKey(runId)),
        redis.scard(runDoneKey(runId)),
      ]);
      const n = (field: string): number => Number(stats[field] ?? 0);
      const failed = Object.values(failedRaw).map((v) => JSON.parse(v) as FailedSplit).sort((a, b) => a.splitId.localeCompare(b.splitId));
      const elapsed = run.startedAt === undefined ? 0 : ((run.finishedAt ?? now) - run.startedAt) / 1000;
      const records = n('records');
      const bytes = n('bytes');
      const rate = elapsed > 0 ? bytes / elapsed : 0;
      const remaining = run.bytesTotal === undefined ? undefined : Math.max(0, run.bytesTotal - bytes);
      return {
        run,
        // Live ranges, and the splits of a run whose bookkeeping was pruned, are counted in the
        // stats instead of kept in the set.
        splitsDone: splitsDone + n('splitsDone'),
        splitsFailed: failed.length,
        records,
        badRecords: n('badRecords'),
        bytes,
        expired: n('expired'),
        chunks: n('chunks'),
        recordsPerSecond: elapsed > 0 ? records / elapsed : 0,
        etaSeconds: remaining === undefined || rate === 0 ? undefined : remaining / rate,
        failed,
      };
    },
    async waitForSubmission(timeoutSeconds) {
      const popped = await redis.brpop(SUBMIT_WAKEUP, timeoutSeconds);
      return popped === null ? undefined : popped[1];
    },
    async deadLetters(runId, limit = 100) {
      const raw = await redis.lrange(runDeadLettersKey(runId), 0, limit - 1);
      return raw.map((r) => JSON.parse(r) as unknown);
    },
    async pruneCompleted(finishedBefore, namespace = '', now = Date.now()) {
      const pruned: string[] = [];
      const page = 500;
      // A run finished before the cutoff was submitted before it, and the index is scored by submission.
      for (let offset = 0; ; offset += page) {
        const ids = await redis.zrangebyscore(RUNS_INDEX, '-inf', `(${finishedBefore}`, 'LIMIT', offset, page);
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.eval(PRUNE, 5, runKey(id), runDoneKey(id), runFailedKey(id), fenceKey(id), runStatsKey(id), String(finishedBefore), String(now), namespace);
        const results = ids.length === 0 ? [] : ((await pipeline.exec()) ?? []);
        for (const [i, [error, applied]] of results.entries()) {
          if (error !== null) throw error;
          if (Number(applied) === 1) pruned.push(ids[i] as string);
        }
        if (ids.length < page) break;
      }
      return pruned;
    },
    async forgetFinished(finishedBefore, namespace = '', now = Date.now()) {
      const forgotten: string[] = [];
      const page = 500;
      // Forgotten runs leave the index, so the next page starts that many fewer places on.
      for (let offset = 0; ; ) {
        const ids = await redis.zrangebyscore(RUNS_INDEX, '-inf', `(${finishedBefore}`, 'LIMIT', offset, page);
        const pipeline = redis.pipeline();
        for (const id of ids) {
          const keys = forgetKeys(id);
          pipeline.eval(FORGET, keys.length, ...keys, String(finishedBefore), String(now), namespace, id, ...FINAL_STATES);
        }
        const results = ids.length === 0 ? [] : ((await pipeline.exec()) ?? []);
        let kept = 0;
        for (const [i, [error, applied]] of results.entries()) {
          if (error !== null) throw error;
          if (Number(applied) === 1) forgotten.push(ids[i] as string);
          else kept += 1;
        }
        if (ids.length < page) break;
        offset += kept;
      }
      return forgotten;
    },
    async forget(runId, now = Date.now()) {
      const run = await store.get(runId);
      if (run === undefined) {
        // Forgetting twice is a no-op that says what was forgotten.
        const already = await store.forgotten(runId);
        if (already !== undefined) return already;
        throw new SluiceError(ErrorCode.NOT_FOUND, `no run ${runId}; \`sluice status\` lists the runs`, { context: { runId } });
      }
      if (!isFinalState(run.state) || run.finishedAt === undefined) {
        throw new SluiceError(ErrorCode.INVALID_CONFIG, `run ${runId} is ${run.state}${isFinalState(run.state) ? ' with no finish time recorded' : ''}: only a finished run can be forgotten; cancel it first (\`sluice cancel ${runId}\`) and wait until it is cancelled`, {
          context: { runId, state: run.state },
        });
      }
      const keys = forgetKeys(runId);
      // Every finished run is before the cutoff of a manual forget; the namespace is the run's own.
      const applied = Number(await redis.eval(FORGET, keys.length, ...keys, String(Number.MAX_SAFE_INTEGER), String(now), run.namespace ?? '', runId, ...FINAL_STATES));
      const gone = await store.forgotten(runId);
      if (applied !== 1 || gone === undefined) {
        throw new SluiceError(ErrorCode.UNAVAILABLE, `run ${runId} changed while being forgotten; \`sluice status ${runId}\` shows where it is now`, { context: { runId } });
      }
      return gone;
    },
    async forgotten(runId) {
      const raw = await redis.hget(fenceKey(runId), FORGOTTEN_FIELD);
      if (raw === null) return undefined;
      const parsed = JSON.parse(raw) as Omit<ForgottenRun, 'runId'>;
      return { runId, ...parsed };
    },
  };

  /** The error for a submission under the id of a forgotten run. */
  const forgottenError = async (runId: string): Promise<SluiceError> => {
    const gone = await store.forgotten(runId);
    const what = gone === undefined ? 'was forgotten' : `(${gone.kind} ${gone.job}) finished ${gone.state} at ${isoTime(gone.finishedAt)} and was forgotten at ${isoTime(gone.forgottenAt)}`;
    return new SluiceError(
      ErrorCode.INVALID_CONFIG,
      `run ${runId} ${what} (the coordinator's --forget-finished): what it committed stays in the series, but its bookkeeping is gone, so it can be neither resumed nor run again under this id; choose another --run-id`,
      { context: { runId, ...(gone === undefined ? {} : { state: gone.state, finishedAt: gone.finishedAt, forgottenAt: gone.forgottenAt }) } },
    );
  };
  return store;
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function validateSpec(spec: RunSpec): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(spec.runId)) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `run id ${JSON.stringify(spec.runId)} must be 1-128 letters, digits, '.', '_' or '-'`, {
      context: { runId: spec.runId },
    });
  }
  if (spec.inputs.length === 0) throw new SluiceError(ErrorCode.INVALID_CONFIG, 'a run needs at least one --input', { context: { runId: spec.runId } });
}

/** The canonical form of what a run is submitted with. */
function canonicalSpec(spec: RunSpec): SubmittedSpec {
  const options = Object.fromEntries(Object.entries(spec.options).toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    inputs: [...spec.inputs],
    options,
    ...(spec.since === undefined ? {} : { since: spec.since }),
    ...(spec.until === undefined ? {} : { until: spec.until }),
    splitSize: spec.splitSize,
    ...(spec.namespace === undefined || spec.namespace === '' ? {} : { namespace: spec.namespace }),
  };
}

/** Where a resubmission differs from the run as first submitted. */
function diffSpecs(existing: RunRecord, now: SubmittedSpec): { field: string; first: unknown; now: unknown }[] {
  // A run stored before `submitted` was recorded: its options were rewritten at planning, so only
  // the fields the coordinator never rewrites can be compared.
  const first = existing.submitted ?? { ...canonicalSpec(existing), options: now.options };
  const fields = ['inputs', 'options', 'since', 'until', 'splitSize', 'namespace'] as const;
  return fields
    .filter((field) => JSON.stringify(first[field]) !== JSON.stringify(now[field]))
    .map((field) => ({ field, first: first[field] ?? null, now: now[field] ?? null }));
}

const JSON_FIELDS = new Set(['inputs', 'options', 'submitted', 'skipRowGroupsBy']);
const NUMBER_FIELDS = new Set(['since', 'until', 'splitSize', 'submittedAt', 'startedAt', 'finishedAt', 'splitsTotal', 'bytesTotal', 'plannedBy', 'prunedAt']);

function encode(record: Partial<RunRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    out[key] = JSON_FIELDS.has(key) ? JSON.stringify(value) : String(value);
  }
  return out;
}

function decode(raw: Record<string, string>): RunRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (JSON_FIELDS.has(key)) out[key] = JSON.parse(value);
    else if (NUMBER_FIELDS.has(key)) out[key] = Number(value);
    else if (value !== '') out[key] = value;
  }
  return out as unknown as RunRecord;
}

/** The error of a write refused because the writer no longer holds the coordinator lease. */
function deposed(what: string, runId: string): SluiceError {
  return new SluiceError(ErrorCode.FENCED, `refused to ${what} run ${runId}: this coordinator no longer holds the lease (another leads now)`, { retryable: false, context: { runId } });
}

/**
 * Where each partition of a stream run stands, in Redis: `planned` (the next offset to plan from)
 * and `committed` (every offset below it is committed). A range is reserved by compare-and-set on
 * `planned`, so two coordinators never plan the same offsets with different bounds, and is kept
 * until completed, so a new leader re-enqueues exactly what the old one planned. `committed` only
 * advances over contiguous completed ranges, whatever order ranges finish in, and carries with it
 * the greatest Kafka timestamp of the records it passed (`committedTimestamp`, for lag in seconds of
 * event time). Each operation is one Lua script, so a crash between two of them never leaves a
 * partition half-updated. Ranges passed by `committed` leave nothing behind: their fences go in the
 * same step (the partition's floor in the fence hash stands for them), and they are counted in the
 * run's stats, so a stream that runs for months holds only what is in flight.
 */
import type { Redis } from 'ioredis';
import { ErrorCode, SluiceError, fenceKey, rangeUrl, runStatsKey } from '@sluice/core';
import { streamDoneKey, streamEndsKey, streamGapsKey, streamPlannedKey, streamPositionsKey, streamSizesKey, streamTimesKey } from './keys.ts';

// Positions are written with %d, not cjson.encode, which keeps only 14 significant digits; cjson
// decodes with strtod, exact for every offset and millisecond timestamp below 2^53.
const LIB = `
local function encode(p)
  local out = '{"planned":' .. string.format('%d', p.planned) .. ',"committed":' .. string.format('%d', p.committed)
  if p.start then out = out .. ',"start":' .. string.format('%d', p.start) end
  if p.startedAt then out = out .. ',"startedAt":' .. string.format('%d', p.startedAt) end
  if p.committedTimestamp then out = out .. ',"committedTimestamp":' .. string.format('%d', p.committedTimestamp) end
  return out .. '}'
end
-- Moves committed over the contiguous completed ranges. Each range passed is committed for good,
-- so its fence (fence_prefix .. from-until in the fence hash) is dropped and the partition's floor
-- (fence_prefix .. 'floor') raised in the same step: the commit refuses a range below the floor as
-- it would on its fence, and a stream keeps only the fences of ranges in flight.
local function advance(p, done, times, prefix, fence, fence_prefix)
  local moved = false
  while true do
    local from = string.format('%d', p.committed)
    local field = prefix .. from
    local nextUntil = redis.call('HGET', done, field)
    if not nextUntil then break end
    redis.call('HDEL', done, field)
    redis.call('HDEL', fence, fence_prefix .. from .. '-' .. nextUntil)
    local ts = redis.call('HGET', times, field)
    if ts then
      redis.call('HDEL', times, field)
      ts = tonumber(ts)
      if not p.committedTimestamp or ts > p.committedTimestamp then p.committedTimestamp = ts end
    end
    p.committed = tonumber(nextUntil)
    moved = true
  end
  if moved then redis.call('HSET', fence, fence_prefix .. 'floor', string.format('%d', p.committed)) end
end
`;

// KEYS[1] positions; ARGV[1] now (ms), then pairs of field and start. Returns how many it set.
const INIT = `
local set = 0
for i = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], '{"planned":' .. ARGV[i + 1] .. ',"committed":' .. ARGV[i + 1] .. ',"start":' .. ARGV[i + 1] .. ',"startedAt":' .. ARGV[1] .. '}')
    set = set + 1
  end
end
return set
`;

// KEYS[1] positions, KEYS[2] planned, KEYS[3] done, KEYS[4] gaps, KEYS[5] times, KEYS[6] fences;
// ARGV[1] field, ARGV[2] expected planned, ARGV[3] until, ARGV[4] gap JSON ('' for a range),
// ARGV[5] the partition's fence prefix (`${rangeUrl}@`).
// A range goes to the planned hash; a gap (offsets deleted by retention) is recorded and counts as
// completed at once, so no job is ever enqueued for it, before or after a crash.
const RESERVE = LIB + `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local p = cjson.decode(raw)
if p.planned ~= tonumber(ARGV[2]) then return 0 end
local rangeField = ARGV[1] .. '@' .. ARGV[2]
p.planned = tonumber(ARGV[3])
if ARGV[4] == '' then
  redis.call('HSET', KEYS[2], rangeField, ARGV[3])
else
  redis.call('RPUSH', KEYS[4], ARGV[4])
  redis.call('HSET', KEYS[3], rangeField, ARGV[3])
  advance(p, KEYS[3], KEYS[5], ARGV[1] .. '@', KEYS[6], ARGV[5])
end
redis.call('HSET', KEYS[1], ARGV[1], encode(p))
return 1
`;

// KEYS[1] positions, KEYS[2] planned, KEYS[3] done, KEYS[4] times, KEYS[5] fences, KEYS[6] run stats;
// ARGV[1] field, ARGV[2] from, ARGV[3] until, ARGV[4] the range's greatest record timestamp ('' when
// it has none), ARGV[5] the partition's fence prefix. A range completed for the first time counts
// in the run's stats (splitsDone), so no per-range record is kept to count it. Returns {status, committed, until known}: 1 applied, 0 already completed, -1 no such partition,
// -2 the range is known with other bounds, -3 the range was never planned.
const COMPLETE = LIB + `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {-1, 0, ''} end
local p = cjson.decode(raw)
local from = tonumber(ARGV[2])
local committed = string.format('%d', p.committed)
if from < p.committed then
  if tonumber(ARGV[3]) > p.committed then return {-2, committed, ''} end
  return {0, committed, ''}
end
local rangeField = ARGV[1] .. '@' .. ARGV[2]
local planned = redis.call('HGET', KEYS[2], rangeField)
if planned then
  if planned ~= ARGV[3] then return {-2, committed, planned} end
  redis.call('HDEL', KEYS[2], rangeField)
  redis.call('HSET', KEYS[3], rangeField, ARGV[3])
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], rangeField, ARGV[4]) end
else
  local done = redis.call('HGET', KEYS[3], rangeField)
  if not done then return {-3, committed, ''} end
  if done ~= ARGV[3] then return {-2, committed, done} end
  return {0, committed, ''}
end
redis.call('HINCRBY', KEYS[6], 'splitsDone', 1)
advance(p, KEYS[3], KEYS[4], ARGV[1] .. '@', KEYS[5], ARGV[5])
redis.call('HSET', KEYS[1], ARGV[1], encode(p))
return {1, string.format('%d', p.committed), ''}
`;

// KEYS[1] positions, KEYS[2] gaps; ARGV[1] gap JSON. A range still running when its run was
// forgotten must not bring back a gaps list that nothing would delete again.
const RECORD_GAP = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
`;

/** One partition's positions. */
export interface PartitionPositions {
  topic: string;
  partition: number;
  /** The next offset to plan from. */
  planned: number;
  /** Every offset below this is committed. */
  committed: number;
  /** Ranges planned and not yet completed. */
  inFlight: number;
  /** The offset the run started this partition at, and when (ms); absent on positions older than both. */
  startOffset?: number;
  startedAt?: number;
  /** Greatest Kafka timestamp (ms) of the records below `committed`; absent until a range with records completes. */
  committedTimestamp?: number;
  /** Latest end offset the coordinator saw, and when (ms). */
  endOffset?: number;
  endSeenAt?: number;
  /** Greatest Kafka timestamp (ms) in the partition when the end offset was seen; absent for an empty partition. */
  newestTimestamp?: number;
  /** Average value bytes per record of the ranges read so far; absent until one with records completes. */
  bytesPerRecord?: number;
}

/** End offset of one partition as the coordinator saw it, with the newest record timestamp when known. */
export interface PartitionEnd {
  partition: number;
  endOffset: number;
  /** Greatest Kafka timestamp (ms) in the partition; null or absent when unknown or empty. */
  newestTimestamp?: number | null;
}

/** A planned range, or a gap. */
export interface PlannedRange {
  topic: string;
  partition: number;
  from: number;
  until: number;
}

/** Stream positions of runs, over a connection owned by the caller. */
export interface StreamPositions {
  /** Sets planned = committed = start for a partition seen for the first time; never moves existing ones. */
  init(runId: string, topic: string, partition: number, start: number): Promise<void>;
  /**
   * `init` for several partitions of a topic in one step: a crash or an error part-way cannot leave
   * some of a topic's first partitions started and the others to be taken later for added ones.
   */
  initTopic(runId: string, topic: string, starts: readonly { partition: number; start: number }[]): Promise<void>;
  /**
   * Reserves `[expectedPlanned, until)`: moves planned to `until` and records the range until it
   * completes. False when planned is no longer `expectedPlanned` (another planner got there first).
   */
  reservePlan(runId: string, topic: string, partition: number, expectedPlanned: number, until: number): Promise<boolean>;
  /**
   * Skips `[expectedPlanned, until)`, offsets retention deleted before they were planned: moves
   * planned, records the gap and counts it completed, in one step. False as for `reservePlan`.
   */
  skipGap(runId: string, topic: string, partition: number, expectedPlanned: number, until: number): Promise<boolean>;
  /**
   * Marks a planned range completed (idempotent); returns the partition's committed offset after it.
   * `maxTimestamp` is the greatest Kafka timestamp of its records: it becomes the partition's
   * `committedTimestamp` once `committed` passes the range, never before.
   */
  complete(runId: string, topic: string, partition: number, from: number, until: number, maxTimestamp?: number): Promise<number>;
  /** Ranges planned and not yet completed, by topic, partition and offset: what to re-enqueue after a restart. */
  pendingRanges(runId: string): Promise<PlannedRange[]>;
  /** Every partition of a run, by topic and partition. */
  list(runId: string): Promise<PartitionPositions[]>;
  /** Remembers the end offsets (and newest timestamps) the coordinator last saw, for lag in `sluice status`. */
  recordEnds(runId: string, topic: string, ends: readonly PartitionEnd[]): Promise<void>;
  /**
   * Appends a gap to the run's list; `skipGap` does this itself. A retried range may append its gap
   * again. False, recording nothing, when the run has no positions (it was forgotten).
   */
  recordGap(runId: string, topic: string, partition: number, from: number, until: number): Promise<boolean>;
  /**
   * The run's gaps, oldest first, each start once: a gap appended again (a retried range, which may
   * find retention moved on) counts with the widest end it was seen with.
   */
  gaps(runId: string): Promise<PlannedRange[]>;
  /**
   * Adds what a range attempt read (value bytes, records) to its partition's totals, from which
   * `list` reports `bytesPerRecord`. An estimate for sizing ranges: a retried range counts twice.
   */
  recordSize(runId: string, topic: string, partition: number, bytes: number, records: number): Promise<void>;
}

const field = (topic: string, partition: number): string => `${topic}/${partition}`;
/** What the fence fields of a partition's ranges start with (`rangeSplitId`, `rangeFloorField`). */
const fencePrefix = (topic: string, partition: number): string => `${rangeUrl(topic, partition)}@`;

function parseRangeField(key: string, until: string): PlannedRange {
  const at = key.lastIndexOf('@');
  const slash = key.lastIndexOf('/', at);
  return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1, at)), from: Number(key.slice(at + 1)), until: Number(until) };
}

const byPosition = (a: PlannedRange, b: PlannedRange): number => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.from - b.from;

/** Offsets and partitions cross into Lua as decimal strings, so they must be exact integers. */
function requireOffsets(what: string, values: Readonly<Record<string, number>>, context: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SluiceError(ErrorCode.INTERNAL, `${what}: ${name} must be a non-negative integer, got ${String(value)}`, { retryable: false, context });
    }
  }
}

/** Creates the positions store on a connection owned by the caller. */
export function createStreamPositions(redis: Redis): StreamPositions {
  const reserve = async (what: string, runId: string, topic: string, partition: number, expectedPlanned: number, until: number, gap: string): Promise<boolean> => {
    const context = { runId, topic, partition, expectedPlanned, until };
    requireOffsets(what, { partition, expectedPlanned, until }, context);
    if (until <= expectedPlanned) {
      throw new SluiceError(ErrorCode.INTERNAL, `${what}: [${expectedPlanned}, ${until}) of ${topic}/${partition} is empty`, { retryable: false, context });
    }
    const keys = [streamPositionsKey(runId), streamPlannedKey(runId), streamDoneKey(runId), streamGapsKey(runId), streamTimesKey(runId), fenceKey(runId)];
    const status = Number(await redis.eval(RESERVE, keys.length, ...keys, field(topic, partition), String(expectedPlanned), String(until), gap, fencePrefix(topic, partition)));
    if (status === -1) {
      throw new SluiceError(ErrorCode.NOT_FOUND, `${what}: ${topic}/${partition} of stream run ${runId} has no positions (init it first)`, { retryable: false, context });
    }
    return status === 1;
  };

  const initTopic = async (runId: string, topic: string, starts: readonly { partition: number; start: number }[]): Promise<void> => {
    const args: string[] = [];
    for (const { partition, start } of starts) {
      requireOffsets('init', { partition, start }, { runId, topic, partition, start });
      args.push(field(topic, partition), String(start));
    }
    if (args.length > 0) await redis.eval(INIT, 1, streamPositionsKey(runId), String(Date.now()), ...args);
  };

  return {
    async init(runId, topic, partition, start) {
      await initTopic(runId, topic, [{ partition, start }]);
    },
    initTopic,
    reservePlan(runId, topic, partition, expectedPlanned, until) {
      return reserve('reservePlan', runId, topic, partition, expectedPlanned, until, '');
    },
    skipGap(runId, topic, partition, expectedPlanned, until) {
      return reserve('skipGap', runId, topic, partition, expectedPlanned, until, JSON.stringify({ topic, partition, from: expectedPlanned, until }));
    },
    async complete(runId, topic, partition, from, until, maxTimestamp) {
      const context = { runId, topic, partition, from, until, ...(maxTimestamp === undefined ? {} : { maxTimestamp }) };
      requireOffsets('complete', { partition, from, until, ...(maxTimestamp === undefined ? {} : { maxTimestamp }) }, context);
      const keys = [streamPositionsKey(runId), streamPlannedKey(runId), streamDoneKey(runId), streamTimesKey(runId), fenceKey(runId), runStatsKey(runId)];
      const args = [field(topic, partition), String(from), String(until), maxTimestamp === undefined ? '' : String(maxTimestamp), fencePrefix(topic, partition)];
      const [status, committed, known] = (await redis.eval(COMPLETE, keys.length, ...keys, ...args)) as [number, string, string];
      const range = `[${from}, ${until}) of ${topic}/${partition} in stream run ${runId}`;
      if (status === -1) throw new SluiceError(ErrorCode.NOT_FOUND, `cannot complete ${range}: the partition has no positions`, { retryable: false, context });
      if (status === -2) {
        throw new SluiceError(ErrorCode.INTERNAL, `cannot complete ${range}: it was planned with other bounds`, {
          retryable: false,
          context: { ...context, committed: Number(committed), ...(known === '' ? {} : { plannedUntil: Number(known) }) },
        });
      }
      if (status === -3) {
        throw new SluiceError(ErrorCode.INTERNAL, `cannot complete ${range}: it was never planned`, { retryable: false, context: { ...context, committed: Number(committed) } });
      }
      return Number(committed);
    },
    async pendingRanges(runId) {
      const raw = await redis.hgetall(streamPlannedKey(runId));
      return Object.entries(raw).map(([k, v]) => parseRangeField(k, v)).sort(byPosition);
    },
    async list(runId) {
      const [positions, planned, ends, sizes] = await Promise.all([
        redis.hgetall(streamPositionsKey(runId)),
        redis.hgetall(streamPlannedKey(runId)),
        redis.hgetall(streamEndsKey(runId)),
        redis.hgetall(streamSizesKey(runId)),
      ]);
      const inFlight = new Map<string, number>();
      for (const key of Object.keys(planned)) {
        const part = key.slice(0, key.lastIndexOf('@'));
        inFlight.set(part, (inFlight.get(part) ?? 0) + 1);
      }
      return Object.entries(positions).map(([key, value]): PartitionPositions => {
        const slash = key.lastIndexOf('/');
        const p = JSON.parse(value) as { planned: number; committed: number; start?: number; startedAt?: number; committedTimestamp?: number };
        const endRaw = ends[key];
        const end = endRaw === undefined ? undefined : (JSON.parse(endRaw) as { endOffset: number; at: number; newestTimestamp?: number });
        const readBytes = Number(sizes[`${key}:bytes`] ?? 0);
        const readRecords = Number(sizes[`${key}:records`] ?? 0);
        return {
          topic: key.slice(0, slash),
          partition: Number(key.slice(slash + 1)),
          planned: p.planned,
          committed: p.committed,
          inFlight: inFlight.get(key) ?? 0,
          ...(p.start === undefined ? {} : { startOffset: p.start }),
          ...(p.startedAt === undefined ? {} : { startedAt: p.startedAt }),
          ...(p.committedTimestamp === undefined ? {} : { committedTimestamp: p.committedTimestamp }),
          ...(end === undefined ? {} : { endOffset: end.endOffset, endSeenAt: end.at }),
          ...(end?.newestTimestamp === undefined ? {} : { newestTimestamp: end.newestTimestamp }),
          ...(readRecords > 0 ? { bytesPerRecord: readBytes / readRecords } : {}),
        };
      }).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    },
    async recordEnds(runId, topic, ends) {
      if (ends.length === 0) return;
      const now = Date.now();
      const entry = (e: PartitionEnd): string => JSON.stringify({ endOffset: e.endOffset, at: now, ...(e.newestTimestamp === undefined || e.newestTimestamp === null ? {} : { newestTimestamp: e.newestTimestamp }) });
      await redis.hset(streamEndsKey(runId), Object.fromEntries(ends.map((e) => [field(topic, e.partition), entry(e)])));
    },
    async recordGap(runId, topic, partition, from, until) {
      return Number(await redis.eval(RECORD_GAP, 2, streamPositionsKey(runId), streamGapsKey(runId), JSON.stringify({ topic, partition, from, until }))) === 1;
    },
    async gaps(runId) {
      const byStart = new Map<string, PlannedRange>();
      for (const raw of await redis.lrange(streamGapsKey(runId), 0, -1)) {
        const gap = JSON.parse(raw) as PlannedRange;
        const key = `${field(gap.topic, gap.partition)}@${gap.from}`;
        const seen = byStart.get(key);
        if (seen === undefined) byStart.set(key, gap);
        else if (gap.until > seen.until) seen.until = gap.until;
      }
      return [...byStart.values()];
    },
    async recordSize(runId, topic, partition, bytes, records) {
      requireOffsets('recordSize', { partition, bytes, records }, { runId, topic, partition, bytes, records });
      if (records === 0) return;
      await redis.multi()
        .hincrby(streamSizesKey(runId), `${field(topic, partition)}:bytes`, bytes)
        .hincrby(streamSizesKey(runId), `${field(topic, partition)}:records`, records)
        .exec();
    },
  };
}

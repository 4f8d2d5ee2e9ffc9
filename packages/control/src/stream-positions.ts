/**
 * Where each partition of a stream run stands, in Redis: `planned` (the next offset to plan from)
 * and `committed` (every offset below it is committed). A range is reserved by compare-and-set on
 * `planned`, so two coordinators never plan the same offsets with different bounds, and is kept
 * until completed, so a new leader re-enqueues exactly what the old one planned. `committed` only
 * advances over contiguous completed ranges, whatever order ranges finish in.
 */
import type { Redis } from 'ioredis';
import { streamDoneKey, streamEndsKey, streamGapsKey, streamPlannedKey, streamPositionsKey } from './keys.ts';

// KEYS[1] positions; ARGV[1] field, ARGV[2] start.
const INIT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({planned = tonumber(ARGV[2]), committed = tonumber(ARGV[2])}))
return 1
`;

// KEYS[1] positions, KEYS[2] planned; ARGV[1] field, ARGV[2] expected planned, ARGV[3] until.
const RESERVE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local p = cjson.decode(raw)
if p.planned ~= tonumber(ARGV[2]) then return 0 end
local untilOffset = tonumber(ARGV[3])
if untilOffset <= p.planned then return 0 end
redis.call('HSET', KEYS[2], ARGV[1] .. '@' .. string.format('%d', p.planned), string.format('%d', untilOffset))
p.planned = untilOffset
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(p))
return 1
`;

// KEYS[1] positions, KEYS[2] planned, KEYS[3] done; ARGV[1] field, ARGV[2] from, ARGV[3] until.
const COMPLETE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local p = cjson.decode(raw)
local from = tonumber(ARGV[2])
if from >= p.committed then
  redis.call('HDEL', KEYS[2], ARGV[1] .. '@' .. ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[1] .. '@' .. ARGV[2], ARGV[3])
end
while true do
  local field = ARGV[1] .. '@' .. string.format('%d', p.committed)
  local nextUntil = redis.call('HGET', KEYS[3], field)
  if not nextUntil then break end
  redis.call('HDEL', KEYS[3], field)
  p.committed = tonumber(nextUntil)
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(p))
return p.committed
`;

/** One partition's positions. */
export interface PartitionPositions {
  topic: string;
  partition: number;
  planned: number;
  committed: number;
  /** Ranges planned and not yet completed. */
  inFlight: number;
  /** Latest end offset the coordinator saw, and when (ms). */
  endOffset?: number;
  endSeenAt?: number;
}

/** A planned range. */
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
  /** Moves planned from `expectedPlanned` to `until` and records the range; false if planned moved meanwhile. */
  reservePlan(runId: string, topic: string, partition: number, expectedPlanned: number, until: number): Promise<boolean>;
  /** Marks a range completed (idempotent); returns the partition's committed offset after it. */
  complete(runId: string, topic: string, partition: number, from: number, until: number): Promise<number>;
  pendingRanges(runId: string): Promise<PlannedRange[]>;
  list(runId: string): Promise<PartitionPositions[]>;
  recordEnds(runId: string, topic: string, ends: readonly { partition: number; endOffset: number }[]): Promise<void>;
  recordGap(runId: string, topic: string, partition: number, from: number, until: number): Promise<void>;
  gaps(runId: string): Promise<PlannedRange[]>;
}

const field = (topic: string, partition: number): string => `${topic}/${partition}`;

function parseRangeField(key: string, until: string): PlannedRange {
  const at = key.lastIndexOf('@');
  const slash = key.lastIndexOf('/', at);
  return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1, at)), from: Number(key.slice(at + 1)), until: Number(until) };
}

/** Creates the positions store. */
export function createStreamPositions(redis: Redis): StreamPositions {
  const self: StreamPositions = {
    async init(runId, topic, partition, start) {
      await redis.eval(INIT, 1, streamPositionsKey(runId), field(topic, partition), String(start));
    },
    async reservePlan(runId, topic, partition, expectedPlanned, until) {
      return Number(await redis.eval(RESERVE, 2, streamPositionsKey(runId), streamPlannedKey(runId), field(topic, partition), String(expectedPlanned), String(until))) === 1;
    },
    async complete(runId, topic, partition, from, until) {
      return Number(await redis.eval(COMPLETE, 3, streamPositionsKey(runId), streamPlannedKey(runId), streamDoneKey(runId), field(topic, partition), String(from), String(until)));
    },
    async pendingRanges(runId) {
      const raw = await redis.hgetall(streamPlannedKey(runId));
      return Object.entries(raw).map(([k, v]) => parseRangeField(k, v)).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.from - b.from);
    },
    async list(runId) {
      const [positions, planned, ends] = await Promise.all([
        redis.hgetall(streamPositionsKey(runId)),
        redis.hgetall(streamPlannedKey(runId)),
        redis.hgetall(streamEndsKey(runId)),
      ]);
      const inFlight = new Map<string, number>();
      for (const key of Object.keys(planned)) {
        const part = key.slice(0, key.lastIndexOf('@'));
        inFlight.set(part, (inFlight.get(part) ?? 0) + 1);
      }
      return Object.entries(positions).map(([key, value]) => {
        const slash = key.lastIndexOf('/');
        const p = JSON.parse(value) as { planned: number; committed: number };
        const end = ends[key] === undefined ? undefined : (JSON.parse(ends[key] as string) as { endOffset: number; at: number });
        return {
          topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)), planned: p.planned, committed: p.committed, inFlight: inFlight.get(key) ?? 0,
          ...(end === undefined ? {} : { endOffset: end.endOffset, endSeenAt: end.at }),
        };
      }).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    },
    async recordEnds(runId, topic, ends) {
      if (ends.length === 0) return;
      const now = Date.now();
      await redis.hset(streamEndsKey(runId), Object.fromEntries(ends.map((e) => [field(topic, e.partition), JSON.stringify({ endOffset: e.endOffset, at: now })])));
    },
    async recordGap(runId, topic, partition, from, until) {
      await redis.rpush(streamGapsKey(runId), JSON.stringify({ topic, partition, from, until }));
    },
    async gaps(runId) {
      return (await redis.lrange(streamGapsKey(runId), 0, -1)).map((g) => JSON.parse(g) as PlannedRange);
    },
  };
  return self;
}

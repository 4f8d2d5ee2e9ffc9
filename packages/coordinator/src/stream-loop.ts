/**
 * The stream side of the coordinator: for each live stream run, watch the topics' partitions (new
 * ones are picked up), plan offset ranges as soon as data is there, and enqueue them on the ranges
 * queue. Planned and committed positions live in Redis and a plan is reserved by compare-and-set,
 * so a restarted or newly elected coordinator never plans the same offsets twice with other bounds.
 */
import { ErrorCode, SluiceError, rangeSplitId, rangeUrl } from '@sluice/core';
import { PAYLOAD_VERSION } from '@sluice/queue';
import type { SplitPayload, SplitQueue } from '@sluice/queue';
import type { RunRecord } from '@sluice/control';
import { planRanges } from './plan-ranges.ts';
import type { PartitionPlanInput } from './plan-ranges.ts';

/** Offsets of one partition, as `listOffsets` reports them. */
export interface PartitionOffsetsView {
  partition: number;
  logStartOffset: number;
  /** Where planning may go: the last stable offset (READ_COMMITTED reads wait there). */
  endOffset: number;
  /** Offset of the first record at or after a requested timestamp, when one was asked for. */
  offsetForTimestamp?: number | null;
  /** Greatest Kafka record timestamp (ms) in the partition, for lag in seconds; null when empty or unknown. */
  newestTimestamp?: number | null;
}

/** What the stream loop needs from Kafka. */
export interface StreamKafka {
  listOffsets(topic: string, timestampMs?: number): Promise<PartitionOffsetsView[]>;
  /**
   * Bytes of each partition's log on disk, for partitions whose message size workers have not
   * measured yet; without it their first ranges are bounded by records only.
   */
  logSizes?(topic: string, partitions: readonly number[]): Promise<ReadonlyMap<number, number>>;
}

/** Positions of one partition of a stream run. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  planned: number;
  committed: number;
  inFlight: number;
  /** Average value bytes per record read so far, when known. */
  bytesPerRecord?: number;
}

/** The Redis-backed positions the loop plans against. */
export interface StreamPositionsView {
  /** Sets the start of every partition of `starts` not seen before, all or none: one step. */
  initTopic(runId: string, topic: string, starts: readonly { partition: number; start: number }[]): Promise<void>;
  reservePlan(runId: string, topic: string, partition: number, expectedPlanned: number, until: number): Promise<boolean>;
  /** Moves planned past offsets deleted by retention, records the gap and counts it completed, in one step. */
  skipGap(runId: string, topic: string, partition: number, expectedPlanned: number, until: number): Promise<boolean>;
  list(runId: string): Promise<PartitionPosition[]>;
  recordEnds(runId: string, topic: string, ends: readonly { partition: number; endOffset: number; newestTimestamp?: number | null }[]): Promise<void>;
  /** Ranges planned and not yet completed. */
  pendingRanges(runId: string): Promise<{ topic: string; partition: number; from: number; until: number }[]>;
}

/** Limits of range planning. */
export interface RangeLimits {
  maxRecords: number;
  /** Value bytes per range, approximately, by each partition's average record size so far. */
  maxBytes?: number;
  maxInFlightPerPartition: number;
}

/** The limits a coordinator plans with when it is given none (the CLI's defaults too). */
export const DEFAULT_RANGE_LIMITS: Readonly<Required<RangeLimits>> = Object.freeze({
  maxRecords: 20_000,
  maxBytes: 16 * 1024 ** 2,
  maxInFlightPerPartition: 2,
});

/** Where a stream run starts on a partition it has not seen: `earliest`, `latest` or an event time. */
export function parseStreamStart(value: string | undefined): 'earliest' | 'latest' | { timestampMs: number } {
  if (value === undefined || value === '' || value === 'latest') return 'latest';
  if (value === 'earliest') return 'earliest';
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `--start must be earliest, latest or an ISO time, got ${JSON.stringify(value)}`, { retryable: false, context: { option: 'start', value } });
  }
  return { timestampMs: ms };
}

/** The split id (and fence) of a range; the stream positions compact fences of this shape. */
export { rangeSplitId };

/**
 * Partitions whose end was seen below what their run had planned, and since when (ms); kept by the
 * caller from tick to tick. A new leader's end can lag for a moment: only a lasting one counts.
 */
export interface RewoundWatch {
  since: Map<string, number>;
  /** How long an end may stay below what was planned before the run fails (default 30,000 ms). */
  graceMs?: number;
  now?: () => number;
}

const DEFAULT_REWOUND_GRACE_MS = 30_000;

/** Plans and enqueues whatever new ranges are due for one stream run. */
export async function tickStreamRun(
  run: RunRecord,
  deps: { kafka: StreamKafka; positions: StreamPositionsView; queue: SplitQueue; limits: RangeLimits; firstTick: boolean; rewound?: RewoundWatch },
): Promise<number> {
  const start = parseStreamStart(run.options.start);
  const listed = await deps.positions.list(run.runId);
  const known = new Map(listed.map((p) => [`${p.topic}/${p.partition}`, p]));
  const startedTopics = new Set(listed.map((p) => p.topic));
  let enqueued = 0;
  const enqueue = async (payloads: SplitPayload[]): Promise<void> => {
    if (payloads.length > 0) enqueued += await deps.queue.enqueue(payloads);
  };
  if (deps.firstTick) {
    // Re-enqueue what an earlier leader (or a tick that failed) planned; identical ids make this a
    // no-op for queued ranges.
    await enqueue((await deps.positions.pendingRanges(run.runId)).map((r) => rangePayload(run, r.topic, r.partition, r.from, r.until)));
  }
  for (const topic of run.inputs) {
    // Each topic's ranges are enqueued as soon as they are reserved, so a failure on a later topic
    // does not hold back the ranges of the earlier ones.
    const payloads: SplitPayload[] = [];
    const offsets = await deps.kafka.listOffsets(topic, typeof start === 'object' ? start.timestampMs : undefined);
    await deps.positions.recordEnds(run.runId, topic, offsets);
    const inputs: PartitionPlanInput[] = [];
    const positions = new Map<number, PartitionPosition>();
    const unsized: number[] = [];
    const starts: { partition: number; start: number }[] = [];
    for (const o of offsets) {
      if (known.has(`${topic}/${o.partition}`)) continue;
      // A partition seen for the first time when its topic already has others in the run was
      // added after the run started (maybe while no coordinator ran): everything in it is new, so
      // it starts at its beginning, whatever `--start` chose for the partitions there at first.
      // The partitions of a topic's first listing start in one step, so a failure part-way cannot
      // leave some of them to be taken later for added ones.
      const isNewPartition = startedTopics.has(topic);
      const from = isNewPartition || start === 'earliest' ? o.logStartOffset
        : start === 'latest' ? o.endOffset
        : (o.offsetForTimestamp ?? o.endOffset);
      starts.push({ partition: o.partition, start: from });
    }
    if (starts.length > 0) await deps.positions.initTopic(run.runId, topic, starts);
    const startOf = new Map(starts.map((s) => [s.partition, s.start]));
    for (const o of offsets) {
      let position = known.get(`${topic}/${o.partition}`);
      if (position === undefined) {
        const from = startOf.get(o.partition) as number;
        position = { topic, partition: o.partition, planned: from, committed: from, inFlight: 0 };
      } else if (deps.rewound !== undefined) {
        checkNotRewound(run, position, o.endOffset, deps.rewound);
      }
      positions.set(o.partition, position);
      if (position.bytesPerRecord === undefined && o.endOffset > position.planned && position.inFlight < deps.limits.maxInFlightPerPartition) unsized.push(o.partition);
      inputs.push({
        partition: o.partition,
        planned: position.planned,
        endOffset: Math.max(o.endOffset, position.planned),
        logStartOffset: o.logStartOffset,
        inFlight: position.inFlight,
        ...(position.bytesPerRecord === undefined ? {} : { bytesPerRecordEstimate: position.bytesPerRecord }),
      });
    }
    if (deps.limits.maxBytes !== undefined && unsized.length > 0 && deps.kafka.logSizes !== undefined) {
      // Until a worker has measured a partition's messages, the size of its log on disk over the
      // records it holds keeps the first ranges near the byte bound too.
      const sizes = await deps.kafka.logSizes(topic, unsized);
      for (const input of inputs) {
        const bytes = sizes.get(input.partition);
        const held = input.endOffset - input.logStartOffset;
        if (input.bytesPerRecordEstimate === undefined && bytes !== undefined && bytes > 0 && held > 0) input.bytesPerRecordEstimate = bytes / held;
      }
    }
    // Bounded by records and by bytes (by the partition's measured message size, else its log's
    // size on disk); partitions interleaved, so every partition's oldest records are served first.
    const plan = planRanges(inputs, deps.limits);
    const blocked = new Set<number>();
    for (const gap of plan.gaps) {
      // Retention deleted records before they were read: report the gap, do not crash, go on.
      const position = positions.get(gap.partition) as PartitionPosition;
      if (await deps.positions.skipGap(run.runId, topic, gap.partition, gap.from, gap.until)) position.planned = gap.until;
      else blocked.add(gap.partition);
    }
    for (const range of plan.ranges) {
      const position = positions.get(range.partition) as PartitionPosition;
      if (blocked.has(range.partition)) continue;
      // Another planner got there first: its plan stands, and this partition waits for the next tick.
      if (!(await deps.positions.reservePlan(run.runId, topic, range.partition, position.planned, range.until))) {
        blocked.add(range.partition);
        continue;
      }
      payloads.push(rangePayload(run, topic, range.partition, range.from, range.until));
      position.planned = range.until;
    }
    await enqueue(payloads);
  }
  return enqueued;
}

/**
 * Fails the run once a partition's end has stayed below what the run planned for the grace period:
 * the topic was re-created or its log truncated, and planning on from the old positions would skip
 * the new log's first records and leave ranges waiting for offsets that no longer exist.
 */
function checkNotRewound(run: RunRecord, position: PartitionPosition, endOffset: number, watch: RewoundWatch): void {
  const key = `${run.runId}\u0000${position.topic}/${position.partition}`;
  if (endOffset >= position.planned) {
    watch.since.delete(key);
    return;
  }
  const now = (watch.now ?? Date.now)();
  const since = watch.since.get(key) ?? now;
  watch.since.set(key, since);
  if (now - since < (watch.graceMs ?? DEFAULT_REWOUND_GRACE_MS)) return;
  watch.since.delete(key);
  throw new SluiceError(
    ErrorCode.OFFSET_REWOUND,
    `${position.topic}/${position.partition} has ended at offset ${endOffset}, below the ${position.planned} stream run ${run.runId} planned, for ${Math.round((now - since) / 1000)} s: ` +
      'the topic was deleted and re-created, or its log truncated by an unclean leader election, so the run\'s positions no longer match the log. ' +
      'Start a new stream run (another --run-id) with --start earliest, or an ISO time, to read the partition as it is now',
    { retryable: false, context: { runId: run.runId, topic: position.topic, partition: position.partition, endOffset, planned: position.planned, committed: position.committed } },
  );
}

/** The payload of one offset range. */
export function rangePayload(run: RunRecord, topic: string, partition: number, from: number, until: number): SplitPayload {
  return {
    v: PAYLOAD_VERSION,
    runId: run.runId,
    job: run.job,
    splitId: rangeSplitId(topic, partition, from, until),
    ordinal: 0,
    url: rangeUrl(topic, partition),
    format: 'json',
    compression: 'none',
    start: from,
    end: until,
    options: run.options,
  };
}

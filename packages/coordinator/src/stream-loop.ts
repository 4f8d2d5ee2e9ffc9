/**
 * The stream side of the coordinator: for each live stream run, watch the topics' partitions (new
 * ones are picked up), plan offset ranges as soon as data is there, and enqueue them on the ranges
 * queue. Planned and committed positions live in Redis and a plan is reserved by compare-and-set,
 * so a restarted or newly elected coordinator never plans the same offsets twice with other bounds.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import { PAYLOAD_VERSION } from '@sluice/queue';
import type { SplitPayload, SplitQueue } from '@sluice/queue';
import type { RunRecord } from '@sluice/control';

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
}

/** Positions of one partition of a stream run. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  planned: number;
  committed: number;
  inFlight: number;
}

/** The Redis-backed positions the loop plans against. */
export interface StreamPositionsView {
  init(runId: string, topic: string, partition: number, start: number): Promise<void>;
  reservePlan(runId: string, topic: string, partition: number, expectedPlanned: number, until: number): Promise<boolean>;
  list(runId: string): Promise<PartitionPosition[]>;
  recordEnds(runId: string, topic: string, ends: readonly { partition: number; endOffset: number; newestTimestamp?: number | null }[]): Promise<void>;
  complete(runId: string, topic: string, partition: number, from: number, until: number, maxTimestamp?: number): Promise<number>;
  recordGap(runId: string, topic: string, partition: number, from: number, until: number): Promise<void>;
  /** Ranges planned and not yet completed. */
  pendingRanges(runId: string): Promise<{ topic: string; partition: number; from: number; until: number }[]>;
}

/** Limits of range planning. */
export interface RangeLimits {
  maxRecords: number;
  maxInFlightPerPartition: number;
}

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

/** The split id (and fence) of a range. */
export function rangeSplitId(topic: string, partition: number, from: number, until: number): string {
  return `kafka://${topic}/${partition}@${from}-${until}`;
}

/** Plans and enqueues whatever new ranges are due for one stream run. */
export async function tickStreamRun(
  run: RunRecord,
  deps: { kafka: StreamKafka; positions: StreamPositionsView; queue: SplitQueue; limits: RangeLimits; firstTick: boolean },
): Promise<number> {
  const start = parseStreamStart(run.options.start);
  const known = new Map((await deps.positions.list(run.runId)).map((p) => [`${p.topic}/${p.partition}`, p]));
  const payloads: SplitPayload[] = [];
  if (deps.firstTick) {
    // Re-enqueue what an earlier leader planned; identical ids make this a no-op for queued ranges.
    for (const r of await deps.positions.pendingRanges(run.runId)) payloads.push(rangePayload(run, r.topic, r.partition, r.from, r.until));
  }
  for (const topic of run.inputs) {
    const offsets = await deps.kafka.listOffsets(topic, typeof start === 'object' ? start.timestampMs : undefined);
    await deps.positions.recordEnds(run.runId, topic, offsets);
    for (const o of offsets) {
      let position = known.get(`${topic}/${o.partition}`);
      if (position === undefined) {
        // A partition seen for the first time when the run already has others was added while the
        // run is live: everything in it is new, so it starts at its beginning.
        const isNewPartition = !deps.firstTick && known.size > 0;
        const from = isNewPartition || start === 'earliest' ? o.logStartOffset
          : start === 'latest' ? o.endOffset
          : (o.offsetForTimestamp ?? o.endOffset);
        await deps.positions.init(run.runId, topic, o.partition, from);
        position = { topic, partition: o.partition, planned: from, committed: from, inFlight: 0 };
      }
      if (position.planned < o.logStartOffset) {
        // Retention deleted records before they were read: report the gap, do not crash, go on.
        if (await deps.positions.reservePlan(run.runId, topic, o.partition, position.planned, o.logStartOffset)) {
          await deps.positions.recordGap(run.runId, topic, o.partition, position.planned, o.logStartOffset);
          await deps.positions.complete(run.runId, topic, o.partition, position.planned, o.logStartOffset);
        }
        position.planned = o.logStartOffset;
      }
      let planned = position.planned;
      let inFlight = position.inFlight;
      while (o.endOffset > planned && inFlight < deps.limits.maxInFlightPerPartition) {
        const until = Math.min(o.endOffset, planned + deps.limits.maxRecords);
        if (!(await deps.positions.reservePlan(run.runId, topic, o.partition, position.planned, until))) break;
        payloads.push(rangePayload(run, topic, o.partition, planned, until));
        position.planned = until;
        planned = until;
        inFlight += 1;
      }
    }
  }
  if (payloads.length > 0) await deps.queue.enqueue(payloads);
  return payloads.length;
}

/** The payload of one offset range. */
export function rangePayload(run: RunRecord, topic: string, partition: number, from: number, until: number): SplitPayload {
  return {
    v: PAYLOAD_VERSION,
    runId: run.runId,
    job: run.job,
    splitId: rangeSplitId(topic, partition, from, until),
    ordinal: 0,
    url: `kafka://${topic}/${partition}`,
    format: 'json',
    compression: 'none',
    start: from,
    end: until,
    options: run.options,
  };
}

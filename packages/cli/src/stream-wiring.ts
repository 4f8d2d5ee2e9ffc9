/**
 * Kafka wiring shared by `sluice coordinator` and `sluice worker`: one Kafka client per process,
 * stream positions in Redis, and the adapters the coordinator and worker take as functions.
 */
import type { Redis } from 'ioredis';
import { ErrorCode, SluiceError, coerceError, isSluiceError } from '@sluice/core';
import { createStreamPositions } from '@sluice/control';
import type { StreamPositions } from '@sluice/control';
import type { StreamKafka } from '@sluice/coordinator';
import { createKafkaAdmin, createKafkaClient, listOffsets, parseBrokers, readRange, readRangeRecords } from '@sluice/kafka';
import type { KafkaAdmin, KafkaClient, OffsetGap, PartitionLogSize } from '@sluice/kafka';
import type { RangeRead, SourceOpener } from '@sluice/worker';
import type { SplitPayload } from '@sluice/queue';

/** The brokers: `--brokers`, else `KAFKA_BROKERS`, else undefined (no streams). */
export function resolveBrokers(flag?: string): string[] | undefined {
  const value = flag ?? process.env.KAFKA_BROKERS;
  if (value === undefined || value === '') return undefined;
  const brokers = value.split(',').map((b) => b.trim()).filter((b) => b !== '');
  parseBrokers(brokers);
  return brokers;
}

/** Kafka adapters for one process. */
export interface StreamWiring {
  kafka: StreamKafka;
  positions: StreamPositions;
  openSource: SourceOpener;
  onRangeDone: (payload: SplitPayload, read: RangeRead) => Promise<void>;
  close(): Promise<void>;
}

/** Whether a payload is a live Kafka range (its URL is `kafka://topic/partition`) rather than a file split. */
export function isRangeUrl(url: string): boolean {
  return url.startsWith('kafka://');
}

/** Parses a range payload's `kafka://topic/partition` URL. */
export function parseRangeUrl(url: string): { topic: string; partition: number } {
  const m = /^kafka:\/\/(.+)\/(\d+)$/.exec(url);
  if (m === null) throw new SluiceError(ErrorCode.INTERNAL, `not a Kafka range URL: ${url}`, { retryable: false, context: { url } });
  return { topic: m[1] as string, partition: Number(m[2]) };
}

/**
 * The greatest Kafka timestamp of the records in `[from, until)` of a partition: what an earlier
 * attempt of a range read before this one resumed. Records retention deleted since are skipped.
 */
export async function readMaxTimestamp(client: KafkaClient, topic: string, partition: number, from: number, until: number, signal?: AbortSignal): Promise<number | undefined> {
  let start = from;
  for (;;) {
    let max: number | undefined;
    try {
      for await (const batch of readRange({ client, topic, partition, from: start, until, ...(signal === undefined ? {} : { signal }) })) {
        for (const r of batch.records) if (r.timestamp >= 0 && (max === undefined || r.timestamp > max)) max = r.timestamp;
      }
      return max;
    } catch (error) {
      // Deleted records have no timestamp left to read; the ones after the new log start still count.
      const logStart = isSluiceError(error) && error.code === ErrorCode.OFFSET_GAP ? Number(error.context.logStartOffset) : Number.NaN;
      if (!(logStart > start)) throw error;
      if (logStart >= until) return undefined;
      start = logStart;
    }
  }
}

/** How long a partition's log size stands for its average message size before it is asked again. */
const LOG_SIZE_TTL_MS = 30_000;

/**
 * Opens the wiring (one Kafka client and one admin client, neither connected until first use);
 * `log` hears of records retention deleted before a range read them, and of log sizes it could not read.
 */
export function createStreamWiring(brokers: string[], redis: Redis, log: (line: string) => void = () => {}): StreamWiring {
  const client: KafkaClient = createKafkaClient({ brokers, clientId: `sluice-${process.pid}` });
  const admin: KafkaAdmin = createKafkaAdmin({ brokers, clientId: `sluice-admin-${process.pid}` });
  const positions = createStreamPositions(redis);
  // A partition's first ranges are all planned within a few ticks (100 ms apart); one DescribeLogDirs
  // (which asks every broker) serves them all.
  const logSizes = new Map<string, { bytes: number | null; at: number }>();
  return {
    positions,
    kafka: {
      async logSizes(topic, partitions) {
        const now = Date.now();
        const stale = partitions.filter((p) => (logSizes.get(`${topic}/${p}`)?.at ?? -Infinity) < now - LOG_SIZE_TTL_MS);
        if (stale.length > 0) {
          let sizes: readonly PartitionLogSize[];
          try {
            sizes = await admin.listPartitionSizes(topic, stale);
          } catch (error) {
            // Only an estimate (DescribeLogDirs needs Describe on the cluster, which a locked-down
            // coordinator may lack): plan by records until workers measure, and ask again later.
            sizes = stale.map((partition) => ({ partition, bytes: null }));
            const reason = coerceError(error);
            log(`[${reason.code}] ${reason.message}; until workers measure its messages, topic ${topic}'s ranges are bounded by --max-range-records only`);
          }
          for (const { partition, bytes } of sizes) logSizes.set(`${topic}/${partition}`, { bytes, at: now });
        }
        const found = new Map<number, number>();
        for (const p of partitions) {
          const bytes = logSizes.get(`${topic}/${p}`)?.bytes;
          if (bytes !== undefined && bytes !== null) found.set(p, bytes);
        }
        return found;
      },
      async listOffsets(topic, timestampMs) {
        const offsets = await listOffsets({ client, topic, ...(timestampMs === undefined ? {} : { timestamp: Math.max(0, timestampMs) }) });
        // Asked for the partitions just listed, so a partition added in between is never half-known.
        const newest = await admin.listMaxTimestamps(topic, offsets.map((o) => o.partition));
        const newestByPartition = new Map(newest.map((n) => [n.partition, n.timestamp]));
        return offsets.map((o) => ({
          partition: o.partition,
          logStartOffset: o.logStartOffset,
          endOffset: o.lastStableOffset,
          newestTimestamp: newestByPartition.get(o.partition) ?? null,
          ...(o.offsetForTimestamp === undefined ? {} : { offsetForTimestamp: o.offsetForTimestamp }),
        }));
      },
    },
    openSource(payload, resumeFrom, signal) {
      const { topic, partition } = parseRangeUrl(payload.url);
      // Records deleted by retention after the range was planned are a gap on the run, as the
      // coordinator records the ones deleted before it planned them; the range goes on after it.
      const onGap = async (gap: OffsetGap): Promise<void> => {
        const recorded = await positions.recordGap(payload.runId, topic, partition, gap.from, gap.until);
        log(`range ${payload.url}@${payload.start}-${payload.end}: offsets [${gap.from}, ${gap.until}) were deleted by retention before they were read; ${recorded ? `recorded as a gap of run ${payload.runId}` : `not recorded: run ${payload.runId} has no stream positions any more (forgotten)`}`);
      };
      return readRangeRecords({ client }, { topic, partition, from: payload.start, until: payload.end, signal, onGap, ...(resumeFrom === undefined ? {} : { resumeFrom }) });
    },
    async onRangeDone(payload, read) {
      const { topic, partition } = parseRangeUrl(payload.url);
      let maxTimestamp = read.maxTimestamp;
      // The part an earlier attempt read (all of it when the range was committed before this attempt).
      const readFrom = read.readFrom ?? payload.end;
      if (readFrom > payload.start) {
        const earlier = await readMaxTimestamp(client, topic, partition, payload.start, readFrom);
        if (earlier !== undefined && (maxTimestamp === undefined || earlier > maxTimestamp)) maxTimestamp = earlier;
      }
      await positions.complete(payload.runId, topic, partition, payload.start, payload.end, maxTimestamp);
      // What this attempt read sizes the partition's next ranges when the coordinator bounds bytes.
      await positions.recordSize(payload.runId, topic, partition, read.bytes, read.records);
    },
    async close() {
      await Promise.all([client.close(), admin.close()]);
    },
  };
}

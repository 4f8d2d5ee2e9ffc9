/**
 * Kafka wiring shared by `sluice coordinator` and `sluice worker`: one Kafka client per process,
 * stream positions in Redis, and the adapters the coordinator and worker take as functions.
 */
import type { Redis } from 'ioredis';
import { createStreamPositions } from '@sluice/control';
import type { StreamPositions } from '@sluice/control';
import type { StreamKafka } from '@sluice/coordinator';
import { createKafkaClient, listOffsets, parseBrokers, readRangeRecords } from '@sluice/kafka';
import type { KafkaClient } from '@sluice/kafka';
import type { SourceOpener } from '@sluice/worker';
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
  onRangeDone: (payload: SplitPayload) => Promise<void>;
  close(): Promise<void>;
}

/** Parses a range payload's `kafka://topic/partition` URL. */
export function parseRangeUrl(url: string): { topic: string; partition: number } {
  const m = /^kafka:\/\/(.+)\/(\d+)$/.exec(url);
  if (m === null) throw new Error(`not a Kafka range URL: ${url}`);
  return { topic: m[1] as string, partition: Number(m[2]) };
}

/** Opens the wiring (one Kafka client, not connected until first use). */
export function createStreamWiring(brokers: string[], redis: Redis): StreamWiring {
  const client: KafkaClient = createKafkaClient({ brokers, clientId: `sluice-${process.pid}` });
  const positions = createStreamPositions(redis);
  return {
    positions,
    kafka: {
      async listOffsets(topic, timestampMs) {
        const offsets = await listOffsets({ client, topic, ...(timestampMs === undefined ? {} : { timestamp: Math.max(0, timestampMs) }) });
        return offsets.map((o) => ({
          partition: o.partition,
          logStartOffset: o.logStartOffset,
          endOffset: o.lastStableOffset,
          ...(o.offsetForTimestamp === undefined ? {} : { offsetForTimestamp: o.offsetForTimestamp }),
        }));
      },
    },
    openSource(payload, resumeFrom, signal) {
      const { topic, partition } = parseRangeUrl(payload.url);
      return readRangeRecords({ client }, { topic, partition, from: payload.start, until: payload.end, signal, ...(resumeFrom === undefined ? {} : { resumeFrom }) });
    },
    async onRangeDone(payload) {
      const { topic, partition } = parseRangeUrl(payload.url);
      await positions.complete(payload.runId, topic, partition, payload.start, payload.end);
    },
    close: () => client.close(),
  };
}

/**
 * A thin producer for tests, fixtures and tools that feed topics. Idempotent with acks from all
 * in-sync replicas: a retried send never duplicates a record, which keeps offset-based fixtures
 * exact.
 */
import { Producer } from '@platformatic/kafka';
import type { MessageToProduce } from '@platformatic/kafka';
import { parseBrokers } from './brokers.ts';
import type { BrokerList } from './brokers.ts';
import { convertKafkaError } from './kafka-error.ts';
import { invalidOption, requireClientId, requireInteger, requireTopic } from './options.ts';

/** Options of `createKafkaProducer`. */
export interface KafkaProducerOptions {
  brokers: BrokerList;
  clientId?: string;
  /** Attempts per send on transient failures; default 5 (the library's idempotent default is unbounded). */
  retries?: number;
}

/** One record to write. */
export interface ProduceRecord {
  /** Target partition; chosen from the key (murmur2) or round robin when omitted. */
  partition?: number;
  key?: string | Buffer | null;
  value: string | Buffer;
  /** Milliseconds since the epoch; the producer's clock when omitted. */
  timestamp?: number;
  headers?: Readonly<Record<string, string | Buffer>>;
}

/** Where a sent batch landed: its partition and the offset of its first record. */
export interface ProducedBatch {
  partition: number;
  baseOffset: number;
}

/** A producer; `close()` it when done. */
export interface KafkaProducer {
  /** Writes records to one topic and resolves once every in-sync replica has them. */
  send(topic: string, records: readonly ProduceRecord[]): Promise<ProducedBatch[]>;
  close(): Promise<void>;
}

/** Opens a producer lazily: nothing connects until the first send. */
export function createKafkaProducer(options: KafkaProducerOptions): KafkaProducer {
  const brokers = parseBrokers(options.brokers);
  const clientId = requireClientId(options.clientId ?? 'sluice-producer');
  const retries = requireInteger(options.retries ?? 5, 'retries', 2, 1_000);
  const producer = new Producer({ clientId, bootstrapBrokers: brokers, idempotent: true, retries, retryDelay: 250 });

  return {
    async send(name, records) {
      const topic = requireTopic(name);
      if (!Array.isArray(records)) throw invalidOption('records', records, 'an array');
      const messages = records.map((record, i) => toMessage(topic, record, i));
      if (messages.length === 0) return [];
      try {
        const result = await producer.send({ messages });
        return (result.offsets ?? []).map(({ partition, offset }) => ({ partition, baseOffset: Number(offset) }));
      } catch (error) {
        throw convertKafkaError(error, `cannot produce ${messages.length} records to ${topic}`, { topic, brokers });
      }
    },
    async close() {
      await producer.close();
    },
  };
}

function toMessage(topic: string, record: ProduceRecord, index: number): MessageToProduce {
  if (typeof record !== 'object' || record === null) throw invalidOption(`records[${index}]`, record, 'an object');
  const value = toBuffer(record.value);
  if (value === undefined) throw invalidOption(`records[${index}].value`, record.value, 'a string or Buffer');
  const key = record.key === null || record.key === undefined ? undefined : toBuffer(record.key);
  if (record.key !== null && record.key !== undefined && key === undefined) {
    throw invalidOption(`records[${index}].key`, record.key, 'a string, Buffer or null');
  }
  const headers = new Map<Buffer, Buffer>();
  for (const [name, headerValue] of Object.entries(record.headers ?? {})) {
    const buffer = toBuffer(headerValue);
    if (buffer === undefined) throw invalidOption(`records[${index}].headers.${name}`, headerValue, 'a string or Buffer');
    headers.set(Buffer.from(name), buffer);
  }
  return {
    topic,
    value,
    headers,
    ...(key === undefined ? {} : { key }),
    ...(record.partition === undefined ? {} : { partition: requireInteger(record.partition, `records[${index}].partition`, 0, 2 ** 31 - 1) }),
    ...(record.timestamp === undefined ? {} : { timestamp: BigInt(requireInteger(record.timestamp, `records[${index}].timestamp`, 0)) }),
  };
}

function toBuffer(value: unknown): Buffer | undefined {
  if (typeof value === 'string') return Buffer.from(value);
  if (Buffer.isBuffer(value)) return value;
  return undefined;
}

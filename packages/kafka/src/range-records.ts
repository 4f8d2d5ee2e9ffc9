/**
 * A Kafka offset range as record batches, the same shape file splits have, so the split runtime
 * runs live ranges with the same processor, chunking and fence. Offsets are Kafka offsets; a
 * message that does not decode is a dead letter with `kafka://topic/partition@offset`.
 */
import type { DeadLetter } from '@sluice/core';
import type { RecordBatch } from '@sluice/formats';
import { readRange } from './read-range.ts';
import type { KafkaSource } from './kafka-source.ts';
import type { RangeRecord } from './trim-batches.ts';

/** Turns a message value into a record; throw to make it a dead letter. */
export type DecodeMessage = (value: Buffer, record: RangeRecord) => Record<string, unknown>;

/** Options of `readRangeRecords`. */
export interface RangeRecordsOptions {
  topic: string;
  partition: number;
  from: number;
  until: number;
  /** Start here instead of `from` (a retried range resuming after its last committed chunk). */
  resumeFrom?: number;
  /** Default: JSON, which must give an object. */
  decode?: DecodeMessage;
  maxBytes?: number;
  signal?: AbortSignal;
}

const MAX_RAW = 1024;

/** The default decoder: the value is UTF-8 JSON of an object. */
export const decodeJsonMessage: DecodeMessage = (value) => {
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('message is JSON but not an object');
  return parsed as Record<string, unknown>;
};

/** Reads exactly `[resumeFrom ?? from, until)` of a partition as record batches. */
export async function* readRangeRecords(source: KafkaSource, options: RangeRecordsOptions): AsyncGenerator<RecordBatch> {
  const decode = options.decode ?? decodeJsonMessage;
  const start = Math.max(options.from, options.resumeFrom ?? options.from);
  if (start >= options.until) return;
  const url = `kafka://${options.topic}/${options.partition}`;
  for await (const batch of readRange({
    ...source,
    topic: options.topic,
    partition: options.partition,
    from: start,
    until: options.until,
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  } as Parameters<typeof readRange>[0])) {
    const records: Record<string, unknown>[] = [];
    const offsets: number[] = [];
    const deadLetters: DeadLetter[] = [];
    let bytes = 0;
    let last = start - 1;
    for (const message of batch.records) {
      last = message.offset;
      const value = message.value;
      bytes += value?.length ?? 0;
      if (value === null) {
        deadLetters.push({ provenance: `${url}@${message.offset}`, reason: 'message has no value (a tombstone)', raw: '' });
        continue;
      }
      try {
        records.push(decode(value, message));
        offsets.push(message.offset);
      } catch (error) {
        deadLetters.push({ provenance: `${url}@${message.offset}`, reason: `cannot decode message: ${(error as Error).message}`, raw: value.toString('utf8', 0, Math.min(value.length, MAX_RAW)) });
      }
    }
    yield { records, offsets, deadLetters, endOffset: last + 1, bytes };
  }
}

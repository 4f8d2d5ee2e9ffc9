/**
 * A Kafka offset range as record batches, the same shape file splits have, so the split runtime
 * runs live ranges with the same processor, chunking and fence. Offsets are Kafka offsets; a
 * message that does not decode is a dead letter with `kafka://topic/partition@offset`, and the
 * range goes on.
 */
import { ErrorCode, coerceError, isSluiceError } from '@sluice/core';
import type { DeadLetter } from '@sluice/core';
import type { RecordBatch } from '@sluice/formats';
import type { KafkaSource } from './kafka-source.ts';
import { invalidOption, requireInteger, requireOffset } from './options.ts';
import { readRange } from './read-range.ts';
import type { ReadRangeOptions } from './read-range.ts';
import type { RangeBatch, RangeRecord } from './trim-batches.ts';

/**
 * Turns a message value into a record; throw to make the message a dead letter. The value and the
 * record reference the fetch response's memory: copy what the returned record keeps of them.
 */
export type DecodeMessage = (value: Buffer, record: RangeRecord) => Record<string, unknown>;

/** Options of `readRangeRecords`. */
export interface RangeRecordsOptions {
  topic: string;
  partition: number;
  /** First offset of the range (inclusive). */
  from: number;
  /** End of the range (exclusive). */
  until: number;
  /** Start here instead of `from`, within `[from, until]` (a retried range resuming after its last committed chunk). */
  resumeFrom?: number;
  /** Default: `decodeJsonMessage`. */
  decode?: DecodeMessage;
  /** Bytes per fetch (see `readRange`). */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * Called when retention deleted records of the range before they were read: the read then goes
   * on from the new log start (or ends, when the whole rest is gone) instead of throwing
   * OFFSET_GAP. Without it, the gap is thrown.
   */
  onGap?: (gap: OffsetGap) => void | Promise<void>;
}

/** Offsets `[from, until)` of a range that were deleted before they were read. */
export interface OffsetGap {
  from: number;
  until: number;
}

/** A batch of a range: a `RecordBatch` whose offsets are Kafka offsets, with each record's Kafka timestamp. */
export interface RangeRecordBatch extends RecordBatch {
  /** Kafka timestamp (ms since the epoch) of each record, parallel to `offsets`. */
  timestamps: number[];
}

/** Where the batches of one range come from and how they decode. */
export interface RangeDecoding {
  topic: string;
  partition: number;
  /** The first offset read (`resumeFrom` or `from`). */
  start: number;
  until: number;
  decode: DecodeMessage;
}

const MAX_RAW = 1024;

/** The default decoder: the value is UTF-8 JSON of an object (not an array, not null). */
export const decodeJsonMessage: DecodeMessage = (value) => {
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`message is JSON but not an object (${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`})`);
  }
  return parsed as Record<string, unknown>;
};

/**
 * Reads exactly `[resumeFrom ?? from, until)` of a partition as record batches, one per fetch.
 * `endOffset` is the offset after a batch's last message, and the last batch's is `until` (an
 * empty batch carries it when the range ends in offsets that hold no record: transaction markers,
 * aborted or compacted records). `bytes` counts message values. Options are checked at the call.
 */
export function readRangeRecords(source: KafkaSource, options: RangeRecordsOptions): AsyncGenerator<RangeRecordBatch, void, undefined> {
  const decode = options.decode ?? decodeJsonMessage;
  if (typeof decode !== 'function') throw invalidOption('decode', decode, 'a function');
  const from = requireOffset(options.from, 'from');
  const start = options.resumeFrom === undefined ? from : requireInteger(options.resumeFrom, 'resumeFrom', from, Math.max(from, requireOffset(options.until, 'until')));
  const onGap = options.onGap;
  if (onGap !== undefined && typeof onGap !== 'function') throw invalidOption('onGap', onGap, 'a function');
  const read: ReadRangeOptions = {
    ...source,
    topic: options.topic,
    partition: options.partition,
    from: start,
    until: options.until,
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  // readRange checks the options (and `from <= until`) before returning, so a bad call throws here.
  const first = readRange(read);
  const batches = onGap === undefined ? first : skipGaps((at) => (at === start ? first : readRange({ ...read, from: at })), start, options.until, onGap);
  return decodeRangeBatches(batches, { topic: options.topic, partition: options.partition, start, until: options.until, decode });
}

/**
 * The batches of `open(from)`, reopened past each OFFSET_GAP at the log start the gap names, after
 * `onGap` saw the deleted offsets. Retention only ever raises the log start, so every attempt of a
 * range that meets a gap reads the same records after it, or fewer when retention moved on since.
 */
export async function* skipGaps(
  open: (from: number) => AsyncIterable<RangeBatch>,
  from: number,
  until: number,
  onGap: (gap: OffsetGap) => void | Promise<void>,
): AsyncGenerator<RangeBatch, void, undefined> {
  let position = from;
  for (;;) {
    try {
      for await (const batch of open(position)) {
        const last = batch.records.at(-1);
        if (last !== undefined) position = last.offset + 1;
        yield batch;
      }
      return;
    } catch (error) {
      if (!isSluiceError(error) || error.code !== ErrorCode.OFFSET_GAP) throw error;
      const at = Number(error.context.position);
      const logStart = Number(error.context.logStartOffset);
      // A gap that does not move the read forward would loop; it is a broker answer we do not understand.
      if (!(Number.isSafeInteger(at) && Number.isSafeInteger(logStart) && logStart > at && at >= position)) throw error;
      const gapEnd = Math.min(logStart, until);
      await onGap({ from: at, until: gapEnd });
      if (gapEnd >= until) return;
      position = gapEnd;
    }
  }
}

/** Decodes the raw batches of a range read into record batches (the part of `readRangeRecords` after the fetch). */
export async function* decodeRangeBatches(batches: AsyncIterable<RangeBatch>, range: RangeDecoding): AsyncGenerator<RangeRecordBatch, void, undefined> {
  const { decode, until } = range;
  const url = `kafka://${range.topic}/${range.partition}`;
  let endOffset = range.start;
  for await (const batch of batches) {
    const records: Record<string, unknown>[] = [];
    const offsets: number[] = [];
    const timestamps: number[] = [];
    const deadLetters: DeadLetter[] = [];
    let bytes = 0;
    for (const message of batch.records) {
      const value = message.value;
      endOffset = message.offset + 1;
      if (value === null) {
        deadLetters.push({ provenance: `${url}@${message.offset}`, reason: 'message has no value (a tombstone)', raw: '' });
        continue;
      }
      bytes += value.length;
      let record: Record<string, unknown>;
      try {
        record = decode(value, message);
      } catch (error) {
        const failure = coerceError(error, ErrorCode.BAD_RECORD);
        // A decoder that is itself wrong fails the range instead of dead-lettering every message.
        if (failure.code === ErrorCode.INVALID_DEFINITION) throw failure;
        deadLetters.push({ provenance: `${url}@${message.offset}`, reason: `cannot decode message: ${failure.message}`, raw: rawText(value) });
        continue;
      }
      if (typeof record !== 'object' || record === null) {
        deadLetters.push({ provenance: `${url}@${message.offset}`, reason: `decoder returned ${record === null ? 'null' : typeof record}, not a record`, raw: rawText(value) });
        continue;
      }
      records.push(record);
      offsets.push(message.offset);
      timestamps.push(message.timestamp);
    }
    yield { records, offsets, timestamps, deadLetters, endOffset, bytes };
  }
  // The reader only ends once it has passed every offset below `until`.
  if (endOffset < until) yield { records: [], offsets: [], timestamps: [], deadLetters: [], endOffset: until, bytes: 0 };
}

function rawText(value: Buffer): string {
  return value.toString('utf8', 0, Math.min(value.length, MAX_RAW));
}

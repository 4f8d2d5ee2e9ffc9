import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import { decodeJsonMessage, decodeRangeBatches, readRangeRecords, skipGaps } from '../src/range-records.ts';
import type { DecodeMessage, OffsetGap, RangeRecordBatch, RangeRecordsOptions } from '../src/range-records.ts';
import { iterateRange } from '../src/read-range.ts';
import { createFakePartition, makeBatch, makeControlBatch } from './fake-log.ts';
import type { FakePartition } from './fake-log.ts';

const TIME = 1_700_000_000_000;

/** A partition holding exactly these batches. */
function partitionOf(...batches: ReturnType<typeof makeBatch>[]): FakePartition {
  const part = createFakePartition(0, 1);
  part.batches.push(...batches);
  return part;
}

function read(part: FakePartition, from: number, until: number, extra: { maxBytes?: number; decode?: DecodeMessage } = {}): AsyncGenerator<RangeRecordBatch> {
  const plan = { topic: 't', partition: 0, from, until, maxBytes: extra.maxBytes ?? 1_000_000, maxWaitMs: 5, retries: 1, aheadTimeoutMs: 30_000 };
  return decodeRangeBatches(iterateRange(part.internals, plan), { topic: 't', partition: 0, start: from, until, decode: extra.decode ?? decodeJsonMessage });
}

async function collect(batches: AsyncIterable<RangeRecordBatch>): Promise<RangeRecordBatch[]> {
  const out: RangeRecordBatch[] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

function rejectsWith(code: string, option?: string) {
  return (error: unknown): boolean => {
    assert.ok(isSluiceError(error), `a SluiceError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (option !== undefined) assert.equal(error.context.option, option);
    return true;
  };
}

test('JSON objects become records; anything else is a dead letter with its offset, and the range goes on', async () => {
  const values = ['{"a":1}', 'not json', null, '[1,2]', '5', 'null', '{"b":"x","n":[1]}', ''];
  const [batch, ...rest] = await collect(read(partitionOf(makeBatch(0, values, { firstTimestamp: TIME })), 0, 8));
  assert.deepEqual(rest, []);
  assert.deepEqual(batch?.records, [{ a: 1 }, { b: 'x', n: [1] }]);
  assert.deepEqual(batch?.offsets, [0, 6]);
  assert.deepEqual(batch?.timestamps, [TIME, TIME + 6], 'each record\'s Kafka timestamp, beside its offset');
  assert.equal(batch?.endOffset, 8);
  assert.equal(batch?.bytes, values.reduce((n, v) => n + (v === null ? 0 : Buffer.byteLength(v)), 0), 'value bytes, good and bad');
  assert.deepEqual(batch?.deadLetters.map((d) => [d.provenance, d.raw]), [
    ['kafka://t/0@1', 'not json'],
    ['kafka://t/0@2', ''],
    ['kafka://t/0@3', '[1,2]'],
    ['kafka://t/0@4', '5'],
    ['kafka://t/0@5', 'null'],
    ['kafka://t/0@7', ''],
  ]);
  const reasons = batch?.deadLetters.map((d) => d.reason) ?? [];
  assert.match(reasons[0] ?? '', /^cannot decode message: .*JSON/);
  assert.match(reasons[1] ?? '', /tombstone/);
  assert.match(reasons[2] ?? '', /not an object \(an array\)/);
  assert.match(reasons[3] ?? '', /not an object \(a number\)/);
  assert.match(reasons[4] ?? '', /not an object \(null\)/);
});

test('a dead letter keeps at most 1 KiB of the message', async () => {
  const [batch] = await collect(read(partitionOf(makeBatch(0, [`<${'x'.repeat(5_000)}>`])), 0, 1));
  assert.equal(batch?.deadLetters[0]?.raw, `<${'x'.repeat(1_023)}`);
  assert.equal(batch?.bytes, 5_002);
});

test('the last batch ends at until, even when the range ends in a transaction marker or compacted offsets', async () => {
  const tx = partitionOf(
    makeBatch(0, ['{"i":0}', '{"i":1}'], { attributes: 0x10, producerId: 7n }),
    makeControlBatch(2, 7n, 1),
    makeBatch(3, ['{"i":3}']),
  );
  const batches = await collect(read(tx, 0, 3));
  assert.deepEqual(batches.map((b) => [b.offsets, b.endOffset]), [[[0, 1], 2], [[], 3]], 'an empty batch carries the end past the marker');
  assert.deepEqual(await collect(read(tx, 2, 3)), [{ records: [], offsets: [], timestamps: [], deadLetters: [], endOffset: 3, bytes: 0 }], 'a range of only a marker');
  assert.deepEqual((await collect(read(tx, 0, 4))).map((b) => b.endOffset), [4], 'a range ending on a record needs no extra batch');

  const compacted = partitionOf(makeBatch(10, ['{"k":0}', '{"k":2}', '{"k":5}'], { offsetDeltas: [0, 2, 5], lastOffsetDelta: 6 }));
  const read1 = await collect(read(compacted, 10, 14));
  assert.deepEqual(read1.map((b) => [b.offsets, b.endOffset]), [[[10, 12], 13], [[], 14]]);
  const read2 = await collect(read(compacted, 11, 17));
  assert.deepEqual(read2.map((b) => [b.offsets, b.endOffset]), [[[12, 15], 16], [[], 17]]);
  assert.deepEqual(await collect(read(compacted, 13, 13)), [], 'an empty range yields nothing');
});

/** A CSV-ish decoder that throws a string for one message and returns null for another. */
const decodePair: DecodeMessage = (value, record) => {
  const text = value.toString();
  if (text === 'bad') throw 'no comma';
  if (text === 'nil') return null as unknown as Record<string, unknown>;
  const [name, count] = text.split(',');
  return { name, count: Number(count), at: record.timestamp, offset: record.offset };
};

/** A decoder that knows it is broken. */
const decodeBroken: DecodeMessage = () => {
  throw new SluiceError(ErrorCode.INVALID_DEFINITION, 'the job declared a decoder it does not have');
};

test('a declared decoder sees the value and the Kafka record; what it throws or refuses is a dead letter', async () => {
  const part = partitionOf(makeBatch(0, ['a,1', 'b,2', 'bad', 'nil'], { firstTimestamp: TIME }));
  const [batch] = await collect(read(part, 0, 4, { decode: decodePair }));
  assert.deepEqual(batch?.records, [{ name: 'a', count: 1, at: TIME, offset: 0 }, { name: 'b', count: 2, at: TIME + 1, offset: 1 }]);
  assert.deepEqual(batch?.deadLetters, [
    { provenance: 'kafka://t/0@2', reason: 'cannot decode message: no comma', raw: 'bad' },
    { provenance: 'kafka://t/0@3', reason: 'decoder returned null, not a record', raw: 'nil' },
  ]);
});

test('a decoder that reports itself broken (INVALID_DEFINITION) fails the range', async () => {
  await assert.rejects(collect(read(partitionOf(makeBatch(0, ['{}'])), 0, 1, { decode: decodeBroken })), rejectsWith(ErrorCode.INVALID_DEFINITION));
});

test('bad options throw INVALID_CONFIG naming the option at the call, before anything connects', () => {
  const base: RangeRecordsOptions = { topic: 't', partition: 0, from: 10, until: 20 };
  const source = { brokers: ['127.0.0.1:1'] };
  for (const [patch, option] of [
    [{ resumeFrom: 9 }, 'resumeFrom'],
    [{ resumeFrom: 21 }, 'resumeFrom'],
    [{ resumeFrom: 12.5 }, 'resumeFrom'],
    [{ from: -1 }, 'from'],
    [{ from: -1, resumeFrom: 0 }, 'from'],
    [{ until: 5 }, 'until'],
    [{ until: 5, resumeFrom: 10 }, 'until'],
    [{ decode: 'json' }, 'decode'],
    [{ topic: 'a/b' }, 'topic'],
    [{ maxBytes: 0 }, 'maxBytes'],
  ] as const) {
    assert.throws(() => readRangeRecords(source, { ...base, ...patch } as RangeRecordsOptions), rejectsWith(ErrorCode.INVALID_CONFIG, option), option);
  }
  assert.equal(typeof readRangeRecords(source, { ...base, resumeFrom: 20 }).next, 'function', 'resuming at until is allowed: nothing is left');
});

type Message = { kind: 'good'; n: number } | { kind: 'bad' } | { kind: 'tombstone' };
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  { weight: 4, arbitrary: fc.integer().map((n): Message => ({ kind: 'good', n })) },
  fc.constant<Message>({ kind: 'bad' }),
  fc.constant<Message>({ kind: 'tombstone' }),
);
const encodeMessage = (m: Message): string | null => (m.kind === 'good' ? JSON.stringify({ n: m.n }) : m.kind === 'bad' ? '{"n":' : null);

test('property: every offset of [start, until) is a record or a dead letter exactly once, in order, and batches end where the next begins', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(messageArb, { minLength: 1, maxLength: 80 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 30 }),
      fc.nat(),
      fc.nat(),
      async (messages, batchSize, maxBytes, a, b) => {
        const part = createFakePartition(0, 1);
        for (let at = 0; at < messages.length; at += batchSize) part.batches.push(makeBatch(at, messages.slice(at, at + batchSize).map(encodeMessage)));
        const start = a % (messages.length + 1);
        const until = start + (b % (messages.length - start + 1));
        const batches = await collect(read(part, start, until, { maxBytes }));
        const seen: number[] = [];
        let previousEnd = start;
        let bytes = 0;
        for (const batch of batches) {
          const dead = batch.deadLetters.map((d) => Number(d.provenance.slice(d.provenance.lastIndexOf('@') + 1)));
          const offsets = [...batch.offsets, ...dead].sort((x, y) => x - y);
          assert.ok(offsets.every((o) => o >= previousEnd && o < batch.endOffset), 'a batch holds offsets from the previous end to its own');
          if (offsets.length > 0) assert.equal(batch.endOffset, (offsets.at(-1) as number) + 1);
          seen.push(...offsets);
          previousEnd = batch.endOffset;
          bytes += batch.bytes;
          batch.offsets.forEach((o, i) => assert.deepEqual(batch.records[i], { n: (messages[o] as { n: number }).n }));
          assert.equal(batch.timestamps.length, batch.offsets.length);
        }
        const expected = Array.from({ length: until - start }, (_, i) => start + i);
        assert.deepEqual(seen, expected);
        assert.equal(previousEnd, until, 'the last batch ends at until');
        assert.equal(bytes, expected.reduce((n, o) => n + Buffer.byteLength(encodeMessage(messages[o] as Message) ?? ''), 0));
      },
    ),
    { numRuns: 200 },
  );
});

test('with onGap, offsets retention deleted before or during the read are reported once each and the range goes on after them', async () => {
  const part = createFakePartition(100, 10);
  part.logStartOffset = 20;
  const plan = { topic: 't', partition: 0, from: 5, until: 90, maxBytes: 10, maxWaitMs: 5, retries: 1, aheadTimeoutMs: 30_000 };
  const gaps: OffsetGap[] = [];
  const reads = skipGaps((from) => iterateRange(part.internals, { ...plan, from }), 5, 90, (gap) => {
    gaps.push(gap);
  });
  const seen: number[] = [];
  let last = 0;
  for await (const batch of decodeRangeBatches(reads, { topic: 't', partition: 0, start: 5, until: 90, decode: (v) => ({ v: v.toString() }) })) {
    seen.push(...batch.offsets);
    last = batch.endOffset;
    // Retention overtakes the read once it is past offset 40.
    if (seen.includes(40) && part.logStartOffset < 60) part.logStartOffset = 60;
  }
  assert.deepEqual(gaps, [{ from: 5, until: 20 }, { from: 50, until: 60 }]);
  assert.deepEqual(seen, [...Array.from({ length: 30 }, (_, i) => 20 + i), ...Array.from({ length: 30 }, (_, i) => 60 + i)], 'every record left, once');
  assert.equal(last, 90);
});

test('with onGap, a range wholly deleted ends at once at its end, with one gap', async () => {
  const part = createFakePartition(100, 10);
  part.logStartOffset = 95;
  const gaps: OffsetGap[] = [];
  const plan = { topic: 't', partition: 0, from: 30, until: 80, maxBytes: 10, maxWaitMs: 5, retries: 1, aheadTimeoutMs: 30_000 };
  const reads = skipGaps((from) => iterateRange(part.internals, { ...plan, from }), 30, 80, (gap) => {
    gaps.push(gap);
  });
  const batches = await collect(decodeRangeBatches(reads, { topic: 't', partition: 0, start: 30, until: 80, decode: decodeJsonMessage }));
  assert.deepEqual(gaps, [{ from: 30, until: 80 }]);
  assert.deepEqual(batches.map((b) => [b.records.length, b.endOffset]), [[0, 80]]);
});

test('without onGap a deleted offset still fails the read, and onGap must be a function', async () => {
  const part = createFakePartition(20, 10);
  part.logStartOffset = 10;
  const plan = { topic: 't', partition: 0, from: 0, until: 20, maxBytes: 10, maxWaitMs: 5, retries: 1, aheadTimeoutMs: 30_000 };
  await assert.rejects(collect(decodeRangeBatches(iterateRange(part.internals, plan), { topic: 't', partition: 0, start: 0, until: 20, decode: decodeJsonMessage })), rejectsWith(ErrorCode.OFFSET_GAP));
  assert.throws(() => readRangeRecords({ client: {} as never }, { topic: 't', partition: 0, from: 0, until: 1, onGap: 5 as never }), rejectsWith(ErrorCode.INVALID_CONFIG, 'onGap'));
});

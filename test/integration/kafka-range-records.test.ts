/**
 * Kafka ranges as record batches against the real local broker (127.0.0.1:9092, `infra/local/up`):
 * good and bad messages in one partition, read whole, in parts, resumed, and in small fetches, with
 * a range that ends in a transaction marker.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Producer } from '@platformatic/kafka';
import { createKafkaAdmin, createKafkaClient, createKafkaProducer, readRangeRecords } from '@sluice/kafka';
import type { RangeRecordBatch } from '@sluice/kafka';
import { kafkaBrokers, uniqueName } from '../support/env.ts';

const BASE_TIME = 1_700_000_000_000;
const BIG = `{"unterminated": "${'x'.repeat(3_000)}`;

/** What the partition holds, by offset; the commit marker of the final transaction is offset 12. */
const LOG: readonly (string | null)[] = ['{"n":0}', 'not json', '{"n":2}', '[1,2]', null, BIG, '{"n":6}', '{"n":7}', '{"n":8}', '{"n":9}', '{"n":10}', '{"n":11}'];
const GOOD = [0, 2, 6, 7, 8, 9, 10, 11];
const BAD = [1, 3, 4, 5];
const END = 13;

/** Registers cleanups that run last-in first-out after the test. */
function createCleanups(t: TestContext): (cleanup: () => Promise<unknown> | void) => void {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.toReversed()) await cleanup();
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

interface Flat {
  batches: RangeRecordBatch[];
  records: unknown[];
  offsets: number[];
  timestamps: number[];
  dead: { offset: number; reason: string; raw: string }[];
  bytes: number;
  endOffset: number | undefined;
}

async function flatten(reading: AsyncIterable<RangeRecordBatch>): Promise<Flat> {
  const flat: Flat = { batches: [], records: [], offsets: [], timestamps: [], dead: [], bytes: 0, endOffset: undefined };
  for await (const batch of reading) {
    flat.batches.push(batch);
    flat.records.push(...batch.records);
    flat.offsets.push(...batch.offsets);
    flat.timestamps.push(...batch.timestamps);
    flat.bytes += batch.bytes;
    flat.endOffset = batch.endOffset;
    for (const d of batch.deadLetters) {
      const [, offset] = /^kafka:\/\/.+\/0@(\d+)$/.exec(d.provenance) ?? [];
      assert.ok(offset !== undefined, `provenance ${d.provenance}`);
      flat.dead.push({ offset: Number(offset), reason: d.reason, raw: d.raw });
    }
  }
  return flat;
}

const valueBytes = (offsets: readonly number[]): number => offsets.reduce((n, o) => n + Buffer.byteLength(LOG[o] ?? ''), 0);
const recordAt = (offset: number): unknown => JSON.parse(LOG[offset] as string);

test('kafka range records: decoded records, dead letters with offsets, resume and the end of a range', async (t) => {
  const brokers = kafkaBrokers();
  const topic = uniqueName('sluice-test-range-records');
  const defer = createCleanups(t);
  const admin = createKafkaAdmin({ brokers });
  defer(() => admin.close());
  await admin.createTopic(topic, 1);
  defer(() => admin.deleteTopic(topic));

  const plain = createKafkaProducer({ brokers });
  defer(() => plain.close());
  // Our producer refuses a null value on purpose; the library's writes the tombstone.
  const library = new Producer({ clientId: uniqueName('sluice-test-producer'), bootstrapBrokers: brokers, idempotent: true, retries: 5 });
  defer(() => library.close());
  const transactional = new Producer({ clientId: uniqueName('sluice-test-tx'), bootstrapBrokers: brokers, idempotent: true, transactionalId: uniqueName('tx'), retries: 5 });
  defer(() => transactional.close());
  const at = (offset: number) => ({ partition: 0, value: LOG[offset] as string, timestamp: BASE_TIME + offset });
  await plain.send(topic, [0, 1, 2, 3].map(at));
  await library.send({ messages: [{ topic, partition: 0, value: null as unknown as Buffer, timestamp: BigInt(BASE_TIME + 4) }] });
  assert.deepEqual((await plain.send(topic, [5, 6, 7, 8, 9].map(at))).map((b) => b.baseOffset), [5], 'one offset per message so far');
  const last = await transactional.beginTransaction();
  await last.send({ messages: [10, 11].map((o) => ({ topic, partition: 0, value: Buffer.from(LOG[o] as string), timestamp: BigInt(BASE_TIME + o) })) });
  await last.commit();

  const client = createKafkaClient({ brokers, clientId: uniqueName('sluice-test-client') });
  defer(() => client.close());

  await t.test('the whole range: records in order with offsets and timestamps, bad messages as dead letters', async () => {
    const flat = await flatten(readRangeRecords({ client }, { topic, partition: 0, from: 0, until: END }));
    assert.deepEqual(flat.records, GOOD.map(recordAt));
    assert.deepEqual(flat.offsets, GOOD);
    assert.deepEqual(flat.timestamps, GOOD.map((o) => BASE_TIME + o), 'Kafka timestamps, as produced');
    assert.deepEqual(flat.dead.map((d) => d.offset), BAD);
    assert.deepEqual(flat.dead.map((d) => d.raw), ['not json', '[1,2]', '', BIG.slice(0, 1_024)]);
    assert.match(flat.dead[0]?.reason ?? '', /^cannot decode message/);
    assert.match(flat.dead[1]?.reason ?? '', /not an object/);
    assert.match(flat.dead[2]?.reason ?? '', /tombstone/);
    assert.equal(flat.bytes, valueBytes([...GOOD, ...BAD]));
    assert.equal(flat.endOffset, END, 'the last batch ends at until, past the final commit marker');
    assert.equal(flat.batches.at(-1)?.records.length, 0, 'carried by an empty batch');
  });

  await t.test('a range in the middle reads exactly its offsets', async () => {
    const flat = await flatten(readRangeRecords({ client }, { topic, partition: 0, from: 2, until: 8 }));
    assert.deepEqual(flat.offsets, [2, 6, 7]);
    assert.deepEqual(flat.dead.map((d) => d.offset), [3, 4, 5]);
    assert.equal(flat.endOffset, 8);
  });

  await t.test('resumeFrom starts inside the range and keeps its end', async () => {
    const flat = await flatten(readRangeRecords({ client }, { topic, partition: 0, from: 0, until: END, resumeFrom: 5 }));
    assert.deepEqual(flat.offsets, GOOD.filter((o) => o >= 5));
    assert.deepEqual(flat.dead.map((d) => d.offset), [5]);
    assert.equal(flat.endOffset, END);
    assert.deepEqual(await flatten(readRangeRecords({ client }, { topic, partition: 0, from: 0, until: END, resumeFrom: END })), {
      batches: [], records: [], offsets: [], timestamps: [], dead: [], bytes: 0, endOffset: undefined,
    }, 'resuming at until reads nothing');
  });

  await t.test('small fetches give several batches and the same records', async () => {
    const whole = await flatten(readRangeRecords({ client }, { topic, partition: 0, from: 0, until: END }));
    const pieces = await flatten(readRangeRecords({ client }, { topic, partition: 0, from: 0, until: END, maxBytes: 64 }));
    assert.ok(pieces.batches.length > whole.batches.length, `more batches with small fetches: ${pieces.batches.length} vs ${whole.batches.length}`);
    assert.deepEqual({ ...pieces, batches: undefined }, { ...whole, batches: undefined });
    let previous = 0;
    for (const batch of pieces.batches) {
      const first = Math.min(batch.offsets[0] ?? Number.MAX_SAFE_INTEGER, ...batch.deadLetters.map((d) => Number(d.provenance.split('@')[1])));
      if (first !== Number.MAX_SAFE_INTEGER) assert.ok(first >= previous, 'batches do not overlap');
      assert.ok(batch.endOffset > previous, 'each batch moves the end forward');
      previous = batch.endOffset;
    }
  });

  await t.test('a declared decoder replaces JSON', async () => {
    const flat = await flatten(readRangeRecords({ client }, {
      topic, partition: 0, from: 0, until: 3,
      decode: (value, record) => ({ text: value.toString(), at: record.timestamp }),
    }));
    assert.deepEqual(flat.records, [0, 1, 2].map((o) => ({ text: LOG[o], at: BASE_TIME + o })));
    assert.deepEqual(flat.dead, []);
  });
});

test('kafka range records: batches written gzip, snappy, lz4 and zstd compressed read exactly their range', async (t) => {
  const brokers = kafkaBrokers();
  const defer = createCleanups(t);
  const admin = createKafkaAdmin({ brokers });
  defer(() => admin.close());
  const client = createKafkaClient({ brokers });
  defer(() => client.close());
  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const topic = uniqueName(`sluice-test-${compression}`);
    await admin.createTopic(topic, 1);
    defer(() => admin.deleteTopic(topic));
    // The broker keeps the producer's compression (compression.type=producer), so a fetch returns
    // whole compressed batches of 100, starting before a range that begins inside one.
    const producer = new Producer({ clientId: uniqueName('sluice-test-compressed'), bootstrapBrokers: brokers, idempotent: true, retries: 5, compression });
    defer(() => producer.close());
    for (let batch = 0; batch < 5; batch += 1) {
      await producer.send({ messages: Array.from({ length: 100 }, (_, k) => ({ topic, partition: 0, value: Buffer.from(JSON.stringify({ n: batch * 100 + k, pad: 'z'.repeat(200) })), timestamp: BigInt(BASE_TIME) })) });
    }
    for (const [from, until] of [[0, 500], [150, 420], [199, 201], [437, 438]] as const) {
      const read = await flatten(readRangeRecords({ client }, { topic, partition: 0, from, until, maxBytes: 8 * 1024 }));
      const expected = Array.from({ length: until - from }, (_, i) => from + i);
      assert.deepEqual(read.offsets, expected, `${compression} [${from}, ${until}): exactly its offsets`);
      assert.deepEqual(read.records.map((r) => (r as { n: number }).n), expected, `${compression} [${from}, ${until}): the records at them`);
      assert.deepEqual(read.dead, [], compression);
      assert.equal(read.endOffset, until);
    }
  }
});

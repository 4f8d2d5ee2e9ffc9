/**
 * Topic administration against the real local broker (127.0.0.1:9092, `infra/local/up`): the
 * newest record timestamp per partition, which lag in seconds of event time is measured from.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createKafkaAdmin, createKafkaProducer } from '../src/index.ts';
import type { KafkaAdmin } from '../src/index.ts';

const brokers = (process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`).split(',');
const BASE = 1_700_000_000_000;

function isCode(code: string, option?: string): (error: unknown) => boolean {
  return (error) => isSluiceError(error) && error.code === code && (option === undefined || error.context.option === option);
}

async function withTopic(t: TestContext, partitions: number): Promise<{ admin: KafkaAdmin; topic: string }> {
  const admin = createKafkaAdmin({ brokers });
  const topic = `sluice-test-admin-${randomUUID()}`;
  await admin.createTopic(topic, partitions);
  t.after(async () => {
    await admin.deleteTopic(topic);
    await admin.close();
  });
  return { admin, topic };
}

test('listMaxTimestamps: per partition the record with the greatest timestamp, not the last one written', async (t) => {
  const { admin, topic } = await withTopic(t, 3);
  const producer = createKafkaProducer({ brokers });
  t.after(() => producer.close());
  // Out of order on purpose: the newest event is offset 2 of partition 0, written before older ones.
  await producer.send(topic, [7_000, 2_000, 9_500, 4_000].map((ms) => ({ partition: 0, value: '{}', timestamp: BASE + ms })));
  await producer.send(topic, [{ partition: 2, value: '{}', timestamp: BASE + 1 }]);
  assert.deepEqual(await admin.listMaxTimestamps(topic), [
    { partition: 0, offset: 2, timestamp: BASE + 9_500 },
    { partition: 1, offset: null, timestamp: null },
    { partition: 2, offset: 0, timestamp: BASE + 1 },
  ]);
  assert.deepEqual(await admin.listMaxTimestamps(topic, [2]), [{ partition: 2, offset: 0, timestamp: BASE + 1 }], 'only the partitions asked for');
  await producer.send(topic, [{ partition: 0, value: '{}', timestamp: BASE + 12_000 }]);
  assert.deepEqual((await admin.listMaxTimestamps(topic, [0]))[0], { partition: 0, offset: 4, timestamp: BASE + 12_000 }, 'a newer record is seen at once');
});

test('listMaxTimestamps: bad options are INVALID_CONFIG before any request, an unknown topic NOT_FOUND', async (t) => {
  const admin = createKafkaAdmin({ brokers });
  t.after(() => admin.close());
  await assert.rejects(admin.listMaxTimestamps('bad topic!'), isCode(ErrorCode.INVALID_CONFIG, 'topic'));
  await assert.rejects(admin.listMaxTimestamps('t', [-1]), isCode(ErrorCode.INVALID_CONFIG, 'partitions[0]'));
  await assert.rejects(admin.listMaxTimestamps('t', 3 as unknown as number[]), isCode(ErrorCode.INVALID_CONFIG, 'partitions'));
  await assert.rejects(admin.listMaxTimestamps(`sluice-test-missing-${randomUUID()}`), isCode(ErrorCode.NOT_FOUND));
});

test('listPartitionSizes: the bytes of each partition\'s log, about its messages\' size, 0 for an empty one', async (t) => {
  const { admin, topic } = await withTopic(t, 2);
  const producer = createKafkaProducer({ brokers });
  t.after(() => producer.close());
  const value = 'x'.repeat(1_000);
  for (let batch = 0; batch < 5; batch += 1) {
    await producer.send(topic, Array.from({ length: 100 }, (_, i) => ({ partition: 0, value, timestamp: BASE + batch * 100 + i })));
  }
  const sizes = await admin.listPartitionSizes(topic);
  assert.equal(sizes.length, 2);
  const [first, second] = sizes;
  assert.equal(first?.partition, 0);
  // 500 values of 1,000 bytes, uncompressed, plus per-record and per-batch framing.
  assert.ok(first?.bytes !== null && (first?.bytes ?? 0) >= 500_000 && (first?.bytes ?? 0) < 550_000, `partition 0 holds ${String(first?.bytes)} bytes`);
  assert.deepEqual(second, { partition: 1, bytes: 0 });
  assert.deepEqual((await admin.listPartitionSizes(topic, [1])).map((s) => s.partition), [1], 'only the partitions asked for');
  await assert.rejects(admin.listPartitionSizes(topic, [-1]), isCode(ErrorCode.INVALID_CONFIG, 'partitions[0]'));
});

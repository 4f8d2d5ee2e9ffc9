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

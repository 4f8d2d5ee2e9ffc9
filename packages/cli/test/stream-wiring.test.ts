/**
 * The Kafka wiring of `sluice coordinator` and `sluice worker` against the real local Kafka and
 * Redis (`infra/local/up`): what it reports of a partition's newest record, and the committed
 * timestamp a completed range leaves, also when the attempt that completed it resumed mid-range.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { streamDoneKey, streamEndsKey, streamGapsKey, streamPlannedKey, streamPositionsKey, streamSizesKey, streamTimesKey } from '@sluice/control';
import { createKafkaAdmin, createKafkaClient, createKafkaProducer } from '@sluice/kafka';
import type { KafkaAdmin } from '@sluice/kafka';
import { PAYLOAD_VERSION } from '@sluice/queue';
import type { SplitPayload } from '@sluice/queue';
import { createStreamWiring, readMaxTimestamp } from '../src/stream-wiring.ts';

const brokers = (process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`).split(',');
const redisUrl = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;
const BASE = 1_700_000_000_000;
/** Timestamps of offsets 0..9 of partition 0: the greatest is at offset 3, the next greatest at 7. */
const STAMPS = [100, 900, 300, 5_000, 200, 400, 600, 4_000, 700, 800].map((ms) => BASE + ms);

async function withTopic(t: TestContext): Promise<{ admin: KafkaAdmin; topic: string }> {
  const admin = createKafkaAdmin({ brokers });
  const topic = `sluice-test-wiring-${randomUUID()}`;
  await admin.createTopic(topic, 2);
  t.after(async () => {
    await admin.deleteTopic(topic);
    await admin.close();
  });
  const producer = createKafkaProducer({ brokers });
  await producer.send(topic, STAMPS.map((timestamp, i) => ({ partition: 0, value: JSON.stringify({ i }), timestamp })));
  await producer.close();
  return { admin, topic };
}

function payload(runId: string, topic: string, from: number, until: number): SplitPayload {
  return {
    v: PAYLOAD_VERSION, runId, job: 'j', splitId: `kafka://${topic}/0@${from}-${until}`, ordinal: 0,
    url: `kafka://${topic}/0`, format: 'json', compression: 'none', start: from, end: until, options: {},
  };
}

test('readMaxTimestamp: the greatest timestamp of exactly [from, until), and of what retention left of it', async (t) => {
  const { admin, topic } = await withTopic(t);
  const client = createKafkaClient({ brokers });
  t.after(() => client.close());
  assert.equal(await readMaxTimestamp(client, topic, 0, 0, 10), BASE + 5_000);
  assert.equal(await readMaxTimestamp(client, topic, 0, 4, 7), BASE + 600, 'offsets 4, 5, 6 only');
  assert.equal(await readMaxTimestamp(client, topic, 0, 4, 4), undefined, 'an empty range');
  assert.equal(await admin.deleteRecords(topic, 0, 5), 5);
  assert.equal(await readMaxTimestamp(client, topic, 0, 0, 10), BASE + 4_000, 'offsets 0-4 were deleted; 5-9 remain');
  assert.equal(await readMaxTimestamp(client, topic, 0, 1, 4), undefined, 'all of it deleted');
});

test('the wiring reports newest timestamps with end offsets, and a completed range leaves its greatest timestamp as committed', async (t) => {
  const { topic } = await withTopic(t);
  const redis = new Redis(redisUrl);
  const wiring = createStreamWiring(brokers, redis);
  const runId = `test-wiring-${randomUUID()}`;
  const resumedRunId = `${runId}-resumed`;
  t.after(async () => {
    await wiring.close();
    const keys = [streamPositionsKey, streamPlannedKey, streamDoneKey, streamEndsKey, streamGapsKey, streamTimesKey, streamSizesKey];
    await redis.del(...keys.map((k) => k(runId)), ...keys.map((k) => k(resumedRunId)));
    redis.disconnect();
  });
  const offsets = await wiring.kafka.listOffsets(topic);
  assert.deepEqual(offsets.map((o) => [o.partition, o.endOffset, o.newestTimestamp]), [[0, 10, BASE + 5_000], [1, 0, null]]);

  const { positions } = wiring;
  await positions.init(runId, topic, 0, 0);
  for (const [from, until] of [[0, 5], [5, 10]] as const) assert.ok(await positions.reservePlan(runId, topic, 0, from, until));
  // [5, 10) completes first, by an attempt that read all of it (offsets 8 and 9 say nothing else).
  await wiring.onRangeDone(payload(runId, topic, 5, 10), { readFrom: 5, maxTimestamp: BASE + 4_000, bytes: 500, records: 5 });
  const afterUpper = (await positions.list(runId))[0];
  assert.equal(afterUpper?.committed, 0);
  assert.equal(afterUpper?.committedTimestamp, undefined, 'not committed while [0, 5) is not');
  assert.equal(afterUpper?.bytesPerRecord, 100, 'what the attempt read sizes the next ranges');
  // [0, 5) by an attempt that found every chunk committed by an earlier one, so it read nothing.
  await wiring.onRangeDone(payload(runId, topic, 0, 5), { readFrom: undefined, maxTimestamp: undefined, bytes: 0, records: 0 });
  const after = (await positions.list(runId))[0];
  assert.equal(after?.committed, 10);
  assert.equal(after?.committedTimestamp, BASE + 5_000, 'found by reading again the range an earlier attempt had committed');

  // A retry that resumed at offset 8: offsets 5 to 7 were read by the attempt that died.
  await positions.init(resumedRunId, topic, 0, 5);
  assert.ok(await positions.reservePlan(resumedRunId, topic, 0, 5, 10));
  await wiring.onRangeDone(payload(resumedRunId, topic, 5, 10), { readFrom: 8, maxTimestamp: BASE + 800, bytes: 0, records: 0 });
  assert.equal((await positions.list(resumedRunId))[0]?.committedTimestamp, BASE + 4_000, 'offset 7, read before the resume, holds the newest');
});

test('the wiring reads partition log sizes once per 30 s, and plans by records with a log line when it may not', async (t) => {
  const { topic } = await withTopic(t);
  const redis = new Redis(redisUrl);
  const lines: string[] = [];
  const wiring = createStreamWiring(brokers, redis, (line) => lines.push(line));
  t.after(async () => {
    await wiring.close();
    redis.disconnect();
  });
  const logSizes = wiring.kafka.logSizes as NonNullable<typeof wiring.kafka.logSizes>;
  const sizes = await logSizes(topic, [0, 1]);
  // Ten small JSON records in partition 0; partition 1 is empty.
  assert.ok((sizes.get(0) ?? 0) > 10 * '{"i":0}'.length, `partition 0: ${String(sizes.get(0))} bytes`);
  assert.equal(sizes.get(1), 0);
  const producer = createKafkaProducer({ brokers });
  await producer.send(topic, [{ partition: 1, value: 'x'.repeat(10_000), timestamp: BASE }]);
  await producer.close();
  assert.equal((await logSizes(topic, [1])).get(1), 0, 'the size read a moment ago still stands');

  assert.deepEqual([...(await logSizes(`sluice-test-missing-${randomUUID()}`, [0]))], [], 'a topic no broker holds: no estimate');
  assert.equal(lines.length, 0);

  // A broker that cannot be asked (here: none listens) costs the estimate, not the planning.
  const away = createStreamWiring(['127.0.0.1:1'], redis, (line) => lines.push(line));
  t.after(() => away.close());
  const awaySizes = away.kafka.logSizes as NonNullable<typeof away.kafka.logSizes>;
  assert.deepEqual([...(await awaySizes(topic, [0]))], []);
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, new RegExp(`^\\[SLUICE_UNAVAILABLE\\] cannot read the log sizes of topic ${topic}: .*ECONNREFUSED.*; until workers measure its messages, topic ${topic}'s ranges are bounded by --max-range-records only$`, 'u'));
  await awaySizes(topic, [0]);
  assert.equal(lines.length, 1, 'said once, not at every tick');
});

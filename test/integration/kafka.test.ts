/**
 * The range reader against the real local broker (Kafka 4.x, KRaft): exact offsets, ranges that
 * take several fetches, ranges that wait for records written after the read started, retention
 * gaps, transactions, many ranges sharing one client, and proof that no consumer group is ever
 * involved: no group protocol request leaves the process and the broker knows no new group.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Producer } from '@platformatic/kafka';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createKafkaAdmin, createKafkaClient, createKafkaProducer, listOffsets, readRange } from '@sluice/kafka';
import type { RangeBatch, RangeRecord } from '@sluice/kafka';
import { kafkaBrokers, uniqueName } from '../support/env.ts';

const RECORDS = 1_000;
const PARTITIONS = 3;
const BASE_TIME = 1_700_000_000_000;
/** Record i goes to partition i % 3, so partition p holds record 3j + p at offset j. */
const recordAt = (partition: number, offset: number): number => offset * PARTITIONS + partition;

/** Group protocol APIs (Kafka API keys) a range read must never send. */
const GROUP_APIS: ReadonlyMap<number, string> = new Map([
  [8, 'OffsetCommit'],
  [9, 'OffsetFetch'],
  [11, 'JoinGroup'],
  [12, 'Heartbeat'],
  [13, 'LeaveGroup'],
  [14, 'SyncGroup'],
  [68, 'ConsumerGroupHeartbeat'],
]);
/** What a range read needs: Produce 0, Fetch 1, ListOffsets 2, Metadata 3, ApiVersions 18. */
const READ_APIS = new Set([1, 2, 3, 18]);

/** Records the API key of every request this process sends to Kafka, through the library's diagnostics channel. */
function recordApiKeys(): { keys: number[]; stop(): void } {
  const keys: number[] = [];
  const channel = 'tracing:plt:kafka:connections:api:start';
  const onSend = (message: unknown): void => {
    const apiKey = (message as { apiKey?: unknown }).apiKey;
    if (typeof apiKey === 'number') keys.push(apiKey);
  };
  subscribe(channel, onSend);
  return { keys, stop: () => unsubscribe(channel, onSend) };
}

/** Registers cleanups that run last-in first-out after the test (t.after hooks run first-in first-out). */
function createCleanups(t: TestContext): (cleanup: () => Promise<unknown> | void) => void {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.toReversed()) await cleanup();
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

async function collect(batches: AsyncIterable<RangeBatch>): Promise<{ records: RangeRecord[]; batches: number }> {
  const records: RangeRecord[] = [];
  let count = 0;
  for await (const batch of batches) {
    count++;
    records.push(...batch.records);
  }
  return { records, batches: count };
}

const offsetsOf = (records: readonly RangeRecord[]): number[] => records.map((r) => r.offset);
const valuesOf = (records: readonly RangeRecord[]): string[] => records.map((r) => r.value?.toString() ?? '<null>');
const span = (from: number, until: number): number[] => Array.from({ length: until - from }, (_, i) => from + i);

test('kafka: read exact offset ranges of one partition without a consumer group', async (t) => {
  const brokers = kafkaBrokers();
  const topic = uniqueName('sluice-test');
  const clientId = uniqueName('sluice-test-client');
  const defer = createCleanups(t);
  const sent = recordApiKeys();
  defer(() => sent.stop());
  const admin = createKafkaAdmin({ brokers });
  defer(() => admin.close());
  const groupsBefore = new Set(await admin.listGroups());

  await admin.createTopic(topic, PARTITIONS);
  defer(() => admin.deleteTopic(topic));
  assert.deepEqual(await admin.listPartitions(topic), [0, 1, 2]);

  const producer = createKafkaProducer({ brokers });
  defer(() => producer.close());
  // Ten sends, so every partition holds about ten record batches.
  for (let chunk = 0; chunk < RECORDS; chunk += 100) {
    await producer.send(
      topic,
      span(chunk, chunk + 100).map((i) => ({
        partition: i % PARTITIONS,
        key: `k${i}`,
        value: `record-${i}`,
        timestamp: BASE_TIME + i,
        headers: { source: 'kafka.test', index: String(i) },
      })),
    );
  }

  const client = createKafkaClient({ brokers, clientId });
  defer(() => client.close());

  await t.test('listOffsets reports the bounds and the offset of a timestamp', async () => {
    const offsets = await listOffsets({ client, topic, timestamp: BASE_TIME + recordAt(1, 100) });
    assert.deepEqual(
      offsets.map(({ partition, logStartOffset, highWatermark, lastStableOffset }) => ({ partition, logStartOffset, highWatermark, lastStableOffset })),
      [
        { partition: 0, logStartOffset: 0, highWatermark: 334, lastStableOffset: 334 },
        { partition: 1, logStartOffset: 0, highWatermark: 333, lastStableOffset: 333 },
        { partition: 2, logStartOffset: 0, highWatermark: 333, lastStableOffset: 333 },
      ],
    );
    assert.equal(offsets[1]?.offsetForTimestamp, 100, 'partition 1: record 301 at offset 100');
    assert.equal(offsets[0]?.offsetForTimestamp, 101, 'partition 0: first record at or after 301 is 303, offset 101');
    const [late] = await listOffsets({ brokers, topic, partitions: [2], timestamp: BASE_TIME + RECORDS + 1 });
    assert.equal(late?.offsetForTimestamp, null, 'no record is that recent');
  });

  await t.test('offsets [10, 20) of partition 1: exactly those ten records, in order', async () => {
    const before = sent.keys.length;
    const { records } = await collect(readRange({ client, topic, partition: 1, from: 10, until: 20 }));
    assert.deepEqual(offsetsOf(records), span(10, 20));
    assert.deepEqual(valuesOf(records), span(10, 20).map((o) => `record-${recordAt(1, o)}`));
    assert.deepEqual(records.map((r) => r.key?.toString()), span(10, 20).map((o) => `k${recordAt(1, o)}`));
    assert.deepEqual(records.map((r) => r.timestamp), span(10, 20).map((o) => BASE_TIME + recordAt(1, o)));
    assert.deepEqual(records[0]?.headers, [['source', Buffer.from('kafka.test')], ['index', Buffer.from(String(recordAt(1, 10)))]]);
    const used = new Set(sent.keys.slice(before));
    assert.ok([...used].every((key) => READ_APIS.has(key)), `a range read sends only Fetch, ListOffsets, Metadata and ApiVersions; sent ${[...used].join(',')}`);
    assert.ok(used.has(1), 'it fetched');
  });

  await t.test('a whole partition with a small maxBytes takes several fetches and loses nothing', async () => {
    const { records, batches } = await collect(readRange({ client, topic, partition: 2, from: 0, until: 333, maxBytes: 1024 }));
    assert.deepEqual(offsetsOf(records), span(0, 333));
    assert.deepEqual(valuesOf(records), span(0, 333).map((o) => `record-${recordAt(2, o)}`));
    assert.ok(batches >= 5, `several fetches, got ${batches}`);
  });

  await t.test('ranges from many jobs share the client and each gets exactly its records', async () => {
    const ranges = span(0, 30).map((n) => ({ partition: n % PARTITIONS, from: n * 10, until: n * 10 + 7 }));
    const results = await Promise.all(ranges.map((r) => collect(readRange({ client, topic, ...r, maxBytes: 2048 }))));
    results.forEach(({ records }, n) => {
      const r = ranges[n]!;
      assert.deepEqual(valuesOf(records), span(r.from, r.until).map((o) => `record-${recordAt(r.partition, o)}`), `range ${n}`);
    });
  });

  await t.test('a range beyond the high watermark waits for records produced after the read starts', async () => {
    const reading = readRange({ client, topic, partition: 2, from: 330, until: 340, maxWaitMs: 200, signal: AbortSignal.timeout(60_000) });
    const first = await reading.next();
    assert.equal(first.done, false);
    assert.deepEqual(offsetsOf(first.value?.records ?? []), [330, 331, 332], 'what existed when the read started');
    await producer.send(topic, span(0, 10).map((i) => ({ partition: 2, value: `late-${i}` })));
    const rest: RangeRecord[] = [];
    for (let next = await reading.next(); next.done !== true; next = await reading.next()) rest.push(...next.value.records);
    assert.deepEqual(offsetsOf(rest), span(333, 340));
    assert.deepEqual(valuesOf(rest), span(0, 7).map((i) => `late-${i}`), 'the read stopped at until, not at the end of the log');
  });

  await t.test('a waiting read ends with TIMEOUT at its deadline', async () => {
    await assert.rejects(collect(readRange({ client, topic, partition: 1, from: 333, until: 334, maxWaitMs: 100, signal: AbortSignal.timeout(500) })), (error) => {
      assert.ok(isSluiceError(error));
      assert.equal(error.code, ErrorCode.TIMEOUT);
      return true;
    });
  });

  await t.test('a range below the log start offset is an OFFSET_GAP', async () => {
    assert.equal(await admin.deleteRecords(topic, 0, 100), 100);
    const [bounds] = await listOffsets({ client, topic, partitions: [0] });
    assert.equal(bounds?.logStartOffset, 100);
    await assert.rejects(collect(readRange({ client, topic, partition: 0, from: 50, until: 150 })), (error) => {
      assert.ok(isSluiceError(error), String(error));
      assert.equal(error.code, ErrorCode.OFFSET_GAP, error.message);
      assert.equal(error.retryable, false);
      assert.deepEqual(
        { topic: error.context.topic, partition: error.context.partition, from: error.context.from, logStartOffset: error.context.logStartOffset },
        { topic, partition: 0, from: 50, logStartOffset: 100 },
      );
      return true;
    });
    const { records } = await collect(readRange({ client, topic, partition: 0, from: 100, until: 103 }));
    assert.deepEqual(valuesOf(records), [100, 101, 102].map((o) => `record-${recordAt(0, o)}`), 'the rest of the log still reads');
  });

  await t.test('a missing partition is NOT_FOUND', async () => {
    await assert.rejects(collect(readRange({ client, topic, partition: 7, from: 0, until: 1 })), (error) => isSluiceError(error) && error.code === ErrorCode.NOT_FOUND);
  });

  await t.test('no consumer group was created and no group request was sent', async () => {
    const groupsAfter = (await admin.listGroups()).filter((group) => !groupsBefore.has(group));
    assert.deepEqual(groupsAfter, [], 'no consumer group appeared during the test');
    const groupRequests = sent.keys.filter((key) => GROUP_APIS.has(key)).map((key) => GROUP_APIS.get(key));
    assert.deepEqual(groupRequests, []);
    assert.ok(sent.keys.length > 0, 'the diagnostics channel did observe the requests');
  });
});

test('kafka: READ_COMMITTED ranges skip aborted transactions and transaction markers', async (t) => {
  const brokers = kafkaBrokers();
  const topic = uniqueName('sluice-test-tx');
  const defer = createCleanups(t);
  const admin = createKafkaAdmin({ brokers });
  defer(() => admin.close());
  await admin.createTopic(topic, 1);
  defer(() => admin.deleteTopic(topic));

  const producer = new Producer({ clientId: uniqueName('sluice-test-tx'), bootstrapBrokers: brokers, idempotent: true, transactionalId: uniqueName('tx'), retries: 5 });
  defer(() => producer.close());
  const message = (value: string) => ({ topic, partition: 0, value: Buffer.from(value) });
  const committed = await producer.beginTransaction();
  await committed.send({ messages: [message('c1'), message('c2')] });
  await committed.commit();
  const aborted = await producer.beginTransaction();
  await aborted.send({ messages: [message('a1'), message('a2'), message('a3')] });
  await aborted.abort();
  const plain = createKafkaProducer({ brokers });
  defer(() => plain.close());
  await plain.send(topic, [{ value: 'p1' }]);

  // Offsets: c1 0, c2 1, commit marker 2, a1-a3 3-5, abort marker 6, p1 7.
  const [bounds] = await listOffsets({ brokers, topic });
  assert.equal(bounds?.highWatermark, 8);
  const { records } = await collect(readRange({ brokers, topic, partition: 0, from: 0, until: 8 }));
  assert.deepEqual(valuesOf(records), ['c1', 'c2', 'p1']);
  assert.deepEqual(offsetsOf(records), [0, 1, 7]);
  const { records: middle } = await collect(readRange({ brokers, topic, partition: 0, from: 2, until: 7 }));
  assert.deepEqual(middle, [], 'a range of only markers and aborted records is empty, and it ends');
});

/**
 * Read throughput of `readRange` against the local broker: writes a topic of RECORDS records with
 * 1 KiB values (once; pass an existing topic to reuse it), then reads it as one range, and as
 * several concurrent ranges sharing one client. Prints records/s; asserts nothing about time.
 *
 *   node packages/kafka/test/bench/read-range.bench.ts [records=100000] [topic]
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { createKafkaAdmin, createKafkaClient, createKafkaProducer, listOffsets, readRange } from '../../src/index.ts';
import type { KafkaClient } from '../../src/index.ts';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const records = Number(process.argv[2] ?? 100_000);
const existing = process.argv[3];
const topic = existing ?? `sluice-bench-${randomUUID()}`;
const VALUE = Buffer.alloc(1024, 'x');

async function fill(): Promise<void> {
  const admin = createKafkaAdmin({ brokers });
  await admin.createTopic(topic, 1);
  await admin.close();
  const producer = createKafkaProducer({ brokers });
  const started = performance.now();
  for (let offset = 0; offset < records; offset += 1000) {
    await producer.send(topic, Array.from({ length: Math.min(1000, records - offset) }, (_, i) => ({ partition: 0, key: `k${offset + i}`, value: VALUE })));
  }
  await producer.close();
  report('produce (acks all, idempotent, 1000 per send)', records, performance.now() - started);
}

async function readAll(client: KafkaClient, ranges: number, maxBytes: number): Promise<void> {
  const size = Math.ceil(records / ranges);
  const started = performance.now();
  const counts = await Promise.all(
    Array.from({ length: ranges }, async (_, n) => {
      let count = 0;
      let bytes = 0;
      for await (const batch of readRange({ client, topic, partition: 0, from: n * size, until: Math.min(records, (n + 1) * size), maxBytes })) {
        count += batch.records.length;
        for (const record of batch.records) bytes += record.value?.length ?? 0;
      }
      return { count, bytes };
    }),
  );
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  if (total !== records) throw new Error(`read ${total} records, expected ${records}`);
  report(`read: ${ranges} range(s), maxBytes ${maxBytes / 1024} KiB`, total, performance.now() - started);
}

function report(label: string, count: number, ms: number): void {
  const perSecond = Math.round((count / ms) * 1000);
  const mib = ((count * VALUE.length) / 1024 / 1024 / (ms / 1000)).toFixed(1);
  console.log(`${label.padEnd(48)} ${count} records in ${ms.toFixed(0)} ms: ${perSecond} records/s, ${mib} MiB/s of values`);
}

if (existing === undefined) await fill();
const [bounds] = await listOffsets({ brokers, topic, partitions: [0] });
if ((bounds?.highWatermark ?? 0) < records) throw new Error(`topic ${topic} holds ${bounds?.highWatermark} records, fewer than ${records}`);
const client = createKafkaClient({ brokers });
try {
  for (const [ranges, maxBytes] of [[1, 1 << 20], [1, 1 << 20], [1, 4 << 20], [4, 1 << 20], [16, 1 << 20]] as const) {
    await readAll(client, ranges, maxBytes);
  }
} finally {
  await client.close();
  if (existing === undefined) {
    const admin = createKafkaAdmin({ brokers });
    await admin.deleteTopic(topic);
    await admin.close();
  }
}

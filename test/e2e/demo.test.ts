/**
 * The README's first command runs `sluice demo`: the WRCCDC logs before a boundary archived in
 * HDFS, all of them live in Kafka, one backfill-then-stream run on a coordinator and two workers it
 * starts. Here it runs under its own name (namespace, key prefix, topic, HDFS folder), and what it
 * leaves in Redis must equal the reference computed from the raw files: the main job counts every
 * event once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRunStore } from '@sluice/control';
import { createFileSystem } from '@sluice/hdfs';
import { createKafkaAdmin } from '@sluice/kafka';
import { kafkaBrokers, redisUrl, webhdfsUrl } from '../support/env.ts';
import { computeReference, deleteKeys, dumpKeys } from '../support/network-metrics-reference.ts';
import { runSluice } from '../support/processes.ts';

test('sluice demo (npm start) completes the hand-off and leaves exactly the reference series in Redis', async (t) => {
  const name = `demo-test-${randomUUID().slice(0, 8)}`;
  const prefix = `${name}:`;
  const redis = new Redis(redisUrl());
  const fs = createFileSystem(webhdfsUrl());
  const admin = createKafkaAdmin({ brokers: kafkaBrokers() });
  t.after(async () => {
    await deleteKeys(redis, `${prefix}*`);
    await deleteKeys(redis, `sluice:run:${name}-*`);
    redis.disconnect();
    await fs.delete(`/archive/wrccdc-2018-${name}`, { recursive: true }).catch(() => false);
    await fs.close();
    await admin.deleteTopic(`wrccdc-zeek-${name}`).catch(() => undefined);
    await admin.close();
  });

  const res = await runSluice(t, ['demo', '--name', name, '--redis', redisUrl(), '--brokers', kafkaBrokers().join(','), '--webhdfs', webhdfsUrl()]);
  assert.equal(res.code, 0, res.output.slice(-4000));
  assert.match(res.stdout, new RegExp(`Kafka topic wrccdc-zeek-${name} \\(6 partitions\\)`, 'u'), 'the demo used its own topic');
  // 82,693 events lie before the boundary; the stream starts 300 s earlier and skips what it re-reads.
  assert.match(res.stdout, /events read: 118,572 \(archive 82,693, Kafka 35,879, of which 15,483 before the boundary were skipped by the stream\)/u);
  assert.match(res.stdout, new RegExp(`prefix='${name}'`, 'u'), 'the kairos hint names the prefix the demo wrote');

  const backfillRun = /backfill run (\S+);/u.exec(res.stdout)?.[1];
  assert.ok(backfillRun?.startsWith(`${name}-`), `the demo printed its backfill run: ${res.stdout.slice(0, 2000)}`);
  const run = await createRunStore(redis).get(backfillRun as string);
  assert.equal(run?.state, 'completed');
  const shift = Number(run?.options.timeShift);
  assert.ok(Number.isInteger(shift) && shift % 86_400 === 0 && shift > 0, `timeShift=auto resolved to whole days, got ${run?.options.timeShift}`);
  const written = new Map([...(await dumpKeys(redis, `${prefix}*`))].map(([key, value]) => [key.slice(prefix.length), value]));
  assert.deepEqual(written, computeReference(shift));
});

/**
 * The hand-off from archive to live: the older half of the WRCCDC events (by time) in HDFS, all of
 * them in Kafka (with their event times as message timestamps), one `sluice run --backfill
 * --stream`. The backfill takes events before the boundary, the stream those at or after it: Redis
 * must equal the reference, so no event is counted twice or missed.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createFileSystem } from '@sluice/hdfs';
import { createKafkaAdmin, createKafkaProducer } from '@sluice/kafka';
import { parseTimestampMicros } from '@sluice/formats';
import { kafkaBrokers, redisUrl, webhdfsUrl } from '../support/env.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys, wholeDaysShift } from '../support/network-metrics-reference.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';

const shift = wholeDaysShift();

async function handOff(t: TestContext, archiveOf: (events: readonly Ev[]) => Ev[], boundaryFlag: string[]): Promise<{ boundary: number; fromArchive: number; total: number }> {
  const events = datasetFiles('ndjson')
    .flatMap((f) => gunzipSync(readFileSync(f)).toString('utf8').split('\n'))
    .filter((l) => l.trim() !== '')
    .map((line): Ev => ({ line, ts: parseTimestampMicros((JSON.parse(line) as { ts: string }).ts) as number }))
    .sort((a, b) => a.ts - b.ts);
  const older = archiveOf(events);

  const namespace = `ho-${randomUUID().slice(0, 8)}`;
  t.diagnostic(`namespace ${namespace}`);
  const prefix = `${namespace}:`;
  const redis = new Redis(redisUrl());
  const dir = `/tmp/sluice-test/${namespace}`;
  const fs = createFileSystem(webhdfsUrl());
  const topic = `sluice-handoff-${randomUUID()}`;
  const admin = createKafkaAdmin({ brokers: kafkaBrokers() });
  t.after(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
    await fs.delete(dir, { recursive: true }).catch(() => false);
    await fs.close();
    await admin.deleteTopic(topic).catch(() => undefined);
    await admin.close();
  });

  await fs.create(`${dir}/archive.ndjson`, `${older.map((e) => e.line).join('\n')}\n`);
  // 2018 timestamps: under the default 7-day retention the broker deletes them at its next
  // retention check (every 5 minutes), which made this test fail when one fell inside it.
  await admin.createTopic(topic, 3, { configs: { 'retention.ms': '-1' } });
  const producer = createKafkaProducer({ brokers: kafkaBrokers() });
  for (let i = 0; i < events.length; i += 2000) {
    await producer.send(topic, events.slice(i, i + 2000).map((e, k) => ({ partition: (i + k) % 3, value: e.line, timestamp: Math.floor(e.ts / 1000) })));
  }
  await producer.close();

  const common = ['--redis', redisUrl(), '--namespace', namespace, '--brokers', kafkaBrokers().join(',')];
  const coordinator = spawnSluice(t, ['coordinator', ...common, '--tick', '300']);
  await coordinator.waitFor('is the leader');
  for (let i = 0; i < 2; i += 1) await spawnSluice(t, ['worker', ...common, '--key-prefix', prefix]).waitFor('ready');

  const archiveUrl = `${webhdfsUrl().replace(/^http/, 'webhdfs')}${dir}/*.ndjson`;
  const res = await runSluice(t, ['run', 'network-metrics', '--backfill', archiveUrl, '--stream', topic, '--set', `timeShift=${shift}`, ...boundaryFlag, '--run-id', namespace, '--namespace', namespace, '--redis', redisUrl(), '--json']);
  assert.equal(res.code, 0, res.output);
  const submitted = JSON.parse(res.stdout) as { boundary: string; backfillRun: string; streamRun: string };
  const boundary = Date.parse(submitted.boundary) * 1000;
  assert.equal(boundary % (1800 * 1e6), 0, 'the boundary is aligned to the largest step (30 min)');
  // The hand-off's one assumption: the archive holds every event before the boundary.
  assert.equal(older.filter((e) => e.ts < boundary).length, events.filter((e) => e.ts < boundary).length, 'the archive holds every event before the boundary');

  const deadline = Date.now() + 180_000;
  let backfillRecords = 0;
  for (;;) {
    const b = JSON.parse((await runSluice(t, ['status', submitted.backfillRun, '--json', '--redis', redisUrl()])).stdout) as { run: { state: string } };
    const s = JSON.parse((await runSluice(t, ['status', submitted.streamRun, '--json', '--redis', redisUrl()])).stdout) as { stream: { lagRecords: number }[] };
    if (b.run.state === 'completed' && s.stream.length === 3 && s.stream.every((p) => p.lagRecords === 0)) break;
    assert.ok(b.run.state !== 'failed', 'the backfill must not fail');
    if (Date.now() > deadline) assert.fail('the hand-off did not finish in time');
    await new Promise((r) => setTimeout(r, 500));
  }
  backfillRecords = older.filter((e) => e.ts < boundary).length;
  t.diagnostic(`boundary ${submitted.boundary}: ${backfillRecords} events from the archive, ${events.length - backfillRecords} from the stream`);
  const got = await dumpKeys(redis, `${prefix}*`);
  assert.deepEqual(new Map([...got].map(([k, v]) => [k.slice(prefix.length), v])), computeReference(shift));
  for (const run of [submitted.streamRun]) await runSluice(t, ['stream', 'stop', run, '--redis', redisUrl()]);
  return { boundary, fromArchive: backfillRecords, total: events.length };
}

interface Ev { line: string; ts: number }

test('hand-off with the older half of the events archived: the default boundary, every event counted once', async (t) => {
  let newestArchived = 0;
  const r = await handOff(t, (events) => {
    const older = events.slice(0, Math.floor(events.length / 2));
    newestArchived = older.at(-1)?.ts ?? 0;
    return older;
  }, []);
  // The default boundary is the start of the 30-minute bucket of the newest archived event. With 21
  // minutes of data, that bucket is the first one, so here the stream carries everything.
  const step = 1800 * 1e6;
  assert.equal(r.boundary, Math.floor(newestArchived / step) * step);
  assert.equal(r.fromArchive, 0);
});

test('hand-off at an explicit boundary inside the data: the archive before it, the stream after it', async (t) => {
  const T = Date.parse('2018-03-24T17:30:00Z') * 1000;
  const r = await handOff(t, (events) => events.filter((e) => e.ts < T), ['--boundary', '2018-03-24T17:30:00Z']);
  assert.equal(r.boundary, T);
  assert.ok(r.fromArchive > 0 && r.fromArchive < r.total, `both sides carry events (${r.fromArchive} of ${r.total} from the archive)`);
});

test('a hand-off to a topic that does not exist fails at once and submits no backfill', async (t) => {
  const namespace = `ho-${randomUUID().slice(0, 8)}`;
  const common = ['--redis', redisUrl(), '--namespace', namespace, '--brokers', kafkaBrokers().join(',')];
  await spawnSluice(t, ['coordinator', ...common, '--tick', '300']).waitFor('is the leader');
  const missing = `sluice-handoff-missing-${randomUUID()}`;
  const res = await runSluice(t, ['run', 'network-metrics', '--backfill', 'file:///nothing-here/*.ndjson', '--stream', missing, '--boundary', '2018-03-24T17:30:00Z', '--set', 'timeShift=0', '--run-id', namespace, '--namespace', namespace, '--redis', redisUrl()]);
  assert.equal(res.code, 1, res.output);
  assert.match(res.output, new RegExp(`error \\[SLUICE_NOT_FOUND\\]: stream run ${namespace}-stream did not start: topic ${missing} does not exist on the brokers: check its name, or create the topic first`));
  const redis = new Redis(redisUrl());
  t.after(() => redis.disconnect());
  assert.equal(await redis.exists(`sluice:run:${namespace}-backfill`), 0, 'no backfill was submitted');
});

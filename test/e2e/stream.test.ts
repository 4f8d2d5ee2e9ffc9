/**
 * End to end from Kafka: the WRCCDC events produced to a 6-partition topic, a stream run on real
 * coordinator and worker processes. Redis must end up equal to the independent reference (the same
 * series a backfill of the same events gives), also when workers are SIGKILLed and the coordinator
 * is restarted mid-stream. A bad message becomes a dead letter and the run goes on.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createStreamPositions } from '@sluice/control';
import type { PartitionLag } from '@sluice/control';
import { createKafkaAdmin, createKafkaProducer } from '@sluice/kafka';
import { kafkaBrokers, redisUrl } from '../support/env.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys, wholeDaysShift } from '../support/network-metrics-reference.ts';
import type { KeyValue } from '../support/network-metrics-reference.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';

const shift = wholeDaysShift();
const reference = computeReference(shift);
const brokers = kafkaBrokers().join(',');

function datasetLines(): string[] {
  const lines: string[] = [];
  for (const file of datasetFiles('ndjson')) {
    for (const line of gunzipSync(readFileSync(file)).toString('utf8').split('\n')) if (line.trim() !== '') lines.push(line);
  }
  return lines;
}

async function produceTopic(t: TestContext, partitions: number, lines: readonly string[]): Promise<string> {
  const topic = `sluice-stream-${randomUUID()}`;
  const admin = createKafkaAdmin({ brokers: kafkaBrokers() });
  await admin.createTopic(topic, partitions);
  t.after(async () => {
    await admin.deleteTopic(topic).catch(() => undefined);
    await admin.close();
  });
  const producer = createKafkaProducer({ brokers: kafkaBrokers() });
  try {
    for (let i = 0; i < lines.length; i += 2000) {
      await producer.send(topic, lines.slice(i, i + 2000).map((value, k) => ({ partition: (i + k) % partitions, value })));
    }
  } finally {
    await producer.close();
  }
  return topic;
}

/** Writes records with the Kafka timestamps given (they must lie within the topic's retention). */
async function produceTimed(topic: string, records: readonly { partition: number; value: string; timestamp: number }[]): Promise<void> {
  const producer = createKafkaProducer({ brokers: kafkaBrokers() });
  try {
    for (let i = 0; i < records.length; i += 2000) await producer.send(topic, records.slice(i, i + 2000));
  } finally {
    await producer.close();
  }
}

interface Stack { namespace: string; prefix: string; redis: Redis; workers: SluiceProcess[]; coordinator: SluiceProcess; startWorker(): SluiceProcess; startCoordinator(): SluiceProcess }

async function startStack(t: TestContext, workers: number, workerArgs: readonly string[] = []): Promise<Stack> {
  const namespace = `st-${randomUUID().slice(0, 8)}`;
  const prefix = `${namespace}:`;
  const redis = new Redis(redisUrl());
  t.after(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });
  const common = ['--redis', redisUrl(), '--namespace', namespace, '--brokers', brokers];
  const stack: Stack = {
    namespace, prefix, redis, workers: [],
    coordinator: undefined as unknown as SluiceProcess,
    startCoordinator() {
      stack.coordinator = spawnSluice(t, ['coordinator', ...common, '--lease-ttl', '2000', '--tick', '300']);
      return stack.coordinator;
    },
    startWorker() {
      const w = spawnSluice(t, ['worker', ...common, '--key-prefix', prefix, '--lock-duration', '3000', '--drain', '5', '--chunk-records', '500', ...workerArgs]);
      stack.workers.push(w);
      return w;
    },
  };
  await stack.startCoordinator().waitFor('is the leader');
  for (let i = 0; i < workers; i += 1) await stack.startWorker().waitFor('ready');
  return stack;
}

/** What `sluice status --json` prints for a stream run: each partition as control computes its lag. */
interface StreamStatus { state: string; partitions: PartitionLag[]; records: number; badRecords: number }

async function status(t: TestContext, runId: string): Promise<StreamStatus> {
  const res = await runSluice(t, ['status', runId, '--json', '--redis', redisUrl()]);
  assert.equal(res.code, 0, res.output);
  const p = JSON.parse(res.stdout) as { run: { state: string }; stream?: StreamStatus['partitions']; records: number; badRecords: number };
  return { state: p.run.state, partitions: p.stream ?? [], records: p.records, badRecords: p.badRecords };
}

async function waitCaughtUp(t: TestContext, runId: string, partitions: number, timeoutMs = 180_000): Promise<StreamStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(t, runId);
    if (s.partitions.length >= partitions && s.partitions.every((p) => p.lagRecords === 0 && p.endOffset > 0)) return s;
    if (Date.now() > deadline) throw new Error(`stream ${runId} did not catch up: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function stripPrefix(map: Map<string, KeyValue>, prefix: string): Map<string, KeyValue> {
  return new Map([...map].map(([k, v]) => [k.slice(prefix.length), v]));
}

async function startStream(t: TestContext, stack: Stack, topic: string, start = 'earliest'): Promise<string> {
  const res = await runSluice(t, ['stream', 'network-metrics', '--topic', topic, '--start', start, '--set', `timeShift=${shift}`, '--redis', redisUrl(), '--namespace', stack.namespace]);
  assert.equal(res.code, 0, res.output);
  return res.stdout.trim();
}

test('stream start returns once the coordinator has started the run on every partition; a topic that does not exist fails it at once', async (t) => {
  const topic = await produceTopic(t, 3, datasetLines().slice(0, 30));
  const stack = await startStack(t, 0);
  const runId = await startStream(t, stack, topic);
  assert.deepEqual((await createStreamPositions(stack.redis).list(runId)).map((p) => p.partition).toSorted(), [0, 1, 2], 'every partition had a position when the command returned');
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);

  const missing = `sluice-stream-missing-${randomUUID()}`;
  const res = await runSluice(t, ['stream', 'network-metrics', '--topic', missing, '--redis', redisUrl(), '--namespace', stack.namespace]);
  assert.equal(res.code, 1, res.output);
  assert.match(res.output, new RegExp(`error \\[SLUICE_NOT_FOUND\\]: stream run network-metrics-stream-\\w+ did not start: topic ${missing} does not exist on the brokers: check its name, or create the topic first`));
});

test('a stream run over a 6-partition topic gives the same series as the backfill reference', async (t) => {
  const topic = await produceTopic(t, 6, datasetLines());
  const stack = await startStack(t, 2);
  const runId = await startStream(t, stack, topic);
  const s = await waitCaughtUp(t, runId, 6);
  assert.equal(s.records, 53_615 + 49_474);
  assert.equal(s.badRecords, 0);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

test('workers SIGKILLed and the coordinator restarted mid-stream: still exactly the reference', async (t) => {
  const lines = datasetLines();
  const topic = await produceTopic(t, 6, lines.slice(0, 40_000));
  // Ranges run one by one, each in chunks of 500 records, so a kill lands between two commits of a
  // range; gathered into one group commit (all or nothing), the whole backlog is two chunks.
  const stack = await startStack(t, 2, ['--range-concurrency', '1']);
  const runId = await startStream(t, stack, topic);
  const statsKey = `sluice:run:${runId}:stats`;
  const chunks = async (): Promise<number> => Number((await stack.redis.hget(statsKey, 'chunks')) ?? 0);
  let seen = 0;
  for (let round = 0; round < 3; round += 1) {
    const deadline = Date.now() + 60_000;
    while ((await chunks()) < seen + 5) {
      assert.ok(Date.now() < deadline, `round ${round}: no chunk committed for 60 s (${await chunks()} in all), so a kill would not land mid-stream`);
      await new Promise((r) => setTimeout(r, 50));
    }
    seen = await chunks();
    const victim = stack.workers.find((w) => w.child.exitCode === null && w.child.signalCode === null) as SluiceProcess;
    victim.kill('SIGKILL');
    await victim.exited;
    await stack.startWorker().waitFor('ready');
    if (round === 1) {
      // The coordinator dies too; a new one takes the lease and resumes from the stored positions.
      stack.coordinator.kill('SIGKILL');
      await stack.coordinator.exited;
      await stack.startCoordinator().waitFor('is the leader', 30_000);
      // The rest of the events arrive while the run is live.
      const producer = createKafkaProducer({ brokers: kafkaBrokers() });
      const rest = lines.slice(40_000);
      for (let i = 0; i < rest.length; i += 2000) await producer.send(topic, rest.slice(i, i + 2000).map((value, k) => ({ partition: (i + k) % 6, value })));
      await producer.close();
    }
  }
  const s = await waitCaughtUp(t, runId, 6);
  assert.equal(s.records, 53_615 + 49_474, 'stats are committed in the fenced write: exact after crashes');
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

test('a bad message is a dead letter with topic, partition and offset; a new partition is consumed; latest skips old records', async (t) => {
  const lines = datasetLines().slice(0, 3000);
  const topic = await produceTopic(t, 2, [...lines.slice(0, 1000), 'not json', ...lines.slice(1000, 2000)]);
  const stack = await startStack(t, 1);
  const runId = await startStream(t, stack, topic);
  const first = await waitCaughtUp(t, runId, 2);
  assert.equal(first.badRecords, 1);
  const dead = await stack.redis.lrange(`sluice:run:${runId}:dead`, 0, -1);
  assert.equal(dead.length, 1);
  // 'not json' is the 1001st message, so it went to partition 1000 % 2 = 0, at offset 500 there.
  assert.match(dead[0] as string, new RegExp(`"provenance":"kafka://${topic}/0@500"`));
  // A run started at `latest` sees none of what is already there.
  const latestRun = await startStream(t, stack, topic, 'latest');
  const latest = await waitCaughtUp(t, latestRun, 2);
  assert.equal(latest.records, 0);
  // A partition added while both runs are live is consumed from its start.
  const admin = createKafkaAdmin({ brokers: kafkaBrokers() });
  await admin.createPartitions(topic, 3);
  await admin.close();
  const producer = createKafkaProducer({ brokers: kafkaBrokers() });
  await producer.send(topic, lines.slice(2000, 2100).map((value) => ({ partition: 2, value })));
  await producer.close();
  const after = await waitCaughtUp(t, latestRun, 3);
  assert.equal(after.records, 100, 'only the records produced after the start, all in the new partition');
  const grown = await waitCaughtUp(t, runId, 3);
  assert.equal(grown.records, 2001 + 100);
  for (const id of [runId, latestRun]) await runSluice(t, ['stream', 'stop', id, '--redis', redisUrl()]);
});

test('lag in seconds of event time: the newest Kafka timestamp of each partition minus the newest committed one', async (t) => {
  const lines = datasetLines();
  // Within the topic's retention (7 days) and the broker's bound on future timestamps (1 hour).
  const first = Date.now() - 3 * 3_600_000;
  const second = Date.now() - 3_600_000;
  const topic = await produceTopic(t, 2, []);
  await produceTimed(topic, lines.slice(0, 400).map((value, i) => ({ partition: i % 2, value, timestamp: first + i * 1_000 })));
  const stack = await startStack(t, 1);
  const runId = await startStream(t, stack, topic);
  const caughtUp = await waitCaughtUp(t, runId, 2);
  // The newest record of partition 0 is record 398, of partition 1 record 399.
  assert.deepEqual(caughtUp.partitions.map((p) => [p.partition, p.lagSeconds, p.newestTimestamp, p.committedTimestamp]), [
    [0, 0, first + 398_000, first + 398_000],
    [1, 0, first + 399_000, first + 399_000],
  ]);
  for (const p of caughtUp.partitions) assert.ok(p.recordsPerSecond !== null && p.recordsPerSecond > 0, `records/s of ${p.partition}: ${p.recordsPerSecond}`);

  // With no worker, the run falls behind by exactly the event time of what arrives meanwhile.
  const worker = stack.workers[0] as SluiceProcess;
  worker.kill('SIGTERM');
  await worker.exited;
  await produceTimed(topic, lines.slice(400, 600).map((value, k) => ({ partition: k % 2, value, timestamp: second + k * 1_000 })));
  const deadline = Date.now() + 60_000;
  let behind = await status(t, runId);
  while (!behind.partitions.every((p) => p.lagRecords === 100)) {
    assert.ok(Date.now() < deadline, `the coordinator never saw the new end offsets: ${JSON.stringify(behind)}`);
    await new Promise((r) => setTimeout(r, 300));
    behind = await status(t, runId);
  }
  const expected = [(second + 198_000 - (first + 398_000)) / 1000, (second + 199_000 - (first + 399_000)) / 1000];
  assert.deepEqual(behind.partitions.map((p) => p.lagSeconds), expected);
  const text = await runSluice(t, ['status', runId, '--redis', redisUrl()]);
  assert.match(text.stdout, new RegExp(`${topic}/0\\s+end 300  committed 200  lag 100 records, ${expected[0]?.toFixed(1)} s of event time`));

  await stack.startWorker().waitFor('ready');
  const again = await waitCaughtUp(t, runId, 2);
  assert.deepEqual(again.partitions.map((p) => [p.lagSeconds, p.committedTimestamp]), [[0, second + 198_000], [0, second + 199_000]]);
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

test('a stream started at a time starts at the offsets for it: older records are skipped, newer ones counted', async (t) => {
  const lines = datasetLines();
  const older = Date.now() - 2 * 3_600_000;
  const newer = Date.now() - 3_600_000;
  const topic = await produceTopic(t, 3, []);
  // Partition 0 has both, older first; partition 1 only older records; partition 2 only newer ones.
  await produceTimed(topic, [
    ...lines.slice(0, 50).map((value, i) => ({ partition: 0, value, timestamp: older + i })),
    ...lines.slice(50, 120).map((value, i) => ({ partition: 0, value, timestamp: newer + i })),
    ...lines.slice(120, 160).map((value, i) => ({ partition: 1, value, timestamp: older + i })),
    ...lines.slice(160, 190).map((value, i) => ({ partition: 2, value, timestamp: newer + i })),
  ]);
  const stack = await startStack(t, 1);
  const runId = await startStream(t, stack, topic, new Date(older + 1_800_000).toISOString());
  const s = await waitCaughtUp(t, runId, 3);
  assert.equal(s.records, 70 + 30, 'the 100 newer records, none of the 90 older ones');
  assert.deepEqual(s.partitions.map((p) => [p.partition, p.endOffset, p.committed, p.committedTimestamp]), [
    [0, 120, 120, newer + 69],
    [1, 40, 40, null],
    [2, 30, 30, newer + 29],
  ], 'partition 1 started at its end: nothing of it was committed');
  const positions = await stack.redis.hgetall(`sluice:stream:${runId}:positions`);
  assert.deepEqual(Object.keys(positions).toSorted().map((k) => (JSON.parse(positions[k] as string) as { start: number }).start), [50, 40, 0], 'where each partition started');
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

test('a range that fails for good fails the stream run, naming it; resumed once the cause is fixed, and again after a stop, it ends exactly at the reference', async (t) => {
  const topic = await produceTopic(t, 6, datasetLines());
  const stack = await startStack(t, 2);
  // Another tool's string where the job writes a histogram: the commit of the range holding its
  // events is refused (nothing written) with an error no retry can fix.
  const [blocked] = [...reference].find(([, v]) => v.type === 'hash') as [string, KeyValue];
  await stack.redis.set(`${stack.prefix}${blocked}`, 'not a hash');
  const runId = await startStream(t, stack, topic);

  const deadline = Date.now() + 120_000;
  while ((await status(t, runId)).state !== 'failed') {
    assert.ok(Date.now() < deadline, `the run did not fail: ${stack.coordinator.output()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  const shown = await runSluice(t, ['status', runId, '--redis', redisUrl()]);
  // The key's IP has events in every partition: each partition's first range fails.
  assert.match(shown.stdout, /\n\s*splits +\d+ ranges done, [1-6] failed\n/);
  assert.match(shown.stdout, new RegExp(`failed range +kafka://${topic}/\\d+@\\d+-\\d+: \\[SLUICE_INVALID_DEFINITION\\] ${stack.prefix}${blocked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a Redis string but this commit writes it as a hash`));
  assert.match(shown.stdout, new RegExp(`error +a range failed for good \\(see the run's failed ranges\\); fix the cause, then resubmit the run with the same flags and --run-id ${runId} to resume it`));
  await stack.coordinator.waitFor(`stream run ${runId} failed`);

  await stack.redis.del(`${stack.prefix}${blocked}`);
  const resumed = await runSluice(t, ['stream', 'network-metrics', '--topic', topic, '--start', 'earliest', '--set', `timeShift=${shift}`, '--run-id', runId, '--redis', redisUrl(), '--namespace', stack.namespace]);
  assert.equal(resumed.code, 0, resumed.output);
  await stack.coordinator.waitFor(`stream run ${runId} on ${topic} resumed`);
  const s = await waitCaughtUp(t, runId, 6);
  assert.equal(s.state, 'running');
  assert.equal(s.records, 53_615 + 49_474);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);

  // Stopped while ranges wait in the queue (no worker runs), then resumed: the ranges its stop
  // removed are enqueued again. Messages that are not JSON change no series, only the dead letters.
  for (const worker of stack.workers) {
    worker.kill('SIGKILL');
    await worker.exited;
  }
  await produceTimed(topic, [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, value: 'not json', timestamp: Date.now() })));
  // Planned (reserved and enqueued) through the new offsets on every partition, none committed.
  const positions = createStreamPositions(stack.redis);
  const planned = Date.now() + 60_000;
  while ((await positions.list(runId)).some((p) => p.planned === p.committed)) {
    assert.ok(Date.now() < planned, `the new messages were not planned: ${JSON.stringify(await positions.list(runId))}\n${stack.coordinator.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()])).code, 0);
  await stack.coordinator.waitFor(`run ${runId} cancelled`);
  const again = await runSluice(t, ['stream', 'network-metrics', '--topic', topic, '--start', 'earliest', '--set', `timeShift=${shift}`, '--run-id', runId, '--redis', redisUrl(), '--namespace', stack.namespace]);
  assert.equal(again.code, 0, again.output);
  await stack.startWorker().waitFor('ready');
  const after = await waitCaughtUp(t, runId, 6, 60_000);
  assert.equal(after.badRecords, 6);
  assert.equal(after.records, 53_615 + 49_474 + 6);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

test('records retention deletes while their ranges wait in the queue are a gap of the run, which goes on with the rest, exactly', async (t) => {
  const lines = datasetLines().slice(0, 2000);
  const topic = await produceTopic(t, 2, lines);
  const stack = await startStack(t, 0);
  const runId = await startStream(t, stack, topic);
  // Planned (reserved and enqueued) to the end of both partitions, and nothing read: no worker runs.
  const positions = createStreamPositions(stack.redis);
  const deadline = Date.now() + 60_000;
  while (!(await positions.list(runId)).every((p) => p.planned === 1000 && p.committed === 0)) {
    assert.ok(Date.now() < deadline, `the ranges were not planned: ${JSON.stringify(await positions.list(runId))}\n${stack.coordinator.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const admin = createKafkaAdmin({ brokers: kafkaBrokers() });
  try {
    assert.equal(await admin.deleteRecords(topic, 0, 300), 300);
  } finally {
    await admin.close();
  }
  const worker = stack.startWorker();
  await worker.waitFor('ready');
  const s = await waitCaughtUp(t, runId, 2);
  assert.equal(s.state, 'running', 'a gap is not a failure');
  assert.equal(s.records, 2000 - 300);
  assert.equal(s.badRecords, 0);
  // Partition 0 held the even lines: the first 300 of them are gone, everything else counts once.
  const kept = lines.filter((_, i) => !(i % 2 === 0 && i / 2 < 300)).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), computeReference(shift, '', kept));

  const json = await runSluice(t, ['status', runId, '--json', '--redis', redisUrl()]);
  assert.deepEqual((JSON.parse(json.stdout) as { gaps: unknown }).gaps, [{ topic, partition: 0, from: 0, until: 300 }]);
  const text = await runSluice(t, ['status', runId, '--redis', redisUrl()]);
  assert.match(text.stdout, new RegExp(`\\ngaps: 1 \\(300 records deleted by retention before the run read them\\)\\n  ${topic}/0 \\[0, 300\\)\\n`));
  assert.match(worker.output(), new RegExp(`range kafka://${topic}/0@0-1000: offsets \\[0, 300\\) were deleted by retention before they were read; recorded as a gap of run ${runId}`));
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

test('a stream run over two topics reads both, each partition once, and lists them all in its status', async (t) => {
  const lines = datasetLines();
  const half = Math.floor(lines.length / 2);
  const first = await produceTopic(t, 2, lines.slice(0, half));
  const second = await produceTopic(t, 3, lines.slice(half));
  const stack = await startStack(t, 2);
  const res = await runSluice(t, ['stream', 'network-metrics', '--topic', `${first},${second}`, '--start', 'earliest', '--set', `timeShift=${shift}`, '--redis', redisUrl(), '--namespace', stack.namespace]);
  assert.equal(res.code, 0, res.output);
  const runId = res.stdout.trim();
  const s = await waitCaughtUp(t, runId, 5);
  assert.deepEqual(s.partitions.map((p) => `${p.topic}/${p.partition}`).sort(), [`${first}/0`, `${first}/1`, `${second}/0`, `${second}/1`, `${second}/2`].sort());
  assert.equal(s.records, lines.length);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

/** Runs `infra/local/<script> kafka`: stops or starts the shared broker (its data stays on disk). */
async function brokerScript(script: 'up' | 'down'): Promise<void> {
  const path = resolve(import.meta.dirname, '../../infra/local', script);
  await new Promise<void>((done, fail) => {
    execFile('bash', [path, 'kafka'], { timeout: 180_000 }, (error, stdout, stderr) => (error === null ? done() : fail(new Error(`infra/local/${script} kafka failed: ${stdout}${stderr}`, { cause: error }))));
  });
}

test('the Kafka broker restarted mid-stream: workers and the coordinator wait for it, then the run ends exactly at the reference', async (t) => {
  const lines = datasetLines();
  const topic = await produceTopic(t, 6, lines.slice(0, 40_000));
  const stack = await startStack(t, 2, ['--range-concurrency', '1']);
  const runId = await startStream(t, stack, topic);
  // The broker goes away while ranges are being committed; the rest of the events are read, after
  // it is back, by the same worker processes (their Kafka clients reconnect).
  const statsKey = `sluice:run:${runId}:stats`;
  const deadline = Date.now() + 60_000;
  while (Number((await stack.redis.hget(statsKey, 'chunks')) ?? 0) < 5) {
    assert.ok(Date.now() < deadline, 'nothing was committed before the restart');
    await new Promise((r) => setTimeout(r, 50));
  }
  // Whatever happens below, the next tests get their broker back.
  t.after(() => brokerScript('up'));
  await brokerScript('down');
  await stack.coordinator.waitFor('will retry', 60_000);
  await new Promise((r) => setTimeout(r, 3000));
  await brokerScript('up');
  await produceTimed(topic, lines.slice(40_000).map((value, k) => ({ partition: (40_000 + k) % 6, value, timestamp: Date.now() })));
  const s = await waitCaughtUp(t, runId, 6);
  assert.equal(s.state, 'running', 'the run did not fail while the broker was away');
  assert.equal(s.records, 53_615 + 49_474);
  assert.equal(s.badRecords, 0);
  assert.deepEqual(stripPrefix(await dumpKeys(stack.redis, `${stack.prefix}*`), stack.prefix), reference);
  for (const worker of stack.workers) assert.equal(worker.child.exitCode, null, `a worker exited while the broker was away:\n${worker.output()}`);
  assert.match(stack.coordinator.output(), new RegExp(`stream run ${runId}: planning again`), 'the coordinator said when it planned again');
  await runSluice(t, ['stream', 'stop', runId, '--redis', redisUrl()]);
});

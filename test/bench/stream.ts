/**
 * Stream benchmark (issue 5), all in one run on this machine:
 *  - sustained events/s from Kafka into Redis with 2 workers (network-metrics over WRCCDC copies),
 *  - against the raw read rate of the same Kafka client over the same topic (no processing), and
 *    that read with each message decoded as JSON (what any job pays before its processor runs),
 *  - against Kafka's own Java consumer (org.apache.kafka.tools.ConsumerPerformance),
 *  - and the latency from produce to visible in Redis, p50 and p99, at a fixed 5,000 events/s.
 * Run: node test/bench/stream.ts [--events 1000000] [--latency-seconds 20] [--cpu-prof]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createKafkaAdmin, createKafkaClient, createKafkaProducer, listOffsets, readRange, readRangeRecords } from '@sluice/kafka';
import { ACTIVE_RUNS_INDEX, RUNS_INDEX, createStreamPositions } from '@sluice/control';
import { tuneGarbageCollector } from '@sluice/cli';
import { kafkaBrokers, redisUrl } from '../support/env.ts';
import { datasetFiles, deleteKeys } from '../support/network-metrics-reference.ts';
import { startChild } from './backfill/child-processes.ts';
import { readCpuSeconds, readRedisCpuSeconds } from './cpu.ts';
import type { Child } from './backfill/child-processes.ts';

const root = resolve(import.meta.dirname, '..', '..');
const cli = join(root, 'packages', 'cli', 'src', 'bin.ts');
// The raw reads in this process get the heap tuning the `sluice` workers get: the baseline is not handicapped.
tuneGarbageCollector();
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'latency-seconds': { type: 'string', default: '20' },
    'cpu-prof': { type: 'boolean', default: false },
    'max-range-records': { type: 'string', default: '20000' },
    'max-in-flight': { type: 'string', default: '8' },
    'range-concurrency': { type: 'string', default: '12' },
  },
});
const EVENTS = Number(args.events);
const LATENCY_SECONDS = Number(args['latency-seconds']);
const PARTITIONS = 6;
const brokers = kafkaBrokers();
const redis = new Redis(redisUrl());
const children: Child[] = [];

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** Starts a Sluice process; with --cpu-prof its CPU profile lands in .local/bench/profiles. */
function startSluice(name: string, argv: string[], env: Record<string, string> = {}): Child {
  const profile = args['cpu-prof'] === true ? ['--cpu-prof', '--cpu-prof-dir', join(root, '.local', 'bench', 'profiles')] : [];
  const child = startChild(name, process.execPath, [...profile, cli, ...argv], env);
  children.push(child);
  return child;
}

/** WRCCDC lines, copied with IPs remapped per copy and timestamps shifted into the last day. */
function makeEvents(count: number): string[] {
  const base = datasetFiles('ndjson').flatMap((f) => gunzipSync(readFileSync(f)).toString('utf8').split('\n')).filter((l) => l.trim() !== '');
  const records = base.map((l) => JSON.parse(l) as Record<string, unknown>);
  const newest = Math.max(...records.map((r) => Date.parse(r.ts as string)));
  const dayShift = 86_400_000 * Math.floor((Date.now() - newest) / 86_400_000);
  const out: string[] = [];
  for (let copy = 0; out.length < count; copy += 1) {
    for (const r of records) {
      if (out.length >= count) break;
      const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(r.ts as string) as RegExpExecArray;
      const ts = `${new Date(Date.parse(`${m[1] as string}Z`) + dayShift - copy * 1_800_000).toISOString().slice(0, 19)}${m[2] ?? ''}Z`;
      const remap = (ip: unknown): unknown => (typeof ip === 'string' && copy > 0 ? `${copy % 250}.${ip.split('.').slice(1).join('.')}` : ip);
      out.push(JSON.stringify({ ...r, ts, 'id.orig_h': remap(r['id.orig_h']), 'id.resp_h': remap(r['id.resp_h']) }));
    }
  }
  return out;
}

async function produce(topic: string, lines: readonly string[], partitions = PARTITIONS): Promise<void> {
  const producer = createKafkaProducer({ brokers });
  for (let i = 0; i < lines.length; i += 5000) await producer.send(topic, lines.slice(i, i + 5000).map((value, k) => ({ partition: (i + k) % partitions, value })));
  await producer.close();
}

/** What one read of the whole topic measured: events/s and this process's CPU per event. */
interface ReadRate {
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
}

/** Reads every partition at once with the Kafka client, as raw messages or decoded as a worker decodes them. */
async function rawRead(topic: string, decode: boolean): Promise<ReadRate> {
  const client = createKafkaClient({ brokers });
  const offsets = await listOffsets({ client, topic });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let n = 0;
  await Promise.all(offsets.map(async (o) => {
    const range = { topic, partition: o.partition, from: o.logStartOffset, until: o.highWatermark };
    if (decode) for await (const batch of readRangeRecords({ client }, range)) n += batch.records.length + batch.deadLetters.length;
    else for await (const batch of readRange({ client, ...range })) n += batch.records.length;
  }));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  return { eventsPerSecond: n / seconds, cpuMicrosPerEvent: Number(((cpu.user + cpu.system) / n).toFixed(2)) };
}

/** The better of two reads (the first one also warms the broker's page cache and the JIT). */
async function bestRead(topic: string, decode: boolean): Promise<ReadRate> {
  const a = await rawRead(topic, decode);
  const b = await rawRead(topic, decode);
  return a.eventsPerSecond >= b.eventsPerSecond ? a : b;
}

function consumerPerformance(topic: string, messages: number): number {
  const jars = join(root, '.local', 'jars', 'kafka-tools');
  if (!existsSync(jars)) {
    log('resolving kafka-tools from Maven Central...');
    execFileSync('mvn', ['-q', '-B', '-f', join(root, 'test', 'bench', 'stream', 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${jars}`], { stdio: 'inherit' });
  }
  const out = execFileSync('java', ['-Xmx512m', '-cp', `${jars}/*`, 'org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', brokers.join(','), '--topic', topic, '--messages', String(messages), '--timeout', '60000'], { encoding: 'utf8' });
  // The summary line: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const header = out.split('\n').find((l) => l.includes('nMsg.sec'));
  const row = out.trim().split('\n').at(-1) as string;
  const cols = (header ?? '').split(',').map((c) => c.trim());
  const vals = row.split(',').map((c) => c.trim());
  const fetchRate = Number(vals[cols.indexOf('fetch.nMsg.sec')]);
  return Number.isFinite(fetchRate) && fetchRate > 0 ? fetchRate : Number(vals[cols.indexOf('nMsg.sec')]);
}

async function lagZero(runId: string, partitions: number, timeoutMs: number): Promise<void> {
  // Read positions straight from Redis: spawning `sluice status` every poll would steal the CPU
  // the workers are being measured on.
  const positions = createStreamPositions(redis);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await positions.list(runId);
    if (list.length >= partitions && list.every((p) => p.endOffset !== undefined && p.endOffset > 0 && p.committed >= p.endOffset)) return;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not catch up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** CPU seconds of a process so far; 0 when there is none (no pid file, child not started). */
function processCpuSeconds(pid: number | undefined): number {
  return pid === undefined ? 0 : readCpuSeconds(pid);
}

/** The Kafka broker's pid, from the local stack's pid file. */
function kafkaPid(): number | undefined {
  const file = join(process.env.SLUICE_LOCAL_DIR ?? join(root, '.local'), 'run', 'kafka.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

interface CpuSnapshot { workers: number; coordinator: number; kafka: number; redis: number }

/** CPU seconds so far of the Sluice workers and coordinator, the Kafka broker and Redis. */
async function cpuSnapshot(): Promise<CpuSnapshot> {
  const [coordinator, ...workers] = children;
  return {
    workers: workers.reduce((n, c) => n + processCpuSeconds(c.child.pid), 0),
    coordinator: processCpuSeconds(coordinator?.child.pid),
    kafka: processCpuSeconds(kafkaPid()),
    redis: await readRedisCpuSeconds(redis),
  };
}

function cpuPerEvent(before: CpuSnapshot, after: CpuSnapshot): Record<keyof CpuSnapshot, number> {
  const per = (k: keyof CpuSnapshot): number => Number((((after[k] - before[k]) / EVENTS) * 1e6).toFixed(2));
  return { workers: per('workers'), coordinator: per('coordinator'), kafka: per('kafka'), redis: per('redis') };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** What a stream run keeps in Redis for exactly-once and progress: fence fields and their bytes, ranges done counted. */
async function bookkeeping(runId: string): Promise<{ fenceFields: number; fenceBytes: number; rangesDone: number }> {
  const [fields, bytes, done] = await Promise.all([
    redis.hlen(`sluice:fence:${runId}`),
    redis.call('MEMORY', 'USAGE', `sluice:fence:${runId}`) as Promise<number | null>,
    redis.hget(`sluice:run:${runId}:stats`, 'splitsDone'),
  ]);
  return { fenceFields: fields, fenceBytes: bytes ?? 0, rangesDone: Number(done ?? 0) };
}

async function main(): Promise<void> {
  const ns = `bench-${randomUUID().slice(0, 8)}`;
  const prefix = `${ns}:`;
  const admin = createKafkaAdmin({ brokers });
  const topic = `sluice-bench-${ns}`;
  const latTopic = `sluice-bench-lat-${ns}`;
  const runIds: string[] = [];
  const common = ['--redis', redisUrl(), '--namespace', ns, '--brokers', brokers.join(',')];
  const env = { SLUICE_JOBS_PATH: `${join(root, 'jobs')}:${join(root, 'test', 'bench', 'stream', 'jobs')}` };
  try {
    log(`making ${EVENTS.toLocaleString('en-US')} events and producing them to ${topic} (${PARTITIONS} partitions)`);
    const events = makeEvents(EVENTS);
    await admin.createTopic(topic, PARTITIONS);
    await produce(topic, events);

    log('raw read rate of the same Kafka client (readRange, all partitions at once)');
    const rawRate = await bestRead(topic, false);
    const raw = rawRate.eventsPerSecond;
    log(`  ${Math.round(raw).toLocaleString('en-US')} events/s; ${rawRate.cpuMicrosPerEvent} CPU µs/event`);
    // What every stream job pays before its processor runs: the read plus the JSON decode.
    log('the same read with each message decoded as JSON (readRangeRecords), no processing');
    const decodedRate = await bestRead(topic, true);
    log(`  ${Math.round(decodedRate.eventsPerSecond).toLocaleString('en-US')} events/s; ${decodedRate.cpuMicrosPerEvent} CPU µs/event`);
    log('Kafka\'s ConsumerPerformance');
    const java = consumerPerformance(topic, EVENTS);
    log(`  ${Math.round(java).toLocaleString('en-US')} events/s`);

    log('Sluice: coordinator + 2 workers, network-metrics from earliest');
    const coordinator = startSluice('coordinator', ['coordinator', ...common, '--max-range-records', args['max-range-records'] as string, '--max-in-flight', args['max-in-flight'] as string], env);
    const workers = [1, 2].map((i) => startSluice(`worker-${i}`, ['worker', ...common, '--key-prefix', prefix, '--range-concurrency', args['range-concurrency'] as string], env));
    // Measure from processes that finished starting: module loading is not streaming work.
    await Promise.all([coordinator.waitFor('is the leader'), ...workers.map((w) => w.waitFor('ready'))]);
    const cpu0 = await cpuSnapshot();
    const started = performance.now();
    const runId = execFileSync(process.execPath, [cli, 'stream', 'network-metrics', '--topic', topic, '--start', 'earliest', '--redis', redisUrl(), '--namespace', ns], { encoding: 'utf8', env: { ...process.env, ...env } }).trim();
    runIds.push(runId);
    await lagZero(runId, PARTITIONS, 30 * 60_000);
    const sluice = EVENTS / ((performance.now() - started) / 1000);
    const cpu = cpuPerEvent(cpu0, await cpuSnapshot());
    log(`  ${Math.round(sluice).toLocaleString('en-US')} events/s; CPU µs/event: ${Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const kept = await bookkeeping(runId);
    log(`  caught up: ${kept.rangesDone} ranges done, ${kept.fenceFields} fence fields (${kept.fenceBytes} bytes) kept`);
    execFileSync(process.execPath, [cli, 'stream', 'stop', runId, '--redis', redisUrl()]);

    log(`latency at 5,000 events/s for ${LATENCY_SECONDS} s (bench-latency job)`);
    await admin.createTopic(latTopic, PARTITIONS);
    const latRun = execFileSync(process.execPath, [cli, 'stream', 'bench-latency', '--topic', latTopic, '--start', 'earliest', '--redis', redisUrl(), '--namespace', ns], { encoding: 'utf8', env: { ...process.env, ...env } }).trim();
    runIds.push(latRun);
    await new Promise((r) => setTimeout(r, 2000));
    const producer = createKafkaProducer({ brokers });
    const groups = new Map<number, number>();
    const latencies: number[] = [];
    let seq = 0;
    let stop = false;
    const poller = (async () => {
      for (;;) {
        if (stop && groups.size === 0) break;
        const pending = [...groups.keys()];
        if (pending.length > 0) {
          const values = await redis.mget(...pending.map((g) => `${prefix}lat.${g}:minute:${Math.floor((groups.get(g) as number) / 60_000)}`));
          const now = Date.now();
          pending.forEach((g, i) => {
            if (Number(values[i] ?? 0) >= 100) {
              latencies.push(now - (groups.get(g) as number));
              groups.delete(g);
            }
          });
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const t0 = Date.now();
    // 100 events every 20 ms = 5,000 events/s; each group of 100 shares one produce time.
    for (let tick = 0; tick < LATENCY_SECONDS * 50; tick += 1) {
      const due = t0 + tick * 20;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const produced = Date.now();
      const group = Math.floor(seq / 100);
      groups.set(group, produced);
      const batch = Array.from({ length: 100 }, (_, k) => ({ partition: (seq + k) % PARTITIONS, value: JSON.stringify({ seq: seq + k, produced }) }));
      seq += 100;
      void producer.send(latTopic, batch);
    }
    stop = true;
    await Promise.race([poller, new Promise((r) => setTimeout(r, 60_000))]);
    await producer.close();
    const latKept = await bookkeeping(latRun);
    execFileSync(process.execPath, [cli, 'stream', 'stop', latRun, '--redis', redisUrl()]);
    latencies.sort((a, b) => a - b);
    const result = {
      events: EVENTS,
      sluiceEventsPerSecond: Math.round(sluice),
      rawClientEventsPerSecond: Math.round(raw),
      consumerPerformanceEventsPerSecond: Math.round(java),
      rawClientCpuMicrosPerEvent: rawRate.cpuMicrosPerEvent,
      readAndDecodeEventsPerSecond: Math.round(decodedRate.eventsPerSecond),
      readAndDecodeCpuMicrosPerEvent: decodedRate.cpuMicrosPerEvent,
      ratioToRawClient: Number((sluice / raw).toFixed(3)),
      ratioToReadAndDecode: Number((sluice / decodedRate.eventsPerSecond).toFixed(3)),
      ratioToConsumerPerformance: Number((sluice / java).toFixed(3)),
      latencyGroupsMeasured: latencies.length,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      cpuMicrosPerEvent: cpu,
      bookkeepingCaughtUp: kept,
      bookkeepingAfterLatencyPhase: latKept,
    };
    mkdirSync(join(root, '.local', 'bench'), { recursive: true });
    writeFileSync(join(root, '.local', 'bench', 'stream-result.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\n${Object.entries(result).map(([k, v]) => `${k.padEnd(36)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n')}\n`);
    process.stdout.write('targets: ratioToRawClient >= 0.5; latencyP99Ms < 500\n');
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    // What each process said (ranges done, groups that ran one by one), for reading after a run.
    mkdirSync(join(root, '.local', 'bench'), { recursive: true });
    for (const c of children) writeFileSync(join(root, '.local', 'bench', `stream-${c.name}.log`), c.stdout());
    await admin.deleteTopic(topic).catch(() => undefined);
    await admin.deleteTopic(latTopic).catch(() => undefined);
    await admin.close();
    // Everything the runs left: series and their gauge times, queues, run records, fences, positions.
    await deleteKeys(redis, `${prefix}*`);
    await deleteKeys(redis, `sluice:gauge:${prefix}*`);
    await deleteKeys(redis, `sluice:bull:${ns}*`);
    for (const id of runIds) {
      await deleteKeys(redis, `sluice:*${id}*`);
      await redis.zrem(RUNS_INDEX, id);
      await redis.zrem(ACTIVE_RUNS_INDEX, id);
    }
    redis.disconnect();
  }
}

await main();

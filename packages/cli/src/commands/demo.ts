/**
 * `sluice demo`: the main job on the local stack, end to end. The WRCCDC 2018 Zeek logs before a
 * boundary go into HDFS as the archive, all of them into Kafka as the live feed; a coordinator and
 * workers run as separate processes; one hand-off run backfills the archive (with a progress bar)
 * and streams the rest, and one metric is read back the way an analyst would.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { JobDefinition } from '@sluice/core';
import { RunState, coordinatorLeaseKey, createRunStore, readLeaseHolder } from '@sluice/control';
import { parseTimestampMicros } from '@sluice/formats';
import { createKafkaAdmin, createKafkaProducer } from '@sluice/kafka';
import { createTimeseriesStore } from '@sluice/timeseries';
import { loadJob } from '@sluice/runtime';
import { fileSystemFor } from '../inputs.ts';
import { resolveBrokers } from '../stream-wiring.ts';
import { follow } from './backfill.ts';
import { submitHandOff } from './hand-off.ts';
import { formatLag, formatProgress, streamLag } from './status.ts';
import type { PartitionLag, RunProgress } from '@sluice/control';
import { integerFlag, resolveRedisUrl } from '../config.ts';
import { connectRedis } from '../redis-connection.ts';
import { deleteKeys } from '../delete-keys.ts';
import { findRepoRoot } from '../repo.ts';
import { formatTable } from '../table.ts';

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));

interface DemoFlags { redis?: string; webhdfs: string; dataset?: string; workers: number; brokers?: string; name: string }

/** What one demo owns: its queue namespace, kairos key prefix, Kafka topic and archive folder. */
interface DemoNames { namespace: string; prefix: string; topic: string; archivePath: string }

/** The names of the demo called `name`; `demo` keeps the ones the README shows. */
export function demoNames(name: string): DemoNames {
  const suffix = name === 'demo' ? '' : `-${name}`;
  return { namespace: name, prefix: `${name}:`, topic: `wrccdc-zeek${suffix}`, archivePath: `/archive/wrccdc-2018${suffix}/zeek` };
}

const DEMO_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/u;

/** Registers `sluice demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the hand-off demo: WRCCDC logs archived in HDFS and live in Kafka, one backfill-then-stream run')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--webhdfs <url>', 'WebHDFS of the archive', `webhdfs://127.0.0.1:${process.env.WEBHDFS_PORT ?? '9870'}`)
    .option('--dataset <dir>', 'folder with the WRCCDC files (default: SLUICE_DATASET_DIR or ../shared/datasets/wrccdc-2018)')
    .option('--workers <n>', 'worker processes', integerFlag('--workers', { min: 1, max: 64 }), 2)
    .option('--brokers <list>', 'Kafka brokers (default: KAFKA_BROKERS or 127.0.0.1:9092)')
    .option('--name <name>', 'names what this demo owns and replaces: queue namespace, key prefix <name>:, Kafka topic and HDFS folder', 'demo')
    .action(async (flags: DemoFlags) => {
      if (!DEMO_NAME.test(flags.name)) {
        throw new SluiceError(ErrorCode.INVALID_CONFIG, `--name must be lowercase letters, digits and '-' (at most 63), got ${JSON.stringify(flags.name)}`, { context: { flag: '--name', value: flags.name } });
      }
      const names = demoNames(flags.name);
      const redisUrl = resolveRedisUrl(flags.redis);
      const brokers = resolveBrokers(flags.brokers) ?? ['127.0.0.1:9092'];
      const dataset = resolve(flags.dataset ?? process.env.SLUICE_DATASET_DIR ?? join(findRepoRoot(), '..', 'shared', 'datasets', 'wrccdc-2018'));
      const files = ['dns.ndjson.gz', 'ssl.ndjson.gz'].map((f) => join(dataset, f));
      const missing = files.filter((f) => !existsSync(f));
      if (missing.length > 0) {
        throw new SluiceError(ErrorCode.INVALID_CONFIG, `the WRCCDC dataset is not at ${dataset} (missing ${missing.join(', ')}); pass --dataset or set SLUICE_DATASET_DIR`, { context: { dataset } });
      }
      // The NameNode's http(s) address names the same server as its webhdfs:// URLs, which carry paths.
      const server = flags.webhdfs.replace(/\/+$/, '').replace(/^http(s?):\/\//iu, (_, tls: string) => (tls === '' ? 'webhdfs://' : 'swebhdfs://'));
      const archiveDir = `${server}${names.archivePath}`;
      const children: ChildProcess[] = [];
      const stopAll = (): void => {
        for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      };
      process.once('SIGINT', stopAll);
      const redis = await connectRedis(redisUrl, { maxRetriesPerRequest: 3 });
      try {
        const events = readEvents(files);
        const archived = events.filter((e) => e.ts < BOUNDARY_MICROS);
        step(`1. the archive: ${archived.length.toLocaleString('en-US')} events before ${BOUNDARY} into HDFS at ${archiveDir}`);
        const fs = fileSystemFor(archiveDir);
        // The demo owns this folder: start it afresh so an earlier demo's files are not read twice.
        await fs.delete(archiveDir, { recursive: true });
        await fs.mkdirs(archiveDir);
        await fs.create(`${archiveDir}/zeek.ndjson`, `${archived.map((e) => e.line).join('\n')}\n`, { overwrite: true });
        step(`2. the live feed: all ${events.length.toLocaleString('en-US')} events into Kafka topic ${names.topic} (6 partitions)`);
        await produceFeed(brokers, names.topic, events);
        step(`3. start a coordinator and ${flags.workers} workers`);
        await deleteKeys(redis, `${names.prefix}*`);
        const common = ['--redis', redisUrl, '--namespace', names.namespace, '--brokers', brokers.join(',')];
        children.push(startChild([bin, 'coordinator', ...common, '--tick', '500'], 'coordinator'));
        for (let i = 0; i < flags.workers; i += 1) children.push(startChild([bin, 'worker', ...common, '--key-prefix', names.prefix], `worker-${i + 1}`));
        const leaderDeadline = Date.now() + 60_000;
        while ((await readLeaseHolder(redis, coordinatorLeaseKey(names.namespace))) === undefined) {
          if (Date.now() > leaderDeadline) throw new SluiceError(ErrorCode.TIMEOUT, 'the demo coordinator did not start within 60 s; see its output above', {});
          await new Promise((r) => setTimeout(r, 200));
        }
        step(`4. sluice run network-metrics --backfill <archive> --stream ${names.topic} --boundary ${BOUNDARY} (time-shifted so kairos keeps 2018 data)`);
        const job = await loadJob('network-metrics');
        const handOff = await submitHandOff(job, {
          backfill: [`${archiveDir}/*.ndjson`], stream: names.topic, boundary: BOUNDARY, slack: 300, set: { timeShift: 'auto' }, splitSize: 4 * 1024 ** 2, redis: redisUrl, namespace: names.namespace,
          runId: `${flags.name}-${Date.now()}`,
        });
        process.stdout.write(`boundary ${handOff.boundary}; backfill run ${handOff.backfillRun}; stream run ${handOff.streamRun}\n`);
        const runs = createRunStore(redis);
        const backfill = await follow(runs, handOff.backfillRun);
        process.stdout.write(`\n${formatProgress(backfill)}\n`);
        const stream = await waitCaughtUp(redis, handOff.streamRun);
        process.stdout.write(`\nstream run ${handOff.streamRun} caught up:\n${formatProgress(stream.progress)}\n`);
        process.stdout.write(`${formatLag(stream.lag)}\n`);
        const total = backfill.records + stream.progress.records;
        process.stdout.write(`\nevents read: ${total.toLocaleString('en-US')} (archive ${backfill.records.toLocaleString('en-US')}, Kafka ${stream.progress.records.toLocaleString('en-US')}, of which ${(stream.progress.records - (events.length - archived.length)).toLocaleString('en-US')} before the boundary were skipped by the stream)\n`);
        await runs.transition(handOff.streamRun, [RunState.RUNNING, RunState.SUBMITTED], RunState.CANCELLING);
        if (backfill.run.state !== RunState.COMPLETED) throw new SluiceError(ErrorCode.INTERNAL, 'the demo backfill did not complete; see the summary above', {});
        step('5. read one metric back, as kairos would');
        await showBusiestResponder(redis, job, names.prefix);
      } finally {
        stopAll();
        await Promise.all(children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(undefined)))));
        redis.disconnect();
      }
    });
}

const BOUNDARY = '2018-03-24T17:30:00Z';
const BOUNDARY_MICROS = Date.parse(BOUNDARY) * 1000;

interface Event { line: string; ts: number }

function readEvents(files: readonly string[]): Event[] {
  const events: Event[] = [];
  for (const file of files) {
    for (const line of gunzipSync(readFileSync(file)).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const ts = parseTimestampMicros((JSON.parse(line) as { ts?: unknown }).ts);
      if (ts !== undefined) events.push({ line, ts });
    }
  }
  return events.sort((a, b) => a.ts - b.ts);
}

async function produceFeed(brokers: string[], topic: string, events: readonly Event[]): Promise<void> {
  const admin = createKafkaAdmin({ brokers });
  try {
    // Only a missing topic means "nothing to delete": an unreachable broker must say so here.
    const exists = await admin.listPartitions(topic).then(
      (partitions) => partitions.length > 0,
      (error: unknown) => {
        if (isSluiceError(error) && error.code === ErrorCode.NOT_FOUND) return false;
        throw error;
      },
    );
    if (exists) await admin.deleteTopic(topic);
    // The feed replays 2018 events with their own times as Kafka timestamps: under the default
    // 7-day retention the broker would delete them at its next retention check, mid-demo.
    await admin.createTopic(topic, 6, { configs: { 'retention.ms': '-1' } });
  } finally {
    await admin.close();
  }
  const producer = createKafkaProducer({ brokers });
  try {
    for (let i = 0; i < events.length; i += 2000) {
      await producer.send(topic, events.slice(i, i + 2000).map((e, k) => ({ partition: (i + k) % 6, value: e.line, timestamp: Math.floor(e.ts / 1000) })));
    }
  } finally {
    await producer.close();
  }
}

async function waitCaughtUp(redis: Redis, runId: string): Promise<{ progress: RunProgress; lag: PartitionLag[] }> {
  const runs = createRunStore(redis);
  const deadline = Date.now() + 300_000;
  for (;;) {
    const progress = await runs.progress(runId);
    if (progress === undefined) throw new SluiceError(ErrorCode.NOT_FOUND, `run ${runId} disappeared`, {});
    const lag = await streamLag(redis, progress);
    if (lag.length > 0 && lag.every((p) => p.lagRecords === 0)) return { progress, lag };
    if (Date.now() > deadline) throw new SluiceError(ErrorCode.TIMEOUT, `stream run ${runId} did not catch up in 5 minutes`, {});
    await new Promise((r) => setTimeout(r, 500));
  }
}

function step(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

function startChild(args: string[], name: string): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '' && !line.includes(' split ')) process.stdout.write(`   [${name}] ${line}\n`);
  };
  child.stdout?.on('data', prefix);
  child.stderr?.on('data', prefix);
  return child;
}


async function showBusiestResponder(redis: Redis, job: JobDefinition<unknown, unknown>, prefix: string): Promise<void> {
  const store = createTimeseriesStore({ redis, series: job.series, keyPrefix: prefix });
  const totals = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}tls.responses.*:months:*`, 'COUNT', 1000);
    cursor = next;
    const values = keys.length === 0 ? [] : await redis.mget(...keys);
    keys.forEach((k, i) => {
      const name = k.slice(prefix.length, k.indexOf(':months:'));
      totals.set(name, (totals.get(name) ?? 0) + Number(values[i] ?? 0));
    });
  } while (cursor !== '0');
  let best: { name: string; total: number } | undefined;
  for (const [name, total] of totals) if (best === undefined || total > best.total) best = { name, total };
  if (best === undefined) {
    process.stdout.write('no tls.responses series found\n');
    return;
  }
  const months = (await store.properties('tls.responses', best.name)).months;
  process.stdout.write(`${best.name}: ${best.total} established TLS sessions\n`);
  if (months !== undefined) {
    const rows = await store.series('tls.responses', best.name, 'months', { start: months.first, end: months.last });
    process.stdout.write(`${formatTable(rows.map(([ts, row]) => [new Date(ts * 1000).toISOString(), String(row)]))}\n`);
  }
  process.stdout.write(`\nIn Python: Timeseries(redis.Redis(decode_responses=True), type='count', prefix='${prefix.slice(0, -1)}', intervals={'days': {'step': 60, 'steps': 2880}, 'months': {'step': 1800, 'steps': 4032}}).series('${best.name}', 'months')\n`);
}

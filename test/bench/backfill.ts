/**
 * Backfill benchmark (issue 4), every number measured in one run on this machine:
 *  - Sluice end to end: a coordinator and 2 worker processes run `sluice backfill network-metrics`
 *    over ~10M WRCCDC-derived records in HDFS, as NDJSON and as Parquet: records/s from submit to
 *    completed, and each worker's peak RSS;
 *  - decode alone: the same splits read by 2 processes through `readSplit` over WebHDFS, records
 *    only counted (no processing, no Redis): the ceiling end to end can approach;
 *  - PySpark (local[2]) over the same NDJSON and Parquet files, from local disk: an RDD with a
 *    Python function per record, and the DataFrame API; all must produce the series Sluice left in
 *    Redis.
 * Prints a table and writes it to .local/bench/backfill-result.json. Data is generated once into
 * .local/bench/ and HDFS, and reused. Targets: end to end / decode alone >= 0.7; Sluice / RDD >= 5;
 * Sluice / DataFrame >= 1.
 *
 *   node test/bench/backfill.ts [--records 10000000] [--split-size 128m] [--skip-spark] [--skip-parquet] [--cpu-prof]
 *     [--worker-heap-mib 320]  (0: no cap; workers and decode-alone processes get the same)
 *     [--worker-concurrency 1]  (splits each worker runs at once)
 */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createFileSystem } from '@sluice/hdfs';
import { planBackfill } from '@sluice/coordinator';
import type { SplitPayload } from '@sluice/queue';
import { networkMetrics } from '@sluice/job-network-metrics';
import { redisUrl, webhdfsUrl } from '../support/env.ts';
import { deleteKeys } from '../support/network-metrics-reference.ts';
import { startChild, startSluice } from './backfill/child-processes.ts';
import type { Child } from './backfill/child-processes.ts';
import { readPeakRssKiB } from './backfill/decode-splits.ts';
import { readCpuSeconds, readRedisCpuSeconds } from './cpu.ts';
import type { DecodeSplit, FromDecoder, ToDecoder } from './backfill/decode-splits.ts';
import { alignedShiftSeconds, prepareBenchData } from './backfill/generate-data.ts';
import type { BenchData, BenchFile } from './backfill/generate-data.ts';
import { HEAP_GROWING_PERCENT } from '@sluice/cli';
import { countKeys, diffSummaries, readRedisSummary } from './backfill/series-summary.ts';
import type { SeriesSummary } from './backfill/series-summary.ts';

const root = resolve(import.meta.dirname, '..', '..');
const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '10000000' },
    'split-size': { type: 'string', default: '128m' },
    'skip-spark': { type: 'boolean', default: false },
    'skip-parquet': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    // Splits each worker runs at once (`sluice worker --concurrency`).
    'worker-concurrency': { type: 'string', default: '1' },
    // The old-generation cap a deployment gives a worker (the container image sets the same).
    'worker-heap-mib': { type: 'string', default: '320' },
    // What `sluice` sets (gc-tuning.ts); 0 leaves the growth to V8, for an A/B of the tuning.
    'heap-growing-percent': { type: 'string', default: String(HEAP_GROWING_PERCENT) },
  },
});
// Workers and the decode-alone processes get the same heap flags, given explicitly.
const HEAP_OPTIONS = [
  ...(Number(args['worker-heap-mib']) > 0 ? [`--max-old-space-size=${Number(args['worker-heap-mib'])}`] : []),
  `--heap-growing-percent=${Number(args['heap-growing-percent'])}`,
];
const RECORDS = Number(args.records);
const SPLIT_SIZE = args['split-size'];
const WORKERS = 2;
/** The one-minute buckets are kept 2880 steps (2 days): an older event would be dropped as expired. */
const DAYS_RETENTION_SECONDS = 2880 * 60;
const benchDir = join(root, '.local', 'bench');
const dataDir = join(benchDir, `backfill-${RECORDS}`);
const hdfsDir = `${webhdfsUrl().replace(/^http/, 'webhdfs')}/bench/backfill-${RECORDS}`;
const sparkPython = join(root, '.local', 'venv-spark', 'bin', 'python');
const redis = new Redis(redisUrl());
const children = new Set<{ stop(): Promise<void> }>();

type Format = 'ndjson' | 'parquet';

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

function parseByteSize(text: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(text.trim());
  if (m === null) throw new Error(`--split-size must look like 128m, got ${text}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] ?? '').toLowerCase() || ' ');
}

/** Copies the local files to HDFS unless a stamp there says this generation is already in place. */
async function uploadToHdfs(data: BenchData): Promise<number> {
  const fs = createFileSystem(hdfsDir);
  const stampUrl = `${hdfsDir}/_stamp.json`;
  const localStamp = readFileSync(join(data.dir, 'stamp.json'), 'utf8');
  const remoteStamp = await fs.open(stampUrl).then((b) => Buffer.from(b).toString('utf8'), () => undefined);
  if (remoteStamp === localStamp) return 0;
  log(`uploading to ${hdfsDir}`);
  const started = performance.now();
  await fs.delete(hdfsDir, { recursive: true });
  const groups: [Format, BenchFile[]][] = [['ndjson', data.ndjson], ['parquet', data.parquet]];
  for (const [format, files] of groups) {
    for (const file of files) {
      await fs.create(`${hdfsDir}/${format}/${basename(file.path)}`, createReadStream(file.path), { overwrite: true });
    }
  }
  await fs.create(stampUrl, localStamp, { overwrite: true });
  await fs.close();
  return (performance.now() - started) / 1000;
}

function inputOf(format: Format): string {
  return format === 'ndjson' ? `${hdfsDir}/ndjson/*.ndjson` : `${hdfsDir}/parquet/*.parquet`;
}

interface SluiceResult {
  records: number;
  splits: number;
  /** Submit to completed, from the run record. */
  seconds: number;
  recordsPerSecond: number;
  /** Spawn of `sluice backfill --wait` to its exit. */
  cliSeconds: number;
  peakRssMiB: number[];
  /** CPU seconds of the workers and of Redis between submit and completion. */
  workerCpuSeconds: number;
  redisCpuSeconds: number;
  summary: SeriesSummary;
  load: string;
}

/** Coordinator + 2 workers, one backfill, its series summarized from Redis, every key removed. */
async function runSluice(format: Format, shift: number): Promise<SluiceResult> {
  const ns = `bench-bf-${randomUUID().slice(0, 8)}`;
  const prefix = `${ns}:`;
  const runId = `${ns}-${format}`;
  const common = ['--redis', redisUrl(), '--namespace', ns];
  const started: Child[] = [];
  const track = (c: Child): Child => {
    started.push(c);
    children.add(c);
    return c;
  };
  try {
    const coordinator = track(startSluice('coordinator', ['coordinator', ...common, '--tick', '200']));
    await coordinator.waitFor('is the leader');
    const profile = [...HEAP_OPTIONS, ...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', join(benchDir, 'profiles')] : [])];
    const workers = Array.from({ length: WORKERS }, (_, i) => track(startSluice(`worker-${i + 1}`, ['worker', ...common, '--key-prefix', prefix, '--concurrency', String(Number(args['worker-concurrency']))], profile)));
    await Promise.all(workers.map((w) => w.waitFor('ready')));
    log(`  ${format}: coordinator and ${WORKERS} workers up (namespace ${ns}); load ${load()}`);
    const pids = workers.map((w) => w.child.pid as number);
    const workerCpu0 = pids.reduce((n, pid) => n + readCpuSeconds(pid), 0);
    const redisCpu0 = await readRedisCpuSeconds(redis);
    const t0 = performance.now();
    const backfill = track(startSluice('backfill', ['backfill', 'network-metrics', '--input', inputOf(format), '--set', `timeShift=${shift}`, '--split-size', SPLIT_SIZE,
      '--redis', redisUrl(), '--namespace', ns, '--wait', '--json', '--run-id', runId]));
    const code = await backfill.exited;
    const cliSeconds = (performance.now() - t0) / 1000;
    const workerCpuSeconds = pids.reduce((n, pid) => n + readCpuSeconds(pid), 0) - workerCpu0;
    const redisCpuSeconds = (await readRedisCpuSeconds(redis)) - redisCpu0;
    const peakRssMiB = workers.map((w) => Math.round(readPeakRssKiB(w.child.pid as number) / 1024));
    const endLoad = load();
    if (code !== 0) throw new Error(`backfill exited ${code}:\n${backfill.output()}\n${workers.map((w) => w.output().slice(-3000)).join('\n')}`);
    const progress = JSON.parse(backfill.stdout().trim().split('\n').at(-1) as string) as {
      records: number; badRecords: number; expired: number;
      run: { state: string; splitsTotal: number; submittedAt: number; finishedAt: number };
    };
    if (progress.run.state !== 'completed') throw new Error(`run ${runId} ended ${progress.run.state}`);
    if (progress.records !== RECORDS || progress.badRecords !== 0 || progress.expired !== 0) {
      throw new Error(`run ${runId}: ${progress.records} records (expected ${RECORDS}), ${progress.badRecords} bad, ${progress.expired} expired`);
    }
    await Promise.all(workers.map((w) => w.stop()));
    await coordinator.stop();
    const seconds = (progress.run.finishedAt - progress.run.submittedAt) / 1000;
    log(`  ${format}: ${RECORDS.toLocaleString('en-US')} records, ${progress.run.splitsTotal} splits in ${seconds.toFixed(1)} s; reading the series back from Redis`);
    const summary = await readRedisSummary(redis, prefix, networkMetrics.series);
    return { records: progress.records, splits: progress.run.splitsTotal, seconds, recordsPerSecond: RECORDS / seconds, cliSeconds, peakRssMiB, workerCpuSeconds, redisCpuSeconds, summary, load: endLoad };
  } finally {
    for (const c of started) {
      await c.stop();
      children.delete(c);
    }
    await cleanRedis(prefix, ns, runId);
  }
}

async function cleanRedis(prefix: string, ns: string, runId: string): Promise<void> {
  await deleteKeys(redis, `${prefix}*`);
  // Gauges keep their event time beside the value, under Sluice's namespace.
  await deleteKeys(redis, `sluice:gauge:${prefix}*`);
  await deleteKeys(redis, `sluice:run:${runId}*`);
  await deleteKeys(redis, `sluice:bull:${ns}.*`);
  await redis.unlink(`sluice:fence:${runId}`);
  await redis.zrem('sluice:runs', runId);
}

interface DecodeResult {
  records: number;
  splits: number;
  seconds: number;
  recordsPerSecond: number;
  peakRssMiB: number[];
  cpuSeconds: number;
  load: string;
}

/** The splits the coordinator plans for `format`, read by 2 forked processes that only count records. */
async function runDecodeAlone(format: Format): Promise<DecodeResult> {
  const fs = createFileSystem(hdfsDir);
  const files = (await fs.listFiles(inputOf(format))).map((f) => ({ url: f.url, size: f.length }));
  const plan = await planBackfill({ runId: 'decode-alone', job: networkMetrics.name, splitSize: parseByteSize(SPLIT_SIZE), options: {} }, files, (url) => fs.createRangeReader(url));
  await fs.close();
  const queue: DecodeSplit[] = plan.splits.map((s: SplitPayload) => ({ url: s.url, format: s.format, compression: s.compression, start: s.start, end: s.end }) as DecodeSplit);
  const script = join(import.meta.dirname, 'backfill', 'decode-splits.ts');
  const procs: ChildProcess[] = Array.from({ length: WORKERS }, () => fork(script, [], { execArgv: [...process.execArgv, ...HEAP_OPTIONS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const stoppers = procs.map((p) => ({ stop: async () => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  } }));
  for (const s of stoppers) children.add(s);
  try {
    let records = 0;
    let t0 = 0;
    const peaks: number[] = [];
    let cpuSeconds = 0;
    await new Promise<void>((resolveAll, reject) => {
      let ready = 0;
      let finished = 0;
      for (const p of procs) {
        let said = false;
        p.once('exit', (code, signal) => {
          if (!said) reject(new Error(`a decode process exited before it was done (${code ?? signal})`));
        });
        p.on('message', (m: FromDecoder) => {
          if (m.type === 'ready') {
            ready += 1;
            if (ready === procs.length) {
              t0 = performance.now();
              for (const q of procs) sendNext(q, queue);
            }
          } else if (m.type === 'done') {
            records += m.records;
            if (m.badRecords !== 0) reject(new Error(`decode alone: ${m.badRecords} dead letters`));
            sendNext(p, queue);
          } else if (m.type === 'exit') {
            said = true;
            peaks.push(Math.round(m.peakRssKiB / 1024));
            cpuSeconds += m.cpuSeconds;
            finished += 1;
            if (finished === procs.length) resolveAll();
          } else reject(new Error(`decode process failed: ${m.message}`));
        });
      }
    });
    const seconds = (performance.now() - t0) / 1000;
    if (records !== RECORDS) throw new Error(`decode alone read ${records} records, expected ${RECORDS}`);
    return { records, splits: plan.splits.length, seconds, recordsPerSecond: records / seconds, peakRssMiB: peaks, cpuSeconds, load: load() };
  } finally {
    for (const s of stoppers) {
      await s.stop();
      children.delete(s);
    }
  }
}

/** Hands the next split to a decode process, or tells it to stop when none is left. */
function sendNext(p: ChildProcess, queue: DecodeSplit[]): void {
  const split = queue.shift();
  p.send((split === undefined ? { type: 'stop' } : { type: 'split', split }) satisfies ToDecoder);
}

interface SparkResult {
  sessionSeconds: number;
  jobSeconds: number;
  /** Process start to exit, JVM start included. */
  wallSeconds: number;
  /** CPU seconds of the driver, the JVM and the Python workers during the job (start excluded). */
  cpuSeconds: number;
  recordsPerSecond: number;
  recordsPerSecondWithStartup: number;
  summary: SeriesSummary;
  load: string;
}

type SparkMode = 'rdd' | 'df';

async function runSpark(mode: SparkMode, format: Format, data: BenchData, shift: number): Promise<SparkResult> {
  const input = `${pathToFileURL(join(data.dir, format)).href}/*.${format}`;
  const t0 = performance.now();
  const script = join(import.meta.dirname, 'backfill', 'spark_network_metrics.py');
  const spark = startChild(`spark-${mode}-${format}`, sparkPython, [script, '--mode', mode, '--format', format, '--input', input, '--shift', String(shift)]);
  children.add(spark);
  const code = await spark.exited;
  children.delete(spark);
  const wallSeconds = (performance.now() - t0) / 1000;
  writeFileSync(join(benchDir, `backfill-spark-${mode}-${format}.log`), spark.output());
  if (code !== 0) throw new Error(`spark ${mode} ${format} exited ${code}:\n${spark.output().slice(-4000)}`);
  const out = JSON.parse(spark.stdout().trim().split('\n').at(-1) as string) as { sessionSeconds: number; jobSeconds: number; jobCpuSeconds: number; records: number | null; summary: SeriesSummary };
  if (out.records !== null && out.records !== RECORDS) throw new Error(`spark ${mode} ${format} read ${out.records} records, expected ${RECORDS}`);
  return {
    sessionSeconds: out.sessionSeconds,
    jobSeconds: out.jobSeconds,
    wallSeconds,
    cpuSeconds: out.jobCpuSeconds,
    recordsPerSecond: RECORDS / out.jobSeconds,
    recordsPerSecondWithStartup: RECORDS / wallSeconds,
    summary: out.summary,
    load: load(),
  };
}

/** Creates .local/venv-spark with the pinned PySpark unless it is there already. */
function ensureSpark(): void {
  try {
    execFileSync(sparkPython, ['-c', 'import pyspark'], { stdio: 'ignore' });
    return;
  } catch {
    log(`installing PySpark into ${dirname(dirname(sparkPython))}`);
  }
  execFileSync('python3', ['-m', 'venv', dirname(dirname(sparkPython))], { stdio: 'inherit' });
  execFileSync(join(dirname(sparkPython), 'pip'), ['install', '--quiet', '-r', join(import.meta.dirname, 'backfill', 'requirements.txt')], { stdio: 'inherit' });
}

function ratio(a: number, b: number | undefined): number | null {
  return b === undefined ? null : Number((a / b).toFixed(3));
}

function rate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) process.stdout.write(`${row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}\n`);
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  log(`backfill benchmark: ${RECORDS.toLocaleString('en-US')} records, split size ${SPLIT_SIZE}, ${WORKERS} workers; node ${process.version}; load ${load()}`);
  mkdirSync(benchDir, { recursive: true });
  const data = prepareBenchData(dataDir, RECORDS, log);
  const uploadSeconds = await uploadToHdfs(data);
  const ndjsonBytes = data.ndjson.reduce((n, f) => n + f.bytes, 0);
  const parquetBytes = data.parquet.reduce((n, f) => n + f.bytes, 0);
  log(`data: ${data.ndjson.length} NDJSON files (${(ndjsonBytes / 2 ** 20).toFixed(0)} MiB), ${data.parquet.length} Parquet files (${(parquetBytes / 2 ** 20).toFixed(0)} MiB) in ${hdfsDir}`
    + `${data.generatedSeconds > 0 ? `; generated in ${data.generatedSeconds.toFixed(0)} s` : '; reused'}${uploadSeconds > 0 ? `, uploaded in ${uploadSeconds.toFixed(0)} s` : ''}`);

  const nowMicros = Date.now() * 1000;
  const shift = alignedShiftSeconds(data.newestMicros, nowMicros);
  const oldestAgeSeconds = (nowMicros - data.oldestMicros) / 1e6 - shift;
  if (oldestAgeSeconds > DAYS_RETENTION_SECONDS - 3600) throw new Error(`the oldest event would be ${(oldestAgeSeconds / 3600).toFixed(1)} h old: too close to kairos's 2-day retention`);
  log(`time shift ${shift} s: events from ${(oldestAgeSeconds / 3600).toFixed(1)} h ago to ${((nowMicros - data.newestMicros) / 1e6 - shift) / 60 < 1 ? 'now' : `${(((nowMicros - data.newestMicros) / 1e6 - shift) / 60).toFixed(0)} min ago`}`);

  const formats: Format[] = args['skip-parquet'] ? ['ndjson'] : ['ndjson', 'parquet'];
  const sluice = new Map<Format, SluiceResult>();
  const decode = new Map<Format, DecodeResult>();
  for (const format of formats) {
    log(`Sluice end to end, ${format}`);
    const s = await runSluice(format, shift);
    sluice.set(format, s);
    log(`  ${rate(s.recordsPerSecond)} records/s; worker peak RSS ${s.peakRssMiB.join(', ')} MiB; ${countKeys(s.summary).toLocaleString('en-US')} keys`);
    log(`decode alone, ${format}`);
    const d = await runDecodeAlone(format);
    decode.set(format, d);
    log(`  ${rate(d.recordsPerSecond)} records/s over ${d.splits} splits; peak RSS ${d.peakRssMiB.join(', ')} MiB`);
  }

  // Keyed `${mode}-${format}`: each Spark way over each format Sluice read.
  const spark = new Map<`${SparkMode}-${Format}`, SparkResult>();
  if (!args['skip-spark']) {
    ensureSpark();
    for (const format of formats) {
      for (const mode of ['df', 'rdd'] as const) {
        log(`PySpark ${mode === 'rdd' ? 'RDD (Python function per record)' : 'DataFrame'}, local[2], ${format} from local disk`);
        const r = await runSpark(mode, format, data, shift);
        spark.set(`${mode}-${format}`, r);
        log(`  job ${r.jobSeconds.toFixed(1)} s (${rate(r.recordsPerSecond)} records/s), session start ${r.sessionSeconds.toFixed(1)} s, process ${r.wallSeconds.toFixed(1)} s`);
      }
    }
  }

  const reference = sluice.get('ndjson') as SluiceResult;
  const diffs = [
    ...[...sluice].filter(([f]) => f !== 'ndjson').flatMap(([f, s]) => diffSummaries(reference.summary, s.summary, 'sluice ndjson', `sluice ${f}`)),
    ...[...spark].flatMap(([key, s]) => diffSummaries(reference.summary, s.summary, 'sluice ndjson', `spark ${key}`)),
  ];

  const sl = reference.recordsPerSecond;
  const slParquet = sluice.get('parquet')?.recordsPerSecond;
  /** Sluice over a Spark way, the same format on both sides. */
  const overSpark = (format: Format, key: `${SparkMode}-${Format}`, withStartup = false): number | null => {
    const s = spark.get(key);
    const ours = format === 'ndjson' ? sl : slParquet;
    return s === undefined || ours === undefined ? null : ratio(ours, withStartup ? s.recordsPerSecondWithStartup : s.recordsPerSecond);
  };
  const result = {
    records: RECORDS,
    splitSize: SPLIT_SIZE,
    workers: WORKERS,
    node: process.version,
    dataset: { ndjsonFiles: data.ndjson.length, ndjsonBytes, parquetFiles: data.parquet.length, parquetBytes, copies: data.copies, copySpacingSeconds: data.spacingSeconds, timeShiftSeconds: shift },
    keys: countKeys(reference.summary),
    sluice: Object.fromEntries([...sluice].map(([f, s]) => [f, { recordsPerSecond: Math.round(s.recordsPerSecond), seconds: s.seconds, cliSeconds: s.cliSeconds, splits: s.splits, workerPeakRssMiB: s.peakRssMiB, workerCpuSeconds: s.workerCpuSeconds, redisCpuSeconds: s.redisCpuSeconds, loadAfter: s.load }])),
    decodeAlone: Object.fromEntries([...decode].map(([f, d]) => [f, { recordsPerSecond: Math.round(d.recordsPerSecond), seconds: d.seconds, splits: d.splits, peakRssMiB: d.peakRssMiB, cpuSeconds: d.cpuSeconds, loadAfter: d.load }])),
    spark: Object.fromEntries([...spark].map(([m, s]) => [m, { recordsPerSecond: Math.round(s.recordsPerSecond), recordsPerSecondWithStartup: Math.round(s.recordsPerSecondWithStartup), jobSeconds: s.jobSeconds, sessionSeconds: s.sessionSeconds, wallSeconds: s.wallSeconds, jobCpuSeconds: s.cpuSeconds, loadAfter: s.load }])),
    ratios: {
      endToEndOverDecodeNdjson: ratio(sl, decode.get('ndjson')?.recordsPerSecond),
      endToEndOverDecodeParquet: sluice.has('parquet') ? ratio((sluice.get('parquet') as SluiceResult).recordsPerSecond, decode.get('parquet')?.recordsPerSecond) : null,
      sluiceOverRdd: overSpark('ndjson', 'rdd-ndjson'),
      sluiceOverDataFrame: overSpark('ndjson', 'df-ndjson'),
      sluiceOverRddWithStartup: overSpark('ndjson', 'rdd-ndjson', true),
      sluiceOverDataFrameWithStartup: overSpark('ndjson', 'df-ndjson', true),
      sluiceOverRddParquet: overSpark('parquet', 'rdd-parquet'),
      sluiceOverDataFrameParquet: overSpark('parquet', 'df-parquet'),
      sluiceOverRddParquetWithStartup: overSpark('parquet', 'rdd-parquet', true),
      sluiceOverDataFrameParquetWithStartup: overSpark('parquet', 'df-parquet', true),
    },
    targets: { endToEndOverDecode: 0.7, sluiceOverRdd: 5, sluiceOverDataFrame: 1 },
    sameSeries: diffs.length === 0,
    differences: diffs,
    benchmarkSeconds: Math.round((performance.now() - benchStarted) / 1000),
  };
  writeFileSync(join(benchDir, 'backfill-result.json'), `${JSON.stringify(result, null, 2)}\n`);

  process.stdout.write('\n');
  const rows: string[][] = [['path', 'records/s', 'seconds', 'CPU µs/record', 'splits', 'peak RSS MiB']];
  const perRecord = (cpu: number | undefined): string => (cpu === undefined ? '-' : (cpu / RECORDS * 1e6).toFixed(1));
  for (const [f, s] of sluice) {
    rows.push([`Sluice end to end, ${f}`, rate(s.recordsPerSecond), s.seconds.toFixed(1), `${perRecord(s.workerCpuSeconds)} + Redis ${perRecord(s.redisCpuSeconds)}`, String(s.splits), s.peakRssMiB.join(' / ')]);
  }
  for (const [f, d] of decode) rows.push([`decode alone, ${f}`, rate(d.recordsPerSecond), d.seconds.toFixed(1), perRecord(d.cpuSeconds), String(d.splits), d.peakRssMiB.join(' / ')]);
  for (const [key, s] of spark) {
    const [mode, format] = key.split('-');
    rows.push([`PySpark ${mode === 'rdd' ? 'RDD' : 'DataFrame'}, ${format} (job; +${s.sessionSeconds.toFixed(0)} s start)`, rate(s.recordsPerSecond), s.jobSeconds.toFixed(1), perRecord(s.cpuSeconds), '', '']);
  }
  printTable(rows);
  process.stdout.write(`\n${RECORDS.toLocaleString('en-US')} records, split size ${SPLIT_SIZE}, ${WORKERS} workers, ${result.keys.toLocaleString('en-US')} kairos keys; load average now ${load()}\n`);
  const r = result.ratios;
  process.stdout.write(`end to end / decode alone: ndjson ${r.endToEndOverDecodeNdjson ?? '-'}, parquet ${r.endToEndOverDecodeParquet ?? '-'}   (target >= 0.7)\n`);
  process.stdout.write(`Sluice / PySpark RDD, same format:       ndjson ${r.sluiceOverRdd ?? '-'} (with JVM start ${r.sluiceOverRddWithStartup ?? '-'}), parquet ${r.sluiceOverRddParquet ?? '-'} (${r.sluiceOverRddParquetWithStartup ?? '-'})   (target >= 5)\n`);
  process.stdout.write(`Sluice / PySpark DataFrame, same format: ndjson ${r.sluiceOverDataFrame ?? '-'} (with JVM start ${r.sluiceOverDataFrameWithStartup ?? '-'}), parquet ${r.sluiceOverDataFrameParquet ?? '-'} (${r.sluiceOverDataFrameParquetWithStartup ?? '-'})   (target >= 1)\n`);
  process.stdout.write(diffs.length === 0 ? `every path computed the same series (${Object.keys(reference.summary).length} families x intervals compared)\n` : `SERIES DIFFER:\n${diffs.join('\n')}\n`);
  process.stdout.write(`written to ${join(benchDir, 'backfill-result.json')}; whole benchmark ${result.benchmarkSeconds} s\n`);
  if (diffs.length > 0) process.exitCode = 1;
}

const stopAll = async (): Promise<void> => {
  await Promise.all([...children].map((c) => c.stop()));
};
// Ctrl-C stops the children; the phase waiting on them then fails and its cleanup removes its keys.
process.once('SIGINT', () => {
  process.exitCode = 130;
  void stopAll();
});
try {
  await main();
} finally {
  await stopAll();
  redis.disconnect();
}

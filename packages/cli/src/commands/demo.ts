/**
 * `sluice demo`: the main job on the local stack, end to end. It loads the WRCCDC 2018 Zeek logs
 * into HDFS, starts a coordinator and a pool of workers as separate processes, runs the
 * network-metrics backfill with a progress bar, prints its summary, and reads one metric back the
 * way an analyst would.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { ErrorCode, SluiceError } from '@sluice/core';
import { createTimeseriesStore } from '@sluice/timeseries';
import { loadJob } from '@sluice/runtime';
import { resolveRedisUrl } from '../config.ts';
import { findRepoRoot } from '../repo.ts';
import { formatTable } from '../table.ts';

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));

interface DemoFlags { redis?: string; webhdfs: string; dataset?: string; workers: string }

/** Registers `sluice demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('load the WRCCDC logs into HDFS and backfill network-metrics with a coordinator and workers')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--webhdfs <url>', 'WebHDFS of the archive', `webhdfs://127.0.0.1:${process.env.WEBHDFS_PORT ?? '9870'}`)
    .option('--dataset <dir>', 'folder with the WRCCDC files (default: SLUICE_DATASET_DIR or ../shared/datasets/wrccdc-2018)')
    .option('--workers <n>', 'worker processes', '2')
    .action(async (flags: DemoFlags) => {
      const redisUrl = resolveRedisUrl(flags.redis);
      const dataset = resolve(flags.dataset ?? process.env.SLUICE_DATASET_DIR ?? join(findRepoRoot(), '..', 'shared', 'datasets', 'wrccdc-2018'));
      const files = ['dns.ndjson.gz', 'ssl.ndjson.gz'].map((f) => join(dataset, f));
      const missing = files.filter((f) => !existsSync(f));
      if (missing.length > 0) {
        throw new SluiceError(ErrorCode.INVALID_CONFIG, `the WRCCDC dataset is not at ${dataset} (missing ${missing.join(', ')}); pass --dataset or set SLUICE_DATASET_DIR`, { context: { dataset } });
      }
      const archive = `${flags.webhdfs.replace(/\/+$/, '')}/archive/wrccdc-2018/zeek`;
      const children: ChildProcess[] = [];
      const stopAll = (): void => {
        for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      };
      process.once('SIGINT', stopAll);
      try {
        step(`1. load the WRCCDC logs into HDFS at ${archive} (decompressed, so they split)`);
        await runChild([bin, 'hdfs', 'put', '--gunzip', '--overwrite', archive, ...files]);
        const namespace = 'demo';
        step(`2. start a coordinator and ${flags.workers} workers`);
        const common = ['--redis', redisUrl, '--namespace', namespace];
        children.push(startChild([bin, 'coordinator', ...common], 'coordinator'));
        for (let i = 0; i < Number(flags.workers); i += 1) children.push(startChild([bin, 'worker', ...common, '--concurrency', '1'], `worker-${i + 1}`));
        await new Promise((r) => setTimeout(r, 1500));
        step('3. backfill network-metrics (time-shifted so kairos keeps the 2018 data)');
        const code = await runChild([bin, 'backfill', 'network-metrics', '--input', `${archive}/*.ndjson`, '--set', 'timeShift=auto', '--split-size', '4m', '--redis', redisUrl, '--wait'], true);
        if (code !== 0) throw new SluiceError(ErrorCode.INTERNAL, 'the demo backfill did not complete; see the summary above', {});
        step('4. read one metric back, as kairos would');
        await showBusiestResponder(redisUrl);
      } finally {
        stopAll();
        await Promise.all(children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(undefined)))));
      }
    });
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

function runChild(args: string[], inheritStderr = false): Promise<number> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', inheritStderr ? 'inherit' : 'pipe'] });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 && !inheritStderr) reject(new SluiceError(ErrorCode.INTERNAL, `sluice ${args[1] ?? ''} failed: ${err.trim()}`, {}));
      else resolveRun(code ?? 1);
    });
  });
}

async function showBusiestResponder(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    const job = await loadJob('network-metrics');
    const store = createTimeseriesStore({ redis, series: job.series });
    let best: { name: string; total: number } | undefined;
    let cursor = '0';
    const totals = new Map<string, number>();
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'tls.responses.*:months:*', 'COUNT', 1000);
      cursor = next;
      const values = keys.length === 0 ? [] : await redis.mget(...keys);
      keys.forEach((k, i) => {
        const name = k.slice(0, k.indexOf(':months:'));
        totals.set(name, (totals.get(name) ?? 0) + Number(values[i] ?? 0));
      });
    } while (cursor !== '0');
    for (const [name, total] of totals) if (best === undefined || total > best.total) best = { name, total };
    if (best === undefined) {
      process.stdout.write('no tls.responses series found\n');
      return;
    }
    const props = await store.properties('tls.responses', best.name);
    const months = props.months;
    process.stdout.write(`${best.name}: ${best.total} established TLS sessions\n`);
    if (months !== undefined) {
      const rows = await store.series('tls.responses', best.name, 'months', { start: months.first, end: months.last });
      process.stdout.write(`${formatTable(rows.map(([ts, row]) => [new Date(ts * 1000).toISOString(), String(row)]))}\n`);
    }
    process.stdout.write(`\nIn Python: Timeseries(redis.Redis(decode_responses=True), type='count', intervals={'days': {'step': 60, 'steps': 2880}, 'months': {'step': 1800, 'steps': 4032}}).series('${best.name}', 'months')\n`);
  } finally {
    redis.disconnect();
  }
}

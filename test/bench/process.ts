/**
 * The CPU path of one worker, without Redis or HDFS: a local NDJSON (or Parquet) file decoded
 * alone, then decoded, processed by network-metrics and combined into chunks exactly as a worker
 * does (runSplit with a store that accepts every chunk at once). Prints records/s and CPU µs per
 * record of both, and their ratio: the share of a worker's time the processing path leaves to
 * decoding. Runs alternate so load on the machine hits both alike.
 *
 * Usage: node test/bench/process.ts [--file path] [--format ndjson|parquet] [--records N] [--rounds N]
 * Without --file it generates network-metrics-like NDJSON from the WRCCDC dataset (see generate-data).
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Chunk } from '@sluice/core';
import { createFileRangeReader, readSplit } from '@sluice/formats';
import type { SplitFormat } from '@sluice/formats';
import { runSplit } from '@sluice/runtime';
import { tuneGarbageCollector } from '@sluice/cli';
import type { CommitTarget } from '@sluice/runtime';
import { networkMetrics } from '../../jobs/network-metrics/src/index.ts';
import { readPeakRssKiB } from './backfill/decode-splits.ts';
import { BENCH_INPUT_OPTIONS, resolveBenchInput } from './bench-input.ts';

// As a `sluice worker` process runs (both paths measured here get it).
tuneGarbageCollector();
const { values: args } = parseArgs({
  options: BENCH_INPUT_OPTIONS,
});

interface Measured { records: number; seconds: number; cpuSeconds: number; chunks: number; aggregates: number }

async function measure(run: () => Promise<{ records: number; chunks: number; aggregates: number }>): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { ...out, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function main(): Promise<void> {
  const path = resolveBenchInput({ file: args.file, format: args.format, records: Number(args.records) });
  const format = args.format as SplitFormat;
  const size = statSync(path).size;
  const split = { format, compression: 'none' as const, start: 0, end: format === 'parquet' ? Number.MAX_SAFE_INTEGER : size };
  const columns = networkMetrics.fields;

  async function measureDecode(): Promise<{ records: number; chunks: number; aggregates: number }> {
    const reader = createFileRangeReader(path);
    let records = 0;
    try {
      for await (const batch of readSplit(reader, { ...split, ...(columns === undefined ? {} : { columns }) })) records += batch.records.length;
    } finally {
      await reader.close();
    }
    return { records, chunks: 0, aggregates: 0 };
  }
  async function measureProcess(): Promise<{ records: number; chunks: number; aggregates: number }> {
    const reader = createFileRangeReader(path);
    let chunks = 0;
    let aggregates = 0;
    const store: CommitTarget = {
      commit: async (_runId: string, chunk: Chunk) => {
        chunks += 1;
        aggregates += chunk.aggregates.length;
        return { applied: true, expired: 0, keysWritten: chunk.aggregates.length };
      },
      progress: async () => undefined,
    };
    try {
      const result = await runSplit({ runId: 'bench', splitId: 'bench', ordinal: 0, reader, ...split }, { job: networkMetrics, options: {}, store });
      return { records: result.records, chunks, aggregates };
    } finally {
      await reader.close();
    }
  }

  const rows: { decode: Measured; full: Measured }[] = [];
  for (let round = 0; round < Number(args.rounds); round += 1) {
    const decode = await measure(measureDecode);
    const full = await measure(measureProcess);
    rows.push({ decode, full });
    const us = (m: Measured): string => ((m.cpuSeconds / m.records) * 1e6).toFixed(2);
    process.stdout.write(
      `round ${round + 1}: decode ${Math.round(decode.records / decode.seconds).toLocaleString('en-US')} rec/s (${us(decode)} µs CPU/rec), ` +
        `decode+process+combine ${Math.round(full.records / full.seconds).toLocaleString('en-US')} rec/s (${us(full)} µs CPU/rec, ` +
        `${full.chunks} chunks, ${(full.aggregates / full.chunks).toFixed(0)} aggregates/chunk); ratio ${(decode.seconds / full.seconds).toFixed(3)}\n`,
    );
  }
  const best = (pick: (r: { decode: Measured; full: Measured }) => Measured): Measured => rows.map(pick).reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const d = best((r) => r.decode);
  const f = best((r) => r.full);
  process.stdout.write(`\n${path} (${format}, ${d.records.toLocaleString('en-US')} records), best of ${rows.length}:\n`);
  process.stdout.write(`  decode alone                   ${Math.round(d.records / d.seconds).toLocaleString('en-US').padStart(10)} rec/s  ${((d.cpuSeconds / d.records) * 1e6).toFixed(2)} µs CPU/rec\n`);
  process.stdout.write(`  decode + process + combine     ${Math.round(f.records / f.seconds).toLocaleString('en-US').padStart(10)} rec/s  ${((f.cpuSeconds / f.records) * 1e6).toFixed(2)} µs CPU/rec\n`);
  process.stdout.write(`  ratio (processing path / decode alone): ${(d.seconds / f.seconds).toFixed(3)}\n`);
  process.stdout.write(`  peak RSS of this process: ${Math.round(readPeakRssKiB('self') / 1024)} MiB\n`);
}

await main();

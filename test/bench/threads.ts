/**
 * Whether decoding in a `worker_threads` thread makes a worker faster: one local NDJSON (or
 * Parquet) file run through network-metrics as a worker runs a split (runSplit with a store that
 * accepts every chunk), once with decoding inline and once with a thread decoding and posting
 * record batches (structured clones) to the main thread, which processes, combines and "commits".
 * Also measures what receiving the clones alone costs the main thread. Prints wall-clock
 * records/s, the process's CPU µs per record (all threads) and the main thread's busy share;
 * rounds alternate so load on the machine hits every path alike.
 *
 * Usage: node test/bench/threads.ts [--file path] [--format ndjson|parquet] [--records N] [--rounds N] [--credit N]
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { Chunk } from '@sluice/core';
import { createFileRangeReader } from '@sluice/formats';
import type { ReadSplitOptions, RecordBatch, SplitFormat } from '@sluice/formats';
import { runSplit } from '@sluice/runtime';
import type { CommitTarget, SplitTask } from '@sluice/runtime';
import { tuneGarbageCollector } from '@sluice/cli';
import { networkMetrics } from '../../jobs/network-metrics/src/index.ts';
import { BENCH_INPUT_OPTIONS, resolveBenchInput } from './bench-input.ts';

tuneGarbageCollector();
const { values: args } = parseArgs({
  options: { ...BENCH_INPUT_OPTIONS, credit: { type: 'string', default: '4' } },
});

interface Measured { records: number; seconds: number; cpuSeconds: number; mainBusySeconds: number }

async function measure(run: () => Promise<number>): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const records = await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  return { records, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainBusySeconds: elu.active / 1000 };
}

/** Record batches decoded by a thread, acknowledged one by one as the consumer takes them. */
async function* fromThread(path: string, split: ReadSplitOptions, credit: number): AsyncGenerator<RecordBatch> {
  const worker = new Worker(new URL('./threads/decode-thread.ts', import.meta.url), { workerData: { path, split, credit } });
  const queue: (RecordBatch | null)[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  worker.on('message', (batch: RecordBatch | null) => {
    queue.push(batch);
    wake?.();
  });
  worker.on('error', (error) => {
    failure = error;
    wake?.();
  });
  try {
    for (;;) {
      // Both handlers record what they bring before they wake this loop.
      if (queue.length === 0 && failure === undefined) await new Promise<void>((r) => (wake = r));
      if (failure !== undefined) throw failure;
      const batch = queue.shift() as RecordBatch | null;
      if (batch === null) return;
      worker.postMessage(1, []);
      yield batch;
    }
  } finally {
    await worker.terminate();
  }
}

async function main(): Promise<void> {
  const file = resolveBenchInput({ file: args.file, format: args.format, records: Number(args.records) });
  const format = args.format as SplitFormat;
  const credit = Number(args.credit);
  const split = { format, compression: 'none' as const, start: 0, end: format === 'parquet' ? Number.MAX_SAFE_INTEGER : statSync(file).size };
  const readOptions: ReadSplitOptions = { ...split, ...(networkMetrics.fields === undefined ? {} : { columns: networkMetrics.fields }) };
  const store: CommitTarget = {
    commit: async (_runId: string, chunk: Chunk) => ({ applied: true, expired: 0, keysWritten: chunk.aggregates.length }),
    progress: async () => undefined,
  };
  const task = { runId: 'bench', splitId: 'bench', ordinal: 0, ...split };
  const source: SplitTask['source'] = () => fromThread(file, readOptions, credit);

  const paths: Record<string, () => Promise<number>> = {
    'decode inline, process': async () => {
      const reader = createFileRangeReader(file);
      try {
        return (await runSplit({ ...task, reader }, { job: networkMetrics, options: {}, store })).records;
      } finally {
        await reader.close();
      }
    },
    'decode in a thread, process': async () => {
      return (await runSplit({ ...task, source }, { job: networkMetrics, options: {}, store })).records;
    },
    'decode in a thread, only receive': async () => {
      let records = 0;
      for await (const batch of fromThread(file, readOptions, credit)) records += batch.records.length;
      return records;
    },
  };
  const results = new Map<string, Measured[]>();
  for (let round = 0; round < Number(args.rounds); round += 1) {
    for (const [name, run] of Object.entries(paths)) {
      const m = await measure(run);
      results.set(name, [...(results.get(name) ?? []), m]);
      process.stderr.write(`round ${round + 1}: ${name}: ${Math.round(m.records / m.seconds).toLocaleString('en-US')} rec/s\n`);
    }
  }
  process.stdout.write(`\n${file} (${format}), best of ${args.rounds} (credit ${credit} batches):\n`);
  process.stdout.write(`${'path'.padEnd(34)} ${'records/s'.padStart(10)}  CPU µs/rec (all threads)  main thread busy\n`);
  let inline: Measured | undefined;
  for (const [name, runs] of results) {
    const best = runs.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
    inline ??= best;
    const rate = Math.round(best.records / best.seconds);
    process.stdout.write(
      `${name.padEnd(34)} ${rate.toLocaleString('en-US').padStart(10)}  ${((best.cpuSeconds / best.records) * 1e6).toFixed(2).padStart(24)}  ` +
        `${((best.mainBusySeconds / best.seconds) * 100).toFixed(0).padStart(14)}%   (${(inline.seconds / best.seconds).toFixed(2)}× inline)\n`,
    );
  }
}

await main();

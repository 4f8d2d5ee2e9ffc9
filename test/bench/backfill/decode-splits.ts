/**
 * One process of the benchmark's "decode alone" path: takes splits from its parent over IPC, one at
 * a time as a queue worker would, reads each through `readSplit` over the same ranged reader a
 * worker opens (WebHDFS for `webhdfs://` URLs) with the job's columns, and only counts the records:
 * no processing, no combiner, no Redis. Started by `test/bench/backfill.ts` with `fork`.
 *
 * Messages: parent → child `{ type: 'split', split }` or `{ type: 'stop' }`; child → parent
 * `{ type: 'ready' }`, `{ type: 'done', records, badRecords }` after each split, and
 * `{ type: 'exit', peakRssKiB, cpuSeconds }` (CPU since it said ready) before exiting.
 */
import { readFileSync } from 'node:fs';
import { createFileSystem } from '@sluice/hdfs';
import type { FileSystem } from '@sluice/hdfs';
import { readSplit } from '@sluice/formats';
import type { SplitCompression, SplitFormat } from '@sluice/formats';
import { networkMetrics } from '@sluice/job-network-metrics';

/** A split as the parent hands it over (the fields of a queue payload that reading needs). */
export interface DecodeSplit {
  url: string;
  format: SplitFormat;
  compression: SplitCompression;
  start: number;
  end: number;
}

/** Messages from the parent. */
export type ToDecoder = { type: 'split'; split: DecodeSplit } | { type: 'stop' };

/** Messages to the parent. */
export type FromDecoder =
  | { type: 'ready' }
  | { type: 'done'; records: number; badRecords: number }
  | { type: 'exit'; peakRssKiB: number; cpuSeconds: number }
  | { type: 'error'; message: string };

/** Peak resident set size of a process in KiB (VmHWM), from /proc. */
export function readPeakRssKiB(pid: number | 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (m === null) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]);
}

const fileSystems = new Map<string, FileSystem>();

function fileSystemFor(url: string): FileSystem {
  const parsed = new URL(url);
  const key = `${parsed.protocol}//${parsed.host}`;
  let fs = fileSystems.get(key);
  if (fs === undefined) {
    fs = createFileSystem(url);
    fileSystems.set(key, fs);
  }
  return fs;
}

async function decode(split: DecodeSplit): Promise<{ records: number; badRecords: number }> {
  const reader = fileSystemFor(split.url).createRangeReader(split.url);
  let records = 0;
  let badRecords = 0;
  const columns = networkMetrics.fields;
  for await (const batch of readSplit(reader, { format: split.format, compression: split.compression, start: split.start, end: split.end, ...(columns === undefined ? {} : { columns }) })) {
    records += batch.records.length;
    badRecords += batch.deadLetters.length;
  }
  return { records, badRecords };
}

function send(message: FromDecoder): void {
  process.send?.(message);
}

if (process.send !== undefined) {
  const cpuAtReady = process.cpuUsage();
  process.on('message', (message: ToDecoder) => {
    if (message.type === 'stop') {
      const cpu = process.cpuUsage(cpuAtReady);
      send({ type: 'exit', peakRssKiB: readPeakRssKiB('self'), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
      process.disconnect();
      return;
    }
    decode(message.split).then(
      (counts) => send({ type: 'done', ...counts }),
      (error: unknown) => send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  send({ type: 'ready' });
}

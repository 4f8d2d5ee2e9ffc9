/**
 * Decode throughput of `readSplit` on the WRCCDC 2018 dataset, against a raw baseline measured in
 * the same process: the whole file in memory, `zlib.gunzipSync`, `split('\n')`, then `JSON.parse`
 * (NDJSON) or a minimal typed Zeek TSV decode with no validation. Each file is measured gzip and as
 * an uncompressed copy in a temporary directory.
 *
 * Parquet: the NDJSON files converted (test/support/parquet-dataset.ts, row groups of 5,000 rows,
 * zstd and snappy pages), read by `readSplit` with every column and with only the network-metrics
 * job's columns, against hyparquet's own `parquetReadObjects` over the whole file (hyparquet-compressors,
 * as its README sets it up) with the same columns.
 *
 *   node test/bench/decode.ts            # 5 rounds, best round reported
 *   SLUICE_BENCH_ROUNDS=9 node test/bench/decode.ts
 *   SLUICE_DATASET_DIR=/data/wrccdc-2018 node test/bench/decode.ts
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { createFileRangeReader, readSplit } from '@sluice/formats';
import type { SplitCompression, SplitFormat } from '@sluice/formats';
import { networkMetrics } from '@sluice/job-network-metrics';
import { writeDatasetParquet } from '../support/parquet-dataset.ts';

const datasetDir = process.env.SLUICE_DATASET_DIR ?? resolve(import.meta.dirname, '../../../shared/datasets/wrccdc-2018');
const rounds = Number(process.env.SLUICE_BENCH_ROUNDS ?? '5');

const FILES: readonly { name: string; format: SplitFormat }[] = [
  { name: 'dns.ndjson.gz', format: 'ndjson' },
  { name: 'ssl.ndjson.gz', format: 'ndjson' },
  { name: 'dns.log.gz', format: 'zeek' },
  { name: 'ssl.log.gz', format: 'zeek' },
];

async function decodeWithReadSplit(path: string, format: SplitFormat, compression: SplitCompression): Promise<number> {
  const reader = createFileRangeReader(path);
  let records = 0;
  try {
    const size = await reader.size();
    for await (const batch of readSplit(reader, { format, compression, start: 0, end: size })) {
      records += batch.records.length;
      if (batch.deadLetters.length > 0) throw new Error(`unexpected dead letter in ${path}: ${batch.deadLetters[0]?.reason}`);
    }
  } finally {
    await reader.close();
  }
  return records;
}

function decodeBaseline(path: string, format: SplitFormat, compression: SplitCompression): number {
  const raw = readFileSync(path);
  const text = (compression === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
  const lines = text.split('\n');
  let records = 0;
  if (format === 'ndjson') {
    for (const line of lines) {
      if (line.length === 0) continue;
      if (JSON.parse(line) !== null) records += 1;
    }
    return records;
  }
  let fields: string[] = [];
  let types: string[] = [];
  let logPath = '';
  for (const line of lines) {
    if (line.length === 0) continue;
    if (line.startsWith('#')) {
      const parts = line.split('\t');
      if (parts[0] === '#fields') fields = parts.slice(1);
      else if (parts[0] === '#types') types = parts.slice(1);
      else if (parts[0] === '#path') logPath = parts[1] ?? '';
      continue;
    }
    const values = line.split('\t');
    const record: Record<string, unknown> = { _path: logPath };
    for (let i = 0; i < values.length; i += 1) {
      const value = values[i] as string;
      if (value === '-') continue;
      const type = types[i] as string;
      if (type === 'bool') record[fields[i] as string] = value === 'T';
      else if (type === 'time' || type === 'interval' || type === 'double' || type === 'count' || type === 'port' || type === 'int') {
        record[fields[i] as string] = Number(value);
      } else if (type.startsWith('vector') || type.startsWith('set')) {
        record[fields[i] as string] = value === '(empty)' ? [] : value.split(',');
      } else record[fields[i] as string] = value;
    }
    if (record._path !== undefined) records += 1;
  }
  return records;
}

async function decodeParquetWithReadSplit(path: string, rows: number, columns: readonly string[] | undefined): Promise<number> {
  const reader = createFileRangeReader(path);
  let records = 0;
  try {
    for await (const batch of readSplit(reader, { format: 'parquet', compression: 'none', start: 0, end: rows, ...(columns === undefined ? {} : { columns }) })) {
      records += batch.records.length;
    }
  } finally {
    await reader.close();
  }
  return records;
}

async function decodeParquetWithHyparquet(path: string, columns: readonly string[] | undefined): Promise<number> {
  const file = await asyncBufferFromFile(path);
  const rows = await parquetReadObjects({ file, compressors, ...(columns === undefined ? {} : { columns: [...columns] }) });
  return rows.length;
}

async function best(run: () => Promise<number> | number): Promise<{ records: number; seconds: number }> {
  let records = 0;
  let seconds = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round += 1) {
    const started = process.hrtime.bigint();
    records = await run();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return { records, seconds };
}

const scratch = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
try {
  const rows: string[][] = [['file', 'compression', 'records', 'readSplit rec/s', 'baseline rec/s', 'ratio', 'MB/s (uncompressed)']];
  for (const { name, format } of FILES) {
    const gzipPath = join(datasetDir, name);
    const plainPath = join(scratch, name.slice(0, -3));
    const plainBytes = gunzipSync(readFileSync(gzipPath));
    writeFileSync(plainPath, plainBytes);
    for (const [path, compression] of [[gzipPath, 'gzip'], [plainPath, 'none']] as const) {
      const ours = await best(() => decodeWithReadSplit(path, format, compression));
      const baseline = await best(() => decodeBaseline(path, format, compression));
      if (ours.records !== baseline.records) throw new Error(`${name}: readSplit read ${ours.records} records, the baseline ${baseline.records}`);
      rows.push([
        name,
        compression,
        String(ours.records),
        Math.round(ours.records / ours.seconds).toLocaleString('en-US'),
        Math.round(baseline.records / baseline.seconds).toLocaleString('en-US'),
        (baseline.seconds / ours.seconds).toFixed(2),
        (plainBytes.length / 1e6 / ours.seconds).toFixed(0),
      ]);
    }
  }
  printTable(rows);
  console.log(`\nbest of ${rounds} rounds; ratio = readSplit throughput / baseline throughput (node ${process.version})`);

  const parquetRows: string[][] = [['file', 'codec', 'columns', 'rows', 'readSplit rows/s', 'parquetReadObjects rows/s', 'ratio']];
  const fields = networkMetrics.fields ?? [];
  for (const codec of ['ZSTD', 'SNAPPY'] as const) {
    const dir = join(scratch, codec.toLowerCase());
    mkdirSync(dir);
    for (const file of writeDatasetParquet(dir, { codec })) {
      // parquetReadObjects refuses column names the file lacks (`version` is an ssl field).
      const present = fields.filter((f) => file.columns.includes(f));
      for (const [label, columns] of [[`all ${file.columns.length}`, undefined], [`job ${present.length}`, present]] as const) {
        const ours = await best(() => decodeParquetWithReadSplit(file.path, file.rows, columns));
        const theirs = await best(() => decodeParquetWithHyparquet(file.path, columns));
        if (ours.records !== file.rows || theirs.records !== file.rows) throw new Error(`${file.path}: ${ours.records} and ${theirs.records} rows, expected ${file.rows}`);
        parquetRows.push([
          basename(file.path),
          codec.toLowerCase(),
          label,
          String(file.rows),
          Math.round(ours.records / ours.seconds).toLocaleString('en-US'),
          Math.round(theirs.records / theirs.seconds).toLocaleString('en-US'),
          (theirs.seconds / ours.seconds).toFixed(2),
        ]);
      }
    }
  }
  console.log('');
  printTable(parquetRows);
  console.log(`\nParquet: row groups of 5,000 rows; ratio = readSplit throughput / parquetReadObjects throughput`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function printTable(table: readonly string[][]): void {
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of table) console.log(row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  '));
}

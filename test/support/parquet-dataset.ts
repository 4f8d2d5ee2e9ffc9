/**
 * The WRCCDC 2018 dataset as Parquet, for tests and benchmarks: each NDJSON file becomes one Parquet
 * file with every field as a nullable top-level column named as in Zeek JSON (`id.orig_h` is one
 * column, dot included), several row groups, and compressed pages. `ts` and `_write_ts` are stored
 * as TIMESTAMP(MICROS), the type a Zeek-to-Parquet pipeline would use; the rest keeps its JSON type.
 * Written with hyparquet-writer only, independently of `@sluice/formats`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, zstdCompressSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ColumnSource, ParquetWriteOptions, SchemaElement } from 'hyparquet-writer';
import { datasetFiles } from './network-metrics-reference.ts';

/** Options of `writeDatasetParquet`. */
export interface DatasetParquetOptions {
  /** Rows per row group; defaults to 5,000 (about ten row groups a file). */
  rowGroupSize?: number;
  /** Page codec; defaults to ZSTD. */
  codec?: 'SNAPPY' | 'ZSTD' | 'UNCOMPRESSED';
  /** Rows in event-time order (as an archive compacted by time is), so row groups cover disjoint spans; default file order. */
  sortByTime?: boolean;
}

/** A converted file. */
export interface DatasetParquetFile {
  path: string;
  rows: number;
  /** Names of the columns, in file order. */
  columns: string[];
}

const TIMESTAMP_FIELDS = new Set(['ts', '_write_ts']);

/** How a dataset field is stored in Parquet. */
export type ColumnType = 'TIMESTAMP' | 'BOOLEAN' | 'INT64' | 'DOUBLE' | 'STRING' | 'JSON';

/** Writes `dns.parquet` and `ssl.parquet` into `dir` from the dataset's NDJSON files. */
export function writeDatasetParquet(dir: string, options: DatasetParquetOptions = {}): DatasetParquetFile[] {
  const codec = options.codec ?? 'ZSTD';
  const compressors: NonNullable<ParquetWriteOptions['compressors']> = { ZSTD: (input: Uint8Array) => zstdCompressSync(input) };
  return datasetFiles('ndjson').map((source) => {
    const records = readNdjsonGz(source);
    if (options.sortByTime === true) records.sort((a, b) => Number(isoToMicros(a.ts as string) - isoToMicros(b.ts as string)));
    const names = fieldNames(records);
    const columnData: ColumnSource[] = [];
    const schema: SchemaElement[] = [{ name: 'root', num_children: names.length }];
    for (const name of names) {
      const values = records.map((r) => r[name]);
      const type = columnTypeOf(name, values);
      columnData.push({ name, data: values.map((v) => toColumnValue(type, v)) });
      schema.push(schemaElementOf(name, type));
    }
    const bytes = parquetWriteBuffer({ columnData, schema, codec, compressors, rowGroupSize: options.rowGroupSize ?? 5000 });
    const path = join(dir, `${source.slice(source.lastIndexOf('/') + 1).replace(/\.ndjson\.gz$/, '')}.parquet`);
    writeFileSync(path, new Uint8Array(bytes));
    return { path, rows: records.length, columns: names };
  });
}

function readNdjsonGz(path: string): Record<string, unknown>[] {
  return gunzipSync(readFileSync(path))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function fieldNames(records: readonly Record<string, unknown>[]): string[] {
  const names = new Set<string>();
  for (const record of records) for (const name of Object.keys(record)) names.add(name);
  return [...names];
}

/** The Parquet type of a field from its values (timestamps by name). */
export function columnTypeOf(name: string, values: readonly unknown[]): ColumnType {
  const present = values.filter((v) => v !== undefined && v !== null);
  if (TIMESTAMP_FIELDS.has(name) && present.every((v) => typeof v === 'string')) return 'TIMESTAMP';
  if (present.every((v) => typeof v === 'boolean')) return 'BOOLEAN';
  if (present.every((v) => typeof v === 'number')) return present.every((v) => Number.isSafeInteger(v)) ? 'INT64' : 'DOUBLE';
  if (present.every((v) => typeof v === 'string')) return 'STRING';
  return 'JSON';
}

/** A record value as the Parquet writer takes it for `type` (timestamps as exact microseconds). */
export function toColumnValue(type: ColumnType, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (type === 'TIMESTAMP') return isoToMicros(value as string);
  if (type === 'INT64') return BigInt(value as number);
  return value;
}

/** The optional Parquet schema element of a column of `type`. */
export function schemaElementOf(name: string, type: ColumnType): SchemaElement {
  const optional = { name, repetition_type: 'OPTIONAL' } as const;
  switch (type) {
    case 'TIMESTAMP':
      return { ...optional, type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } };
    case 'BOOLEAN':
      return { ...optional, type: 'BOOLEAN' };
    case 'INT64':
      return { ...optional, type: 'INT64' };
    case 'DOUBLE':
      return { ...optional, type: 'DOUBLE' };
    case 'STRING':
      return { ...optional, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
    case 'JSON':
      return { ...optional, type: 'BYTE_ARRAY', converted_type: 'JSON' };
  }
}

/** `2018-03-24T17:15:20.865716Z` to epoch microseconds, exactly (Date only sees whole seconds). */
function isoToMicros(iso: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (m === null) throw new Error(`unexpected timestamp ${iso}`);
  return BigInt(Date.parse(`${m[1]}Z`) / 1000) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

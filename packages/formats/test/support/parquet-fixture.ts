/**
 * Small Parquet files for unit tests, written with hyparquet-writer, and the records `readSplit`
 * must give for them, computed independently of the decoder.
 */
import { brotliCompressSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ColumnSource, ParquetWriteOptions, SchemaElement } from 'hyparquet-writer';

/** Page codecs the fixtures can be written with. */
export type FixtureCodec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'ZSTD' | 'BROTLI';

const COMPRESSORS: NonNullable<ParquetWriteOptions['compressors']> = {
  GZIP: (input: Uint8Array) => gzipSync(input),
  ZSTD: (input: Uint8Array) => zstdCompressSync(input),
  BROTLI: (input: Uint8Array) => brotliCompressSync(input),
};

/** Writes columns with an explicit schema (every column a nullable top-level field). */
export function writeParquet(
  columns: readonly { element: Omit<SchemaElement, 'name' | 'repetition_type'>; name: string; data: unknown[] }[],
  options: { rowGroupSize?: number | number[]; codec?: FixtureCodec; pageSize?: number } = {},
): Uint8Array {
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  const columnData: ColumnSource[] = [];
  for (const column of columns) {
    schema.push({ ...column.element, name: column.name, repetition_type: 'OPTIONAL' });
    columnData.push({ name: column.name, data: column.data });
  }
  const buffer = parquetWriteBuffer({
    columnData,
    schema,
    codec: options.codec ?? 'SNAPPY',
    compressors: COMPRESSORS,
    rowGroupSize: options.rowGroupSize ?? 10,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  });
  return new Uint8Array(buffer);
}

/** Epoch microseconds of the fixture's row `i`: distinct sub-millisecond parts, so a Date would lose them. */
export function fixtureMicros(i: number): bigint {
  return 1_521_911_720_865_716n + BigInt(i) * 1_000_001n;
}

/** `2018-03-24T17:15:20.865716Z` for epoch microseconds, computed without the decoder. */
export function isoOfMicros(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction.toString().padStart(6, '0')}Z`;
}

const BIG = 2n ** 60n + 7n;

/**
 * A Zeek-like table of `rows` rows: a dotted column name, nulls in every optional column, an INT64
 * that is sometimes beyond 2^53, a TIMESTAMP(MICROS) and a JSON list.
 */
export function writeFixture(rows: number, options: { rowGroupSize?: number | number[]; codec?: FixtureCodec } = {}): Uint8Array {
  const range = Array.from({ length: rows }, (_, i) => i);
  return writeParquet(
    [
      { name: 'row', element: { type: 'INT32' }, data: range },
      { name: '_path', element: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, data: range.map((i) => (i % 2 === 0 ? 'dns' : 'ssl')) },
      { name: 'id.orig_h', element: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, data: range.map((i) => (i % 5 === 4 ? null : `10.0.${i % 7}.${i}`)) },
      { name: 'established', element: { type: 'BOOLEAN' }, data: range.map((i) => (i % 3 === 2 ? null : i % 3 === 0)) },
      { name: 'port', element: { type: 'INT64' }, data: range.map((i) => (i % 11 === 10 ? null : i % 13 === 12 ? BIG + BigInt(i) : BigInt(i * 1000))) },
      { name: 'rtt', element: { type: 'DOUBLE' }, data: range.map((i) => (i % 4 === 3 ? null : i / 7)) },
      {
        name: 'ts',
        element: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } },
        data: range.map((i) => fixtureMicros(i)),
      },
      { name: 'answers', element: { type: 'BYTE_ARRAY', converted_type: 'JSON' }, data: range.map((i) => (i % 6 === 5 ? null : [`a${i}`, i])) },
    ],
    options,
  );
}

/** The record `readSplit` must give for row `i` of `writeFixture`. */
export function fixtureRecord(i: number): Record<string, unknown> {
  const record: Record<string, unknown> = { row: i, _path: i % 2 === 0 ? 'dns' : 'ssl' };
  if (i % 5 !== 4) record['id.orig_h'] = `10.0.${i % 7}.${i}`;
  if (i % 3 !== 2) record.established = i % 3 === 0;
  if (i % 11 !== 10) record.port = i % 13 === 12 ? BIG + BigInt(i) : i * 1000;
  if (i % 4 !== 3) record.rtt = i / 7;
  record.ts = isoOfMicros(fixtureMicros(i));
  if (i % 6 !== 5) record.answers = [`a${i}`, i];
  return record;
}

/** The columns of `writeFixture`, in file order. */
export const FIXTURE_COLUMNS: readonly string[] = ['row', '_path', 'id.orig_h', 'established', 'port', 'rtt', 'ts', 'answers'];

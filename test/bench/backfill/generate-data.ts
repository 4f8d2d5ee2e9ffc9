/**
 * The backfill benchmark's input: the WRCCDC dns and ssl records, copied until there are `records`
 * of them. Copy k is the original moved k × `spacingSeconds` back in time (whole minutes, so one-
 * minute buckets stay aligned) with the first octet of both IPs raised by k (mod 256), so the
 * number of series grows with the copies the way more hosts would make it grow. Only `ts`,
 * `id.orig_h` and `id.resp_h` change; every other field is the original's.
 *
 * The copies span at most about 40 hours, so one run-time shift (whole half-hours, see
 * `alignedShiftSeconds`) puts all of them inside kairos's 2-day retention of one-minute buckets
 * and nothing is dropped as expired, whenever the benchmark runs.
 *
 * Written once, as NDJSON parts of at most 256 MiB (two 128 MiB splits each) and as Parquet
 * (one table per log type, zstd pages, every field a column, `ts` as TIMESTAMP(MICROS)), under a
 * stamp: a second call with the same record count reuses the files.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, zstdCompressSync } from 'node:zlib';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { ColumnSource, SchemaElement } from 'hyparquet-writer';
import { datasetFiles } from '../../support/network-metrics-reference.ts';
import { columnTypeOf, schemaElementOf, toColumnValue } from '../../support/parquet-dataset.ts';
import type { ColumnType } from '../../support/parquet-dataset.ts';

/** One generated file. */
export interface BenchFile {
  path: string;
  bytes: number;
  records: number;
}

/** What `prepareBenchData` wrote (or found). */
export interface BenchData {
  dir: string;
  records: number;
  copies: number;
  /** Seconds between the start of one copy and the next (whole minutes). */
  spacingSeconds: number;
  /** Newest and oldest event time in the files, epoch microseconds (before any run-time shift). */
  newestMicros: number;
  oldestMicros: number;
  ndjson: BenchFile[];
  parquet: BenchFile[];
  /** Seconds the generation took (0 when reused). */
  generatedSeconds: number;
}

/** Bump when the generated files change, so stale stamps are regenerated. */
const STAMP_VERSION = 2;
/** A part holds whole lines up to this size: exactly two 128 MiB splits. */
const NDJSON_PART_BYTES = 256 * 1024 * 1024;
/** Rows of one Parquet row group: a few MiB compressed, so a 128 MiB split has dozens. */
const PARQUET_ROW_GROUP_ROWS = 100_000;
/** Rows of one Parquet file (an hour-sized table file of a Zeek archive; one 128 MiB split each). */
const PARQUET_FILE_ROWS = 500_000;
/** The longest span the copies may cover, so they stay within kairos's 2-day retention with hours to spare. */
const MAX_SPAN_MINUTES = 40 * 60;
/** Spacing of the copies when the span allows it. */
const DEFAULT_SPACING_MINUTES = 25;

/** Whole half-hours that move `newestMicros` to within the last half-hour of `nowMicros`: both kairos intervals (60 s, 1800 s) keep their bucket alignment. */
export function alignedShiftSeconds(newestMicros: number, nowMicros: number): number {
  return 1800 * Math.floor((nowMicros - newestMicros) / 1e6 / 1800);
}

/** Generates the data into `dir`, or returns what an earlier call with the same `records` left there. */
export function prepareBenchData(dir: string, records: number, log: (line: string) => void): BenchData {
  if (!Number.isSafeInteger(records) || records < 1) throw new Error(`records must be a positive integer, got ${records}`);
  const stampPath = join(dir, 'stamp.json');
  const stamped = readStamp(stampPath, records);
  if (stamped !== undefined) return { ...stamped, generatedSeconds: 0 };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'ndjson'), { recursive: true });
  mkdirSync(join(dir, 'parquet'), { recursive: true });
  const started = performance.now();
  const base = readBaseRecords();
  const copies = Math.ceil(records / base.length);
  const spacingMinutes = Math.max(1, Math.min(DEFAULT_SPACING_MINUTES, Math.floor(MAX_SPAN_MINUTES / copies)));
  const spacingSeconds = spacingMinutes * 60;
  log(`generating ${records.toLocaleString('en-US')} records: ${copies} copies of ${base.length.toLocaleString('en-US')}, ${spacingMinutes} min apart, into ${dir}`);

  const ndjson = createNdjsonParts(join(dir, 'ndjson'));
  const tables = new Map(['dns', 'ssl'].map((type) => [type, createParquetTable(join(dir, 'parquet'), type, base.filter((r) => r.type === type))]));
  let written = 0;
  let oldestMicros = Number.POSITIVE_INFINITY;
  let newestMicros = Number.NEGATIVE_INFINITY;
  for (let copy = 0; copy < copies && written < records; copy += 1) {
    const shiftSeconds = copy * spacingSeconds;
    for (const record of base) {
      if (written >= records) break;
      const tsMicros = record.tsMicros - shiftSeconds * 1e6;
      oldestMicros = Math.min(oldestMicros, tsMicros);
      newestMicros = Math.max(newestMicros, tsMicros);
      ndjson.add(copyLine(record, copy, shiftSeconds));
      tables.get(record.type)?.add(record, copy, tsMicros);
      written += 1;
    }
    if (copy % 10 === 9) log(`  ${written.toLocaleString('en-US')} records written`);
  }
  const data: Omit<BenchData, 'generatedSeconds'> = {
    dir,
    records,
    copies,
    spacingSeconds,
    newestMicros,
    oldestMicros,
    ndjson: ndjson.finish(),
    parquet: [...tables.values()].flatMap((t) => t.finish()),
  };
  writeFileSync(stampPath, `${JSON.stringify({ version: STAMP_VERSION, ...data }, null, 2)}\n`);
  return { ...data, generatedSeconds: (performance.now() - started) / 1000 };
}

function readStamp(path: string, records: number): Omit<BenchData, 'generatedSeconds'> | undefined {
  if (!existsSync(path)) return undefined;
  const stamp = JSON.parse(readFileSync(path, 'utf8')) as Omit<BenchData, 'generatedSeconds'> & { version: number };
  if (stamp.version !== STAMP_VERSION || stamp.records !== records) return undefined;
  const intact = [...stamp.ndjson, ...stamp.parquet].every((f) => existsSync(f.path) && statSync(f.path).size === f.bytes);
  if (!intact) return undefined;
  const { version: _version, ...data } = stamp;
  return data;
}

/** A base record, with its line cut where the copies differ. */
interface BaseRecord {
  type: 'dns' | 'ssl';
  record: Record<string, unknown>;
  line: string;
  tsMicros: number;
  /** Whole seconds of `ts` (epoch ms) and its fraction text (`.865716`). */
  tsWholeMs: number;
  tsFraction: string;
  /** The line in pieces: before ts, ts..orig, orig..resp, after resp (the values themselves left out). */
  pieces: [string, string, string, string];
  orig: [number, string];
  resp: [number, string];
}

function readBaseRecords(): BaseRecord[] {
  const out: BaseRecord[] = [];
  for (const file of datasetFiles('ndjson')) {
    for (const line of gunzipSync(readFileSync(file)).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const record = JSON.parse(line) as Record<string, unknown>;
      const type = record._path;
      if (type !== 'dns' && type !== 'ssl') throw new Error(`unexpected _path ${String(type)} in ${file}`);
      const ts = record.ts as string;
      const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,6})?Z$/.exec(ts);
      if (m === null) throw new Error(`unexpected ts ${ts} in ${file}`);
      const tsWholeMs = Date.parse(`${m[1] as string}Z`);
      const tsFraction = m[2] ?? '';
      const orig = record['id.orig_h'] as string;
      const resp = record['id.resp_h'] as string;
      const tsAt = valueAt(line, 'ts', ts);
      const origAt = valueAt(line, 'id.orig_h', orig);
      const respAt = valueAt(line, 'id.resp_h', resp);
      if (!(tsAt < origAt && origAt < respAt)) throw new Error(`unexpected field order in ${line}`);
      out.push({
        type,
        record,
        line,
        tsMicros: tsWholeMs * 1000 + Number(tsFraction.slice(1).padEnd(6, '0')),
        tsWholeMs,
        tsFraction,
        pieces: [line.slice(0, tsAt), line.slice(tsAt + ts.length, origAt), line.slice(origAt + orig.length, respAt), line.slice(respAt + resp.length)],
        orig: splitFirstOctet(orig),
        resp: splitFirstOctet(resp),
      });
    }
  }
  return out;
}

/** Index of the value of string field `name` in a JSON line. */
function valueAt(line: string, name: string, value: string): number {
  const marker = `"${name}":"`;
  const at = line.indexOf(marker);
  if (at === -1 || line.slice(at + marker.length, at + marker.length + value.length) !== value) throw new Error(`field ${name} not found in ${line}`);
  return at + marker.length;
}

function splitFirstOctet(ip: string): [number, string] {
  const dot = ip.indexOf('.');
  const first = Number(ip.slice(0, dot));
  if (dot === -1 || !Number.isInteger(first)) throw new Error(`not an IPv4 address: ${ip}`);
  return [first, ip.slice(dot)];
}

function remapIp([first, rest]: [number, string], copy: number): string {
  return `${(first + copy) % 256}${rest}`;
}

function copyLine(r: BaseRecord, copy: number, shiftSeconds: number): string {
  if (copy === 0) return r.line;
  const ts = `${new Date(r.tsWholeMs - shiftSeconds * 1000).toISOString().slice(0, 19)}${r.tsFraction}Z`;
  return `${r.pieces[0]}${ts}${r.pieces[1]}${remapIp(r.orig, copy)}${r.pieces[2]}${remapIp(r.resp, copy)}${r.pieces[3]}`;
}

function createNdjsonParts(dir: string): { add(line: string): void; finish(): BenchFile[] } {
  const files: BenchFile[] = [];
  let fd = -1;
  let current: BenchFile | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    writeSync(fd, `${pending.join('\n')}\n`);
    pending = [];
    pendingBytes = 0;
  };
  const close = (): void => {
    flush();
    if (fd !== -1) closeSync(fd);
    fd = -1;
  };
  return {
    add(line) {
      const bytes = Buffer.byteLength(line) + 1;
      if (current === undefined || current.bytes + bytes > NDJSON_PART_BYTES) {
        close();
        current = { path: join(dir, `part-${String(files.length).padStart(5, '0')}.ndjson`), bytes: 0, records: 0 };
        files.push(current);
        fd = openSync(current.path, 'w');
      }
      pending.push(line);
      pendingBytes += bytes;
      current.bytes += bytes;
      current.records += 1;
      if (pendingBytes >= 4 * 1024 * 1024) flush();
    },
    finish() {
      close();
      return files;
    },
  };
}

/** One log type's Parquet files: rows buffered to a row group, files rolled every PARQUET_FILE_ROWS rows. */
function createParquetTable(dir: string, type: string, base: readonly BaseRecord[]): { add(r: BaseRecord, copy: number, tsMicros: number): void; finish(): BenchFile[] } {
  const names = [...new Set(base.flatMap((r) => Object.keys(r.record)))];
  const types = names.map((name) => columnTypeOf(name, base.map((r) => r.record[name])));
  const schema: SchemaElement[] = [{ name: 'root', num_children: names.length }, ...names.map((name, i) => schemaElementOf(name, types[i] as ColumnType))];
  // INT64 values as bigints once per base record, not once per copy.
  const converted = new Map(base.map((r) => [r, names.map((name, i) => toColumnValue(types[i] as ColumnType, r.record[name]))]));
  const files: BenchFile[] = [];
  let writer: ParquetWriter | undefined;
  let current: BenchFile | undefined;
  let rows: unknown[][] = names.map(() => []);
  let buffered = 0;
  const tsIndex = names.indexOf('ts');
  const origIndex = names.indexOf('id.orig_h');
  const respIndex = names.indexOf('id.resp_h');
  const flushRowGroup = (): void => {
    if (buffered === 0 || writer === undefined) return;
    const columnData: ColumnSource[] = names.map((name, i) => ({ name, data: rows[i] as unknown[] }));
    void writer.write({ columnData, rowGroupSize: PARQUET_ROW_GROUP_ROWS });
    rows = names.map(() => []);
    buffered = 0;
  };
  const closeFile = (): void => {
    flushRowGroup();
    if (writer !== undefined && current !== undefined) {
      void writer.finish();
      current.bytes = statSync(current.path).size;
    }
    writer = undefined;
  };
  return {
    add(r, copy, tsMicros) {
      if (current === undefined || current.records >= PARQUET_FILE_ROWS) {
        closeFile();
        current = { path: join(dir, `${type}-${String(files.length).padStart(5, '0')}.parquet`), bytes: 0, records: 0 };
        files.push(current);
        writer = new ParquetWriter({ writer: fileWriter(current.path), schema, codec: 'ZSTD', compressors: { ZSTD: (input: Uint8Array) => zstdCompressSync(input) } });
      }
      const values = converted.get(r) as unknown[];
      for (let i = 0; i < values.length; i += 1) {
        let v = values[i];
        if (i === tsIndex) v = BigInt(tsMicros);
        else if (copy > 0 && i === origIndex) v = remapIp(r.orig, copy);
        else if (copy > 0 && i === respIndex) v = remapIp(r.resp, copy);
        (rows[i] as unknown[]).push(v);
      }
      buffered += 1;
      current.records += 1;
      if (buffered >= PARQUET_ROW_GROUP_ROWS) flushRowGroup();
    },
    finish() {
      closeFile();
      return files;
    },
  };
}

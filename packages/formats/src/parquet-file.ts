/**
 * A Parquet file seen through a RangeReader: hyparquet's `AsyncBuffer` over ranged reads, the footer
 * read once per reader, and the row-group layout both planning and reading work from. Every failure
 * that is the file's fault becomes a non-retryable CORRUPT_INPUT naming the URL; failures of the
 * reader itself (a SluiceError such as UNAVAILABLE) pass through unchanged, so they stay retryable.
 */
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { parquetMetadataAsync, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, ParquetParsers, SchemaTree } from 'hyparquet';

/** One row group: where its rows sit in the file and what its column chunks weigh. */
export interface ParquetRowGroup {
  /** Row index of its first row in the file. */
  start: number;
  rows: number;
  /** Compressed bytes of each top-level column's chunks, by column name. */
  columnBytes: ReadonlyMap<string, number>;
  /** Compressed bytes of the whole row group. */
  bytes: number;
}

/** An opened Parquet file. */
export interface ParquetFile {
  url: string;
  buffer: AsyncBuffer;
  metadata: FileMetaData;
  /** Top-level columns in schema order. */
  columns: readonly SchemaTree[];
  rowGroups: readonly ParquetRowGroup[];
  rows: number;
}

/**
 * Timestamps as ISO-8601 UTC strings with the column's own precision, the way Zeek JSON writes
 * `ts`: hyparquet's default (a Date) would drop the microseconds that bucketing and gauge ordering
 * depend on.
 */
export const PARQUET_PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (value: bigint) => formatEpoch(value, 1000n),
  timestampFromMicroseconds: (value: bigint) => formatEpoch(value, 1_000_000n),
  timestampFromNanoseconds: (value: bigint) => formatEpoch(value, 1_000_000_000n),
};

const files = new WeakMap<RangeReader, Promise<ParquetFile>>();

/** Reads the footer of the reader's file once; later calls with the same reader share it. */
export function openParquetFile(reader: RangeReader): Promise<ParquetFile> {
  let pending = files.get(reader);
  if (pending === undefined) {
    pending = loadParquetFile(reader);
    files.set(reader, pending);
    // A failed open is not remembered: a retry of the split reads the footer again.
    pending.catch(() => {
      if (files.get(reader) === pending) files.delete(reader);
    });
  }
  return pending;
}

/** Converts a failure while decoding `url` into CORRUPT_INPUT, unless it is already a SluiceError. */
export function toParquetError(error: unknown, url: string, doing: string, context: Readonly<Record<string, unknown>> = {}): SluiceError {
  if (isSluiceError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SluiceError(ErrorCode.CORRUPT_INPUT, `${url} is not a readable Parquet file: ${doing} failed: ${message}`, {
    retryable: false,
    cause: error,
    context: { url, ...context },
  });
}

async function loadParquetFile(reader: RangeReader): Promise<ParquetFile> {
  const url = reader.url;
  const size = await reader.size();
  const buffer = createAsyncBuffer(reader, size);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer, { parsers: PARQUET_PARSERS });
  } catch (error) {
    throw toParquetError(error, url, 'reading the footer (truncated, or not Parquet?)', { size });
  }
  const columns = parquetSchema(metadata).children;
  const rowGroups: ParquetRowGroup[] = [];
  let start = 0;
  for (const [index, group] of metadata.row_groups.entries()) {
    const rows = Number(group.num_rows);
    const columnBytes = new Map<string, number>();
    let bytes = 0;
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (meta === undefined || chunk.file_path !== undefined) {
        throw toParquetError(new Error(`row group ${index} has a column chunk ${meta === undefined ? 'without metadata' : `in another file (${chunk.file_path})`}`), url, 'reading the footer', { rowGroup: index });
      }
      const name = meta.path_in_schema[0] ?? '';
      const compressed = Number(meta.total_compressed_size);
      columnBytes.set(name, (columnBytes.get(name) ?? 0) + compressed);
      bytes += compressed;
    }
    if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(bytes) || bytes < 0) {
      throw toParquetError(new Error(`row group ${index} claims ${rows} rows and ${bytes} bytes`), url, 'reading the footer', { rowGroup: index });
    }
    rowGroups.push({ start, rows, columnBytes, bytes });
    start += rows;
  }
  return { url, buffer, metadata, columns, rowGroups, rows: start };
}

/** hyparquet's file abstraction over ranged reads: a short read means the footer points past the end. */
function createAsyncBuffer(reader: RangeReader, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end: number = size): Promise<ArrayBuffer> {
      const length = end - start;
      if (start < 0 || length < 0 || end > size) {
        throw new SluiceError(ErrorCode.CORRUPT_INPUT, `${reader.url} is not a readable Parquet file: it points at bytes [${start}, ${end}) of a ${size}-byte file`, {
          retryable: false,
          context: { url: reader.url, start, end, size },
        });
      }
      const bytes = await reader.read(start, length);
      if (bytes.byteLength !== length) {
        throw new SluiceError(ErrorCode.CORRUPT_INPUT, `${reader.url} is shorter than its Parquet footer says: bytes [${start}, ${end}) gave ${bytes.byteLength} bytes`, {
          retryable: false,
          context: { url: reader.url, start, end, size, got: bytes.byteLength },
        });
      }
      return toArrayBuffer(bytes);
    },
  };
}

/** The bytes as an ArrayBuffer of exactly their length; copies only when they are a view (Buffer pool). */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.buffer;
  if (whole instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === whole.byteLength) return whole;
  // Not `bytes.slice()`: on a Buffer that is a view of the same pool, not a copy.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * `2018-03-24T17:15:20.865716Z` from an integer count of `perSecond` units since the epoch, exact at
 * any precision. Instants beyond Date's range (±275,000 years) keep their integer value.
 */
function formatEpoch(value: bigint, perSecond: bigint): string | number | bigint {
  if (typeof value !== 'bigint') return value;
  const units = Number(value);
  const scale = Number(perSecond);
  let seconds: number;
  let fraction: number;
  if (Number.isSafeInteger(units)) {
    // Exact in doubles, and much cheaper than bigint division on every row.
    seconds = Math.floor(units / scale);
    fraction = units - seconds * scale;
  } else {
    let whole = value / perSecond;
    let rest = value % perSecond;
    if (rest < 0n) {
      rest += perSecond;
      whole -= 1n;
    }
    seconds = Number(whole);
    fraction = Number(rest);
  }
  const prefix = formatSeconds(seconds);
  if (prefix === undefined) return Number.isSafeInteger(units) ? units : value;
  // One join, not a template: a concatenation longer than 12 characters is a rope that the parser's
  // first charCodeAt must flatten, which cost more than formatting and parsing together. A join
  // builds a flat string.
  return [prefix, fractionDigits(fraction, scale), 'Z'].join('');
}

/** `000`…`999`, so a fraction is formatted by table lookups instead of number-to-string conversions. */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** The fraction zero-padded to the unit's digits: 3 for milliseconds, 6 for microseconds, 9 for nanoseconds. */
function fractionDigits(fraction: number, scale: number): string {
  if (scale === 1_000_000) {
    const high = Math.floor(fraction / 1000);
    return (THREE_DIGITS[high] as string) + (THREE_DIGITS[fraction - high * 1000] as string);
  }
  if (scale === 1000) return THREE_DIGITS[fraction] as string;
  // `scale + fraction` is a 1 followed by the fraction zero-padded to the unit's digits.
  return String(scale + fraction).slice(1);
}

/** `00`…`59`, for the time of day. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const SECONDS_PER_DAY = 86_400;
/** The furthest instant from the epoch a Date holds, in seconds. */
const DATE_LIMIT_SECONDS = 8.64e12;

let lastSeconds = Number.NaN;
let lastPrefix: string | undefined;
let lastDay = Number.NaN;
let lastDayPrefix = '';

/**
 * `2018-03-24T17:15:20.` of epoch seconds. Consecutive rows mostly share their second, and nearly
 * always their day, so only the date goes through `Date`.
 */
function formatSeconds(seconds: number): string | undefined {
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    if (!(Math.abs(seconds) <= DATE_LIMIT_SECONDS)) return (lastPrefix = undefined);
    const day = Math.floor(seconds / SECONDS_PER_DAY);
    if (day !== lastDay) {
      const iso = new Date(day * SECONDS_PER_DAY * 1000).toISOString();
      // Years beyond 9999 are written `+010000-…`, so the date ends at the `T`, wherever it is.
      lastDayPrefix = iso.slice(0, iso.indexOf('T') + 1);
      lastDay = day;
    }
    const time = seconds - day * SECONDS_PER_DAY;
    const hour = Math.floor(time / 3600);
    const minute = Math.floor((time - hour * 3600) / 60);
    lastPrefix = [lastDayPrefix, TWO_DIGITS[hour], ':', TWO_DIGITS[minute], ':', TWO_DIGITS[time - hour * 3600 - minute * 60], '.'].join('');
  }
  return lastPrefix;
}

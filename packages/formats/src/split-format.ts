/**
 * The record formats and compressions a split can be read in. Kept as string unions because they
 * travel in queue payloads as plain JSON.
 */

/**
 * Record formats. The text formats hold one record a line (except the header lines of Zeek TSV and
 * CSV) and are split by byte ranges; Parquet is split by row groups and its splits are row ranges.
 */
export const SplitFormat = {
  /** One JSON object a line (Zeek JSON streaming logs, JSON Lines). */
  NDJSON: 'ndjson',
  /** Zeek's native tab-separated logs, typed by their `#fields` / `#types` header. */
  ZEEK: 'zeek',
  /** RFC 4180 CSV whose first line names the columns. */
  CSV: 'csv',
  /** Apache Parquet; a split's `start`/`end` are row indices, not byte offsets. */
  PARQUET: 'parquet',
} as const;

/** Union of the record formats. */
export type SplitFormat = (typeof SplitFormat)[keyof typeof SplitFormat];

/** Byte-level compressions of a whole file. */
export const SplitCompression = {
  /** Also Parquet's: its pages carry their own codecs (snappy, gzip, zstd, brotli, lz4). */
  NONE: 'none',
  /** gzip, including files of several concatenated members; never splittable. */
  GZIP: 'gzip',
} as const;

/** Union of the compressions. */
export type SplitCompression = (typeof SplitCompression)[keyof typeof SplitCompression];

const FORMATS: ReadonlySet<string> = new Set(Object.values(SplitFormat));
const COMPRESSIONS: ReadonlySet<string> = new Set(Object.values(SplitCompression));

/** True for a known record format name. */
export function isSplitFormat(value: unknown): value is SplitFormat {
  return typeof value === 'string' && FORMATS.has(value);
}

/** True for a known compression name. */
export function isSplitCompression(value: unknown): value is SplitCompression {
  return typeof value === 'string' && COMPRESSIONS.has(value);
}

/**
 * Whether a text file in this compression can be cut into byte-range splits. A gzip stream can only
 * be decoded from its first byte, so a gzip file is always exactly one split. Parquet is planned by
 * row groups instead (`planParquetSplits`).
 */
export function isSplittable(compression: SplitCompression): boolean {
  return compression === SplitCompression.NONE;
}

/**
 * The record formats and compressions a split can be read in. Kept as string unions because they
 * travel in queue payloads as plain JSON.
 */

/** Record formats: one record a line, except for the header lines of Zeek TSV and CSV. */
export const SplitFormat = {
  /** One JSON object a line (Zeek JSON streaming logs, JSON Lines). */
  NDJSON: 'ndjson',
  /** Zeek's native tab-separated logs, typed by their `#fields` / `#types` header. */
  ZEEK: 'zeek',
  /** RFC 4180 CSV whose first line names the columns. */
  CSV: 'csv',
} as const;

/** Union of the record formats. */
export type SplitFormat = (typeof SplitFormat)[keyof typeof SplitFormat];

/** Byte-level compressions. */
export const SplitCompression = {
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
 * Whether a file in this compression can be cut into byte-range splits. A gzip stream can only be
 * decoded from its first byte, so a gzip file is always exactly one split.
 */
export function isSplittable(compression: SplitCompression): boolean {
  return compression === SplitCompression.NONE;
}

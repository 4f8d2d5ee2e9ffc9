/**
 * Format detection from file names, so a backfill over a directory of `.log.gz` files needs no
 * per-file configuration. Content sniffing is deliberately absent: a name is cheap, stable and
 * visible to the person who has to fix it. (The content can only refuse a name: a plain-text split
 * whose file starts like gzip or Parquet fails, see `check-text-content.ts`.)
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import { SplitCompression, SplitFormat } from './split-format.ts';

/** What a file's name says about how to decode it. */
export interface DetectedFormat {
  format: SplitFormat;
  compression: SplitCompression;
}

const BY_EXTENSION: Readonly<Record<string, SplitFormat>> = {
  ndjson: SplitFormat.NDJSON,
  jsonl: SplitFormat.NDJSON,
  json: SplitFormat.NDJSON,
  log: SplitFormat.ZEEK,
  tsv: SplitFormat.ZEEK,
  csv: SplitFormat.CSV,
  parquet: SplitFormat.PARQUET,
  parq: SplitFormat.PARQUET,
};

/**
 * The format and compression of a path or URL from its extension: `.ndjson`, `.jsonl`, `.json`
 * (one JSON object a line), `.log`, `.tsv` (Zeek TSV with a `#fields` header), `.csv`, each
 * optionally followed by `.gz`, and `.parquet`, `.parq` (never `.gz`: Parquet is read by ranges
 * and compresses its own pages). Throws INVALID_CONFIG for any other name.
 */
export function detectFormat(path: string): DetectedFormat {
  const name = baseName(path).toLowerCase();
  let rest = name;
  let compression: SplitCompression = SplitCompression.NONE;
  if (rest.endsWith('.gz')) {
    compression = SplitCompression.GZIP;
    rest = rest.slice(0, -3);
  }
  const dot = rest.lastIndexOf('.');
  const format = dot === -1 ? undefined : BY_EXTENSION[rest.slice(dot + 1)];
  if (format === undefined) {
    throw new SluiceError(
      ErrorCode.INVALID_CONFIG,
      `cannot tell the format of ${JSON.stringify(path)} from its name: rename it to end in ` +
        '.ndjson, .jsonl, .json, .log (Zeek TSV), .tsv (Zeek TSV) or .csv, optionally followed by .gz, ' +
        "or .parquet, or name the format explicitly (format: 'ndjson' | 'zeek' | 'csv' | 'parquet', compression: 'none' | 'gzip')",
      { context: { path, knownExtensions: [...Object.keys(BY_EXTENSION), 'gz'] } },
    );
  }
  if (format === SplitFormat.PARQUET && compression !== SplitCompression.NONE) {
    throw new SluiceError(
      ErrorCode.INVALID_CONFIG,
      `${JSON.stringify(path)} is a gzip-compressed Parquet file, which cannot be read by ranges: store it uncompressed ` +
        '(Parquet compresses its pages itself, e.g. with snappy or zstd)',
      { context: { path } },
    );
  }
  return { format, compression };
}

function baseName(path: string): string {
  let end = path.length;
  // A URL's query or fragment is not part of the file name.
  if (path.includes('://')) {
    const cut = path.search(/[?#]/);
    if (cut !== -1) end = cut;
  }
  const trimmed = path.slice(0, end).replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

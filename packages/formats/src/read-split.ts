/**
 * `readSplit`: the records of one split of one file, in batches, with the position of every record
 * (byte offset; row index for Parquet) and the records that failed to decode as dead letters.
 *
 * Batches hold exactly `batchSize` items (records plus dead letters), except the last: their
 * boundaries depend only on the file and the split, never on how the bytes arrived, so a retry
 * decodes the same batches.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { DeadLetter, RangeReader } from '@sluice/core';
import { checkTextContent } from './check-text-content.ts';
import { CsvLineDecoder } from './csv-decoder.ts';
import { readGunzipChunks } from './gunzip-chunks.ts';
import type { GunzipPosition } from './gunzip-chunks.ts';
import { skipByteOrderMark } from './line-decoder.ts';
import type { DecodedRecord, LineDecoder } from './line-decoder.ts';
import { readParquetSplit } from './parquet-decoder.ts';
import type { RecordBatch } from './record-batch.ts';
import { readLineSegments, readSplitBytes } from './line-segments.ts';
import type { LineSegment } from './line-segments.ts';
import { NdjsonLineDecoder } from './ndjson-decoder.ts';
import { readCsvFileHeader, readZeekFileHeader } from './read-file-header.ts';
import { SplitCompression, SplitFormat, isSplitCompression, isSplitFormat } from './split-format.ts';
import { ZeekLineDecoder } from './zeek-decoder.ts';

export type { RecordBatch } from './record-batch.ts';

/** What to read. */
export interface ReadSplitOptions {
  format: SplitFormat;
  /** Must be `none` for Parquet, whose pages carry their own codecs. */
  compression: SplitCompression;
  /** First byte of the split; for Parquet, its first row index. A gzip file is one split: start must be 0. */
  start: number;
  /**
   * End of the split (exclusive); the last line starting before it is read to its end. Ignored for
   * gzip. For Parquet, the row index just after its last row (`planParquetSplits`).
   */
  end: number;
  /** Items (records plus dead letters) per batch; defaults to 2048. */
  batchSize?: number;
  /**
   * Skip the lines that start before this offset: a retried split resumes just after its last
   * committed chunk. Plain text seeks there; gzip decompresses and discards (header lines are
   * still applied). For gzip it is an offset in the uncompressed stream; for Parquet, a row index
   * (the pages before it are not decoded when the file has an offset index).
   */
  resumeFrom?: number;
  /**
   * The fields the job reads (`JobDefinition.fields`): Parquet decodes only these columns (names the
   * file lacks are skipped). Text formats decode every field whatever this says.
   */
  columns?: readonly string[];
  /**
   * Longest line, in bytes with its terminator, that is decoded (default 16 MiB, at most 256 MiB).
   * A longer line becomes a dead letter holding its first KiB, and is never held whole in memory;
   * a longer header line (CSV column names, a Zeek `#` line) fails the split with `CORRUPT_INPUT`.
   */
  maxLineBytes?: number;
}

const DEFAULT_BATCH_SIZE = 2048;
const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/** Well under V8's longest string (2^29 - 24 UTF-16 units), which a line becomes when decoded. */
const MAX_MAX_LINE_BYTES = 256 * 1024 * 1024;
/** Dead letters keep at most this many bytes of their line. */
const MAX_RAW_BYTES = 1024;

/**
 * Reads the lines that start in `[start, end)` (Hadoop's rule, see `readLineSegments`), decoded in
 * `format`, as batches; for Parquet, the rows `[start, end)` (see `readParquetSplit`). Blank lines
 * are skipped; lines that do not decode become dead letters and the split goes on. An I/O error, a
 * corrupt gzip stream or an undecodable Parquet row group is thrown after a batch with every record
 * decoded before it, so a caller can commit what was good and resume after it.
 */
export async function* readSplit(reader: RangeReader, options: ReadSplitOptions): AsyncGenerator<RecordBatch> {
  const { format, compression, start, end } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const resumeFrom = options.resumeFrom ?? 0;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  validate(reader, options, batchSize, resumeFrom, maxLineBytes);
  const url = reader.url;
  if (format === SplitFormat.PARQUET) {
    yield* readParquetSplit(reader, { start, end, resumeFrom, batchSize, columns: options.columns });
    return;
  }

  let decoder: LineDecoder;
  let segments: AsyncIterable<LineSegment>;
  let limit: number;
  let consumedTo: number;
  // gzip: progress counts compressed bytes, the unit of the file sizes a run's total is made of.
  let gzip: GunzipPosition | undefined;
  let gzipCounted = 0;
  if (compression === SplitCompression.GZIP) {
    decoder = await createDecoder(reader, format, false, false);
    gzip = { compressed: 0 };
    segments = readLineSegments(readGunzipChunks(reader, gzip), 0, false, Number.POSITIVE_INFINITY, maxLineBytes);
    limit = Number.POSITIVE_INFINITY;
    consumedTo = resumeFrom;
  } else {
    const from = Math.max(start, resumeFrom);
    if (from >= end) return;
    // Every split of the file checks, so none of them turns a misnamed file into dead letters.
    await checkTextContent(reader, format);
    decoder = await createDecoder(reader, format, from > 0, true);
    // From `from - 1`: if that byte is a newline, the line at `from` is this split's.
    const first = from > 0 ? from - 1 : 0;
    segments = readLineSegments(readSplitBytes(reader, first, end), first, from > 0, end, maxLineBytes);
    limit = end;
    consumedTo = from;
  }

  let records: DecodedRecord[] = [];
  let offsets: number[] = [];
  let deadLetters: DeadLetter[] = [];
  let bytes = 0;
  const pendingBytes = (): number => (gzip === undefined ? bytes : gzip.compressed - gzipCounted);
  const take = (): RecordBatch => {
    const batch = { records, offsets, deadLetters, endOffset: consumedTo, bytes: pendingBytes() };
    if (gzip !== undefined) gzipCounted = gzip.compressed;
    records = [];
    offsets = [];
    deadLetters = [];
    bytes = 0;
    return batch;
  };

  try {
    reading: for await (const segment of segments) {
      const buf = segment.buf;
      const to = segment.to;
      const shift = segment.offset - segment.from;
      let a = segment.from;
      while (a < to) {
        const offset = a + shift;
        if (offset >= limit) break reading;
        const nl = buf.indexOf(10, a);
        let lineEnd: number;
        let next: number;
        if (segment.overlong !== undefined) {
          lineEnd = to;
          next = to;
        } else if (nl === -1 || nl >= to) {
          lineEnd = to;
          next = to;
        } else {
          lineEnd = nl;
          next = nl + 1;
        }
        // A byte order mark belongs to the file, not to its first line: a first line holding only a
        // BOM is blank, and CSV must not take it for a header naming one empty column.
        const lineStart = offset === 0 ? skipByteOrderMark(buf, a, lineEnd, 0) : a;
        const lineBytes = segment.overlong ?? next - a;
        if (lineBytes > maxLineBytes) {
          if (offset >= resumeFrom) {
            if (decoder.isHeaderLine(buf, lineStart)) throw overlongHeader(url, offset, lineBytes, maxLineBytes);
            bytes += lineBytes;
            consumedTo = offset + lineBytes;
            const reason = `line of ${lineBytes} bytes exceeds the longest line read, ${maxLineBytes} bytes (maxLineBytes)`;
            deadLetters.push({ provenance: `${url}@${offset}`, reason, raw: rawText(buf, lineStart, lineEnd, Math.min(MAX_RAW_BYTES, maxLineBytes)) });
            if (records.length + deadLetters.length >= batchSize) yield take();
          } else if (gzip !== undefined) {
            gzipCounted = gzip.compressed;
          }
          a = next;
          continue;
        }
        if (lineEnd > lineStart && buf[lineEnd - 1] === 13) lineEnd -= 1;
        if (offset < resumeFrom) {
          // What an earlier attempt committed was counted then.
          if (gzip !== undefined) gzipCounted = gzip.compressed;
          if (lineEnd > lineStart) decoder.observe(buf, lineStart, lineEnd, offset);
          a = next;
          continue;
        }
        bytes += next - a;
        consumedTo = next + shift;
        if (lineEnd > lineStart) {
          const decoded = decoder.decode(buf, lineStart, lineEnd, offset);
          if (typeof decoded === 'object') {
            records.push(decoded);
            offsets.push(offset);
          } else if (decoded !== undefined) {
            deadLetters.push({ provenance: `${url}@${offset}`, reason: decoded, raw: rawText(buf, lineStart, lineEnd) });
          }
          if (records.length + deadLetters.length >= batchSize) yield take();
        }
        a = next;
      }
    }
  } catch (error) {
    if (records.length + deadLetters.length > 0 || pendingBytes() > 0) yield take();
    throw error;
  }
  if (records.length + deadLetters.length > 0 || pendingBytes() > 0) yield take();
}

/**
 * The decoder of one split. `split`: the file is read in splits (plain text), so a Zeek header that
 * changes mid-file fails the split rather than leave later splits decoding with the wrong columns.
 */
async function createDecoder(reader: RangeReader, format: Exclude<SplitFormat, 'parquet'>, needsFileHeader: boolean, split: boolean): Promise<LineDecoder> {
  switch (format) {
    case SplitFormat.NDJSON:
      return new NdjsonLineDecoder();
    case SplitFormat.ZEEK:
      return new ZeekLineDecoder(needsFileHeader ? await readZeekFileHeader(reader) : undefined, { lateHeader: split ? 'fail' : 'apply', url: reader.url });
    case SplitFormat.CSV:
      return new CsvLineDecoder(needsFileHeader ? await readCsvFileHeader(reader) : undefined);
  }
}

/** The first `maxBytes` (a KiB) of a line, cut at a character boundary. */
function rawText(buf: Buffer, start: number, end: number, maxBytes = MAX_RAW_BYTES): string {
  if (end - start <= maxBytes) return buf.toString('utf8', start, end);
  let cut = start + maxBytes;
  // Back off over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (cut > start && ((buf[cut] as number) & 0xc0) === 0x80) cut -= 1;
  return buf.toString('utf8', start, cut);
}

/** A header line too long to read: without it no line of the file decodes, so the split fails. */
function overlongHeader(url: string, offset: number, lineBytes: number, maxLineBytes: number): SluiceError {
  return new SluiceError(
    ErrorCode.CORRUPT_INPUT,
    `${url}: the header line at byte ${offset} is ${lineBytes} bytes long, over the longest line read (maxLineBytes ${maxLineBytes}); ` +
      'the file is not in the format its name says, or its header is damaged',
    { context: { url, offset, lineBytes, maxLineBytes } },
  );
}

function validate(reader: RangeReader, options: ReadSplitOptions, batchSize: number, resumeFrom: number, maxLineBytes: number): void {
  const fail = (message: string): never => {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `cannot read a split of ${reader.url}: ${message}`, {
      context: { url: reader.url, format: options.format, compression: options.compression, start: options.start, end: options.end },
    });
  };
  if (!isSplitFormat(options.format)) fail(`unknown format ${JSON.stringify(options.format)}; use ${Object.values(SplitFormat).join(', ')}`);
  if (!isSplitCompression(options.compression)) {
    fail(`unknown compression ${JSON.stringify(options.compression)}; use ${Object.values(SplitCompression).join(', ')}`);
  }
  if (!Number.isSafeInteger(options.start) || options.start < 0) fail(`start must be a non-negative integer, got ${options.start}`);
  if (!Number.isSafeInteger(options.end) || options.end < options.start) fail(`end must be an integer >= start, got ${options.end}`);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) fail(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isSafeInteger(resumeFrom) || resumeFrom < 0) fail(`resumeFrom must be a non-negative integer, got ${resumeFrom}`);
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1 || maxLineBytes > MAX_MAX_LINE_BYTES) {
    fail(`maxLineBytes must be an integer from 1 to ${MAX_MAX_LINE_BYTES}, got ${maxLineBytes}`);
  }
  if (options.columns !== undefined && (!Array.isArray(options.columns) || options.columns.some((c) => typeof c !== 'string'))) {
    fail('columns must be an array of column names');
  }
  if (options.format === SplitFormat.PARQUET && options.compression !== SplitCompression.NONE) {
    fail("a Parquet file must have compression 'none': it compresses its pages itself and cannot be read by ranges once gzipped");
  }
  if (options.compression === SplitCompression.GZIP && options.start !== 0) {
    fail('a gzip file is not splittable and must be read as one split starting at 0 (see isSplittable)');
  }
}

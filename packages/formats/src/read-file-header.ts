/**
 * A split that does not start at byte 0 still needs the file's header (Zeek's `#` lines, CSV's
 * column names). It reads them with small ranged reads from offset 0, once per reader: every split
 * of a file that shares a reader shares the header.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { CsvLineDecoder } from './csv-decoder.ts';
import type { CsvHeader } from './csv-decoder.ts';
import { ZeekLineDecoder } from './zeek-decoder.ts';
import type { ZeekHeader } from './zeek-decoder.ts';

const FIRST_READ_BYTES = 64 * 1024;
/** A header longer than this is not a header: the file is not what its format says. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

const zeekHeaders = new WeakMap<RangeReader, Promise<ZeekHeader>>();
const csvHeaders = new WeakMap<RangeReader, Promise<CsvHeader | undefined>>();

/** The header state after the `#` lines at the start of a Zeek log, and where its first record starts. */
export function readZeekFileHeader(reader: RangeReader): Promise<ZeekHeader> {
  return cached(zeekHeaders, reader, async () => {
    const decoder = new ZeekLineDecoder();
    let dataOffset: number | undefined;
    const stoppedAt = await visitLeadingLines(
      reader,
      (line, offset) => {
        if (line.length === 0) return true;
        if (line.charCodeAt(0) !== 0x23) {
          dataOffset = offset;
          return false;
        }
        decoder.applyHeaderLine(line);
        return true;
      },
      // A record line (any first byte but `#` or a line break) ends the header: a first record too
      // long to buffer must not fail the splits after it; the split that owns it dead-letters it.
      (bytes, at) => {
        const first = bytes[at === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : at];
        return first !== undefined && first !== 0x23 && first !== 0x0a && first !== 0x0d;
      },
    );
    return { ...decoder.header, dataOffset: dataOffset ?? stoppedAt };
  });
}

/** The column names of a CSV file (its first non-empty line), or undefined for a file without one. */
export function readCsvFileHeader(reader: RangeReader): Promise<CsvHeader | undefined> {
  return cached(csvHeaders, reader, async () => {
    const decoder = new CsvLineDecoder();
    await visitLeadingLines(reader, (line, offset) => {
      if (line.length === 0) return true;
      const bytes = Buffer.from(line, 'utf8');
      decoder.observe(bytes, 0, bytes.length, offset);
      return decoder.header === undefined;
    });
    return decoder.header;
  });
}

function cached<T>(cache: WeakMap<RangeReader, Promise<T>>, reader: RangeReader, load: () => Promise<T>): Promise<T> {
  let pending = cache.get(reader);
  if (pending === undefined) {
    pending = load();
    cache.set(reader, pending);
    // A failed read is not remembered: the retry of the split reads again.
    pending.catch(() => {
      if (cache.get(reader) === pending) cache.delete(reader);
    });
  }
  return pending;
}

/**
 * Calls `visit` with each line from the start of the file (terminator removed) and its offset,
 * until it returns false or the file ends. A line not read whole yet is first shown to `stopAt`:
 * true stops there, without reading the rest of it, and returns its offset.
 */
async function visitLeadingLines(
  reader: RangeReader,
  visit: (line: string, offset: number) => boolean,
  stopAt?: (bytes: Buffer, lineStart: number) => boolean,
): Promise<number | undefined> {
  let bytes = Buffer.alloc(0);
  let lineStart = 0;
  let eof = false;
  for (;;) {
    const nl = bytes.indexOf(10, lineStart);
    if (nl === -1) {
      if (eof) {
        if (lineStart < bytes.length) visit(lineText(bytes, lineStart, bytes.length), lineStart);
        return undefined;
      }
      if (stopAt?.(bytes, lineStart) === true) return lineStart;
      if (bytes.length >= MAX_HEADER_BYTES) {
        throw new SluiceError(ErrorCode.CORRUPT_INPUT, `${reader.url}: no end of the header within its first ${MAX_HEADER_BYTES} bytes`, {
          context: { url: reader.url, bytesRead: bytes.length },
        });
      }
      const want = Math.max(FIRST_READ_BYTES, bytes.length);
      const more = await reader.read(bytes.length, want);
      eof = more.length < want;
      bytes = Buffer.concat([bytes, more]);
      continue;
    }
    if (!visit(lineText(bytes, lineStart, nl), lineStart)) return undefined;
    lineStart = nl + 1;
  }
}

function lineText(bytes: Buffer, start: number, end: number): string {
  const from = start === 0 && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : start;
  return bytes.toString('utf8', from, end > from && bytes[end - 1] === 13 ? end - 1 : end);
}

/**
 * The contract between the split reader and a text format: one call per non-empty line, on bytes,
 * so a format decodes exactly the bytes of its line and nothing is allocated for lines it skips.
 */

/** A decoded record: field name to value, as a job's processor receives it. */
export type DecodedRecord = Record<string, unknown>;

/** Decodes the lines of one text format; instances keep the header state of one split. */
export interface LineDecoder {
  /**
   * Decodes the line `buf[start, end)` (line terminator and the file's byte order mark removed,
   * never empty) that starts at stream offset `offset`. Returns the record, a string saying why the line is a dead letter, or
   * `undefined` for a header or comment line.
   */
  decode(buf: Buffer, start: number, end: number, offset: number): DecodedRecord | string | undefined;
  /** Sees a line that resuming skips, so header lines before the resume point still take effect. */
  observe(buf: Buffer, start: number, end: number, offset: number): void;
  /** Whether the line starting at `buf[start]` would be a header line: one too long to read then fails the split rather than become a dead letter. */
  isHeaderLine(buf: Buffer, start: number): boolean;
}

/** Where a line starting at `offset` begins once a UTF-8 byte order mark, tolerated at the very start of a file, is skipped. */
export function skipByteOrderMark(buf: Buffer, start: number, end: number, offset: number): number {
  if (offset === 0 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) return start + 3;
  return start;
}

/**
 * Hadoop's text split rule over a stream of byte chunks. A split `[start, end)` owns every line
 * that starts inside it: when `start > 0` it skips to just after the first `\n` at or after
 * `start - 1` (so when byte `start - 1` is a `\n`, the line at `start` is its own), and it reads
 * past `end` to finish the last line that starts before `end`. Each line starts in exactly one
 * split, so each line is read exactly once whatever the split size.
 *
 * Lines are handed out as segments of the chunks themselves, not copied: only a line that straddles
 * two chunks is concatenated. Bytes are never decoded here, so a multi-byte UTF-8 character cut by a
 * chunk boundary is reassembled before any decoding happens.
 */
import type { RangeReader } from '@sluice/core';

/** Complete lines `[from, to)` of `buf`; `offset` is the stream position of `buf[from]`. */
export interface LineSegment {
  buf: Buffer;
  from: number;
  /** Just after the last `\n`, or the end of the stream's last line that has none. */
  to: number;
  offset: number;
  /**
   * Set when the segment is one line longer than `maxLineBytes` that ran across chunks: its length
   * in bytes (terminator included). `buf[from, to)` then holds only the line's first bytes, and the
   * rest was dropped as it streamed past.
   */
  overlong?: number;
}

/** Bytes kept of a line that is dropped for being too long: enough for a dead letter's excerpt. */
export const OVERLONG_HEAD_BYTES = 2048;

const NEWLINE = 10;

/**
 * Yields the lines of `chunks` that start before `end`. `position` is the stream offset of the
 * first chunk's first byte; with `skipFirst`, everything up to and including the first `\n` is
 * skipped (the caller starts reading at `start - 1`). Stops pulling chunks as soon as it knows no
 * further line can start before `end`.
 *
 * A line running across chunks is held in memory only up to `maxLineBytes`: past that it is
 * dropped as it streams (its first bytes kept) and yielded as an `overlong` segment, so a file
 * without line breaks cannot grow the carry to its own size. A line longer than `maxLineBytes`
 * inside one chunk is yielded as usual; the consumer checks its length.
 */
export async function* readLineSegments(
  chunks: AsyncIterable<Uint8Array>,
  position: number,
  skipFirst: boolean,
  end: number,
  maxLineBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<LineSegment> {
  let pos = position;
  let skipping = skipFirst;
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let carryOffset = 0;
  // While a line too long to hold is streaming past: its first bytes (carryBytes counts them all).
  let dropped: Buffer | undefined;
  for await (const chunk of chunks) {
    const buf = asBuffer(chunk);
    const length = buf.length;
    const base = pos;
    pos += length;
    let i = 0;
    if (skipping) {
      const nl = buf.indexOf(NEWLINE);
      if (nl === -1) {
        if (pos >= end) return;
        continue;
      }
      skipping = false;
      i = nl + 1;
    } else if (carryBytes > 0) {
      const nl = buf.indexOf(NEWLINE);
      if (nl === -1) {
        if (dropped === undefined) {
          carry.push(buf);
          if (carryBytes + length > maxLineBytes) {
            dropped = headOf(carry);
            carry = [];
          }
        }
        carryBytes += length;
        continue;
      }
      const lineBytes = carryBytes + nl + 1;
      if (dropped === undefined && lineBytes <= maxLineBytes) {
        carry.push(buf.subarray(0, nl + 1));
        const line = Buffer.concat(carry, lineBytes);
        yield { buf: line, from: 0, to: line.length, offset: carryOffset };
      } else {
        const head = dropped ?? headOf([...carry, buf.subarray(0, nl + 1)]);
        yield { buf: head, from: 0, to: head.length, offset: carryOffset, overlong: lineBytes };
      }
      carry = [];
      carryBytes = 0;
      dropped = undefined;
      i = nl + 1;
    }
    if (base + i >= end) return;
    const last = buf.lastIndexOf(NEWLINE);
    if (last >= i) {
      yield { buf, from: i, to: last + 1, offset: base + i };
      i = last + 1;
    }
    if (i < length) {
      if (base + i >= end) return;
      carry = [buf.subarray(i)];
      carryBytes = length - i;
      carryOffset = base + i;
    } else if (pos >= end) {
      return;
    }
  }
  if (dropped !== undefined || carryBytes > maxLineBytes) {
    const head = dropped ?? headOf(carry);
    yield { buf: head, from: 0, to: head.length, offset: carryOffset, overlong: carryBytes };
  } else if (carryBytes > 0) {
    const line = carry.length === 1 ? (carry[0] as Buffer) : Buffer.concat(carry, carryBytes);
    yield { buf: line, from: 0, to: line.length, offset: carryOffset };
  }
}

/** A copy of the first `OVERLONG_HEAD_BYTES` of the pieces of a line (a copy, so the chunks can be freed). */
function headOf(pieces: readonly Buffer[]): Buffer {
  const head = Buffer.allocUnsafe(Math.min(OVERLONG_HEAD_BYTES, pieces.reduce((sum, piece) => sum + piece.length, 0)));
  let at = 0;
  for (const piece of pieces) {
    if (at >= head.length) break;
    at += piece.copy(head, at, 0, Math.min(piece.length, head.length - at));
  }
  return head;
}

/** Bytes read per ranged read when a split's last line runs past its end. */
const TAIL_READ_BYTES = 64 * 1024;

/**
 * The bytes a plain-text split needs: one stream over `[from, end)`, then ranged reads past `end`
 * for as long as the consumer keeps pulling (that is, until its last line is finished). Reading
 * past `end` in small reads keeps a split from fetching its neighbour's bytes.
 */
export async function* readSplitBytes(reader: RangeReader, from: number, end: number): AsyncGenerator<Uint8Array> {
  let pos = from;
  for await (const chunk of reader.stream(from, end)) {
    pos += chunk.length;
    yield chunk;
  }
  if (pos < end) return; // the stream ended early: end of file
  for (;;) {
    const chunk = await reader.read(pos, TAIL_READ_BYTES);
    if (chunk.length === 0) return;
    pos += chunk.length;
    yield chunk;
    if (chunk.length < TAIL_READ_BYTES) return;
  }
}

/** A Buffer view of the same memory; decoders need Buffer's indexOf and toString. */
export function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

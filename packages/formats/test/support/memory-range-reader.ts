/**
 * An in-memory RangeReader for unit tests: the stream is cut into chunks of a chosen size, and
 * every chunk is a copy (a plain Uint8Array, not a Buffer) so a decoder cannot depend on chunks
 * sharing memory or being Buffers.
 */
import type { RangeReader } from '@sluice/core';

/** A memory reader plus counters of what was read. */
export interface MemoryRangeReader extends RangeReader {
  /** Bytes handed out by `read` and `stream`, in total. */
  bytesRead: number;
}

/** Serves `bytes` in chunks of `chunkSize` bytes. */
export function createMemoryRangeReader(bytes: Uint8Array, chunkSize = 64 * 1024, url = 'mem://test/file'): MemoryRangeReader {
  const reader: MemoryRangeReader = {
    url,
    bytesRead: 0,
    async size() {
      return bytes.length;
    },
    async read(offset, length) {
      const piece = bytes.slice(offset, Math.min(bytes.length, offset + length));
      reader.bytesRead += piece.length;
      return piece;
    },
    async *stream(offset, end) {
      const stop = Math.min(bytes.length, end ?? bytes.length);
      for (let at = offset; at < stop; at += chunkSize) {
        const piece = bytes.slice(at, Math.min(stop, at + chunkSize));
        reader.bytesRead += piece.length;
        yield piece;
      }
    },
  };
  return reader;
}

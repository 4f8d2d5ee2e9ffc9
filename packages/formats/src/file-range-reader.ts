/**
 * The local-file twin of the WebHDFS reader: ranged reads and ranged streams over a path, so the
 * local runner and the tests decode files exactly as workers decode HDFS splits.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';

/** Options of a local file reader. */
export interface FileRangeReaderOptions {
  /** Size of the chunks `stream` yields, in bytes; defaults to 256 KiB. */
  chunkSize?: number;
}

/** A RangeReader over a local file; `close()` releases the handle used by `read`. */
export interface FileRangeReader extends RangeReader {
  /** The absolute path read. */
  readonly path: string;
  close(): Promise<void>;
}

const DEFAULT_CHUNK_SIZE = 256 * 1024;

/** Opens nothing until the first read; every `stream` call uses its own descriptor and closes it. */
export function createFileRangeReader(path: string, options: FileRangeReaderOptions = {}): FileRangeReader {
  const absolute = resolve(path);
  const url = pathToFileURL(absolute).href;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `chunkSize must be a positive integer, got ${chunkSize}`, { context: { path, chunkSize } });
  }
  let handle: Promise<FileHandle> | undefined;
  let closed = false;

  const handleOf = (): Promise<FileHandle> => {
    if (closed) throw new SluiceError(ErrorCode.INTERNAL, `reader of ${url} used after close()`, { context: { url } });
    handle ??= open(absolute, 'r').catch((error: unknown) => {
      handle = undefined;
      throw toFileError(error, url);
    });
    return handle;
  };

  return {
    url,
    path: absolute,
    async size() {
      try {
        return (await stat(absolute)).size;
      } catch (error) {
        throw toFileError(error, url);
      }
    },
    async read(offset, length) {
      checkRange(url, offset, offset + length);
      const fh = await handleOf();
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      try {
        while (filled < length) {
          const { bytesRead } = await fh.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
      } catch (error) {
        throw toFileError(error, url);
      }
      return filled === length ? buffer : buffer.subarray(0, filled);
    },
    async *stream(offset, end) {
      checkRange(url, offset, end ?? offset);
      if (end !== undefined && end <= offset) return;
      // createReadStream's `end` is inclusive.
      const source = createReadStream(absolute, {
        start: offset,
        ...(end === undefined ? {} : { end: end - 1 }),
        highWaterMark: chunkSize,
      });
      try {
        for await (const chunk of source) yield chunk as Buffer;
      } catch (error) {
        throw toFileError(error, url);
      } finally {
        source.destroy();
      }
    },
    async close() {
      closed = true;
      const pending = handle;
      handle = undefined;
      if (pending !== undefined) await (await pending.catch(() => undefined))?.close();
    },
  };
}

function checkRange(url: string, offset: number, end: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(end) || end < offset) {
    throw new SluiceError(ErrorCode.INTERNAL, `invalid byte range [${offset}, ${end}) for ${url}`, { context: { url, offset, end } });
  }
}

function toFileError(error: unknown, url: string): SluiceError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const context = { url, errno: code };
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SluiceError(ErrorCode.NOT_FOUND, `no such file: ${url}`, { cause: error, context });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new SluiceError(ErrorCode.PERMISSION_DENIED, `not allowed to read ${url}: ${message}`, { cause: error, context });
  }
  if (code === 'EISDIR') {
    return new SluiceError(ErrorCode.INVALID_CONFIG, `${url} is a directory; list its files and read each one`, { cause: error, context });
  }
  return new SluiceError(ErrorCode.UNAVAILABLE, `reading ${url} failed: ${message}`, { cause: error, context });
}

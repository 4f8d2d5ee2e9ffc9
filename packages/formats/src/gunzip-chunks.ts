/**
 * Streaming gzip decompression of a whole file, concatenated members included.
 *
 * The decompressor is driven one input chunk at a time: while the consumer decodes the output of
 * one chunk, zlib inflates the next one on the thread pool. That bounds memory to two chunks'
 * expansion, and every byte decompressed before a corruption is yielded before the corruption is
 * reported: a consumer can commit the good records and then fail the split.
 */
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Gunzip } from 'node:zlib';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';

/** Where a gzip read stands in the compressed file, for progress counted in file bytes. */
export interface GunzipPosition {
  /** Compressed bytes handed to the decompressor before the piece last yielded was produced. */
  compressed: number;
}

/**
 * The uncompressed bytes of a gzip file, in order; `position`, when given, follows the compressed
 * bytes consumed. A truncated or corrupt stream throws CORRUPT_INPUT naming the URL and the
 * uncompressed offset reached, after yielding every byte decompressed before it.
 */
export async function* readGunzipChunks(reader: RangeReader, position?: GunzipPosition): AsyncGenerator<Buffer> {
  // Larger output pieces than the 16 KiB default: fewer hand-offs and fewer lines straddling two pieces.
  const gunzip = createGunzip({ chunkSize: 128 * 1024 });
  let output: Buffer[] = [];
  let failure: Error | undefined;
  let compressedOffset = 0;
  let uncompressedOffset = 0;
  gunzip.on('data', (chunk: Buffer) => {
    output.push(chunk);
  });
  gunzip.on('error', (error: Error) => {
    failure ??= error;
  });
  const corrupt = (error: Error): SluiceError =>
    new SluiceError(
      ErrorCode.CORRUPT_INPUT,
      `${reader.url} is not a valid gzip stream (${error.message}) at uncompressed offset ${uncompressedOffset}; ` +
        'the records before that offset were read, the rest of the file cannot be',
      { cause: error, context: { url: reader.url, uncompressedOffset, compressedOffset } },
    );
  let inFlight: Promise<void> | undefined;
  try {
    for await (const chunk of reader.stream(0)) {
      if (inFlight !== undefined) await inFlight;
      const ready = output;
      output = [];
      // The pieces ready now came from the chunks fed so far, not from the one fed next.
      if (position !== undefined) position.compressed = compressedOffset;
      const failed = failure;
      if (failed === undefined) {
        // zlib inflates the next chunk on the thread pool while the consumer decodes this output.
        compressedOffset += chunk.length;
        inFlight = writeChunk(gunzip, chunk);
      }
      for (const piece of ready) {
        uncompressedOffset += piece.length;
        yield piece;
      }
      if (failed !== undefined) throw corrupt(failed);
    }
    if (inFlight !== undefined) await inFlight;
    if (failure === undefined) {
      gunzip.end();
      await finished(gunzip).catch((error: unknown) => {
        failure ??= error instanceof Error ? error : new Error(String(error));
      });
    }
    if (position !== undefined) position.compressed = compressedOffset;
    for (const piece of output) {
      uncompressedOffset += piece.length;
      yield piece;
    }
    output = [];
    if (failure !== undefined) throw corrupt(failure);
  } finally {
    gunzip.destroy();
  }
}

/** Resolves once zlib has consumed the chunk (its output already emitted), or has failed. */
function writeChunk(gunzip: Gunzip, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const onError = (): void => resolve();
    gunzip.once('error', onError);
    gunzip.write(chunk, () => {
      gunzip.off('error', onError);
      resolve();
    });
  });
}

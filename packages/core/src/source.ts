/**
 * What decoders read from: a file-like object with ranged reads. HDFS (WebHDFS `OPEN&offset&length`)
 * and local files both provide it, so every format decodes splits without holding a file in memory.
 */

/** A readable, seekable byte source. */
export interface RangeReader {
  /** A URL naming the source, used in provenance (`webhdfs://…/x.ndjson`, `file:///…`). */
  readonly url: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Exactly the bytes `[offset, offset + length)`, fewer only at end of file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The bytes from `offset` to `end` (exclusive; end of file when omitted) as a stream of chunks. */
  stream(offset: number, end?: number): AsyncIterable<Uint8Array>;
}

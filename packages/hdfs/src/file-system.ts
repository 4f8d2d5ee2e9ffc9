/**
 * The one file-system interface Sluice reads inputs and writes outputs through. WebHDFS and the
 * local `file://` twin both implement it with the same semantics (HDFS's, where they differ), so a
 * job tested on local files behaves the same on a cluster.
 */
import type { RangeReader } from '@sluice/core';

/** Kinds of entries a file system lists. */
export const FileType = {
  FILE: 'FILE',
  DIRECTORY: 'DIRECTORY',
  SYMLINK: 'SYMLINK',
} as const;

/** Union of every file type. */
export type FileType = (typeof FileType)[keyof typeof FileType];

/** What a file system knows about one entry; times are milliseconds since the epoch. */
export interface FileStatus {
  /** Absolute path inside the file system (`/archive/zeek/x.ndjson.gz`). */
  readonly path: string;
  /** A URL naming the entry across file systems (`webhdfs://nn:9870/…`, `file:///…`). */
  readonly url: string;
  /** Last path segment; empty for the root. */
  readonly name: string;
  readonly type: FileType;
  /** Size in bytes; 0 for directories. */
  readonly length: number;
  readonly modificationTime: number;
  readonly accessTime: number;
  readonly blockSize: number;
  readonly replication: number;
  /** Octal permission bits as HDFS prints them (`644`). */
  readonly permission: string;
  readonly owner: string;
  readonly group: string;
}

/** Bytes to write: a buffer, text (UTF-8), or a stream of chunks for data that does not fit in memory. */
export type WriteData = Uint8Array | string | AsyncIterable<Uint8Array>;

/** Options of `listFiles`. */
export interface ListFilesOptions {
  /** Also list the files under matched directories at any depth; default false (direct children only). */
  recursive?: boolean;
  /**
   * Also list names starting with `.` or `_` (`_SUCCESS`, `.staging`), which Hadoop's input formats
   * skip; default false. A pattern segment that spells such a name literally always matches it.
   */
  includeHidden?: boolean;
  /**
   * Directories (by absolute path) for which it returns true are not listed, nor anything below
   * them: how a caller prunes date partitions it does not need before paying for their listings.
   */
  skipDirectory?: (path: string) => boolean;
}

/** Options of `open`. */
export interface OpenOptions {
  /** First byte to read; default 0. */
  offset?: number;
  /** How many bytes to read; default to end of file. Fewer come back only at end of file. */
  length?: number;
}

/** Options of `create`. */
export interface CreateOptions {
  /** Replace an existing file; default false (HDFS's default: an existing file is an error). */
  overwrite?: boolean;
  /** Octal permission of the new file (`644`); default the server's umask. */
  permission?: string;
  /** HDFS block size of the new file in bytes (at least 1 MiB on a default NameNode); ignored locally. */
  blockSize?: number;
}

/** Options of `delete`. */
export interface DeleteOptions {
  /** Delete a non-empty directory with everything under it; default false. */
  recursive?: boolean;
}

/**
 * Operations shared by WebHDFS and the local twin. Every path argument is an absolute path or a URL
 * of the file system's own scheme. Errors are SluiceErrors: NOT_FOUND for a missing path,
 * PERMISSION_DENIED, UNAVAILABLE/TIMEOUT (retryable) for transport failures, REMOTE otherwise, with
 * `context.exception` naming the HDFS exception (`FileAlreadyExistsException`, …) on both twins.
 */
export interface FileSystem {
  /** Scheme of the URLs this file system produces: `webhdfs`, `swebhdfs` or `file`. */
  readonly scheme: string;
  /** The URL naming `path` on this file system. */
  urlOf(path: string): string;
  /** Status of one entry; NOT_FOUND when it does not exist. */
  getFileStatus(path: string): Promise<FileStatus>;
  /** Entries of a directory sorted by name, or the file itself when `path` is a file. */
  listStatus(path: string): Promise<FileStatus[]>;
  /**
   * Files matching a glob (`*`, `?`, `[abc]`, `[!abc]`, `{a,b}` within a segment, `**` for any depth),
   * sorted by path. A matched directory contributes its files. A literal path that does not exist
   * is NOT_FOUND; a glob that matches nothing is an empty list.
   */
  listFiles(pattern: string, options?: ListFilesOptions): Promise<FileStatus[]>;
  /** The bytes of a range, buffered. */
  open(path: string, options?: OpenOptions): Promise<Uint8Array>;
  /** The bytes of a range as chunks, for ranges too large to buffer. */
  openStream(path: string, options?: OpenOptions): AsyncIterable<Uint8Array>;
  /** A RangeReader for the decoders of `@sluice/formats`. */
  createRangeReader(path: string): RangeReader;
  /** Writes a new file, creating missing parent directories. */
  create(path: string, data: WriteData, options?: CreateOptions): Promise<void>;
  /** Appends to an existing file; NOT_FOUND when it does not exist. */
  append(path: string, data: WriteData): Promise<void>;
  /** Creates a directory and its missing parents; succeeds when it already exists. */
  mkdirs(path: string): Promise<void>;
  /**
   * Moves `from` to `to` (into `to` when it is an existing directory). Throws instead of returning
   * HDFS's bare `false`: NOT_FOUND for a missing source or destination parent, REMOTE when the
   * destination exists.
   */
  rename(from: string, to: string): Promise<void>;
  /** Deletes an entry; false when it did not exist. */
  delete(path: string, options?: DeleteOptions): Promise<boolean>;
  /** Aborts requests in flight; later calls fail with CANCELLED. */
  close(): Promise<void>;
}

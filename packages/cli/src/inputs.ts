/**
 * Input URLs as users type them, turned into file systems, listings and readers. The only module of
 * the CLI that knows which schemes exist: `webhdfs://`, `swebhdfs://`, `hdfs://` (mapped to the
 * NameNode's HTTP address), `file://` and plain local paths.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SluiceError, coerceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { FileType, createFileSystem, hasGlobSyntax, isHidden } from '@sluice/hdfs';
import type { FileSystem } from '@sluice/hdfs';
import type { DeadLetterArchive, InputFile, ListInputOptions } from '@sluice/coordinator';

const SCHEMES = new Set(['webhdfs:', 'swebhdfs:', 'hdfs:', 'file:']);
const cache = new Map<string, FileSystem>();
let eventLog: ((line: string) => void) | undefined;

/** Where file systems created from now on report events an operator should see (an HA failover). */
export function logFileSystemEvents(log: (line: string) => void): void {
  eventLog = log;
}

/** Checks an input and returns it as an absolute URL; a local path becomes `file://`. */
export function normalizeInput(input: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input)?.[1];
  if (scheme === undefined) return pathToFileURL(resolve(input)).href.replace(/%2A/gi, '*').replace(/%7B/gi, '{').replace(/%7D/gi, '}');
  if (!SCHEMES.has(`${scheme.toLowerCase()}:`)) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `input ${JSON.stringify(input)} has scheme ${scheme}://, which Sluice cannot read; use webhdfs://host:port/path, hdfs://host/path, file:///path or a local path`, {
      context: { input },
    });
  }
  // A webhdfs:// URL names its NameNode: a missing host or a bad port fails here, not in the
  // coordinator. An hdfs:// URL is resolved where it is read (SLUICE_HDFS_HTTP_ADDRESS or HADOOP_CONF_DIR there).
  if (scheme.toLowerCase() === 'webhdfs') createFileSystem(input);
  return input;
}

/** The file system serving a URL (one per authority, reused). */
export function fileSystemFor(url: string): FileSystem {
  const parsed = new URL(url);
  const key = `${parsed.protocol}//${parsed.host}`;
  let fs = cache.get(key);
  if (fs === undefined) {
    fs = createFileSystem(url, {
      onFailover: (error, from, to) => eventLog?.(`HDFS: NameNode ${from} did not serve ${String(error.context.op ?? 'a request')} (${error.code}), now asking ${to}`),
    });
    cache.set(key, fs);
  }
  return fs;
}

/** Lists the files an input URL or glob names, as absolute URLs with sizes, skipping the directories `skipDirectory` names. */
export async function listInputFiles(input: string, options: ListInputOptions = {}): Promise<InputFile[]> {
  const url = normalizeInput(input);
  const fs = fileSystemFor(url);
  const files = await fs.listFiles(url, options);
  if (files.length === 0) await explainEmptyDirectory(fs, input, url);
  return files.map((f) => ({ url: f.url, size: f.length }));
}

/** Whether a URL names one path, not a glob. */
export function isLiteralUrl(url: string): boolean {
  return !new URL(url).pathname.split('/').some((segment) => hasGlobSyntax(decodeURIComponent(segment)));
}

/** A few names of a list, and how many there are when that is not all. */
function sample(names: readonly string[]): string {
  return `${names.slice(0, 3).join(', ')}${names.length > 3 ? `, … (${names.length})` : ''}`;
}

/**
 * A directory named as an input contributes only the visible files directly in it, as Hadoop's
 * input formats read one. When it has none, "matched no file" would leave the user guessing: say
 * what is there instead (only subdirectories, such as dt= partitions, or only hidden files) and
 * how to name them.
 */
async function explainEmptyDirectory(fs: FileSystem, input: string, url: string): Promise<void> {
  if (!isLiteralUrl(url)) return;
  const status = await fs.getFileStatus(url);
  if (status.type !== FileType.DIRECTORY) return;
  const entries = await fs.listStatus(url);
  const directories = entries.filter((e) => e.type === FileType.DIRECTORY && !isHidden(e.name)).map((e) => `${e.name}/`);
  const hidden = entries.filter((e) => e.type === FileType.FILE && isHidden(e.name)).map((e) => e.name);
  const base = input.replace(/\/+$/, '');
  if (directories.length > 0) {
    throw new SluiceError(ErrorCode.NOT_FOUND, `input ${input} is a directory with no files directly in it, only directories (${sample(directories)}): name the files under them with a glob such as ${base}/*/*, or ${base}/** for every file at any depth`, {
      retryable: false,
      context: { input, directories: directories.slice(0, 20) },
    });
  }
  if (hidden.length > 0) {
    throw new SluiceError(ErrorCode.NOT_FOUND, `input ${input} holds only hidden files (${sample(hidden)}), which inputs skip as Hadoop's do (names starting with _ or .); name one literally to read it`, {
      retryable: false,
      context: { input, hidden: hidden.slice(0, 20) },
    });
  }
}

/** A ranged reader on one file URL. */
export function openInputReader(url: string): RangeReader {
  return fileSystemFor(url).createRangeReader(url);
}

/**
 * The archive `--dead-letter-archive` names: a directory URL (or local path) on any file system
 * inputs may use, created now so that a bad URL or a missing permission stops the coordinator at
 * start, not at its first archive step.
 */
export async function openDeadLetterArchive(input: string): Promise<DeadLetterArchive> {
  let url: string;
  let fs: FileSystem;
  try {
    url = normalizeInput(input).replace(/\/+$/, '');
    if (!isLiteralUrl(url)) throw new SluiceError(ErrorCode.INVALID_CONFIG, 'a directory URL cannot be a glob', { context: {} });
    fs = fileSystemFor(url);
    await fs.mkdirs(url);
  } catch (error) {
    const failure = coerceError(error);
    throw new SluiceError(failure.retryable ? failure.code : ErrorCode.INVALID_CONFIG, `--dead-letter-archive ${input}: ${failure.message}; give a directory the coordinator can write, as webhdfs://host:port/path, hdfs://host/path, file:///path or a local path`, {
      cause: failure, context: { archive: input },
    });
  }
  return {
    url,
    write: (fileUrl, text) => fs.create(fileUrl, text),
    remove: (fileUrl) => fs.delete(fileUrl),
  };
}

/** The whole content of a file an archive or a run names. */
export function readFileBytes(url: string): Promise<Uint8Array> {
  return fileSystemFor(url).open(url);
}

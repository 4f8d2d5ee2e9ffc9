/**
 * Decoders of WebHDFS JSON answers: `FileStatus`, the `FileStatuses` of LISTSTATUS, the paged
 * `DirectoryListing` of LISTSTATUS_BATCH, and `{"boolean": …}`. Shapes are checked, because a proxy
 * or a gateway answering HTML with status 200 must not pass as an empty directory.
 */
import { posix } from 'node:path';
import { ErrorCode, SluiceError } from '@sluice/core';
import { FileType } from './file-system.ts';
import type { FileStatus } from './file-system.ts';

/** One page of a directory listing. */
export interface ListingPage {
  readonly entries: FileStatus[];
  /** Entries still to fetch after this page (LISTSTATUS_BATCH); 0 for a complete listing. */
  readonly remaining: number;
}

/** Builds the URL of an entry from its absolute path. */
export type UrlOf = (path: string) => string;

/** Decodes the `FileStatus` of GETFILESTATUS for `path`. */
export function decodeFileStatusAnswer(json: unknown, path: string, urlOf: UrlOf): FileStatus {
  const raw = field(json, 'FileStatus', path);
  return decodeFileStatus(raw, path, urlOf);
}

/** Decodes LISTSTATUS (`FileStatuses`) or LISTSTATUS_BATCH (`DirectoryListing`) of directory `path`. */
export function decodeListingAnswer(json: unknown, path: string, urlOf: UrlOf): ListingPage {
  if (typeof json === 'object' && json !== null && 'DirectoryListing' in json) {
    const listing = field(json, 'DirectoryListing', path);
    const partial = field(listing, 'partialListing', path);
    const remaining = (listing as { remainingEntries?: unknown }).remainingEntries;
    return {
      entries: decodeStatuses(partial, path, urlOf),
      remaining: typeof remaining === 'number' && remaining > 0 ? remaining : 0,
    };
  }
  return { entries: decodeStatuses(json, path, urlOf), remaining: 0 };
}

/** Decodes `{"boolean": true}` of MKDIRS, RENAME and DELETE. */
export function decodeBooleanAnswer(json: unknown, path: string): boolean {
  const value = field(json, 'boolean', path);
  if (typeof value !== 'boolean') throw malformed(path, '"boolean" is not a boolean');
  return value;
}

function decodeStatuses(json: unknown, path: string, urlOf: UrlOf): FileStatus[] {
  const statuses = field(json, 'FileStatuses', path);
  const list = (statuses as { FileStatus?: unknown }).FileStatus ?? [];
  if (!Array.isArray(list)) throw malformed(path, '"FileStatuses.FileStatus" is not an array');
  return list.map((raw: unknown) => {
    const suffix = (raw as { pathSuffix?: unknown } | null)?.pathSuffix;
    // LISTSTATUS of a file answers the file itself, with an empty suffix.
    const child = typeof suffix === 'string' && suffix !== '' ? posix.join(path, suffix) : path;
    return decodeFileStatus(raw, child, urlOf);
  });
}

function decodeFileStatus(raw: unknown, path: string, urlOf: UrlOf): FileStatus {
  if (typeof raw !== 'object' || raw === null) throw malformed(path, 'a FileStatus is not an object');
  const record = raw as Record<string, unknown>;
  const type = record.type;
  if (type !== FileType.FILE && type !== FileType.DIRECTORY && type !== FileType.SYMLINK) {
    throw malformed(path, `unknown FileStatus type ${JSON.stringify(type)}`);
  }
  return {
    path,
    url: urlOf(path),
    name: posix.basename(path),
    type,
    length: numberOf(record.length),
    modificationTime: numberOf(record.modificationTime),
    accessTime: numberOf(record.accessTime),
    blockSize: numberOf(record.blockSize),
    replication: numberOf(record.replication),
    permission: typeof record.permission === 'string' ? record.permission : '',
    owner: typeof record.owner === 'string' ? record.owner : '',
    group: typeof record.group === 'string' ? record.group : '',
  };
}

function field(json: unknown, name: string, path: string): unknown {
  const value = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[name] : undefined;
  if (value === undefined || value === null) throw malformed(path, `the answer has no "${name}"`);
  return value;
}

function numberOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function malformed(path: string, hint: string): SluiceError {
  return new SluiceError(ErrorCode.REMOTE, `unexpected WebHDFS answer for ${path}: ${hint}; is the URL a WebHDFS or HttpFS server?`, {
    context: { path },
    retryable: false,
  });
}

/**
 * The `file://` twin of the WebHDFS client, over `node:fs/promises`, with HDFS's semantics where
 * POSIX differs: CREATE makes missing parents and refuses to overwrite unless asked, RENAME never
 * replaces an existing file and moves into an existing directory, errors carry the HDFS exception
 * name. A job that passes on local files therefore behaves the same on a cluster.
 */
import { constants, createReadStream } from 'node:fs';
import { mkdir, open as openFile, readdir, rename as renamePath, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { FileType } from './file-system.ts';
import type { CreateOptions, DeleteOptions, FileStatus, FileSystem, ListFilesOptions, OpenOptions, WriteData } from './file-system.ts';
import { listMatchingFiles } from './list-files.ts';
import { normalizePath, splitUrl } from './webhdfs-url.ts';

/** Options of `createLocalFs`. */
export interface LocalFsOptions {
  /** Size of the chunks `openStream` yields, in bytes; default 256 KiB. */
  chunkSize?: number;
  /** Directory listings in flight during `listFiles`; default 8. */
  listConcurrency?: number;
}

/** Whether a failure happened reading or writing, which decides how some errno values read. */
type Intent = 'read' | 'write';

const DEFAULT_CHUNK_SIZE = 256 * 1024;

/** Creates the local twin; `close()` makes later calls fail with CANCELLED. */
export function createLocalFs(options: LocalFsOptions = {}): FileSystem {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const listConcurrency = options.listConcurrency ?? 8;
  for (const [name, value] of [['chunkSize', chunkSize], ['listConcurrency', listConcurrency]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new SluiceError(ErrorCode.INVALID_CONFIG, `local file system option ${name} must be a positive integer, got ${value}`, {
        context: { option: name },
      });
    }
  }
  let closed = false;

  const pathOf = (input: string, op: string): string => {
    if (closed) {
      throw new SluiceError(ErrorCode.CANCELLED, `${op} ${input}: the local file system is closed`, { context: { op, path: input } });
    }
    return resolveLocalPath(input);
  };

  const getFileStatus = async (input: string): Promise<FileStatus> => {
    const path = pathOf(input, 'GETFILESTATUS');
    try {
      return statusOf(path, await stat(path));
    } catch (error) {
      throw toLocalError(error, 'GETFILESTATUS', path, 'read');
    }
  };

  const listStatus = async (input: string): Promise<FileStatus[]> => {
    const path = pathOf(input, 'LISTSTATUS');
    try {
      const self = await stat(path);
      if (!self.isDirectory()) return [statusOf(path, self)];
      const names = await readdir(path);
      const entries = await Promise.all(
        names.map(async (name) => {
          const child = join(path, name);
          try {
            return statusOf(child, await stat(child));
          } catch (error) {
            // Deleted since readdir, or a dangling symlink: it is not in the directory any more.
            if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
            throw error;
          }
        }),
      );
      return entries.filter((entry) => entry !== undefined).toSorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (error) {
      throw toLocalError(error, 'LISTSTATUS', path, 'read');
    }
  };

  const open = async (input: string, openOptions: OpenOptions = {}): Promise<Uint8Array> => {
    const path = pathOf(input, 'OPEN');
    const { offset, length } = checkRange(path, openOptions);
    try {
      const handle = await openFile(path, 'r');
      try {
        const wanted = length ?? Math.max(0, (await handle.stat()).size - offset);
        const buffer = Buffer.allocUnsafe(wanted);
        let filled = 0;
        while (filled < wanted) {
          const { bytesRead } = await handle.read(buffer, filled, wanted - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled === wanted ? buffer : buffer.subarray(0, filled);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw toLocalError(error, 'OPEN', path, 'read');
    }
  };

  const openStream = async function* (input: string, openOptions: OpenOptions = {}): AsyncGenerator<Uint8Array> {
    const path = pathOf(input, 'OPEN');
    const { offset, length } = checkRange(path, openOptions);
    if (length === 0) return;
    try {
      if ((await stat(path)).isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
      // createReadStream's `end` is inclusive.
      const source = createReadStream(path, {
        start: offset,
        ...(length === undefined ? {} : { end: offset + length - 1 }),
        highWaterMark: chunkSize,
      });
      try {
        for await (const chunk of source) yield chunk as Buffer;
      } finally {
        source.destroy();
      }
    } catch (error) {
      throw toLocalError(error, 'OPEN', path, 'read');
    }
  };

  const fs: FileSystem = {
    scheme: 'file',
    urlOf: (input) => pathToFileURL(pathOf(input, 'URL')).href,
    getFileStatus,
    listStatus,
    listFiles: (pattern: string, listOptions: ListFilesOptions = {}) =>
      listMatchingFiles(fs, pathOf(pattern, 'LISTFILES'), { ...listOptions, concurrency: listConcurrency }),
    open,
    openStream,
    createRangeReader(input: string): RangeReader {
      const path = pathOf(input, 'OPEN');
      return {
        url: pathToFileURL(path).href,
        size: async () => (await getFileStatus(path)).length,
        read: (offset, length) => open(path, { offset, length }),
        stream: (offset, end) => openStream(path, end === undefined ? { offset } : { offset, length: Math.max(0, end - offset) }),
      };
    },
    async create(input: string, data: WriteData, createOptions: CreateOptions = {}) {
      const path = pathOf(input, 'CREATE');
      const mode = createOptions.permission === undefined ? undefined : Number.parseInt(createOptions.permission, 8);
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (error) {
        const errno = (error as { code?: unknown }).code;
        if (errno !== 'EEXIST' && errno !== 'ENOTDIR') throw toLocalError(error, 'CREATE', path, 'write');
        throw new SluiceError(ErrorCode.REMOTE, `CREATE ${path}: a parent is a file, not a directory`, {
          cause: error,
          retryable: false,
          context: { op: 'CREATE', path, errno, exception: 'ParentNotDirectoryException' },
        });
      }
      await writeAll(path, createOptions.overwrite === true ? 'w' : 'wx', data, mode, 'CREATE');
    },
    async append(input: string, data: WriteData) {
      const path = pathOf(input, 'APPEND');
      // No O_CREAT: appending to a missing file is an error on HDFS too.
      await writeAll(path, constants.O_WRONLY | constants.O_APPEND, data, undefined, 'APPEND');
    },
    async mkdirs(input: string) {
      const path = pathOf(input, 'MKDIRS');
      try {
        await mkdir(path, { recursive: true });
        if (!(await stat(path)).isDirectory()) throw Object.assign(new Error(`${path} is a file`), { code: 'EEXIST' });
      } catch (error) {
        throw toLocalError(error, 'MKDIRS', path, 'write');
      }
    },
    async rename(fromInput: string, toInput: string) {
      const from = pathOf(fromInput, 'RENAME');
      const to = pathOf(toInput, 'RENAME');
      const context = { op: 'RENAME', path: from, destination: to };
      const source = await getFileStatus(from).catch((error: unknown) => {
        throw isSluiceError(error) && error.code === ErrorCode.NOT_FOUND
          ? new SluiceError(ErrorCode.NOT_FOUND, `RENAME ${from} -> ${to}: the source does not exist`, { cause: error, context })
          : error;
      });
      if (from === to) return;
      const target = await statIfExists(to);
      const destination = target?.isDirectory() === true ? join(to, basename(from)) : to;
      if (target !== undefined && (destination === to || (await statIfExists(destination)) !== undefined)) {
        throw new SluiceError(ErrorCode.REMOTE, `RENAME ${from} -> ${destination}: the destination exists; delete it first`, {
          retryable: false,
          context: { ...context, exception: 'FileAlreadyExistsException' },
        });
      }
      if (target === undefined && (await statIfExists(dirname(to)))?.isDirectory() !== true) {
        throw new SluiceError(ErrorCode.NOT_FOUND, `RENAME ${from} -> ${to}: the destination directory ${dirname(to)} does not exist; mkdirs it first`, {
          context,
        });
      }
      if (source.type === FileType.DIRECTORY && `${destination}/`.startsWith(`${from}/`)) {
        throw new SluiceError(ErrorCode.REMOTE, `RENAME ${from} -> ${destination}: a directory cannot move into itself`, {
          retryable: false,
          context,
        });
      }
      try {
        await renamePath(from, destination);
      } catch (error) {
        throw toLocalError(error, 'RENAME', from, 'write');
      }
    },
    async delete(input: string, deleteOptions: DeleteOptions = {}) {
      const path = pathOf(input, 'DELETE');
      const found = await statIfExists(path);
      if (found === undefined) return false;
      try {
        if (!found.isDirectory()) await unlink(path);
        else if (deleteOptions.recursive === true) await rm(path, { recursive: true });
        else await rmdir(path);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') return false;
        throw toLocalError(error, 'DELETE', path, 'write');
      }
      return true;
    },
    async close() {
      closed = true;
    },
  };
  return fs;
}

/** Writes all of `data` through a fresh descriptor opened with `flags`. */
async function writeAll(path: string, flags: number | string, data: WriteData, mode: number | undefined, op: string): Promise<void> {
  try {
    const handle = await openFile(path, flags, mode);
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) {
        await handle.writeFile(data);
      } else {
        for await (const chunk of data) await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw toLocalError(error, op, path, 'write');
  }
}

/** An absolute local path from a `file://` URL (glob characters kept), an absolute or a relative path. */
export function resolveLocalPath(input: string): string {
  const split = splitUrl(input);
  if (split === undefined) return normalizePath(resolve(input));
  if (split.scheme !== 'file' || (split.authority !== '' && split.authority !== 'localhost')) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `'${input}' is not a local path or file:/// URL`, { context: { path: input } });
  }
  return normalizePath(split.path);
}

function statusOf(path: string, stats: Stats): FileStatus {
  return {
    path,
    url: pathToFileURL(path).href,
    name: basename(path),
    type: stats.isDirectory() ? FileType.DIRECTORY : FileType.FILE,
    length: stats.isDirectory() ? 0 : stats.size,
    modificationTime: Math.floor(stats.mtimeMs),
    accessTime: Math.floor(stats.atimeMs),
    blockSize: stats.blksize,
    replication: 1,
    permission: (stats.mode & 0o777).toString(8),
    owner: String(stats.uid),
    group: String(stats.gid),
  };
}

async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw toLocalError(error, 'GETFILESTATUS', path, 'read');
  }
}

function checkRange(path: string, options: OpenOptions): { offset: number; length: number | undefined } {
  const offset = options.offset ?? 0;
  const { length } = options;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new SluiceError(ErrorCode.INTERNAL, `invalid byte range offset=${offset} length=${String(length)} for ${path}`, {
      context: { path, offset, length },
    });
  }
  return { offset, length };
}

/** The SluiceError HDFS would have given, with the errno kept for the curious. */
function toLocalError(error: unknown, op: string, path: string, intent: Intent): SluiceError {
  if (isSluiceError(error)) return error;
  const errno = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const context = { op, path, url: pathToFileURL(path).href, errno };
  const fail = (code: ErrorCode, exception: string, said: string, retryable?: boolean): SluiceError =>
    new SluiceError(code, `${op} ${path}: ${said}`, {
      cause: error,
      context: { ...context, exception },
      ...(retryable === undefined ? {} : { retryable }),
    });
  switch (errno) {
    case 'ENOENT':
      return fail(ErrorCode.NOT_FOUND, 'FileNotFoundException', 'no such file or directory');
    case 'ENOTDIR':
      return intent === 'read'
        ? fail(ErrorCode.NOT_FOUND, 'FileNotFoundException', 'a parent is not a directory')
        : fail(ErrorCode.REMOTE, 'ParentNotDirectoryException', 'a parent is a file, not a directory', false);
    case 'EISDIR':
      return intent === 'read'
        ? fail(ErrorCode.NOT_FOUND, 'FileNotFoundException', 'is a directory, not a file; list its files and read each one')
        : fail(ErrorCode.REMOTE, 'FileAlreadyExistsException', 'a directory exists at this path', false);
    case 'EEXIST':
      return fail(ErrorCode.REMOTE, 'FileAlreadyExistsException', 'already exists; pass overwrite: true to replace a file', false);
    case 'ENOTEMPTY':
      return fail(ErrorCode.REMOTE, 'PathIsNotEmptyDirectoryException', 'the directory is not empty; pass recursive: true', false);
    case 'EACCES':
    case 'EPERM':
      return fail(ErrorCode.PERMISSION_DENIED, 'AccessControlException', `permission denied (${message})`);
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
      return fail(ErrorCode.UNAVAILABLE, 'IOException', `temporarily unavailable (${message})`, true);
    default:
      return fail(ErrorCode.REMOTE, 'IOException', message, false);
  }
}

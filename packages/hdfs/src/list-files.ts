/**
 * The glob walk behind `FileSystem.listFiles`, shared by WebHDFS and the local twin: it lists only
 * directories that can still match, a bounded number at a time, and returns files sorted by path.
 */
import { ErrorCode, isSluiceError } from '@sluice/core';
import { FileType } from './file-system.ts';
import type { FileStatus, ListFilesOptions } from './file-system.ts';
import { matchSegment, parseGlob } from './glob.ts';
import type { GlobSegment } from './glob.ts';

/** The two calls the walk needs. */
export interface DirectoryLister {
  getFileStatus(path: string): Promise<FileStatus>;
  listStatus(path: string): Promise<FileStatus[]>;
}

/** Options of `listMatchingFiles`. */
export interface ListMatchingOptions extends ListFilesOptions {
  /** Directory listings in flight at once; default 8. */
  concurrency?: number;
}

/** Files matching an absolute glob path, sorted by path (see `FileSystem.listFiles`). */
export async function listMatchingFiles(
  lister: DirectoryLister,
  pattern: string,
  options: ListMatchingOptions = {},
): Promise<FileStatus[]> {
  const glob = parseGlob(pattern);
  const recursive = options.recursive ?? false;
  const includeHidden = options.includeHidden ?? false;
  const limit = limitConcurrency(options.concurrency ?? 8);
  const skipDirectory = options.skipDirectory;
  const listings = new Map<string, Promise<FileStatus[]>>();
  const found = new Map<string, FileStatus>();

  const list = (path: string): Promise<FileStatus[]> => {
    let listing = listings.get(path);
    if (listing === undefined) {
      listing = skipDirectory?.(path) === true ? Promise.resolve([]) : limit(() => lister.listStatus(path));
      listings.set(path, listing);
    }
    return listing;
  };
  const visible = (entry: FileStatus): boolean => includeHidden || !isHidden(entry.name);

  const collect = async (entry: FileStatus): Promise<void> => {
    if (entry.type === FileType.FILE) {
      found.set(entry.path, entry);
      return;
    }
    if (entry.type !== FileType.DIRECTORY) return;
    const children = (await list(entry.path)).filter(visible);
    await Promise.all(
      children.map((child) => (child.type === FileType.FILE || recursive ? collect(child) : Promise.resolve())),
    );
  };

  const visit = async (directory: string, index: number): Promise<void> => {
    const segment = glob.segments[index];
    // Checked here as well as in `list`: a literal segment is looked up without listing its parent.
    if (segment === undefined || skipDirectory?.(directory) === true) return;
    const last = index === glob.segments.length - 1;
    if (segment.kind === 'any-depth') {
      const children = (await list(directory)).filter(visible);
      if (last) {
        await Promise.all(children.map((child) => collectAll(child)));
        return;
      }
      await Promise.all([
        visit(directory, index + 1),
        ...children.filter((child) => child.type === FileType.DIRECTORY).map((child) => visit(child.path, index)),
      ]);
      return;
    }
    const matches = await matchChildren(directory, segment);
    // `a/**` also matches `a` itself when `a` is a file, since `**` may stand for no segment at all.
    const restAnyDepth = glob.segments.slice(index + 1).every((rest) => rest.kind === 'any-depth');
    await Promise.all(
      matches.map((entry) => {
        if (last || (restAnyDepth && entry.type === FileType.FILE)) return collect(entry);
        return entry.type === FileType.DIRECTORY ? visit(entry.path, index + 1) : Promise.resolve();
      }),
    );
  };

  // `**` at the end means every file below, whatever `recursive` says.
  const collectAll = async (entry: FileStatus): Promise<void> => {
    if (entry.type === FileType.FILE) {
      found.set(entry.path, entry);
      return;
    }
    if (entry.type !== FileType.DIRECTORY) return;
    const children = (await list(entry.path)).filter(visible);
    await Promise.all(children.map((child) => collectAll(child)));
  };

  const matchChildren = async (directory: string, segment: GlobSegment): Promise<FileStatus[]> => {
    if (segment.kind === 'literal') {
      const child = await limit(() => statIfExists(lister, joinPath(directory, segment.name)));
      return child === undefined ? [] : [child];
    }
    const hiddenOk = includeHidden || (segment.kind === 'pattern' && segment.matchesHidden);
    return (await list(directory)).filter((entry) => (hiddenOk || !isHidden(entry.name)) && matchSegment(segment, entry.name));
  };

  if (glob.segments.length === 0) {
    await collect(await lister.getFileStatus(glob.base));
  } else {
    const base = await lister.getFileStatus(glob.base);
    if (base.type === FileType.DIRECTORY) await visit(base.path, 0);
    else if (glob.segments.every((segment) => segment.kind === 'any-depth')) await collect(base);
  }
  return [...found.values()].toSorted((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Names Hadoop's input formats skip: `_SUCCESS`, `_temporary`, `.part.crc`. */
export function isHidden(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_');
}

async function statIfExists(lister: DirectoryLister, path: string): Promise<FileStatus | undefined> {
  try {
    return await lister.getFileStatus(path);
  } catch (error) {
    // A literal segment below a glob is a filter: its absence means no match, not a failure.
    if (isSluiceError(error) && error.code === ErrorCode.NOT_FOUND) return undefined;
    throw error;
  }
}

function joinPath(directory: string, name: string): string {
  return directory === '/' ? `/${name}` : `${directory}/${name}`;
}

/** A gate letting at most `max` calls run at once; the rest wait in order. */
function limitConcurrency(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot to the next waiter directly, so the count never overshoots.
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next === undefined) running -= 1;
      else next();
    }
  };
}

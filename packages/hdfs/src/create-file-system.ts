/**
 * One entry point from an input URL to the file system serving it, so callers never branch on
 * schemes: `webhdfs://`, `swebhdfs://`, `http(s)://` (a WebHDFS or HttpFS server), `hdfs://` (mapped
 * to the NameNode's HTTP address), `file://` and plain local paths.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { FileSystem } from './file-system.ts';
import { createLocalFs } from './local-file-system.ts';
import type { LocalFsOptions } from './local-file-system.ts';
import { createWebHdfsClient } from './webhdfs-client.ts';
import type { WebHdfsClientOptions } from './webhdfs-client.ts';
import { splitUrl } from './webhdfs-url.ts';

/** Options of `createFileSystem`: those of the client the URL selects. */
export interface FileSystemOptions extends Omit<WebHdfsClientOptions, 'url'>, LocalFsOptions {}

const WEBHDFS_SCHEMES: ReadonlySet<string> = new Set(['webhdfs', 'swebhdfs', 'http', 'https', 'hdfs']);

/** The file system serving `url`; paths of later calls may be that URL or others of the same server. */
export function createFileSystem(url: string, options: FileSystemOptions = {}): FileSystem {
  const split = splitUrl(url.trim());
  if (split === undefined || split.scheme === 'file') {
    return createLocalFs({
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      ...(options.listConcurrency === undefined ? {} : { listConcurrency: options.listConcurrency }),
    });
  }
  if (WEBHDFS_SCHEMES.has(split.scheme)) {
    // An http(s) URL names the server only; other schemes carry a path that each call repeats.
    const serverUrl = split.scheme === 'http' || split.scheme === 'https' ? url : `${split.scheme}://${split.authority}/`;
    return createWebHdfsClient({ ...options, url: serverUrl });
  }
  throw new SluiceError(
    ErrorCode.INVALID_CONFIG,
    `cannot read '${url}': scheme ${split.scheme}:// is not supported; use webhdfs://host:port/path, hdfs://host/path, file:///path or a local path`,
    { context: { url } },
  );
}

export { FileType } from './file-system.ts';
export type {
  CreateOptions,
  DeleteOptions,
  FileStatus,
  FileSystem,
  ListFilesOptions,
  OpenOptions,
  WriteData,
} from './file-system.ts';
export { createWebHdfsClient, DataTransfer } from './webhdfs-client.ts';
export type { WebHdfsClient, WebHdfsClientOptions } from './webhdfs-client.ts';
export { createLocalFs, resolveLocalPath } from './local-file-system.ts';
export type { LocalFsOptions } from './local-file-system.ts';
export { createFileSystem } from './create-file-system.ts';
export { fetchOverNodeHttp, fetchWithUploads } from './node-http-fetch.ts';
export type { FileSystemOptions } from './create-file-system.ts';
export { hasGlobSyntax, matchGlob, parseGlob } from './glob.ts';
export type { GlobPattern, GlobSegment } from './glob.ts';
export { isHidden, listMatchingFiles } from './list-files.ts';
export type { DirectoryLister, ListMatchingOptions } from './list-files.ts';
export { parseWebHdfsEndpoint, redactUrl, resolveHdfsPath } from './webhdfs-url.ts';
export { createHadoopConf, loadHadoopConf, resolveNameNodes } from './hadoop-conf.ts';
export type { HadoopConf, ResolvedNameNodes } from './hadoop-conf.ts';
export type { WebHdfsEndpoint, WebHdfsEndpointOptions } from './webhdfs-url.ts';
export { decodeRemoteException, toResponseError } from './webhdfs-error.ts';
export type { RemoteException } from './webhdfs-error.ts';
export { computeBackoffMs } from './retry.ts';
export type { BackoffOptions } from './retry.ts';

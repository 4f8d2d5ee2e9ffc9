/**
 * Where a WebHDFS server is and how its REST URLs are spelled. The user gives one URL (`http://nn:9870`,
 * `webhdfs://nn:9870/path`, `hdfs://nn:8020/path` plus the NameNode's HTTP address, or the HTTP
 * addresses of an HA pair for `hdfs://nameservice/path`); every mistake in it is an INVALID_CONFIG at
 * construction, so a bad address fails before any job is planned.
 */
import { posix } from 'node:path';
import { ErrorCode, SluiceError } from '@sluice/core';
import { loadHadoopConf, resolveNameNodes } from './hadoop-conf.ts';

/** A resolved WebHDFS server. */
export interface WebHdfsEndpoint {
  /** Base of the REST API, `http://127.0.0.1:9870/webhdfs/v1` (a gateway may add a prefix). */
  readonly apiUrl: string;
  /** Scheme of the URLs naming its files: `webhdfs` over http, `swebhdfs` over https. */
  readonly scheme: 'webhdfs' | 'swebhdfs';
  /** `host:port` of the HTTP server, always with the port. */
  readonly authority: string;
}

/** Options of `parseWebHdfsEndpoint`. */
export interface WebHdfsEndpointOptions {
  /**
   * The NameNode's HTTP address (`nn:9870` or `http://nn:9870`) that `hdfs://` URLs map to, since their
   * authority is the RPC address (or an HA nameservice), which speaks no HTTP. A comma-separated list
   * names the NameNodes of an HA nameservice (`nn1:9870,nn2:9870`), as `dfs.namenode.http-address.<ns>.<nn>`
   * does in hdfs-site.xml. Defaults to `SLUICE_HDFS_HTTP_ADDRESS`; without either, `hadoopConfDir` decides.
   */
  hdfsHttpAddress?: string;
  /**
   * A Hadoop client configuration directory whose `core-site.xml` and `hdfs-site.xml` map `hdfs://`
   * URLs to NameNodes, as they do for Hadoop's own clients. Defaults to `HADOOP_CONF_DIR`.
   */
  hadoopConfDir?: string;
  /** Environment to read defaults from; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The NameNodes serving one URL: one server, or the NameNodes of an HA nameservice. */
export interface WebHdfsCluster {
  /** In the order configured; an HA client starts with the first and fails over along the list. */
  readonly endpoints: readonly WebHdfsEndpoint[];
  /**
   * For HA (or a nameservice of the Hadoop configuration), the `hdfs://` authority file URLs keep
   * (`hdfs://nameservice/path`), so whoever reads them later resolves and fails over too; undefined
   * for one server, whose files are `webhdfs://host:port/path`.
   */
  readonly nameservice: string | undefined;
}

/** A URL split without WHATWG parsing, so glob characters (`?`, `{`, `[`) stay in the path. */
export interface SplitUrl {
  readonly scheme: string;
  readonly authority: string;
  /** The raw path, percent-escapes decoded; `/` when absent. */
  readonly path: string;
}

/** Default HTTP ports of the NameNode in Hadoop 3, used when a `webhdfs://` URL names none. */
const DEFAULT_PORT = { webhdfs: 9870, swebhdfs: 9871 } as const;
const API_PREFIX = '/webhdfs/v1';

/** Splits `scheme://authority/path`; undefined when `value` has no scheme (a plain path). */
export function splitUrl(value: string): SplitUrl | undefined {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/]*)(.*)$/u.exec(value);
  if (match === null) return undefined;
  const [, scheme = '', authority = '', rawPath = ''] = match;
  return { scheme: scheme.toLowerCase(), authority, path: decodePath(rawPath === '' ? '/' : rawPath, value) };
}

/** Resolves the (first) server a WebHDFS client talks to; throws INVALID_CONFIG with the fix in the message. */
export function parseWebHdfsEndpoint(url: string, options: WebHdfsEndpointOptions = {}): WebHdfsEndpoint {
  return parseWebHdfsCluster(url, options).endpoints[0] as WebHdfsEndpoint;
}

/** Resolves every NameNode a WebHDFS client may talk to; throws INVALID_CONFIG with the fix in the message. */
export function parseWebHdfsCluster(url: string, options: WebHdfsEndpointOptions = {}): WebHdfsCluster {
  const split = splitUrl(url.trim());
  if (split === undefined) {
    throw invalid(url, 'expected a URL such as http://namenode:9870 or webhdfs://namenode:9870');
  }
  switch (split.scheme) {
    case 'http':
    case 'https':
      return { endpoints: [fromHttpUrl(url, split)], nameservice: undefined };
    case 'webhdfs':
    case 'swebhdfs':
      return { endpoints: [fromAuthority(url, split.scheme, split.authority)], nameservice: undefined };
    case 'hdfs':
      return fromHdfsUrl(url, split.authority, options);
    default:
      throw invalid(url, `unsupported scheme '${split.scheme}:'; use http(s)://, webhdfs://, swebhdfs:// or hdfs://`);
  }
}

/** The REST URL of one operation; `query` values are sent as given, in order. */
export function buildOperationUrl(
  endpoint: WebHdfsEndpoint,
  path: string,
  op: string,
  query: ReadonlyArray<readonly [string, string]>,
): string {
  const search = new URLSearchParams([['op', op], ...query.map(([key, value]): [string, string] => [key, value])]);
  return `${endpoint.apiUrl}${encodePath(path)}?${search.toString()}`;
}

/** `webhdfs://host:port/path`: the URL naming a file of this server. */
export function formatFileUrl(endpoint: WebHdfsEndpoint, path: string): string {
  return `${endpoint.scheme}://${endpoint.authority}${encodeUrlPath(path)}`;
}

/** The URL naming a file of a cluster: `hdfs://nameservice/path` for HA, else that of its one server. */
export function formatClusterFileUrl(cluster: WebHdfsCluster, path: string): string {
  if (cluster.nameservice === undefined) return formatFileUrl(cluster.endpoints[0] as WebHdfsEndpoint, path);
  return `hdfs://${cluster.nameservice}${encodeUrlPath(path)}`;
}

/**
 * An absolute, normalized HDFS path from what a caller passed: a path (`/a/b`) or a URL of this
 * server (`webhdfs://same-host:port/a/b`, `hdfs://any/a/b`, or a REST URL under `/webhdfs/v1`).
 */
export function resolveHdfsPath(endpoint: WebHdfsEndpoint, input: string): string {
  if (input.startsWith('/')) return normalizePath(input);
  const split = splitUrl(input);
  if (split === undefined) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `HDFS paths must be absolute, got '${input}'`, { context: { path: input } });
  }
  if (split.scheme === 'webhdfs' || split.scheme === 'swebhdfs') {
    const other = fromAuthority(input, split.scheme, split.authority);
    if (other.authority !== endpoint.authority || other.scheme !== endpoint.scheme) {
      throw new SluiceError(
        ErrorCode.INVALID_CONFIG,
        `'${input}' names another server than this client's ${endpoint.scheme}://${endpoint.authority}; create a client for it`,
        { context: { path: input, endpoint: endpoint.apiUrl } },
      );
    }
    return normalizePath(split.path);
  }
  // The authority of hdfs:// is the RPC address, which cannot be compared with the HTTP one.
  if (split.scheme === 'hdfs') return normalizePath(split.path);
  if ((split.scheme === 'http' || split.scheme === 'https') && split.path.startsWith(`${API_PREFIX}/`)) {
    return normalizePath(split.path.slice(API_PREFIX.length));
  }
  throw new SluiceError(ErrorCode.INVALID_CONFIG, `'${input}' is not a path or URL of ${endpoint.scheme}://${endpoint.authority}`, {
    context: { path: input },
  });
}

/** Collapses `//`, `.` and `..` and drops a trailing slash; `/` stays `/`. */
export function normalizePath(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** The URL with credentials removed, safe for logs and error context. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:delegation|token)=)[^&#]*/giu, '$1***');
}

function fromHttpUrl(url: string, split: SplitUrl): WebHdfsEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch (error) {
    throw invalid(url, 'not a valid URL', error);
  }
  if (parsed.username !== '' || parsed.password !== '') throw invalid(url, 'credentials in the URL are not supported; use delegationToken');
  if (parsed.search !== '' || parsed.hash !== '') throw invalid(url, 'remove the query string; set user and delegationToken as options');
  const prefixEnd = split.path.indexOf(API_PREFIX);
  const prefix = split.path === '/' ? '' : split.path.slice(0, prefixEnd);
  if (split.path !== '/' && (prefixEnd < 0 || !/^\/webhdfs\/v1\/?$/u.test(split.path.slice(prefixEnd)))) {
    throw invalid(url, 'name the server only (http://namenode:9870), or end a gateway URL in /webhdfs/v1; file paths go in each call');
  }
  const scheme = parsed.protocol === 'https:' ? 'swebhdfs' : 'webhdfs';
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? '443' : '80') : parsed.port;
  return { apiUrl: `${parsed.protocol}//${parsed.host}${prefix}${API_PREFIX}`, scheme, authority: `${parsed.hostname}:${port}` };
}

function fromAuthority(url: string, scheme: 'webhdfs' | 'swebhdfs', authority: string): WebHdfsEndpoint {
  if (authority === '') throw invalid(url, `a ${scheme}:// URL needs a host: ${scheme}://namenode:${DEFAULT_PORT[scheme]}/path`);
  if (authority.includes('@')) throw invalid(url, 'credentials in the URL are not supported; use delegationToken');
  let parsed: URL;
  try {
    parsed = new URL(`${scheme === 'swebhdfs' ? 'https' : 'http'}://${authority}/`);
  } catch (error) {
    throw invalid(url, `'${authority}' is not a valid host:port`, error);
  }
  const port = parsed.port === '' ? String(DEFAULT_PORT[scheme]) : parsed.port;
  const protocol = scheme === 'swebhdfs' ? 'https:' : 'http:';
  return { apiUrl: `${protocol}//${parsed.hostname}:${port}${API_PREFIX}`, scheme, authority: `${parsed.hostname}:${port}` };
}

function fromHdfsUrl(url: string, authority: string, options: WebHdfsEndpointOptions): WebHdfsCluster {
  const env = options.env ?? process.env;
  const setting = options.hdfsHttpAddress === undefined ? 'SLUICE_HDFS_HTTP_ADDRESS' : 'hdfsHttpAddress';
  const address = options.hdfsHttpAddress ?? env.SLUICE_HDFS_HTTP_ADDRESS;
  // The explicit address wins over the Hadoop configuration: it is how one process is pointed
  // elsewhere than the host's Hadoop clients.
  if (address !== undefined && address.trim() !== '') {
    const endpoints = endpointsFromList(address, setting);
    return { endpoints, nameservice: endpoints.length > 1 ? authority : undefined };
  }
  const confDir = options.hadoopConfDir ?? env.HADOOP_CONF_DIR;
  if (confDir !== undefined && confDir.trim() !== '') {
    const resolved = resolveNameNodes(loadHadoopConf(confDir.trim(), env), authority);
    const endpoints = endpointsFromList(resolved.httpAddresses.join(','), `the Hadoop configuration in ${confDir.trim()}`);
    return { endpoints, nameservice: resolved.nameservice };
  }
  throw invalid(
    url,
    'hdfs:// names the NameNode RPC address, which has no HTTP API; set HADOOP_CONF_DIR to the cluster\'s Hadoop client configuration, or SLUICE_HDFS_HTTP_ADDRESS to the NameNode\'s HTTP address (e.g. namenode:9870, or nn1:9870,nn2:9870 for an HA pair), or use webhdfs://',
  );
}

function endpointsFromList(address: string, setting: string): WebHdfsEndpoint[] {
  const items = address.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) {
    throw invalid(address, `${setting} has an empty entry; list NameNode HTTP addresses separated by single commas (nn1:9870,nn2:9870)`);
  }
  const endpoints = items.map((item) => fromHttpAddress(item, setting));
  const seen = new Set<string>();
  for (const endpoint of endpoints) {
    if (seen.has(endpoint.apiUrl)) throw invalid(address, `${setting} lists ${endpoint.authority} twice`);
    seen.add(endpoint.apiUrl);
  }
  if (new Set(endpoints.map((endpoint) => endpoint.scheme)).size > 1) {
    throw invalid(address, `${setting} mixes http and https NameNodes; the NameNodes of one nameservice speak the same protocol`);
  }
  return endpoints;
}

function fromHttpAddress(item: string, setting: string): WebHdfsEndpoint {
  const split = splitUrl(item);
  if (split === undefined) return fromAuthority(item, 'webhdfs', item);
  if (split.scheme === 'http' || split.scheme === 'https') return fromHttpUrl(item, split);
  if (split.scheme === 'webhdfs' || split.scheme === 'swebhdfs') return fromAuthority(item, split.scheme, split.authority);
  throw invalid(item, `${setting} must be host:port or an http(s):// URL of the NameNode (a comma-separated list for HA)`);
}

function decodePath(raw: string, whole: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch (error) {
    throw invalid(whole, 'malformed percent-escape in the path', error);
  }
}

/** Percent-encodes each segment for the REST URL, keeping the characters HDFS paths commonly use. */
function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%(3D|3A|40|2C)/gu, (escape) => decodeURIComponent(escape)))
    .join('/');
}

/** Escapes only what would end or corrupt a URL path, so names stay readable in provenance. */
function encodeUrlPath(path: string): string {
  return path.replace(/[%?#\s]/gu, (char) => encodeURIComponent(char));
}

function invalid(url: string, hint: string, cause?: unknown): SluiceError {
  return new SluiceError(ErrorCode.INVALID_CONFIG, `invalid WebHDFS URL '${redactUrl(url)}': ${hint}`, {
    context: { url: redactUrl(url) },
    ...(cause === undefined ? {} : { cause }),
  });
}

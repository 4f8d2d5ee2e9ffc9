/**
 * Hadoop's client configuration (`core-site.xml` and `hdfs-site.xml` in `HADOOP_CONF_DIR`), read
 * the way Hadoop reads it, so an `hdfs://` URL resolves to the NameNodes' HTTP addresses from the
 * same files every Hadoop and Spark client on the host already uses: `fs.defaultFS` for
 * `hdfs:///path`, `dfs.nameservices` and `dfs.ha.namenodes.<ns>` for HA, the RPC-to-HTTP address
 * pairs for a plain NameNode. Every problem is an INVALID_CONFIG naming the file and the property.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, SluiceError } from '@sluice/core';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The properties of a Hadoop configuration directory, later files overriding earlier ones. */
export interface HadoopConf {
  /** The value of a property, `${name}` and `${env.NAME}` expanded as Hadoop does; undefined when unset. */
  get(name: string): string | undefined;
  /** Names of every property set, for lookups by pattern. */
  names(): Iterable<string>;
  /** The files read, in order: named in every error so the user knows what to edit. */
  readonly files: readonly string[];
}

/** Where the NameNodes of one `hdfs://` authority serve HTTP, as resolved from a configuration. */
export interface ResolvedNameNodes {
  /** `http(s)://host:port` of each NameNode, in the order the configuration lists them. */
  readonly httpAddresses: readonly string[];
  /** The nameservice the authority named (files are then `hdfs://<nameservice>/path`); undefined for one NameNode by address. */
  readonly nameservice: string | undefined;
}

/** Hadoop reads core-site.xml before hdfs-site.xml; a property in both takes the later value. */
const SITE_FILES = ['core-site.xml', 'hdfs-site.xml'] as const;
const DEFAULT_RPC_PORT = 8020;
const DEFAULT_HTTP_PORT = { http: 9870, https: 9871 } as const;
// Hadoop stops expanding after this many rounds, leaving the rest as written.
const MAX_SUBSTITUTIONS = 20;

const cache = new Map<string, HadoopConf>();

/** Reads `core-site.xml` and `hdfs-site.xml` of `dir` once per process; throws INVALID_CONFIG when neither is there or one is malformed. */
export function loadHadoopConf(dir: string, env: Readonly<Record<string, string | undefined>> = process.env): HadoopConf {
  const cached = cache.get(dir);
  if (cached !== undefined) return cached;
  const properties = new Map<string, string>();
  const files: string[] = [];
  for (const name of SITE_FILES) {
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw new SluiceError(ErrorCode.INVALID_CONFIG, `cannot read ${file}: ${(error as Error).message}; check HADOOP_CONF_DIR`, { context: { file }, cause: error });
    }
    for (const [key, value] of parseHadoopConfXml(text, file)) properties.set(key, value);
    files.push(file);
  }
  if (files.length === 0) {
    throw new SluiceError(
      ErrorCode.INVALID_CONFIG,
      `HADOOP_CONF_DIR=${dir} has neither core-site.xml nor hdfs-site.xml; point it at the cluster's client configuration (often /etc/hadoop/conf) or unset it`,
      { context: { dir } },
    );
  }
  const conf = createHadoopConf(properties, files, env);
  cache.set(dir, conf);
  return conf;
}

/** A configuration from properties already in hand (tests, or settings assembled elsewhere). */
export function createHadoopConf(
  properties: ReadonlyMap<string, string>,
  files: readonly string[] = [],
  env: Readonly<Record<string, string | undefined>> = process.env,
): HadoopConf {
  const get = (name: string): string | undefined => {
    let value = properties.get(name);
    if (value === undefined) return undefined;
    for (let round = 0; round < MAX_SUBSTITUTIONS && value.includes('${'); round += 1) {
      const expanded: string = value.replace(/\$\{([^}$\s]+)\}/gu, (whole, key: string) =>
        (key.startsWith('env.') ? env[key.slice(4)] : key === name ? undefined : properties.get(key)) ?? whole);
      if (expanded === value) break;
      value = expanded;
    }
    return value;
  };
  return { get, names: () => properties.keys(), files };
}

/** The `<property>` entries of one Hadoop configuration file, in order; throws INVALID_CONFIG with the line of a syntax error. */
export function parseHadoopConfXml(xml: string, file: string): Map<string, string> {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${file}:${valid.err.line}:${valid.err.col}: not well-formed XML: ${valid.err.msg}`, {
      context: { file, line: valid.err.line },
    });
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (_name, path) => path === 'configuration.property',
  });
  const document = parser.parse(xml) as Record<string, unknown>;
  const root = document.configuration;
  if (root === undefined) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${file} has no <configuration> element; it is not a Hadoop configuration file`, { context: { file } });
  }
  if (typeof root === 'object' && root !== null && Object.keys(root).some((key) => key.endsWith(':include') || key === 'include')) {
    // Skipping an include would resolve against half the settings; refusing says what to do.
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${file} uses xi:include, which is not followed here; copy the included properties into the file`, { context: { file } });
  }
  const properties = new Map<string, string>();
  const entries = typeof root === 'object' && root !== null ? ((root as { property?: unknown[] }).property ?? []) : [];
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null) continue;
    // Hadoop accepts a property's name and value as child elements or as attributes.
    const { name, value } = entry as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || name.trim() === '') continue;
    properties.set(name.trim(), typeof value === 'string' ? value : '');
  }
  return properties;
}

/**
 * The NameNodes behind an `hdfs://` authority (a nameservice, `host[:port]` of a NameNode's RPC
 * server, or empty for `fs.defaultFS`), as Hadoop's client resolves them; throws INVALID_CONFIG
 * naming the property that is missing.
 */
export function resolveNameNodes(conf: HadoopConf, authority: string): ResolvedNameNodes {
  const where = conf.files.length === 0 ? 'the Hadoop configuration' : conf.files.join(' and ');
  let target = authority;
  if (target === '') {
    const defaultFs = conf.get('fs.defaultFS') ?? conf.get('fs.default.name');
    if (defaultFs === undefined) {
      throw invalidConf(`hdfs:///path takes its NameNode from fs.defaultFS, which ${where} does not set; name the NameNode or nameservice in the URL (hdfs://namenode:8020/path)`, conf);
    }
    const match = /^hdfs:\/\/([^/]*)/iu.exec(defaultFs.trim());
    if (match === null || match[1] === '') {
      throw invalidConf(`fs.defaultFS in ${where} is '${defaultFs}', not hdfs://<namenode or nameservice>; name the NameNode in the URL instead`, conf);
    }
    target = match[1] as string;
  }
  const https = (conf.get('dfs.http.policy') ?? 'HTTP_ONLY').trim().toUpperCase() === 'HTTPS_ONLY';
  const httpKey = https ? 'dfs.namenode.https-address' : 'dfs.namenode.http-address';
  const protocol = https ? 'https' : 'http';

  const nameservices = listOf(conf.get('dfs.nameservices'));
  if (nameservices.includes(target)) {
    const namenodes = listOf(conf.get(`dfs.ha.namenodes.${target}`));
    const suffixes = namenodes.length === 0 ? [`.${target}`] : namenodes.map((nn) => `.${target}.${nn}`);
    return { httpAddresses: suffixes.map((suffix) => httpAddressFor(conf, suffix, httpKey, protocol, where)), nameservice: target };
  }

  const wanted = hostAndPort(target, DEFAULT_RPC_PORT);
  if (wanted === undefined) throw invalidConf(`'${target}' in hdfs://${target} is not a host[:port] or a nameservice`, conf);
  const rpcAddresses = new Map<string, string>();
  for (const name of conf.names()) {
    if (name === 'dfs.namenode.rpc-address' || name.startsWith('dfs.namenode.rpc-address.')) {
      rpcAddresses.set(name.slice('dfs.namenode.rpc-address'.length), conf.get(name) ?? '');
    }
  }
  // Without dfs.namenode.rpc-address, a lone NameNode listens where fs.defaultFS points.
  if (!rpcAddresses.has('')) {
    const fromDefault = /^hdfs:\/\/([^/]+)/iu.exec((conf.get('fs.defaultFS') ?? conf.get('fs.default.name') ?? '').trim())?.[1];
    if (fromDefault !== undefined && !nameservices.includes(fromDefault)) rpcAddresses.set('', fromDefault);
  }
  for (const [suffix, address] of rpcAddresses) {
    const rpc = hostAndPort(address.trim(), DEFAULT_RPC_PORT);
    if (rpc !== undefined && rpc.host === wanted.host && rpc.port === wanted.port) {
      return { httpAddresses: [httpAddressFor(conf, suffix, httpKey, protocol, where, address.trim())], nameservice: undefined };
    }
  }
  const known = [...rpcAddresses.values()].map((address) => address.trim()).filter((address) => address !== '');
  throw invalidConf(
    `hdfs://${target} is neither a nameservice (dfs.nameservices: ${nameservices.join(', ') || 'none'}) nor a NameNode RPC address (dfs.namenode.rpc-address: ${known.join(', ') || 'none'}) in ${where}; name one of those, or set SLUICE_HDFS_HTTP_ADDRESS to the NameNode's HTTP address`,
    conf,
  );
}

/** `http(s)://host:port` of the NameNode whose properties end in `suffix`, its RPC host standing in for a wildcard. */
function httpAddressFor(
  conf: HadoopConf,
  suffix: string,
  httpKey: string,
  protocol: 'http' | 'https',
  where: string,
  rpc: string | undefined = conf.get(`dfs.namenode.rpc-address${suffix}`)?.trim(),
): string {
  const rpcHost = rpc === undefined ? undefined : hostAndPort(rpc, DEFAULT_RPC_PORT)?.host;
  const value = conf.get(`${httpKey}${suffix}`)?.trim();
  if (value === undefined || value === '') {
    // Hadoop's default HTTP address is the wildcard on the default port, reached at the RPC host.
    if (rpcHost !== undefined) return `${protocol}://${rpcHost}:${DEFAULT_HTTP_PORT[protocol]}`;
    throw invalidConf(`${where} sets neither ${httpKey}${suffix} nor dfs.namenode.rpc-address${suffix}; add the NameNode's HTTP address as ${httpKey}${suffix}`, conf);
  }
  const parsed = hostAndPort(value, DEFAULT_HTTP_PORT[protocol]);
  if (parsed === undefined) throw invalidConf(`${httpKey}${suffix} in ${where} is '${value}', not host:port`, conf);
  const host = parsed.host === '0.0.0.0' || parsed.host === '[::]' ? rpcHost : parsed.host;
  if (host === undefined) {
    throw invalidConf(`${httpKey}${suffix} in ${where} is the wildcard ${value} and dfs.namenode.rpc-address${suffix} is unset, so the NameNode's host is unknown; set either`, conf);
  }
  return `${protocol}://${host}:${parsed.port}`;
}

function hostAndPort(value: string, defaultPort: number): { host: string; port: number } | undefined {
  if (value === '' || value.includes('/') || value.includes('@')) return undefined;
  try {
    const url = new URL(`http://${value}`);
    return { host: url.hostname.toLowerCase(), port: url.port === '' ? defaultPort : Number(url.port) };
  } catch {
    return undefined;
  }
}

/** Hadoop's trimmed string collection: comma-separated, blanks dropped. */
function listOf(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function invalidConf(message: string, conf: HadoopConf): SluiceError {
  return new SluiceError(ErrorCode.INVALID_CONFIG, message, { context: { files: conf.files.join(',') } });
}

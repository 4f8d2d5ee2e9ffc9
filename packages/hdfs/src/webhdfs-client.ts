/**
 * A WebHDFS (and HttpFS) client on Node's fetch. Redirects from the NameNode to a DataNode are
 * followed by hand (`redirect: 'manual'`), because fetch would replay a PUT body into the redirect
 * and would hide which server failed. Retries cover the whole two-step exchange, so a retried read
 * or write may land on another DataNode; writes that may already have taken effect are not retried.
 * Given the NameNodes of an HA nameservice, it talks to one and moves to the next when that one is
 * standby or unreachable, as Hadoop's ConfiguredFailoverProxyProvider does.
 */
import { ErrorCode, SluiceError, coerceError, isSluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import type { CreateOptions, DeleteOptions, FileStatus, FileSystem, ListFilesOptions, OpenOptions, WriteData } from './file-system.ts';
import { listMatchingFiles } from './list-files.ts';
import { fetchOverNodeHttp } from './node-http-fetch.ts';
import { computeBackoffMs, retryWithBackoff } from './retry.ts';
import type { BackoffOptions } from './retry.ts';
import { isNameNodeAway, isPastEndOfFile, isUnprocessed, toResponseError, toTransportError } from './webhdfs-error.ts';
import type { RequestContext } from './webhdfs-error.ts';
import { decodeBooleanAnswer, decodeFileStatusAnswer, decodeListingAnswer } from './webhdfs-json.ts';
import { buildOperationUrl, formatClusterFileUrl, parseWebHdfsCluster, redactUrl, resolveHdfsPath, splitUrl } from './webhdfs-url.ts';
import type { WebHdfsEndpoint } from './webhdfs-url.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { posix } from 'node:path';

/** How CREATE and APPEND send their bytes. */
export const DataTransfer = {
  /** Ask the NameNode first, then send the bytes to the DataNode it redirects to (WebHDFS; HttpFS too). */
  REDIRECT: 'redirect',
  /** Send the bytes in the first request with `data=true` (HttpFS only): one round trip fewer. */
  DIRECT: 'direct',
} as const;

/** Union of the data transfer modes. */
export type DataTransfer = (typeof DataTransfer)[keyof typeof DataTransfer];

/** Options of `createWebHdfsClient`. */
export interface WebHdfsClientOptions {
  /** `http(s)://namenode:9870`, `webhdfs://namenode:9870/…`, or `hdfs://namenode:8020/…` with `hdfsHttpAddress` or `hadoopConfDir`. */
  url: string;
  /** `user.name` of every request; default `HADOOP_USER_NAME`, else `sluice`. Ignored with a delegation token. */
  user?: string;
  /** A Hadoop delegation token, sent instead of `user.name`; never logged. Default `SLUICE_HDFS_DELEGATION_TOKEN`. */
  delegationToken?: string;
  /**
   * The NameNode HTTP address `hdfs://` URLs map to, or those of an HA pair separated by commas
   * (`nn1:9870,nn2:9870`); default `SLUICE_HDFS_HTTP_ADDRESS`.
   */
  hdfsHttpAddress?: string;
  /** A Hadoop client configuration directory (core-site.xml, hdfs-site.xml) for `hdfs://` URLs; default `HADOOP_CONF_DIR`. */
  hadoopConfDir?: string;
  /** Longest wait for a response, or between two chunks of a body, in ms; default `SLUICE_HDFS_TIMEOUT_MS`, else 30000. */
  timeoutMs?: number;
  /** Retries of a failed request (refused, 5xx, standby NameNode); default `SLUICE_HDFS_RETRIES`, else 3. */
  retries?: number;
  backoff?: BackoffOptions;
  /** Called before each retry, for logs and metrics. */
  onRetry?: (error: SluiceError, retry: number, delayMs: number) => void;
  /** Called when an HA client moves to another NameNode (`host:port` of both), for logs. */
  onFailover?: (error: SluiceError, from: string, to: string) => void;
  /** Page directory listings with LISTSTATUS_BATCH (Hadoop 3 NameNodes); default false. */
  pagedListing?: boolean;
  /** How writes send their bytes; default `SLUICE_HDFS_DATA_TRANSFER`, else `redirect`. */
  dataTransfer?: DataTransfer;
  /** Directory listings in flight during `listFiles`; default 8. */
  listConcurrency?: number;
  /** The fetch to use; default `fetchOverNodeHttp` (see why at its use). */
  fetch?: typeof fetch;
  /** Environment for defaults; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A FileSystem over WebHDFS. */
export interface WebHdfsClient extends FileSystem {
  /** The NameNode requests go to now: the one that last answered as active. */
  readonly endpoint: WebHdfsEndpoint;
  /** Every NameNode of the cluster, in the configured order; one unless HA. */
  readonly endpoints: readonly WebHdfsEndpoint[];
  /** The `user.name` sent (unused when a delegation token is set). */
  readonly user: string;
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
type Query = Array<[string, string]>;

/** One HTTP exchange whose response headers have arrived. */
interface Exchange {
  /** The URL requested, credentials included: the base of a relative redirect. */
  readonly url: string;
  readonly response: Response;
  readonly request: RequestContext;
  /** Starts the timeout clock while waiting on the server. */
  arm(): void;
  /** Stops the clock while the caller works. */
  pause(): void;
  /** Stops the clock and releases an unread body. */
  dispose(): void;
}

/** A write body that can tell whether its bytes started to leave, which ends any right to retry. */
interface Payload {
  readonly bytes: Uint8Array | undefined;
  readonly started: () => boolean;
  body(): Uint8Array | ReadableStream<Uint8Array>;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const OCTET_STREAM = { 'content-type': 'application/octet-stream' };

/** Creates a WebHDFS client; validates the options now, so a bad URL fails before any request. */
export function createWebHdfsClient(options: WebHdfsClientOptions): WebHdfsClient {
  const env = options.env ?? process.env;
  const cluster = parseWebHdfsCluster(options.url, {
    env,
    ...(options.hdfsHttpAddress === undefined ? {} : { hdfsHttpAddress: options.hdfsHttpAddress }),
    ...(options.hadoopConfDir === undefined ? {} : { hadoopConfDir: options.hadoopConfDir }),
  });
  const { endpoints } = cluster;
  // Shared by every call, so after one failover the others go straight to the new active NameNode.
  let active = 0;
  const current = (): WebHdfsEndpoint => endpoints[active] as WebHdfsEndpoint;
  const user = options.user ?? env.HADOOP_USER_NAME ?? 'sluice';
  // Every process (CLI, coordinator, worker) builds its clients from input URLs alone, so settings
  // a secured or slow cluster needs come from the environment, like Hadoop's own HADOOP_USER_NAME.
  const timeoutMs = options.timeoutMs ?? integerFromEnv(env, 'SLUICE_HDFS_TIMEOUT_MS', 30_000);
  const retries = options.retries ?? integerFromEnv(env, 'SLUICE_HDFS_RETRIES', 3);
  const delegationToken = options.delegationToken ?? (env.SLUICE_HDFS_DELEGATION_TOKEN === '' ? undefined : env.SLUICE_HDFS_DELEGATION_TOKEN);
  const dataTransferSetting = options.dataTransfer ?? env.SLUICE_HDFS_DATA_TRANSFER;
  if (dataTransferSetting !== undefined && dataTransferSetting !== '' && !Object.values(DataTransfer).includes(dataTransferSetting as DataTransfer)) {
    const name = options.dataTransfer === undefined ? 'SLUICE_HDFS_DATA_TRANSFER' : 'dataTransfer';
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${name === 'dataTransfer' ? 'WebHDFS option dataTransfer' : name} must be ${Object.values(DataTransfer).join(' or ')}, got ${JSON.stringify(dataTransferSetting)}`, {
      context: { option: name },
    });
  }
  const listConcurrency = options.listConcurrency ?? 8;
  checkOption(user.trim() !== '', 'user', user, 'a non-empty user name');
  checkOption(Number.isSafeInteger(timeoutMs) && timeoutMs > 0, 'timeoutMs', timeoutMs, 'a positive integer');
  checkOption(Number.isSafeInteger(retries) && retries >= 0, 'retries', retries, 'an integer >= 0');
  checkOption(Number.isSafeInteger(listConcurrency) && listConcurrency > 0, 'listConcurrency', listConcurrency, 'a positive integer');
  checkOption(delegationToken !== '', 'delegationToken', '', 'a token or absent');
  // node:http for every exchange: besides the DataNode's unsolicited 100 Continue on uploads,
  // undici (behind fetch) can crash the whole process with an internal assertion when a DataNode
  // closes the connection while a slow consumer has the response body paused.
  const fetchImpl = options.fetch ?? fetchOverNodeHttp;
  const dataTransfer = dataTransferSetting === undefined || dataTransferSetting === '' ? DataTransfer.REDIRECT : (dataTransferSetting as DataTransfer);
  const auth: Query = delegationToken === undefined ? [['user.name', user]] : [['delegation', delegationToken]];
  const closer = new AbortController();

  const pathOf = (input: string): string => resolveHdfsPath(endpointNamedBy(endpoints, input) ?? current(), input);
  const urlOf = (path: string): string => formatClusterFileUrl(cluster, path);
  const opUrl = (path: string, op: string, query: Query = []): string => buildOperationUrl(current(), path, op, [...query, ...auth]);

  /**
   * One attempt of a NameNode exchange: on the active NameNode, then on the next ones while they
   * answer standby or cannot be reached, once around the list; a failure on every one goes to the
   * backoff of `retrying`. `mayRetry` guards non-idempotent calls exactly as it guards retries.
   */
  const onActiveNameNode = async <T>(exchange: () => Promise<T>, mayRetry: (error: SluiceError) => boolean): Promise<T> => {
    for (let tried = 1; ; tried += 1) {
      const from = active;
      try {
        return await exchange();
      } catch (thrown) {
        const error = coerceError(thrown);
        if (tried >= endpoints.length || !isNameNodeAway(error) || !error.retryable || !mayRetry(error)) throw error;
        // Another call may have failed over meanwhile; moving again would skip the new active one.
        if (active === from) {
          active = (from + 1) % endpoints.length;
          options.onFailover?.(error, (endpoints[from] as WebHdfsEndpoint).authority, current().authority);
        }
      }
    }
  };

  const retrying = <T>(attempt: () => Promise<T>, mayRetry: (error: SluiceError) => boolean): Promise<T> =>
    retryWithBackoff(() => onActiveNameNode(attempt, mayRetry), {
      retries,
      shouldRetry: mayRetry,
      signal: closer.signal,
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
    });

  const send = async (
    method: Method,
    url: string,
    request: RequestContext,
    init: { body?: Uint8Array | ReadableStream<Uint8Array>; headers?: Record<string, string> } = {},
  ): Promise<Exchange> => {
    if (closer.signal.aborted) throw closedError(request);
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pause = (): void => {
      clearTimeout(timer);
      timer = undefined;
    };
    const arm = (): void => {
      pause();
      timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    };
    arm();
    const metered = init.body === undefined ? undefined : meterBody(init.body, arm, pause);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        redirect: 'manual',
        signal: AbortSignal.any([closer.signal, controller.signal]),
        ...(init.headers === undefined ? {} : { headers: init.headers }),
        ...(metered === undefined ? {} : { body: metered }),
        ...(metered instanceof ReadableStream ? { duplex: 'half' as const } : {}),
      });
    } catch (error) {
      throw toTransportError(error, request, timeoutMs);
    } finally {
      pause();
    }
    return {
      url,
      response,
      request,
      arm,
      pause,
      dispose() {
        pause();
        const body = response.body;
        // Releasing an unread body frees the connection; a cancel that fails has nothing left to free.
        if (body !== null && !body.locked) void body.cancel().catch(() => undefined);
      },
    };
  };

  const readText = async (exchange: Exchange): Promise<string> => {
    exchange.arm();
    try {
      return await exchange.response.text();
    } catch (error) {
      throw toTransportError(error, exchange.request, timeoutMs);
    } finally {
      exchange.pause();
    }
  };

  const failure = async (exchange: Exchange): Promise<SluiceError> =>
    toResponseError(exchange.response.status, await readText(exchange), exchange.request);

  const readJson = async (exchange: Exchange): Promise<unknown> => {
    if (!exchange.response.ok) throw await failure(exchange);
    const text = await readText(exchange);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new SluiceError(
        ErrorCode.REMOTE,
        `${exchange.request.op} ${exchange.request.path}: the answer is not JSON; is ${current().apiUrl} a WebHDFS or HttpFS server?`,
        { cause: error, retryable: false, context: { ...exchange.request, status: exchange.response.status } },
      );
    }
  };

  /** A NameNode operation answered with JSON, retried as a whole. */
  const callJson = (method: Method, op: string, path: string, query: Query, idempotent: boolean): Promise<unknown> =>
    retrying(
      async () => {
        const url = opUrl(path, op, query);
        const request: RequestContext = { op, path, url: redactUrl(url), server: 'namenode' };
        const exchange = await send(method, url, request);
        try {
          return await readJson(exchange);
        } finally {
          exchange.dispose();
        }
      },
      (error) => idempotent || isUnprocessed(error),
    );

  /** A failed OPEN's error, or undefined when it only started past the end of the file. */
  const openFailure = async (exchange: Exchange): Promise<SluiceError | undefined> => {
    const error = await failure(exchange);
    return isPastEndOfFile(error) ? undefined : error;
  };

  /**
   * OPEN up to the response headers of the bytes (the NameNode's redirect, or HttpFS's direct
   * answer); undefined when the range starts at or after the end of the file.
   */
  const openExchange = async (path: string, offset: number, length: number | undefined): Promise<Exchange | undefined> => {
    const query: Query = [];
    if (offset > 0) query.push(['offset', String(offset)]);
    if (length !== undefined) query.push(['length', String(length)]);
    const url = opUrl(path, 'OPEN', query);
    const first = await send('GET', url, { op: 'OPEN', path, url: redactUrl(url), server: 'namenode' });
    let target: string | undefined;
    try {
      target = redirectTarget(first);
      if (target === undefined) {
        if (first.response.ok) return first;
        const error = await openFailure(first);
        if (error === undefined) return undefined;
        throw error;
      }
    } finally {
      // The first answer is the data itself only when HttpFS answered 200 without a redirect.
      if (target !== undefined || !first.response.ok) first.dispose();
    }
    const second = await send('GET', target, secondRequest(first, target));
    if (second.response.ok) return second;
    try {
      const error = await openFailure(second);
      if (error === undefined) return undefined;
      throw error;
    } finally {
      second.dispose();
    }
  };

  const readChunks = async function* (exchange: Exchange): AsyncGenerator<Uint8Array> {
    const body = exchange.response.body;
    if (body === null) return;
    const reader = body.getReader();
    try {
      for (;;) {
        exchange.arm();
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (error) {
          throw toTransportError(error, exchange.request, timeoutMs);
        } finally {
          exchange.pause();
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // Stops the download when the consumer leaves early; on a finished body this is a no-op.
      void reader.cancel().catch(() => undefined);
      exchange.dispose();
    }
  };

  const open = async (input: string, openOptions: OpenOptions = {}): Promise<Uint8Array> => {
    const path = pathOf(input);
    const { offset, length } = checkRange(path, openOptions);
    if (length === 0) return new Uint8Array(0);
    return retrying(
      async () => {
        const exchange = await openExchange(path, offset, length);
        if (exchange === undefined) return new Uint8Array(0);
        const chunks: Uint8Array[] = [];
        let total = 0;
        for await (const chunk of readChunks(exchange)) {
          chunks.push(chunk);
          total += chunk.length;
        }
        return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, total);
      },
      () => true,
    );
  };

  /** Streams a range; a transfer broken mid-way resumes after the last byte delivered. */
  const openStream = async function* (input: string, openOptions: OpenOptions = {}): AsyncGenerator<Uint8Array> {
    const path = pathOf(input);
    const { offset, length } = checkRange(path, openOptions);
    const end = length === undefined ? undefined : offset + length;
    let position = offset;
    let resumes = 0;
    for (;;) {
      if (end !== undefined && position >= end) return;
      const exchange = await retrying(() => openExchange(path, position, end === undefined ? undefined : end - position), () => true);
      if (exchange === undefined) return;
      const chunks = readChunks(exchange);
      try {
        for (;;) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await chunks.next();
          } catch (thrown) {
            const error = toTransportError(thrown, exchange.request, timeoutMs);
            if (!error.retryable || resumes >= retries) throw error;
            resumes += 1;
            await pauseBeforeResume(error, resumes);
            break;
          }
          if (next.done) return;
          position += next.value.length;
          yield next.value;
        }
      } finally {
        await chunks.return(undefined);
      }
    }
  };

  const pauseBeforeResume = async (error: SluiceError, resume: number): Promise<void> => {
    const delayMs = computeBackoffMs(resume, options.backoff);
    options.onRetry?.(error, resume, delayMs);
    try {
      await sleep(delayMs, undefined, { signal: closer.signal });
    } catch (aborted) {
      throw new SluiceError(ErrorCode.CANCELLED, `cancelled while resuming: ${error.message}`, { cause: aborted, context: error.context });
    }
  };

  /** CREATE and APPEND: the NameNode names a DataNode, the bytes go there. */
  const upload = async (method: Method, op: 'CREATE' | 'APPEND', path: string, data: WriteData, query: Query, idempotent: boolean): Promise<void> => {
    const payload = payloadOf(data);
    let sending = false;
    const direct = dataTransfer === DataTransfer.DIRECT;
    await retrying(
      async () => {
        sending = false;
        const url = opUrl(path, op, direct ? [...query, ['data', 'true']] : query);
        const request: RequestContext = { op, path, url: redactUrl(url), server: 'namenode' };
        let target = url;
        let targetRequest = request;
        if (!direct) {
          const first = await send(method, url, request);
          try {
            const redirect = redirectTarget(first) ?? (first.response.ok ? await locationInJson(first) : undefined);
            if (redirect === undefined) {
              if (!first.response.ok) throw await failure(first);
              if (payload.bytes?.length === 0) return;
              throw new SluiceError(
                ErrorCode.REMOTE,
                `${op} ${path}: the server answered ${first.response.status} without asking for the data; for HttpFS set dataTransfer: 'direct'`,
                { retryable: false, context: { ...request, status: first.response.status } },
              );
            }
            target = redirect;
            targetRequest = secondRequest(first, redirect);
          } finally {
            first.dispose();
          }
        }
        sending = true;
        const second = await send(method, target, targetRequest, { body: payload.body(), headers: OCTET_STREAM });
        try {
          if (!second.response.ok) throw await failure(second);
        } finally {
          second.dispose();
        }
      },
      (error) => !sending || (payload.bytes !== undefined && (idempotent || isUnprocessed(error))) || (isUnprocessed(error) && !payload.started()),
    );
  };

  const locationInJson = async (exchange: Exchange): Promise<string | undefined> => {
    if (!(exchange.response.headers.get('content-type') ?? '').includes('json')) return undefined;
    const text = await readText(exchange);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SluiceError(ErrorCode.REMOTE, `${exchange.request.op} ${exchange.request.path}: the answer claims JSON but is not`, {
        cause: error,
        retryable: false,
        context: { ...exchange.request, status: exchange.response.status },
      });
    }
    const location = (json as { Location?: unknown } | null)?.Location;
    return typeof location === 'string' && location !== '' ? location : undefined;
  };

  const getFileStatus = async (input: string): Promise<FileStatus> => {
    const path = pathOf(input);
    return decodeFileStatusAnswer(await callJson('GET', 'GETFILESTATUS', path, [], true), path, urlOf);
  };

  const listStatus = async (input: string): Promise<FileStatus[]> => {
    const path = pathOf(input);
    if (options.pagedListing !== true) {
      return decodeListingAnswer(await callJson('GET', 'LISTSTATUS', path, [], true), path, urlOf).entries;
    }
    const entries: FileStatus[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const query: Query = startAfter === undefined ? [] : [['startAfter', startAfter]];
      const page = decodeListingAnswer(await callJson('GET', 'LISTSTATUS_BATCH', path, query, true), path, urlOf);
      entries.push(...page.entries);
      const last = page.entries.at(-1);
      if (page.remaining === 0 || last === undefined) return entries;
      startAfter = last.name;
    }
  };

  const client: WebHdfsClient = {
    get endpoint() {
      return current();
    },
    endpoints,
    user,
    scheme: cluster.nameservice === undefined ? current().scheme : 'hdfs',
    urlOf: (input) => urlOf(pathOf(input)),
    getFileStatus,
    listStatus,
    listFiles: (pattern: string, listOptions: ListFilesOptions = {}) =>
      listMatchingFiles(client, pathOf(pattern), { ...listOptions, concurrency: listConcurrency }),
    open,
    openStream,
    createRangeReader(input: string): RangeReader {
      const path = pathOf(input);
      let size: Promise<number> | undefined;
      return {
        url: urlOf(path),
        size() {
          size ??= getFileStatus(path).then(
            (status) => status.length,
            (error: unknown) => {
              size = undefined;
              throw error;
            },
          );
          return size;
        },
        read: (offset, length) => open(path, { offset, length }),
        stream: (offset, end) => openStream(path, end === undefined ? { offset } : { offset, length: Math.max(0, end - offset) }),
      };
    },
    async create(input: string, data: WriteData, createOptions: CreateOptions = {}) {
      const path = pathOf(input);
      const overwrite = createOptions.overwrite ?? false;
      const query: Query = [['overwrite', String(overwrite)]];
      if (createOptions.permission !== undefined) query.push(['permission', createOptions.permission]);
      if (createOptions.blockSize !== undefined) query.push(['blocksize', String(createOptions.blockSize)]);
      await upload('PUT', 'CREATE', path, data, query, overwrite);
    },
    async append(input: string, data: WriteData) {
      await upload('POST', 'APPEND', pathOf(input), data, [], false);
    },
    async mkdirs(input: string) {
      const path = pathOf(input);
      if (!decodeBooleanAnswer(await callJson('PUT', 'MKDIRS', path, [], true), path)) {
        throw new SluiceError(ErrorCode.REMOTE, `MKDIRS ${path}: the NameNode refused to create the directory`, {
          retryable: false,
          context: { op: 'MKDIRS', path },
        });
      }
    },
    async rename(fromInput: string, toInput: string) {
      const from = pathOf(fromInput);
      const to = pathOf(toInput);
      if (decodeBooleanAnswer(await callJson('PUT', 'RENAME', from, [['destination', to]], false), from)) return;
      throw await explainRenameRefusal(client, from, to);
    },
    async delete(input: string, deleteOptions: DeleteOptions = {}) {
      const path = pathOf(input);
      const query: Query = [['recursive', String(deleteOptions.recursive ?? false)]];
      return decodeBooleanAnswer(await callJson('DELETE', 'DELETE', path, query, true), path);
    },
    async close() {
      closer.abort();
    },
  };
  return client;
}

/** The NameNode a `webhdfs://` URL names, when it is one of the cluster's; undefined otherwise. */
function endpointNamedBy(endpoints: readonly WebHdfsEndpoint[], input: string): WebHdfsEndpoint | undefined {
  if (endpoints.length === 1 || input.startsWith('/')) return undefined;
  const split = splitUrl(input);
  if (split === undefined || (split.scheme !== 'webhdfs' && split.scheme !== 'swebhdfs')) return undefined;
  const withPort = split.authority.includes(':') ? split.authority : `${split.authority}:${split.scheme === 'webhdfs' ? 9870 : 9871}`;
  return endpoints.find((endpoint) => endpoint.authority === withPort && endpoint.scheme === split.scheme);
}

/** The absolute URL a redirect points to; undefined when the answer is not a redirect. */
function redirectTarget(exchange: Exchange): string | undefined {
  if (!REDIRECT_STATUSES.has(exchange.response.status)) return undefined;
  const location = exchange.response.headers.get('location');
  if (location === null || location === '') {
    throw new SluiceError(ErrorCode.REMOTE, `${exchange.request.op} ${exchange.request.path}: redirect without a Location header`, {
      retryable: false,
      context: { ...exchange.request, status: exchange.response.status },
    });
  }
  return new URL(location, exchange.url).href;
}

/** The context of the request that follows a redirect: the DataNode unless it stays on the same server. */
function secondRequest(first: Exchange, url: string): RequestContext {
  return {
    op: first.request.op,
    path: first.request.path,
    url: redactUrl(url),
    server: new URL(url).origin === new URL(first.url).origin ? first.request.server : 'datanode',
  };
}

/** Wraps write data so that the upload knows whether any of it was consumed. */
function payloadOf(data: WriteData): Payload {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return { bytes, started: () => false, body: () => bytes };
  }
  let started = false;
  const iterator = data[Symbol.asyncIterator]();
  return {
    bytes: undefined,
    started: () => started,
    body: () =>
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          started = true;
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        async cancel(reason) {
          await iterator.return?.(reason);
        },
      }),
  };
}

/** Bodies up to this size are sent whole, with a Content-Length; larger ones stream in slices of it. */
const UPLOAD_SLICE = 1024 * 1024;

/**
 * A body that restarts the timeout clock each time the transport takes a chunk, and stops it while
 * the caller's data source produces the next one, so `timeoutMs` bounds a stalled server, not the
 * length of a large upload.
 */
function meterBody(
  body: Uint8Array | ReadableStream<Uint8Array>,
  arm: () => void,
  pause: () => void,
): Uint8Array | ReadableStream<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.byteLength <= UPLOAD_SLICE) return body;
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        arm();
        controller.enqueue(body.subarray(offset, offset + UPLOAD_SLICE));
        offset += UPLOAD_SLICE;
        if (offset >= body.byteLength) controller.close();
      },
    });
  }
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      pause();
      const next = await reader.read();
      arm();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

/** HDFS answers a refused rename with a bare `false`; find out why, so the error says what to fix. */
async function explainRenameRefusal(fs: FileSystem, from: string, to: string): Promise<SluiceError> {
  const context = { op: 'RENAME', path: from, destination: to };
  const source = await statusOrUndefined(fs, from);
  if (source === undefined) {
    return new SluiceError(ErrorCode.NOT_FOUND, `RENAME ${from} -> ${to}: the source does not exist`, { context });
  }
  const target = await statusOrUndefined(fs, to);
  if (target !== undefined) {
    return new SluiceError(ErrorCode.REMOTE, `RENAME ${from} -> ${to}: the destination exists; delete it first`, {
      retryable: false,
      context: { ...context, exception: 'FileAlreadyExistsException' },
    });
  }
  const parent = posix.dirname(to);
  if ((await statusOrUndefined(fs, parent)) === undefined) {
    return new SluiceError(ErrorCode.NOT_FOUND, `RENAME ${from} -> ${to}: the destination directory ${parent} does not exist; mkdirs it first`, {
      context,
    });
  }
  return new SluiceError(ErrorCode.REMOTE, `RENAME ${from} -> ${to}: the NameNode refused the rename`, { retryable: false, context });
}

async function statusOrUndefined(fs: FileSystem, path: string): Promise<FileStatus | undefined> {
  try {
    return await fs.getFileStatus(path);
  } catch (error) {
    if (isSluiceError(error) && error.code === ErrorCode.NOT_FOUND) return undefined;
    throw error;
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

/** A whole number from the environment, or `fallback` when unset; anything else fails naming the variable. */
function integerFromEnv(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${name} must be a whole number, got ${JSON.stringify(raw)}; unset it for the default (${fallback})`, { context: { variable: name } });
  }
  return value;
}

function checkOption(ok: boolean, name: string, value: unknown, expected: string): void {
  if (ok) return;
  throw new SluiceError(ErrorCode.INVALID_CONFIG, `WebHDFS option ${name} must be ${expected}, got ${JSON.stringify(value)}`, {
    context: { option: name },
  });
}

function closedError(request: RequestContext): SluiceError {
  return new SluiceError(ErrorCode.CANCELLED, `${request.op} ${request.path}: the WebHDFS client is closed`, {
    context: { op: request.op, path: request.path },
  });
}

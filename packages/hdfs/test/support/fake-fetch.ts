/**
 * A fetch that answers from a function and records every request, so client tests script a server's
 * answers (redirects, RemoteExceptions, 503s, stalls) without a network.
 */

/** One request the client made. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly redirect: string | undefined;
  /** The whole request body, read before the responder runs. */
  readonly body: Uint8Array | undefined;
}

/** Scripts the answer to one request; may wait on `signal`. */
export type Responder = (request: RecordedRequest, signal: AbortSignal) => Response | Promise<Response>;

/** A fake fetch and the requests it has seen. */
export interface FakeFetch {
  readonly fetch: typeof fetch;
  readonly requests: RecordedRequest[];
}

/** Creates a fake fetch around `respond`. */
export function createFakeFetch(respond: Responder): FakeFetch {
  const requests: RecordedRequest[] = [];
  const fake = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? new AbortController().signal;
    const request: RecordedRequest = {
      method: init.method ?? 'GET',
      url: new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url),
      headers: new Headers(init.headers),
      redirect: init.redirect,
      body: init.body === undefined || init.body === null ? undefined : await readBody(init.body),
    };
    requests.push(request);
    signal.throwIfAborted();
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    return Promise.race([Promise.resolve(respond(request, signal)), aborted]);
  };
  return { fetch: fake as typeof fetch, requests };
}

/** A JSON answer. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A redirect to `location`, as the NameNode sends to name a DataNode. */
export function redirect(location: string): Response {
  return new Response(null, { status: 307, headers: { location } });
}

/** A WebHDFS error answer. */
export function remote(status: number, exception: string, message: string, javaClassName = `org.apache.hadoop.${exception}`): Response {
  return json(status, { RemoteException: { exception, javaClassName, message } });
}

/** A FileStatus object as WebHDFS returns it. */
export function fileStatus(pathSuffix: string, type: 'FILE' | 'DIRECTORY', length = 0, modificationTime = 1_521_849_600_000): Record<string, unknown> {
  return {
    accessTime: modificationTime,
    blockSize: type === 'FILE' ? 134_217_728 : 0,
    childrenNum: 0,
    fileId: 16_386,
    group: 'supergroup',
    length,
    modificationTime,
    owner: 'sluice',
    pathSuffix,
    permission: type === 'FILE' ? '644' : '755',
    replication: type === 'FILE' ? 1 : 0,
    storagePolicy: 0,
    type,
  };
}

async function readBody(body: NonNullable<RequestInit['body']>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

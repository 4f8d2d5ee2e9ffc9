/**
 * A fetch-shaped function over `node:http(s)`, for the one exchange Node's fetch cannot make: the
 * Hadoop DataNode answers every CREATE and APPEND with an unsolicited `100 Continue` before its
 * `201`/`200`, and undici (behind `fetch`) drops the connection on it as a "bad response", while
 * `node:http` reports it as an informational answer and reads on. Requests with a body go here;
 * everything else stays on `fetch`.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** Statuses whose responses have no body, which the Response constructor insists on. */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304]);

/** The default transport: `fetch`, except requests with a body, which go over `node:http`. */
export async function fetchWithUploads(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  return init.body === undefined || init.body === null ? fetch(input, init) : fetchOverNodeHttp(input, init);
}

/**
 * The subset of fetch the WebHDFS client uses: method, headers, a `Uint8Array` or `ReadableStream`
 * body, a signal whose reason becomes the rejection (so timeouts stay recognisable), and no
 * redirect following (the client follows redirects itself).
 */
export function fetchOverNodeHttp(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  const signal = init.signal ?? undefined;
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => {
    headers[key] = value;
  });
  const body = init.body;
  if (body instanceof Uint8Array) headers['content-length'] = String(body.byteLength);
  else if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));

  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let response: IncomingMessage | undefined;
    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      const error = reason instanceof Error ? reason : new Error(String(reason));
      request.destroy(error);
      response?.destroy(error);
      reject(reason);
    };
    const request = send(url, { method: init.method ?? 'GET', headers }, (incoming) => {
      response = incoming;
      const status = incoming.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (const [key, value] of Object.entries(incoming.headers)) {
        if (Array.isArray(value)) for (const item of value) responseHeaders.append(key, item);
        else if (value !== undefined) responseHeaders.set(key, value);
      }
      incoming.once('close', () => signal?.removeEventListener('abort', onAbort));
      const stream = NULL_BODY_STATUSES.has(status)
        ? null
        : (Readable.toWeb(incoming) as unknown as ReadableStream<Uint8Array>);
      if (stream === null) incoming.resume();
      resolve(new Response(stream, { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders }));
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    request.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    if (body === undefined || body === null) {
      request.end();
    } else if (body instanceof Uint8Array || typeof body === 'string') {
      request.end(body);
    } else if (body instanceof ReadableStream) {
      const source = Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>);
      source.once('error', (error) => request.destroy(error));
      source.pipe(request);
    } else {
      request.destroy(new TypeError('fetchOverNodeHttp sends Uint8Array, string or ReadableStream bodies only'));
    }
  });
}

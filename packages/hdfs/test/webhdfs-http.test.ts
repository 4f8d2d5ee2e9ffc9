/**
 * The client over real sockets and Node's real fetch, against two tiny node:http servers playing the
 * NameNode and a DataNode on 127.0.0.1: redirects across origins, chunked uploads, refused
 * connections and servers that never answer.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createWebHdfsClient } from '../src/webhdfs-client.ts';

type Handler = (request: IncomingMessage, url: URL, body: Buffer, response: ServerResponse) => void;

async function serve(t: TestContext, handler: Handler): Promise<string> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, new URL(request.url ?? '/', 'http://x'), Buffer.concat(chunks), response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.after(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function* lines(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < 1000; i += 1) yield new TextEncoder().encode(`{"i":${i}}\n`);
}

async function* slowly(): AsyncGenerator<Uint8Array> {
  for (const part of ['a', 'b', 'c']) {
    await new Promise((resolve) => setTimeout(resolve, 120));
    yield new TextEncoder().encode(part);
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('CREATE and OPEN cross from the NameNode to the DataNode by redirect, with a chunked upload', async (t) => {
  const files = new Map<string, Buffer>();
  const seen: string[] = [];
  const dataNode = await serve(t, (request, url, body, response) => {
    const path = url.pathname.replace('/webhdfs/v1', '');
    seen.push(`DN ${request.method} ${url.searchParams.get('op')} ${request.headers['transfer-encoding'] ?? 'length'}`);
    if (url.searchParams.get('op') === 'CREATE') {
      files.set(path, body);
      response.writeHead(201, { location: `webhdfs://x${path}` }).end();
      return;
    }
    const data = files.get(path) ?? Buffer.alloc(0);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const length = Number(url.searchParams.get('length') ?? data.length);
    response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data.subarray(offset, offset + length));
  });
  const nameNode = await serve(t, (request, url, body, response) => {
    seen.push(`NN ${request.method} ${url.searchParams.get('op')} ${body.length}`);
    response.writeHead(307, { location: `${dataNode}${url.pathname}${url.search}` }).end();
  });
  const client = createWebHdfsClient({ url: nameNode, env: {} });
  t.after(() => client.close());

  await client.create('/x/data.ndjson', lines());
  const stored = files.get('/x/data.ndjson');
  assert.ok(stored);
  assert.equal(stored.toString().split('\n').length, 1001);
  const part = await client.open('/x/data.ndjson', { offset: 8, length: 8 });
  assert.equal(new TextDecoder().decode(part), '{"i":1}\n');
  assert.deepEqual(seen, ['NN PUT CREATE 0', 'DN PUT CREATE chunked', 'NN GET OPEN 0', 'DN GET OPEN length']);
});

test('a 503 from the real server is retried, then the answer comes through', async (t) => {
  let calls = 0;
  const nameNode = await serve(t, (_request, _url, _body, response) => {
    calls += 1;
    if (calls === 1) {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('starting');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ boolean: true }));
  });
  const client = createWebHdfsClient({ url: nameNode, env: {}, backoff: { baseMs: 1, maxMs: 5 } });
  t.after(() => client.close());
  await client.mkdirs('/made');
  assert.equal(calls, 2);
});

test('a refused connection is UNAVAILABLE, names the URL and says what to check', async () => {
  const port = await closedPort();
  const client = createWebHdfsClient({ url: `http://127.0.0.1:${port}`, env: {}, retries: 2, backoff: { baseMs: 1, maxMs: 2 } });
  const error = await client.getFileStatus('/').then(
    () => assert.fail('expected a refusal'),
    (thrown: unknown) => thrown,
  );
  assert.ok(isSluiceError(error));
  assert.equal(error.code, ErrorCode.UNAVAILABLE);
  assert.equal(error.retryable, true);
  assert.equal(error.context.attempts, 3);
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*SLUICE_HDFS_HTTP_ADDRESS`));
});

test('a server that accepts but never answers gives TIMEOUT', async (t) => {
  const silent = await serve(t, () => undefined);
  const client = createWebHdfsClient({ url: silent, env: {}, timeoutMs: 100, retries: 0 });
  t.after(() => client.close());
  await assert.rejects(client.listStatus('/'), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.TIMEOUT);
});

test('a DataNode that sends an unsolicited 100 Continue before 201 is understood', async (t) => {
  // Hadoop's DataNode answers every CREATE this way; Node's fetch alone rejects it as a bad response.
  let received = '';
  const dataNode = createTcpServer((socket: Socket) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (!received.includes('\r\n\r\n') || !received.endsWith('payload')) return;
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      setTimeout(() => socket.end('HTTP/1.1 201 Created\r\nlocation: hdfs://nn:8020/f\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'), 10);
    });
  });
  await new Promise<void>((resolve) => dataNode.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => dataNode.close(() => resolve())));
  const dataNodeUrl = `http://127.0.0.1:${(dataNode.address() as AddressInfo).port}`;
  const nameNode = await serve(t, (_request, url, _body, response) => {
    response.writeHead(307, { location: `${dataNodeUrl}${url.pathname}${url.search}` }).end();
  });
  const client = createWebHdfsClient({ url: nameNode, env: {}, retries: 0 });
  t.after(() => client.close());
  await client.create('/f', 'payload');
  assert.match(received, /^PUT \/webhdfs\/v1\/f\?op=CREATE/);
  assert.match(received, /content-type: application\/octet-stream/i);
});

test('an upload the DataNode never answers gives TIMEOUT', async (t) => {
  const dataNode = await serve(t, () => undefined);
  const nameNode = await serve(t, (_request, url, _body, response) => {
    response.writeHead(307, { location: `${dataNode}${url.pathname}${url.search}` }).end();
  });
  const client = createWebHdfsClient({ url: nameNode, env: {}, timeoutMs: 100, retries: 0 });
  t.after(() => client.close());
  await assert.rejects(client.append('/f', 'x'), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.TIMEOUT);
});

test('a slow data source does not count against timeoutMs; only a silent server does', async (t) => {
  let stored = '';
  const dataNode = await serve(t, (_request, _url, body, response) => {
    stored = body.toString();
    response.writeHead(201).end();
  });
  const nameNode = await serve(t, (_request, url, _body, response) => {
    response.writeHead(307, { location: `${dataNode}${url.pathname}${url.search}` }).end();
  });
  const client = createWebHdfsClient({ url: nameNode, env: {}, timeoutMs: 50, retries: 0 });
  t.after(() => client.close());
  await client.create('/slow', slowly());
  assert.equal(stored, 'abc');
});

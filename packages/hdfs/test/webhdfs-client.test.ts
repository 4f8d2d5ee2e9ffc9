import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { SluiceError } from '@sluice/core';
import { createWebHdfsClient, DataTransfer } from '../src/webhdfs-client.ts';
import type { WebHdfsClientOptions } from '../src/webhdfs-client.ts';
import { createFakeFetch, fileStatus, json, redirect, remote } from './support/fake-fetch.ts';
import type { Responder } from './support/fake-fetch.ts';

const NN = 'http://nn.test:9870';
const DN = 'http://dn.test:9864';
const FAST = { baseMs: 1, maxMs: 2 };

function clientWith(respond: Responder, options: Partial<WebHdfsClientOptions> = {}) {
  const fake = createFakeFetch(respond);
  const client = createWebHdfsClient({ url: NN, fetch: fake.fetch, backoff: FAST, env: {}, ...options });
  return { client, requests: fake.requests };
}

const ok = (): Response => json(200, { FileStatus: fileStatus('', 'DIRECTORY') });

async function* twoChunks(): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode('ab');
  yield new TextEncoder().encode('cd');
}

async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSluiceError(error), `expected a SluiceError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

test('getFileStatus sends op and user.name and decodes the FileStatus', async () => {
  const { client, requests } = clientWith(() => json(200, { FileStatus: fileStatus('', 'FILE', 42) }));
  const status = await client.getFileStatus('/archive/zeek/dt=2018-03-24/conn.ndjson.gz');
  assert.equal(status.type, 'FILE');
  assert.equal(status.length, 42);
  assert.equal(status.name, 'conn.ndjson.gz');
  assert.equal(status.url, 'webhdfs://nn.test:9870/archive/zeek/dt=2018-03-24/conn.ndjson.gz');
  const [request] = requests;
  assert.equal(request?.url.pathname, '/webhdfs/v1/archive/zeek/dt=2018-03-24/conn.ndjson.gz');
  assert.equal(request?.url.searchParams.get('op'), 'GETFILESTATUS');
  assert.equal(request?.url.searchParams.get('user.name'), 'sluice');
  assert.equal(request?.redirect, 'manual');
});

test('the user comes from the option, else HADOOP_USER_NAME; a delegation token replaces user.name', async () => {
  const fromEnv = clientWith(ok, { env: { HADOOP_USER_NAME: 'etl' } });
  await fromEnv.client.getFileStatus('/');
  assert.equal(fromEnv.requests[0]?.url.searchParams.get('user.name'), 'etl');
  const explicit = clientWith(ok, { env: { HADOOP_USER_NAME: 'etl' }, user: 'alice' });
  await explicit.client.getFileStatus('/');
  assert.equal(explicit.requests[0]?.url.searchParams.get('user.name'), 'alice');
  const token = clientWith(() => remote(403, 'AccessControlException', 'Permission denied: user=x'), { delegationToken: 'SECRET' });
  const error = await rejection(token.client.getFileStatus('/x'));
  assert.equal(token.requests[0]?.url.searchParams.get('delegation'), 'SECRET');
  assert.equal(token.requests[0]?.url.searchParams.has('user.name'), false);
  assert.equal(error.code, ErrorCode.PERMISSION_DENIED);
  assert.ok(!JSON.stringify(error.toJSON()).includes('SECRET'), 'the token never appears in an error');
});

test('token, retries, timeout and data transfer come from SLUICE_HDFS_* when not given, and a bad value names its variable', async () => {
  const token = clientWith(ok, { env: { HADOOP_USER_NAME: 'etl', SLUICE_HDFS_DELEGATION_TOKEN: 'ENVTOKEN' } });
  await token.client.getFileStatus('/');
  assert.equal(token.requests[0]?.url.searchParams.get('delegation'), 'ENVTOKEN');
  assert.equal(token.requests[0]?.url.searchParams.has('user.name'), false);
  const given = clientWith(ok, { env: { SLUICE_HDFS_DELEGATION_TOKEN: 'ENVTOKEN' }, delegationToken: 'OPTION' });
  await given.client.getFileStatus('/');
  assert.equal(given.requests[0]?.url.searchParams.get('delegation'), 'OPTION', 'the option wins');

  let calls = 0;
  const retried = clientWith(() => (++calls <= 5 ? new Response('busy', { status: 503 }) : ok()), { env: { SLUICE_HDFS_RETRIES: '5' } });
  await retried.client.getFileStatus('/');
  assert.equal(retried.requests.length, 6, 'five retries, then the answer');
  const none = clientWith(() => new Response('busy', { status: 503 }), { env: { SLUICE_HDFS_RETRIES: '0' } });
  assert.equal((await rejection(none.client.getFileStatus('/'))).code, ErrorCode.UNAVAILABLE);
  assert.equal(none.requests.length, 1);

  const slow = clientWith((_request, signal) => new Promise<Response>((resolve) => {
    const timer = setTimeout(() => resolve(ok()), 5_000);
    signal.addEventListener('abort', () => clearTimeout(timer));
  }), { env: { SLUICE_HDFS_TIMEOUT_MS: '50', SLUICE_HDFS_RETRIES: '0' } });
  assert.equal((await rejection(slow.client.getFileStatus('/'))).code, ErrorCode.TIMEOUT);

  const direct = clientWith(() => new Response(null, { status: 201 }), { env: { SLUICE_HDFS_DATA_TRANSFER: 'direct' } });
  await direct.client.create('/out/f', 'x');
  assert.equal(direct.requests[0]?.url.searchParams.get('data'), 'true');

  for (const [name, value] of [['SLUICE_HDFS_RETRIES', 'many'], ['SLUICE_HDFS_TIMEOUT_MS', '-1'], ['SLUICE_HDFS_DATA_TRANSFER', 'sideways']] as const) {
    assert.throws(() => createWebHdfsClient({ url: NN, env: { [name]: value } }), (error: unknown) => {
      assert.ok(isSluiceError(error));
      assert.equal(error.code, ErrorCode.INVALID_CONFIG);
      assert.ok(error.message.startsWith(`${name} must be`), error.message);
      assert.ok(error.message.includes(JSON.stringify(value)), error.message);
      return true;
    }, name);
  }
});

test('open follows the NameNode redirect to the DataNode and returns its bytes', async () => {
  const { client, requests } = clientWith((request) =>
    request.url.origin === NN
      ? redirect(`${DN}/webhdfs/v1/data/f?op=OPEN&namenoderpcaddress=nn:8020&offset=5&length=3`)
      : new Response(new Uint8Array([5, 6, 7])),
  );
  const bytes = await client.open('/data/f', { offset: 5, length: 3 });
  assert.deepEqual([...bytes], [5, 6, 7]);
  assert.equal(requests.length, 2);
  assert.equal(requests[0]?.url.searchParams.get('offset'), '5');
  assert.equal(requests[0]?.url.searchParams.get('length'), '3');
  assert.equal(requests[1]?.url.origin, DN);
  assert.equal(requests[1]?.redirect, 'manual');
});

test('open accepts the direct answer of HttpFS, which streams without a redirect', async () => {
  const { client, requests } = clientWith(() => new Response('hello'));
  assert.equal(new TextDecoder().decode(await client.open('/f')), 'hello');
  assert.equal(requests.length, 1);
});

test('a range starting at or past the end of the file reads as empty, as on a local file', async () => {
  const { client } = clientWith(() => remote(403, 'IOException', 'Offset=10 out of the range [0, 10); OPEN, path=/f', 'java.io.IOException'));
  assert.equal((await client.open('/f', { offset: 10, length: 5 })).length, 0);
  let streamed = 0;
  for await (const chunk of client.openStream('/f', { offset: 12 })) streamed += chunk.length;
  assert.equal(streamed, 0);
  // HttpFS 3.4: a 500 with Jetty's error page, as the real server sends it.
  const httpFs = clientWith(() => new Response('<html>\n<head>\n<title>Error 500 java.io.EOFException: Premature EOF from inputStream after skipping 17 byte(s).</title>\n</head>\n<body><h2>HTTP ERROR 500 java.io.EOFException: Premature EOF from inputStream after skipping 17 byte(s).</h2></body></html>', { status: 500, headers: { 'content-type': 'text/html;charset=iso-8859-1' } }));
  assert.equal((await httpFs.client.open('/f', { offset: 100, length: 5 })).length, 0);
  assert.equal(httpFs.requests.length, 1, 'not retried as a server fault');
  const other = clientWith(() => remote(403, 'IOException', 'Checksum error'));
  assert.equal((await rejection(other.client.open('/f'))).code, ErrorCode.REMOTE, 'other IOExceptions still fail');
});

test('open of length 0 sends nothing; a bad range is refused before any request', async () => {
  const { client, requests } = clientWith(() => new Response('x'));
  assert.equal((await client.open('/f', { offset: 10, length: 0 })).length, 0);
  assert.equal((await rejection(client.open('/f', { offset: -1 }))).code, ErrorCode.INTERNAL);
  assert.equal(requests.length, 0);
});

test('create asks the NameNode without a body, then PUTs the bytes to the DataNode', async () => {
  const { client, requests } = clientWith((request) =>
    request.url.origin === NN ? redirect(`${DN}/webhdfs/v1/out/f?op=CREATE&overwrite=true`) : new Response(null, { status: 201 }),
  );
  await client.create('/out/f', 'payload', { overwrite: true, permission: '640' });
  assert.equal(requests.length, 2);
  const [first, second] = requests;
  assert.equal(first?.method, 'PUT');
  assert.equal(first?.body, undefined);
  assert.equal(first?.url.searchParams.get('overwrite'), 'true');
  assert.equal(first?.url.searchParams.get('permission'), '640');
  assert.equal(second?.method, 'PUT');
  assert.equal(second?.headers.get('content-type'), 'application/octet-stream');
  assert.equal(new TextDecoder().decode(second?.body), 'payload');
});

test('create streams an AsyncIterable body; append POSTs the same two steps', async () => {
  const { client, requests } = clientWith((request) =>
    request.url.origin === NN
      ? redirect(`${DN}/webhdfs/v1/out/f?op=${request.url.searchParams.get('op') ?? ''}`)
      : new Response(null, { status: request.method === 'PUT' ? 201 : 200 }),
  );
  await client.create('/out/f', twoChunks());
  await client.append('/out/f', new Uint8Array([0x65]));
  assert.deepEqual(requests.map((r) => `${r.method} ${r.url.origin} ${r.url.searchParams.get('op') ?? ''}`), [
    `PUT ${NN} CREATE`,
    `PUT ${DN} CREATE`,
    `POST ${NN} APPEND`,
    `POST ${DN} APPEND`,
  ]);
  assert.equal(new TextDecoder().decode(requests[1]?.body), 'abcd');
  assert.equal(requests[0]?.url.searchParams.get('overwrite'), 'false', 'HDFS default: never overwrite silently');
});

test('in direct mode (HttpFS) the bytes go in the first request with data=true', async () => {
  const { client, requests } = clientWith(() => new Response(null, { status: 201 }), { dataTransfer: DataTransfer.DIRECT });
  await client.create('/out/f', 'x');
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.url.searchParams.get('data'), 'true');
  assert.equal(requests[0]?.headers.get('content-type'), 'application/octet-stream');
});

test('a NameNode that completes CREATE without asking for data is an error unless there is no data', async () => {
  const { client } = clientWith(() => new Response(null, { status: 201 }));
  await client.create('/empty', new Uint8Array(0));
  const error = await rejection(client.create('/full', 'data'));
  assert.equal(error.code, ErrorCode.REMOTE);
  assert.match(error.message, /dataTransfer: 'direct'/);
});

test('a 503 is retried with backoff, then the answer comes through', async () => {
  let calls = 0;
  const retries: number[] = [];
  const { client, requests } = clientWith(
    () => (++calls <= 2 ? new Response('busy', { status: 503 }) : json(200, { FileStatus: fileStatus('', 'FILE', 7) })),
    { onRetry: (_error, retry) => retries.push(retry) },
  );
  assert.equal((await client.getFileStatus('/f')).length, 7);
  assert.equal(requests.length, 3);
  assert.deepEqual(retries, [1, 2]);
});

test('a standby NameNode (StandbyException, 403) is retried; a missing file is not', async () => {
  let calls = 0;
  const standby = clientWith(() =>
    ++calls === 1
      ? remote(403, 'StandbyException', 'Operation category READ is not supported in state standby', 'org.apache.hadoop.ipc.StandbyException')
      : json(200, { FileStatus: fileStatus('', 'FILE', 1) }),
  );
  assert.equal((await standby.client.getFileStatus('/f')).length, 1);
  assert.equal(standby.requests.length, 2);

  const missing = clientWith(() => remote(404, 'FileNotFoundException', 'File does not exist: /nope', 'java.io.FileNotFoundException'));
  const error = await rejection(missing.client.getFileStatus('/nope'));
  assert.equal(missing.requests.length, 1);
  assert.equal(error.code, ErrorCode.NOT_FOUND);
  assert.equal(error.retryable, false);
  assert.deepEqual(
    { ...error.context, url: undefined },
    { op: 'GETFILESTATUS', path: '/nope', url: undefined, status: 404, exception: 'FileNotFoundException', javaClassName: 'java.io.FileNotFoundException' },
  );
  assert.match(String(error.context.url), /^http:\/\/nn\.test:9870\/webhdfs\/v1\/nope\?op=GETFILESTATUS/);
});

test('when retries are spent the last error is thrown, retryable, with the attempt count', async () => {
  const { client, requests } = clientWith(() => new Response('down', { status: 502 }), { retries: 2 });
  const error = await rejection(client.listStatus('/'));
  assert.equal(requests.length, 3);
  assert.equal(error.code, ErrorCode.UNAVAILABLE);
  assert.equal(error.retryable, true);
  assert.equal(error.context.attempts, 3);
});

test('an APPEND whose bytes reached a failing DataNode is not retried; a refused NameNode step is', async () => {
  const failing = clientWith((request) =>
    request.url.origin === NN ? redirect(`${DN}/webhdfs/v1/f?op=APPEND`) : new Response('boom', { status: 500 }),
  );
  const error = await rejection(failing.client.append('/f', 'x'));
  assert.equal(error.code, ErrorCode.UNAVAILABLE);
  assert.equal(failing.requests.length, 2, 'appending twice could duplicate data');

  let calls = 0;
  const standby = clientWith((request) => {
    if (request.url.origin === DN) return new Response(null, { status: 200 });
    return ++calls === 1 ? remote(403, 'RetriableException', 'NameNode still not started') : redirect(`${DN}/webhdfs/v1/f?op=APPEND`);
  });
  await standby.client.append('/f', 'x');
  assert.equal(standby.requests.length, 3);
});

test('rename throws instead of returning false, and says why', async () => {
  const { client } = clientWith((request) => {
    const op = request.url.searchParams.get('op');
    if (op === 'RENAME') return json(200, { boolean: false });
    if (request.url.pathname.endsWith('/from')) return json(200, { FileStatus: fileStatus('', 'FILE', 1) });
    return remote(404, 'FileNotFoundException', 'File does not exist');
  });
  const error = await rejection(client.rename('/a/from', '/missing/to'));
  assert.equal(error.code, ErrorCode.NOT_FOUND);
  assert.match(error.message, /destination directory \/missing does not exist/);

  const exists = clientWith((request) =>
    request.url.searchParams.get('op') === 'RENAME' ? json(200, { boolean: false }) : json(200, { FileStatus: fileStatus('', 'FILE', 1) }),
  );
  const conflict = await rejection(exists.client.rename('/a', '/b'));
  assert.equal(conflict.code, ErrorCode.REMOTE);
  assert.equal(conflict.context.exception, 'FileAlreadyExistsException');
});

test('delete returns the boolean of WebHDFS and sends recursive', async () => {
  const { client, requests } = clientWith((request) => json(200, { boolean: request.url.pathname.endsWith('/there') }));
  assert.equal(await client.delete('/there', { recursive: true }), true);
  assert.equal(await client.delete('/gone'), false);
  assert.equal(requests[0]?.method, 'DELETE');
  assert.equal(requests[0]?.url.searchParams.get('recursive'), 'true');
  assert.equal(requests[1]?.url.searchParams.get('recursive'), 'false');
});

test('listStatus decodes FileStatuses; with pagedListing it follows DirectoryListing pages', async () => {
  const plain = clientWith(() => json(200, { FileStatuses: { FileStatus: [fileStatus('a', 'FILE', 1), fileStatus('b', 'DIRECTORY')] } }));
  const entries = await plain.client.listStatus('/dir');
  assert.deepEqual(entries.map((e) => [e.path, e.type]), [['/dir/a', 'FILE'], ['/dir/b', 'DIRECTORY']]);

  const paged = clientWith(
    (request) => {
      const after = request.url.searchParams.get('startAfter');
      const names = after === null ? ['a', 'b'] : after === 'b' ? ['c'] : [];
      return json(200, {
        DirectoryListing: {
          partialListing: { FileStatuses: { FileStatus: names.map((n) => fileStatus(n, 'FILE', 1)) } },
          remainingEntries: after === null ? 1 : 0,
        },
      });
    },
    { pagedListing: true },
  );
  assert.deepEqual((await paged.client.listStatus('/big')).map((e) => e.name), ['a', 'b', 'c']);
  assert.deepEqual(paged.requests.map((r) => [r.url.searchParams.get('op'), r.url.searchParams.get('startAfter')]), [
    ['LISTSTATUS_BATCH', null],
    ['LISTSTATUS_BATCH', 'b'],
  ]);
});

test('an HTML answer with status 200 is not taken for an empty listing', async () => {
  const { client } = clientWith(() => new Response('<html>login</html>', { status: 200 }));
  const error = await rejection(client.listStatus('/'));
  assert.equal(error.code, ErrorCode.REMOTE);
  assert.match(error.message, /not JSON/);
});

test('a server that never answers gives TIMEOUT after timeoutMs', async () => {
  const { client } = clientWith(() => new Promise<Response>(() => undefined), { timeoutMs: 30, retries: 0 });
  const error = await rejection(client.getFileStatus('/slow'));
  assert.equal(error.code, ErrorCode.TIMEOUT);
  assert.equal(error.retryable, true);
  assert.match(error.message, /30 ms/);
});

test('close() aborts requests in flight and refuses new ones', async () => {
  const { client } = clientWith(() => new Promise<Response>(() => undefined));
  const pending = rejection(client.getFileStatus('/slow'));
  await client.close();
  assert.equal((await pending).code, ErrorCode.CANCELLED);
  assert.equal((await rejection(client.getFileStatus('/x'))).code, ErrorCode.CANCELLED);
});

test('openStream resumes a broken transfer after the last byte delivered', async () => {
  const data = new Uint8Array(100).map((_, i) => i);
  let broke = false;
  const { client, requests } = clientWith((request) => {
    if (request.url.origin === NN) {
      return redirect(`${DN}/webhdfs/v1/f?${request.url.searchParams.toString()}`);
    }
    const offset = Number(request.url.searchParams.get('offset') ?? 0);
    const length = Number(request.url.searchParams.get('length'));
    const slice = data.subarray(offset, offset + length);
    if (broke) return new Response(slice);
    broke = true;
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++pulls === 1) controller.enqueue(slice.subarray(0, 30));
        else controller.error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      },
    });
    return new Response(body);
  });
  const chunks: number[] = [];
  for await (const chunk of client.openStream('/f', { offset: 10, length: 80 })) chunks.push(...chunk);
  assert.deepEqual(chunks, [...data.subarray(10, 90)]);
  const dataNodeRanges = requests.filter((r) => r.url.origin === DN).map((r) => [r.url.searchParams.get('offset'), r.url.searchParams.get('length')]);
  assert.deepEqual(dataNodeRanges, [['10', '80'], ['40', '50']]);
});

test('createRangeReader reads ranges and streams, and names the file by URL', async () => {
  const data = new TextEncoder().encode('0123456789');
  const { client } = clientWith((request) => {
    const op = request.url.searchParams.get('op');
    if (op === 'GETFILESTATUS') return json(200, { FileStatus: fileStatus('', 'FILE', data.length) });
    const offset = Number(request.url.searchParams.get('offset') ?? 0);
    const length = request.url.searchParams.get('length');
    return new Response(data.subarray(offset, length === null ? undefined : offset + Number(length)));
  });
  const reader = client.createRangeReader('webhdfs://nn.test:9870/x/y.ndjson');
  assert.equal(reader.url, 'webhdfs://nn.test:9870/x/y.ndjson');
  assert.equal(await reader.size(), 10);
  assert.equal(new TextDecoder().decode(await reader.read(2, 3)), '234');
  let streamed = '';
  for await (const chunk of reader.stream(7)) streamed += new TextDecoder().decode(chunk);
  assert.equal(streamed, '789');
});

test('a bad URL or option fails at construction with INVALID_CONFIG', () => {
  for (const options of [
    { url: 'namenode:9870' },
    { url: 'ftp://nn/x' },
    { url: 'http://nn:9870/archive' },
    { url: 'hdfs://nn:8020/x' },
    { url: NN, timeoutMs: 0 },
    { url: NN, retries: -1 },
    { url: NN, user: '' },
  ]) {
    assert.throws(() => createWebHdfsClient({ env: {}, ...options }), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG, JSON.stringify(options));
  }
});

const NN1 = 'http://nn1.test:9870';
const NN2 = 'http://nn2.test:9870';
const standbyAnswer = (): Response =>
  remote(403, 'StandbyException', 'Operation category READ is not supported in state standby', 'org.apache.hadoop.ipc.StandbyException');

/** A client of the HA nameservice `ha` whose two NameNodes answer through `respond`. */
function haClientWith(respond: Responder, options: Partial<WebHdfsClientOptions> = {}) {
  const failovers: string[] = [];
  const fake = createFakeFetch(respond);
  const client = createWebHdfsClient({
    url: 'hdfs://ha/',
    hdfsHttpAddress: 'nn1.test:9870,nn2.test:9870',
    fetch: fake.fetch,
    backoff: FAST,
    env: {},
    onFailover: (_error, from, to) => failovers.push(`${from}->${to}`),
    ...options,
  });
  return { client, requests: fake.requests, failovers };
}

test('an HA client moves to the next NameNode when one is standby, stays there, and names files by nameservice', async () => {
  let activeOrigin = NN2;
  const { client, requests, failovers } = haClientWith((request) =>
    request.url.origin === activeOrigin ? json(200, { FileStatus: fileStatus('', 'FILE', 5) }) : standbyAnswer(),
  );
  assert.equal(client.scheme, 'hdfs');
  assert.equal(client.endpoints.length, 2);
  assert.equal((await client.getFileStatus('/f')).length, 5);
  assert.deepEqual(requests.map((r) => r.url.origin), [NN1, NN2], 'one standby answer, then the other NameNode, no backoff retry used');
  assert.deepEqual(failovers, ['nn1.test:9870->nn2.test:9870']);
  assert.equal(client.endpoint.authority, 'nn2.test:9870');
  await client.getFileStatus('/g');
  assert.equal(requests.at(-1)?.url.origin, NN2, 'later calls start at the NameNode that answered');
  assert.equal(client.urlOf('/a b/c.gz'), 'hdfs://ha/a%20b/c.gz');
  assert.equal(client.urlOf('webhdfs://nn1.test:9870/x'), 'hdfs://ha/x', 'a URL of either NameNode is a path of the cluster');

  // The operator fails back: the client follows, the other way around the list.
  activeOrigin = NN1;
  assert.equal((await client.getFileStatus('/h')).length, 5);
  assert.deepEqual(failovers, ['nn1.test:9870->nn2.test:9870', 'nn2.test:9870->nn1.test:9870']);
});

test('an HA client passes over a NameNode that refuses connections, also for a non-idempotent call', async () => {
  const { client, requests, failovers } = haClientWith((request) => {
    if (request.url.origin === NN1) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    return json(200, { boolean: true });
  });
  await client.rename('/a', '/b');
  assert.deepEqual(requests.map((r) => `${r.method} ${r.url.origin} ${r.url.searchParams.get('op')}`), [`PUT ${NN1} RENAME`, `PUT ${NN2} RENAME`]);
  assert.deepEqual(failovers, ['nn1.test:9870->nn2.test:9870']);
});

test('an HA client does not fail over a non-idempotent call that may have reached the NameNode', async () => {
  // A NameNode that timed out may have renamed already: trying the other one could rename twice.
  const { client, requests, failovers } = haClientWith((_request, signal) => new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), {
    timeoutMs: 30,
  });
  const error = await rejection(client.rename('/a', '/b'));
  assert.equal(error.code, ErrorCode.TIMEOUT);
  assert.equal(requests.length, 1);
  assert.deepEqual(failovers, []);
});

test('when every NameNode is standby, an HA client backs off and tries the list again, then fails naming the last one', async () => {
  const { client, requests } = haClientWith(standbyAnswer, { retries: 2 });
  const error = await rejection(client.listStatus('/'));
  assert.equal(requests.length, 6, 'three attempts, each once around both NameNodes');
  assert.equal(error.code, ErrorCode.UNAVAILABLE);
  assert.equal(error.retryable, true);
  assert.match(error.message, /StandbyException.*not the active one/u);
});

test('a DataNode failure does not move an HA client off its NameNode', async () => {
  const { client, requests, failovers } = haClientWith(
    (request) =>
      request.url.origin === NN1 ? redirect(`${DN}/webhdfs/v1/f?op=OPEN`) : Object.assign(new Response('boom', { status: 500 })),
    { retries: 1 },
  );
  await rejection(client.open('/f'));
  assert.deepEqual(requests.map((r) => r.url.origin), [NN1, DN, NN1, DN]);
  assert.deepEqual(failovers, []);
});

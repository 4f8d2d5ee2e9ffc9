import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@sluice/core';
import { decodeRemoteException, isUnprocessed, toResponseError, toTransportError } from '../src/webhdfs-error.ts';
import type { RequestContext } from '../src/webhdfs-error.ts';

const request: RequestContext = { op: 'OPEN', path: '/a', url: 'http://nn:9870/webhdfs/v1/a?op=OPEN&user.name=sluice', server: 'namenode' };
const body = (exception: string, message = 'm', javaClassName = `x.y.${exception}`): string =>
  JSON.stringify({ RemoteException: { exception, javaClassName, message } });

test('RemoteExceptions map by class first, since WebHDFS answers 403 for any IOException', () => {
  const cases: Array<[number, string, string, ErrorCode, boolean]> = [
    [404, 'FileNotFoundException', 'File does not exist: /a', ErrorCode.NOT_FOUND, false],
    [403, 'AccessControlException', 'Permission denied: user=x, access=READ', ErrorCode.PERMISSION_DENIED, false],
    [403, 'SecurityException', 'Failed to obtain user group information', ErrorCode.PERMISSION_DENIED, false],
    [403, 'StandbyException', 'Operation category READ is not supported in state standby', ErrorCode.UNAVAILABLE, true],
    [403, 'RetriableException', 'NameNode still not started', ErrorCode.UNAVAILABLE, true],
    [403, 'SafeModeException', 'Name node is in safe mode. Safe mode will be turned off automatically once the thresholds have been reached.', ErrorCode.UNAVAILABLE, true],
    [403, 'SafeModeException', 'Name node is in safe mode. It was turned on manually.', ErrorCode.REMOTE, false],
    [403, 'IOException', 'Failed to find datanode, suggest to check cluster health.', ErrorCode.UNAVAILABLE, true],
    [403, 'FileAlreadyExistsException', '/a for client 127.0.0.1 already exists', ErrorCode.REMOTE, false],
    [400, 'IllegalArgumentException', 'Invalid value for webhdfs parameter "op"', ErrorCode.REMOTE, false],
    // HttpFS answers these with a 500: the class, not the status, says a retry cannot help.
    [500, 'FileAlreadyExistsException', '/a for client 127.0.0.1 already exists', ErrorCode.REMOTE, false],
    [500, 'PathIsNotEmptyDirectoryException', '`/a is non empty\': Directory is not empty', ErrorCode.REMOTE, false],
    [500, 'DSQuotaExceededException', 'The DiskSpace quota of /a is exceeded', ErrorCode.REMOTE, false],
    [500, 'IOException', 'Filesystem closed', ErrorCode.UNAVAILABLE, true],
    [500, 'NullPointerException', '', ErrorCode.UNAVAILABLE, true],
  ];
  for (const [status, exception, message, code, retryable] of cases) {
    const error = toResponseError(status, body(exception, message), request);
    assert.equal(error.code, code, exception);
    assert.equal(error.retryable, retryable, exception);
    assert.equal(error.context.exception, exception);
    assert.equal(error.context.status, status);
    assert.equal(error.context.op, 'OPEN');
    assert.ok(error.message.includes(exception));
  }
  assert.equal(isUnprocessed(toResponseError(403, body('StandbyException'), request)), true);
  assert.equal(isUnprocessed(toResponseError(500, body('IOException'), request)), false);
});

test('answers without a RemoteException map by status', () => {
  const cases: Array<[number, ErrorCode, boolean]> = [
    [401, ErrorCode.PERMISSION_DENIED, false],
    [403, ErrorCode.PERMISSION_DENIED, false],
    [404, ErrorCode.NOT_FOUND, false],
    [429, ErrorCode.UNAVAILABLE, true],
    [503, ErrorCode.UNAVAILABLE, true],
    [400, ErrorCode.REMOTE, false],
  ];
  for (const [status, code, retryable] of cases) {
    const error = toResponseError(status, '<html><body><h2>HTTP ERROR</h2></body></html>', request);
    assert.equal(error.code, code, String(status));
    assert.equal(error.retryable, retryable, String(status));
    assert.match(error.message, /HTTP ERROR/);
  }
});

test('decodeRemoteException takes the class from javaClassName when exception is missing', () => {
  assert.deepEqual(decodeRemoteException(JSON.stringify({ RemoteException: { javaClassName: 'java.io.FileNotFoundException', message: 'gone' } })), {
    exception: 'FileNotFoundException',
    javaClassName: 'java.io.FileNotFoundException',
    message: 'gone',
  });
  assert.equal(decodeRemoteException('not json'), undefined);
  assert.equal(decodeRemoteException('{"boolean":true}'), undefined);
});

test('transport failures name the server and what to check', () => {
  const refused = toTransportError(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }), request, 30_000);
  assert.equal(refused.code, ErrorCode.UNAVAILABLE);
  assert.equal(refused.retryable, true);
  assert.equal(isUnprocessed(refused), true);
  assert.match(refused.message, /NameNode at http:\/\/nn:9870.*ECONNREFUSED.*host:port of a webhdfs:\/\/ URL.*SLUICE_HDFS_HTTP_ADDRESS.*HADOOP_CONF_DIR/);

  const dns = toTransportError(
    Object.assign(new TypeError('fetch failed'), { cause: new AggregateError([Object.assign(new Error('x'), { code: 'ENOTFOUND' })]) }),
    { ...request, server: 'datanode', url: 'http://dn-host:9864/webhdfs/v1/a?op=OPEN' },
    30_000,
  );
  assert.equal(dns.code, ErrorCode.UNAVAILABLE);
  assert.match(dns.message, /DataNode at http:\/\/dn-host:9864.*does not resolve.*dfs\.datanode\.hostname/);

  const timeout = toTransportError(new DOMException('late', 'TimeoutError'), request, 1234);
  assert.equal(timeout.code, ErrorCode.TIMEOUT);
  assert.match(timeout.message, /1234 ms/);

  const reset = toTransportError(Object.assign(new TypeError('terminated'), { cause: { code: 'UND_ERR_SOCKET' } }), request, 1);
  assert.equal(reset.code, ErrorCode.UNAVAILABLE);
  assert.equal(isUnprocessed(reset), false, 'a reset connection may have been served');

  assert.equal(toTransportError(new DOMException('closed', 'AbortError'), request, 1).code, ErrorCode.CANCELLED);
});

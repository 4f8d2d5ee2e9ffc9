import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { buildOperationUrl, formatClusterFileUrl, formatFileUrl, normalizePath, parseWebHdfsCluster, parseWebHdfsEndpoint, redactUrl, resolveHdfsPath, splitUrl } from '../src/webhdfs-url.ts';

const invalidConfig = (error: unknown): boolean => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG;

test('http(s) URLs name the server; webhdfs:// URLs may carry a path and default to port 9870', () => {
  const cases: Array<[string, string, string, string]> = [
    ['http://127.0.0.1:9870', 'http://127.0.0.1:9870/webhdfs/v1', 'webhdfs', '127.0.0.1:9870'],
    ['http://127.0.0.1:9870/', 'http://127.0.0.1:9870/webhdfs/v1', 'webhdfs', '127.0.0.1:9870'],
    ['http://nn:9870/webhdfs/v1', 'http://nn:9870/webhdfs/v1', 'webhdfs', 'nn:9870'],
    ['https://knox:8443/gateway/default/webhdfs/v1/', 'https://knox:8443/gateway/default/webhdfs/v1', 'swebhdfs', 'knox:8443'],
    ['https://nn', 'https://nn/webhdfs/v1', 'swebhdfs', 'nn:443'],
    ['webhdfs://nn:50070/archive/zeek/dt=2018-03-24/*.ndjson.gz', 'http://nn:50070/webhdfs/v1', 'webhdfs', 'nn:50070'],
    ['webhdfs://nn/archive', 'http://nn:9870/webhdfs/v1', 'webhdfs', 'nn:9870'],
    ['swebhdfs://nn/archive', 'https://nn:9871/webhdfs/v1', 'swebhdfs', 'nn:9871'],
    ['WEBHDFS://[::1]:9870/', 'http://[::1]:9870/webhdfs/v1', 'webhdfs', '[::1]:9870'],
  ];
  for (const [url, apiUrl, scheme, authority] of cases) {
    assert.deepEqual(parseWebHdfsEndpoint(url), { apiUrl, scheme, authority }, url);
  }
});

test('hdfs:// maps to the NameNode HTTP address from the option or SLUICE_HDFS_HTTP_ADDRESS', () => {
  assert.equal(parseWebHdfsEndpoint('hdfs://nn:8020/x', { hdfsHttpAddress: 'nn:9870' }).apiUrl, 'http://nn:9870/webhdfs/v1');
  assert.equal(
    parseWebHdfsEndpoint('hdfs://nn:8020/x', { env: { SLUICE_HDFS_HTTP_ADDRESS: 'https://nn-http:9871' } }).apiUrl,
    'https://nn-http:9871/webhdfs/v1',
  );
  assert.throws(() => parseWebHdfsEndpoint('hdfs://nn:8020/x', { env: {} }), (error: unknown) => {
    return invalidConfig(error) && /SLUICE_HDFS_HTTP_ADDRESS/.test((error as Error).message);
  });
});

test('every malformed URL is INVALID_CONFIG with a hint', () => {
  for (const url of [
    '',
    'nn:9870',
    '/archive',
    'ftp://nn/x',
    'http://nn:9870/archive',
    'http://user:pw@nn:9870',
    'http://nn:9870?user.name=x',
    'webhdfs:///archive',
    'webhdfs://nn:notaport/x',
    'webhdfs://nn/%zz',
  ]) {
    assert.throws(() => parseWebHdfsEndpoint(url, { env: {} }), invalidConfig, url);
  }
});

test('paths resolve from absolute paths and from URLs of the same server only', () => {
  const endpoint = parseWebHdfsEndpoint('http://nn:9870');
  assert.equal(resolveHdfsPath(endpoint, '/a//b/./c/'), '/a/b/c');
  assert.equal(resolveHdfsPath(endpoint, 'webhdfs://nn:9870/a/b'), '/a/b');
  assert.equal(resolveHdfsPath(endpoint, 'webhdfs://nn/a/b'), '/a/b');
  assert.equal(resolveHdfsPath(endpoint, 'hdfs://nn-rpc:8020/a/b'), '/a/b');
  assert.equal(resolveHdfsPath(endpoint, 'http://nn:9870/webhdfs/v1/a/b'), '/a/b');
  assert.equal(resolveHdfsPath(endpoint, 'webhdfs://nn:9870/logs/x%20y.gz'), '/logs/x y.gz');
  assert.equal(resolveHdfsPath(endpoint, 'webhdfs://nn:9870/dt=2018-03-2?/{a,b}.gz'), '/dt=2018-03-2?/{a,b}.gz', 'glob characters survive');
  assert.throws(() => resolveHdfsPath(endpoint, 'webhdfs://other:9870/a'), invalidConfig);
  assert.throws(() => resolveHdfsPath(endpoint, 'relative/path'), invalidConfig);
  assert.throws(() => resolveHdfsPath(endpoint, 'file:///a'), invalidConfig);
});

test('operation URLs encode each segment and keep = and : readable', () => {
  const endpoint = parseWebHdfsEndpoint('http://nn:9870');
  const url = buildOperationUrl(endpoint, '/archive/dt=2018-03-24/a b#1.gz', 'OPEN', [['offset', '5'], ['user.name', 'sluice']]);
  assert.equal(url, 'http://nn:9870/webhdfs/v1/archive/dt=2018-03-24/a%20b%231.gz?op=OPEN&offset=5&user.name=sluice');
  assert.equal(formatFileUrl(endpoint, '/a b/c?.gz'), 'webhdfs://nn:9870/a%20b/c%3F.gz');
  assert.equal(resolveHdfsPath(endpoint, formatFileUrl(endpoint, '/a b/c?.gz')), '/a b/c?.gz', 'file URLs round-trip');
});

test('redactUrl hides delegation tokens; normalizePath and splitUrl behave at the edges', () => {
  assert.equal(redactUrl('http://dn:9864/webhdfs/v1/f?op=OPEN&delegation=abc123&offset=0'), 'http://dn:9864/webhdfs/v1/f?op=OPEN&delegation=***&offset=0');
  assert.equal(normalizePath('/'), '/');
  assert.equal(normalizePath('/a/../b/'), '/b');
  assert.equal(splitUrl('/plain/path'), undefined);
  assert.deepEqual(splitUrl('file:///tmp/x'), { scheme: 'file', authority: '', path: '/tmp/x' });
});

test('an HA nameservice: hdfs:// maps to a list of NameNode HTTP addresses, each checked', () => {
  const cluster = parseWebHdfsCluster('hdfs://ha/archive', { hdfsHttpAddress: 'nn1:9870, http://nn2:9870' });
  assert.deepEqual(cluster.endpoints.map((e) => e.apiUrl), ['http://nn1:9870/webhdfs/v1', 'http://nn2:9870/webhdfs/v1']);
  assert.equal(cluster.nameservice, 'ha');
  assert.equal(formatClusterFileUrl(cluster, '/a b/c'), 'hdfs://ha/a%20b/c');
  const single = parseWebHdfsCluster('hdfs://nn:8020/archive', { env: { SLUICE_HDFS_HTTP_ADDRESS: 'nn:9870' } });
  assert.equal(single.nameservice, undefined);
  assert.equal(formatClusterFileUrl(single, '/x'), 'webhdfs://nn:9870/x', 'one NameNode keeps naming its files by its own address');
  for (const [address, message] of [
    ['nn1:9870,', /empty entry/u],
    ['nn1:9870,,nn2:9870', /empty entry/u],
    ['nn1:9870,nn1:9870', /lists nn1:9870 twice/u],
    ['http://nn1:9870,https://nn2:9871', /mixes http and https/u],
    ['nn1:9870,ftp://nn2', /SLUICE_HDFS_HTTP_ADDRESS must be host:port/u],
  ] as const) {
    assert.throws(() => parseWebHdfsCluster('hdfs://ha/x', { env: { SLUICE_HDFS_HTTP_ADDRESS: address } }), (error: unknown) => {
      assert.ok(isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG, String(error));
      assert.match(error.message, message);
      return true;
    });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createFileSystem } from '../src/create-file-system.ts';

const invalid = (error: unknown): boolean => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG;

test('the scheme picks the file system', () => {
  assert.equal(createFileSystem('webhdfs://nn:9870/archive/*.gz').scheme, 'webhdfs');
  assert.equal(createFileSystem('swebhdfs://nn/archive').scheme, 'swebhdfs');
  assert.equal(createFileSystem('http://127.0.0.1:9870').scheme, 'webhdfs');
  assert.equal(createFileSystem('hdfs://nn:8020/archive', { hdfsHttpAddress: 'nn:9870' }).scheme, 'webhdfs');
  assert.equal(createFileSystem('file:///tmp/x').scheme, 'file');
  assert.equal(createFileSystem('/tmp/x').scheme, 'file');
  assert.equal(createFileSystem('relative/x').scheme, 'file');
});

test('a URL from createFileSystem names its files in the same scheme and server', () => {
  const fs = createFileSystem('webhdfs://nn:9870/archive/zeek');
  assert.equal(fs.urlOf('webhdfs://nn:9870/archive/zeek/a.gz'), 'webhdfs://nn:9870/archive/zeek/a.gz');
  assert.equal(fs.createRangeReader('/archive/zeek/a.gz').url, 'webhdfs://nn:9870/archive/zeek/a.gz');
  const mapped = createFileSystem('hdfs://nn-rpc:8020/archive', { env: { SLUICE_HDFS_HTTP_ADDRESS: 'nn-http:9870' } });
  assert.equal(mapped.urlOf('hdfs://nn-rpc:8020/archive/a.gz'), 'webhdfs://nn-http:9870/archive/a.gz');
});

test('unknown schemes and hdfs:// without an HTTP address are INVALID_CONFIG', () => {
  assert.throws(() => createFileSystem('s3://bucket/key'), invalid);
  assert.throws(() => createFileSystem('hdfs://nn:8020/archive', { env: {} }), invalid);
});

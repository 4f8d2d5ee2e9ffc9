import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { listInputFiles, normalizeInput } from '../src/inputs.ts';

test('an input with a scheme Sluice cannot read fails with the schemes it can', () => {
  for (const input of ['s3://bucket/logs/*.ndjson', 'ftp://host/x.ndjson', 'http+unix://x/y']) {
    assert.throws(() => normalizeInput(input), (e: unknown) => {
      assert.ok(isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG);
      assert.equal(e.context.input, input);
      assert.match(e.message, /webhdfs:\/\/host:port\/path, hdfs:\/\/host\/path, file:\/\/\/path or a local path/);
      return true;
    }, input);
  }
});

test('URLs Sluice reads are kept as they are', () => {
  for (const input of ['webhdfs://127.0.0.1:9870/archive/*.ndjson', 'WEBHDFS://nn:9870/a', 'swebhdfs://nn:9871/a/{x,y}.log.gz', 'hdfs://nn/a/b', 'file:///data/x.ndjson']) {
    assert.equal(normalizeInput(input), input);
  }
});

test('a local path becomes an absolute file:// URL with its glob intact', () => {
  assert.equal(normalizeInput('/data/zeek/*.log.gz'), 'file:///data/zeek/*.log.gz');
  assert.equal(normalizeInput('/data/{dns,ssl}.ndjson'), 'file:///data/{dns,ssl}.ndjson');
  assert.equal(normalizeInput('/data/**/x.ndjson'), 'file:///data/**/x.ndjson');
  assert.equal(normalizeInput('logs/*.ndjson'), `${pathToFileURL(resolve('logs')).href}/*.ndjson`, 'relative to the working directory');
  assert.equal(normalizeInput('/data/my logs/a.ndjson'), 'file:///data/my%20logs/a.ndjson');
});

function tree(t: TestContext, files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-inputs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), 'x'.repeat(f.length));
  }
  return dir;
}

test('local globs list the files they match, sorted, with sizes: *, ?, [..], {..}, ** and spaces', async (t) => {
  const dir = tree(t, ['a1.ndjson', 'b2.ndjson', 'c3.ndjson', 'x y.ndjson', 'sub/deep/d4.ndjson', 'sub/e5.log.gz', '.hidden.ndjson']);
  const names = async (pattern: string): Promise<string[]> => (await listInputFiles(join(dir, pattern))).map((f) => decodeURIComponent(f.url.slice(f.url.lastIndexOf('/') + 1)));
  assert.deepEqual(await names('*.ndjson'), ['a1.ndjson', 'b2.ndjson', 'c3.ndjson', 'x y.ndjson']);
  assert.deepEqual(await names('?2.ndjson'), ['b2.ndjson']);
  assert.deepEqual(await names('[ac]*.ndjson'), ['a1.ndjson', 'c3.ndjson']);
  assert.deepEqual(await names('{a1,c3}.ndjson'), ['a1.ndjson', 'c3.ndjson']);
  assert.deepEqual(await names('**/*.ndjson'), ['a1.ndjson', 'b2.ndjson', 'c3.ndjson', 'd4.ndjson', 'x y.ndjson'], 'sorted by path: sub/deep/d4 before x y');
  assert.deepEqual(await names('x y.ndjson'), ['x y.ndjson']);
  const [one] = await listInputFiles(join(dir, 'sub', 'e5.log.gz'));
  assert.deepEqual(one, { url: pathToFileURL(join(dir, 'sub', 'e5.log.gz')).href, size: 'sub/e5.log.gz'.length });
  assert.deepEqual(await listInputFiles(join(dir, '*.csv')), [], 'a glob that matches nothing lists nothing; the planner reports it');
});

async function rejected(input: string): Promise<Error & { code?: string }> {
  const error: unknown = await listInputFiles(input).then(() => assert.fail(`expected ${input} to be refused`), (e: unknown) => e);
  assert.ok(isSluiceError(error), String(error));
  return error;
}

test('a directory with no files in it says what it holds instead: subdirectories, or hidden files only', async (t) => {
  const dir = tree(t, ['dt=2018-03-24/a.ndjson', 'dt=2018-03-25/b.ndjson', 'done/_SUCCESS', 'done/.a.crc']);
  const partitions = await rejected(dir);
  assert.equal(partitions.code, ErrorCode.NOT_FOUND);
  assert.match(partitions.message, /is a directory with no files directly in it, only directories \(done\/, dt=2018-03-24\/, dt=2018-03-25\/\)/u);
  assert.ok(partitions.message.includes(`a glob such as ${dir}/*/*, or ${dir}/** for every file`), partitions.message);
  const hidden = await rejected(join(dir, 'done'));
  assert.match(hidden.message, /holds only hidden files \(\.a\.crc, _SUCCESS\)/u);
  assert.deepEqual((await listInputFiles(`${dir}/*/*`)).map((f) => f.url.slice(f.url.lastIndexOf('/') + 1)), ['a.ndjson', 'b.ndjson'], 'the glob it suggests reads them');
  mkdirSync(join(dir, 'empty'));
  assert.deepEqual(await listInputFiles(join(dir, 'empty')), [], 'an empty directory lists nothing; the planner reports it');
  assert.deepEqual(await listInputFiles(`${dir}/nothing-*`), [], 'a glob is never explained as a directory');
});

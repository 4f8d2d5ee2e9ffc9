import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, isSluiceError } from '@sluice/core';
import type { SluiceError } from '@sluice/core';
import { createLocalFs, resolveLocalPath } from '../src/local-file-system.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-hdfs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSluiceError(error), String(error));
    return error;
  }
  assert.fail('expected a rejection');
}

async function* more(): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode('b');
  yield new TextEncoder().encode('c');
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

test('create makes parents, refuses to overwrite unless asked, and reads back by range', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  const file = join(dir, 'a/b/c.txt');
  await fs.create(file, '0123456789');
  assert.equal(text(await fs.open(file)), '0123456789');
  assert.equal(text(await fs.open(file, { offset: 3, length: 4 })), '3456');
  assert.equal(text(await fs.open(file, { offset: 8, length: 10 })), '89', 'fewer bytes only at end of file');
  const exists = await rejection(fs.create(file, 'again'));
  assert.equal(exists.code, ErrorCode.REMOTE);
  assert.equal(exists.context.exception, 'FileAlreadyExistsException');
  await fs.create(pathToFileURL(file).href, new Uint8Array([0x41]), { overwrite: true });
  assert.equal(text(await fs.open(file)), 'A');
});

test('append adds to an existing file, streams chunks, and is NOT_FOUND on a missing one', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  const file = join(dir, 'log');
  await fs.create(file, 'a');
  await fs.append(file, more());
  assert.equal(text(await fs.open(file)), 'abc');
  assert.equal((await rejection(fs.append(join(dir, 'missing'), 'x'))).code, ErrorCode.NOT_FOUND);
});

test('openStream and the RangeReader yield exactly the range', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs({ chunkSize: 7 });
  const file = join(dir, 'data.bin');
  const data = new Uint8Array(100).map((_, i) => i);
  await fs.create(file, data);
  const streamed: number[] = [];
  for await (const chunk of fs.openStream(file, { offset: 10, length: 25 })) streamed.push(...chunk);
  assert.deepEqual(streamed, [...data.subarray(10, 35)]);
  const reader = fs.createRangeReader(file);
  assert.equal(reader.url, pathToFileURL(file).href);
  assert.equal(await reader.size(), 100);
  assert.deepEqual([...(await reader.read(95, 10))], [...data.subarray(95)]);
  const tail: number[] = [];
  for await (const chunk of reader.stream(90)) tail.push(...chunk);
  assert.deepEqual(tail, [...data.subarray(90)]);
  let empty = 0;
  for await (const chunk of reader.stream(50, 50)) empty += chunk.length;
  assert.equal(empty, 0);
});

test('statuses carry length, time, type and a file:// URL; listStatus sorts by name', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  await fs.create(join(dir, 'b.gz'), 'bb');
  await fs.create(join(dir, 'a.gz'), 'a');
  await fs.mkdirs(join(dir, 'sub'));
  const entries = await fs.listStatus(dir);
  assert.deepEqual(entries.map((e) => [e.name, e.type, e.length]), [['a.gz', 'FILE', 1], ['b.gz', 'FILE', 2], ['sub', 'DIRECTORY', 0]]);
  assert.ok(entries.every((e) => e.modificationTime > 1_500_000_000_000));
  assert.equal(entries[0]?.url, pathToFileURL(join(dir, 'a.gz')).href);
  assert.deepEqual((await fs.listStatus(join(dir, 'a.gz'))).map((e) => e.name), ['a.gz'], 'a file lists itself');
  assert.equal((await rejection(fs.getFileStatus(join(dir, 'nope')))).code, ErrorCode.NOT_FOUND);
  assert.equal((await rejection(fs.open(dir))).code, ErrorCode.NOT_FOUND, 'a directory is not a file, as on HDFS');
});

test('listFiles globs date partitions, skips hidden files, recurses on request', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  for (const file of ['dt=2018-03-23/conn.ndjson.gz', 'dt=2018-03-24/conn.ndjson.gz', 'dt=2018-03-24/_SUCCESS', 'dt=2018-03-24/x/deep.ndjson.gz', 'dt=2018-03-25/dns.ndjson.gz']) {
    await fs.create(join(dir, file), file);
  }
  const listed = await fs.listFiles(`${dir}/dt=2018-03-2[45]/*.ndjson.gz`);
  assert.deepEqual(listed.map((f) => f.path.slice(dir.length)), ['/dt=2018-03-24/conn.ndjson.gz', '/dt=2018-03-25/dns.ndjson.gz']);
  assert.equal(listed[0]?.length, 'dt=2018-03-24/conn.ndjson.gz'.length);
  const viaUrl = await fs.listFiles(`file://${dir}/dt=*/{conn,dns}.ndjson.gz`);
  assert.equal(viaUrl.length, 3);
  const recursive = await fs.listFiles(dir, { recursive: true });
  assert.deepEqual(recursive.map((f) => f.name), ['conn.ndjson.gz', 'conn.ndjson.gz', 'deep.ndjson.gz', 'dns.ndjson.gz']);
});

test('rename follows HDFS: into an existing directory, never over a file, parent must exist', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  await fs.create(join(dir, 'f'), 'x');
  await fs.mkdirs(join(dir, 'into'));
  await fs.rename(join(dir, 'f'), join(dir, 'into'));
  assert.equal(text(await fs.open(join(dir, 'into/f'))), 'x');
  await fs.create(join(dir, 'g'), 'y');
  const conflict = await rejection(fs.rename(join(dir, 'g'), join(dir, 'into/f')));
  assert.equal(conflict.code, ErrorCode.REMOTE);
  assert.equal(conflict.context.exception, 'FileAlreadyExistsException');
  assert.equal((await rejection(fs.rename(join(dir, 'g'), join(dir, 'no/such/h')))).code, ErrorCode.NOT_FOUND);
  assert.equal((await rejection(fs.rename(join(dir, 'missing'), join(dir, 'h')))).code, ErrorCode.NOT_FOUND);
  await fs.rename(join(dir, 'g'), join(dir, 'h'));
  assert.equal(text(await fs.open(join(dir, 'h'))), 'y');
  assert.equal((await rejection(fs.rename(join(dir, 'into'), join(dir, 'into/sub')))).code, ErrorCode.REMOTE, 'not into itself');
});

test('delete returns false for a missing path and refuses a non-empty directory unless recursive', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  await fs.create(join(dir, 'd/f'), 'x');
  assert.equal(await fs.delete(join(dir, 'missing')), false);
  const notEmpty = await rejection(fs.delete(join(dir, 'd')));
  assert.equal(notEmpty.context.exception, 'PathIsNotEmptyDirectoryException');
  assert.equal(await fs.delete(join(dir, 'd'), { recursive: true }), true);
  assert.equal(await fs.delete(join(dir, 'd')), false);
});

test('mkdirs is idempotent, and fails where a file stands', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  await fs.mkdirs(join(dir, 'x/y'));
  await fs.mkdirs(join(dir, 'x/y'));
  await writeFile(join(dir, 'file'), 'x');
  assert.equal((await rejection(fs.mkdirs(join(dir, 'file')))).context.exception, 'FileAlreadyExistsException');
  assert.equal((await rejection(fs.create(join(dir, 'file/child'), 'x'))).context.exception, 'ParentNotDirectoryException');
});

test('a dangling symlink is left out of a listing; close() refuses later calls', async (t) => {
  const dir = await tempDir(t);
  const fs = createLocalFs();
  await fs.create(join(dir, 'real'), 'x');
  await symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
  assert.deepEqual((await fs.listStatus(dir)).map((e) => e.name), ['real']);
  await fs.close();
  assert.equal((await rejection(fs.getFileStatus(join(dir, 'real')))).code, ErrorCode.CANCELLED);
});

test('resolveLocalPath accepts paths and file:// URLs only', () => {
  assert.equal(resolveLocalPath('file:///tmp/a%20b/*.gz'), '/tmp/a b/*.gz');
  assert.equal(resolveLocalPath('file://localhost/tmp/x'), '/tmp/x');
  assert.equal(resolveLocalPath('/tmp//x/'), '/tmp/x');
  assert.throws(() => resolveLocalPath('webhdfs://nn/x'), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG);
  assert.throws(() => resolveLocalPath('file://remote-host/x'), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG);
});

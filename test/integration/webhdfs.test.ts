/**
 * The WebHDFS client against the real HDFS of `infra/local` (NameNode WebHDFS, one DataNode behind
 * it): writes through the NameNode's redirect, ranged reads across block boundaries, listings and
 * globs, renames, deletes, and the typed errors of a missing path and of an unreachable server.
 * Every test works under its own `/tmp/sluice-test/<uuid>` and deletes it afterwards.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@sluice/core';
import { createFileSystem, createWebHdfsClient } from '@sluice/hdfs';
import type { WebHdfsClient } from '@sluice/hdfs';
import { webhdfsUrl } from '../support/env.ts';
import { rejection } from '../support/rejection.ts';

const MiB = 1024 * 1024;

async function workspace(t: TestContext): Promise<{ client: WebHdfsClient; root: string }> {
  const client = createWebHdfsClient({ url: webhdfsUrl(), user: 'sluice', backoff: { baseMs: 100, maxMs: 1000 } });
  const root = `/tmp/sluice-test/${randomUUID()}`;
  try {
    await client.mkdirs(root);
  } catch (error) {
    await client.close();
    throw error;
  }
  t.after(async () => {
    try {
      await client.delete(root, { recursive: true });
    } finally {
      await client.close();
    }
  });
  return { client, root };
}

/** One `<property>` of a Hadoop configuration file. */
function property(name: string, value: string): string {
  return `<property><name>${name}</name><value>${value}</value></property>`;
}

/** A local port nothing listens on (one just released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

async function* inPieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

test('webhdfs: MKDIRS, CREATE through the redirect, GETFILESTATUS and LISTSTATUS', async (t) => {
  const { client, root } = await workspace(t);
  await client.mkdirs(`${root}/empty/nested`);
  await client.mkdirs(`${root}/empty/nested`);
  await client.create(`${root}/a.ndjson`, '{"a":1}\n{"a":2}\n');
  await client.create(`${root}/b.bin`, new Uint8Array([1, 2, 3]), { permission: '640' });

  const status = await client.getFileStatus(`${root}/a.ndjson`);
  assert.equal(status.type, 'FILE');
  assert.equal(status.length, 16);
  assert.equal(status.owner, 'sluice');
  assert.ok(status.modificationTime > Date.UTC(2020, 0, 1), 'a real modification time');
  assert.equal(status.url, `webhdfs://${new URL(webhdfsUrl()).host}${root}/a.ndjson`);

  const entries = await client.listStatus(root);
  assert.deepEqual(entries.map((e) => [e.name, e.type, e.length]), [
    ['a.ndjson', 'FILE', 16],
    ['b.bin', 'FILE', 3],
    ['empty', 'DIRECTORY', 0],
  ]);
  assert.equal(entries[1]?.permission, '640');
  assert.deepEqual((await client.listStatus(`${root}/a.ndjson`)).map((e) => e.path), [`${root}/a.ndjson`], 'a file lists itself');

  await client.create(`${root}/empty/zero.bin`, new Uint8Array(0));
  assert.equal((await client.getFileStatus(`${root}/empty/zero.bin`)).length, 0);
  assert.equal((await client.open(`${root}/empty/zero.bin`)).length, 0);
});

test('webhdfs: OPEN returns exactly the requested bytes, across 1 MiB block boundaries', async (t) => {
  const { client, root } = await workspace(t);
  const data = randomBytes(3 * MiB + 12_345);
  const path = `${root}/three-blocks.bin`;
  // 1 MiB blocks, the NameNode's minimum, so the ranges below cross real block (and DataNode read) boundaries.
  await client.create(path, inPieces(data, 256 * 1024), { blockSize: MiB });
  const status = await client.getFileStatus(path);
  assert.equal(status.length, data.length);
  assert.equal(status.blockSize, MiB);

  const ranges: Array<[number, number]> = [
    [0, 10],
    [MiB - 100, 200],
    [2 * MiB - 5, MiB + 10],
    [3 * MiB, 12_345],
    [data.length - 7, 7],
  ];
  for (const [offset, length] of ranges) {
    const bytes = await client.open(path, { offset, length });
    assert.equal(bytes.length, length, `length of [${offset}, +${length})`);
    assert.ok(Buffer.from(bytes).equals(data.subarray(offset, offset + length)), `bytes of [${offset}, +${length})`);
  }
  const pastEnd = await client.open(path, { offset: data.length - 3, length: 100 });
  assert.ok(Buffer.from(pastEnd).equals(data.subarray(data.length - 3)), 'fewer bytes only at end of file');
  assert.ok(Buffer.from(await client.open(path)).equals(data), 'the whole file');
  assert.equal((await client.open(path, { offset: data.length, length: 10 })).length, 0, 'at end of file: empty, not an error');
  assert.equal((await client.open(path, { offset: data.length + 5 })).length, 0);
});

test('webhdfs: openStream and the RangeReader stream a range crossing block boundaries', async (t) => {
  const { client, root } = await workspace(t);
  const data = randomBytes(3 * MiB + 1);
  const path = `${root}/stream.bin`;
  await client.create(path, data, { blockSize: MiB });

  const streamed = await collect(client.openStream(path, { offset: MiB - 1, length: MiB + 2 }));
  assert.ok(streamed.equals(data.subarray(MiB - 1, 2 * MiB + 1)));

  const reader = client.createRangeReader(path);
  assert.equal(await reader.size(), data.length);
  assert.ok(Buffer.from(await reader.read(2 * MiB - 3, 6)).equals(data.subarray(2 * MiB - 3, 2 * MiB + 3)));
  assert.ok((await collect(reader.stream(3 * MiB - 10))).equals(data.subarray(3 * MiB - 10)), 'to end of file');
  assert.ok((await collect(reader.stream(100, 200))).equals(data.subarray(100, 200)));
  assert.equal((await collect(reader.stream(data.length))).length, 0);
  assert.equal((await reader.read(data.length - 1, 10)).length, 1);

  let seen = 0;
  for await (const chunk of client.openStream(path)) {
    seen += chunk.length;
    if (seen > MiB) break;
  }
  assert.ok(seen > MiB, 'a consumer may stop early; the transfer is cancelled');
});

test('webhdfs: APPEND adds to a file; CREATE refuses to overwrite unless asked', async (t) => {
  const { client, root } = await workspace(t);
  const path = `${root}/log.ndjson`;
  await client.create(path, '{"n":1}\n');
  await client.append(path, '{"n":2}\n');
  await client.append(path, inPieces(new TextEncoder().encode('{"n":3}\n'), 3));
  assert.equal(new TextDecoder().decode(await client.open(path)), '{"n":1}\n{"n":2}\n{"n":3}\n');

  const exists = await rejection(client.create(path, 'again'));
  assert.equal(exists.code, ErrorCode.REMOTE);
  assert.equal(exists.retryable, false);
  assert.equal(exists.context.exception, 'FileAlreadyExistsException');
  await client.create(path, 'replaced', { overwrite: true });
  assert.equal(new TextDecoder().decode(await client.open(path)), 'replaced');
});

test('webhdfs: RENAME moves files and directories and explains a refusal; DELETE reports what it removed', async (t) => {
  const { client, root } = await workspace(t);
  await client.create(`${root}/from.txt`, 'x');
  await client.rename(`${root}/from.txt`, `${root}/to.txt`);
  assert.equal((await rejection(client.getFileStatus(`${root}/from.txt`))).code, ErrorCode.NOT_FOUND);
  assert.equal(new TextDecoder().decode(await client.open(`${root}/to.txt`)), 'x');

  await client.mkdirs(`${root}/dir`);
  await client.rename(`${root}/to.txt`, `${root}/dir`);
  assert.equal((await client.getFileStatus(`${root}/dir/to.txt`)).length, 1, 'into an existing directory');

  await client.create(`${root}/other.txt`, 'y');
  const conflict = await rejection(client.rename(`${root}/other.txt`, `${root}/dir/to.txt`));
  assert.equal(conflict.code, ErrorCode.REMOTE);
  assert.equal(conflict.context.exception, 'FileAlreadyExistsException');
  const missing = await rejection(client.rename(`${root}/nope.txt`, `${root}/x.txt`));
  assert.equal(missing.code, ErrorCode.NOT_FOUND);
  const noParent = await rejection(client.rename(`${root}/other.txt`, `${root}/no/such/dir/x.txt`));
  assert.equal(noParent.code, ErrorCode.NOT_FOUND);

  const notEmpty = await rejection(client.delete(`${root}/dir`));
  assert.equal(notEmpty.code, ErrorCode.REMOTE);
  assert.equal(notEmpty.context.exception, 'PathIsNotEmptyDirectoryException');
  assert.equal(await client.delete(`${root}/dir`, { recursive: true }), true);
  assert.equal(await client.delete(`${root}/dir`, { recursive: true }), false);
  assert.equal(await client.delete(`${root}/other.txt`), true);
  assert.deepEqual(await client.listStatus(root), []);
});

test('webhdfs: listFiles globs date partitions and recurses, sorted by path', async (t) => {
  const { client, root } = await workspace(t);
  const files = [
    'zeek/dt=2018-03-23/conn.ndjson.gz',
    'zeek/dt=2018-03-24/conn.ndjson.gz',
    'zeek/dt=2018-03-24/dns.ndjson.gz',
    'zeek/dt=2018-03-24/_SUCCESS',
    'zeek/dt=2018-03-24/hour=01/conn.ndjson.gz',
    'zeek/dt=2018-03-25/http.ndjson.gz',
  ];
  // One at a time: a failed write must not leave others in flight to outlive the cleanup.
  for (const [i, file] of files.entries()) await client.create(`${root}/${file}`, 'x'.repeat(i + 1));
  const names = (list: ReadonlyArray<{ path: string }>): string[] => list.map((f) => f.path.slice(root.length + 1));

  const day = await client.listFiles(`${root}/zeek/dt=2018-03-24/*.ndjson.gz`);
  assert.deepEqual(names(day), ['zeek/dt=2018-03-24/conn.ndjson.gz', 'zeek/dt=2018-03-24/dns.ndjson.gz']);
  assert.deepEqual(day.map((f) => f.length), [2, 3]);
  assert.ok(day.every((f) => f.modificationTime > 0));

  assert.deepEqual(names(await client.listFiles(`${root}/zeek/dt=2018-03-2[35]/{conn,http}.ndjson.gz`)), [
    'zeek/dt=2018-03-23/conn.ndjson.gz',
    'zeek/dt=2018-03-25/http.ndjson.gz',
  ]);
  assert.deepEqual(names(await client.listFiles(`${root}/zeek`, { recursive: true })), [
    'zeek/dt=2018-03-23/conn.ndjson.gz',
    'zeek/dt=2018-03-24/conn.ndjson.gz',
    'zeek/dt=2018-03-24/dns.ndjson.gz',
    'zeek/dt=2018-03-24/hour=01/conn.ndjson.gz',
    'zeek/dt=2018-03-25/http.ndjson.gz',
  ]);
  assert.deepEqual(names(await client.listFiles(`${root}/**/conn.ndjson.gz`)), [
    'zeek/dt=2018-03-23/conn.ndjson.gz',
    'zeek/dt=2018-03-24/conn.ndjson.gz',
    'zeek/dt=2018-03-24/hour=01/conn.ndjson.gz',
  ]);
  assert.deepEqual(await client.listFiles(`${root}/zeek/dt=2019-*/*`), []);
  // Pruning: a skipped partition is left out, and the predicate sees the NameNode's absolute paths.
  const asked: string[] = [];
  const pruned = await client.listFiles(`${root}/zeek`, {
    recursive: true,
    skipDirectory: (path) => {
      asked.push(path);
      return path === `${root}/zeek/dt=2018-03-24`;
    },
  });
  assert.deepEqual(names(pruned), ['zeek/dt=2018-03-23/conn.ndjson.gz', 'zeek/dt=2018-03-25/http.ndjson.gz']);
  assert.ok(asked.includes(`${root}/zeek/dt=2018-03-23`), asked.join(', '));
  assert.ok(!asked.includes(`${root}/zeek/dt=2018-03-24/hour=01`), 'nothing below a skipped directory is looked at');

  // The same listing through the URL a user types.
  const host = new URL(webhdfsUrl()).host;
  const fs = createFileSystem(`webhdfs://${host}${root}`);
  t.after(() => fs.close());
  const viaUrl = await fs.listFiles(`webhdfs://${host}${root}/zeek/dt=2018-03-2?/conn.ndjson.gz`);
  assert.deepEqual(viaUrl.map((f) => f.url), [
    `webhdfs://${host}${root}/zeek/dt=2018-03-23/conn.ndjson.gz`,
    `webhdfs://${host}${root}/zeek/dt=2018-03-24/conn.ndjson.gz`,
  ]);
});

test('webhdfs: hdfs:/// resolves through a Hadoop configuration directory, failing over past a dead NameNode', async (t) => {
  const { client, root } = await workspace(t);
  await client.create(`${root}/dt=2018-03-24/a.ndjson`, Buffer.from('{"a":1}\n'));
  const dead = await closedPort();
  // A client configuration as a cluster ships it: an HA nameservice whose first NameNode is gone.
  const confDir = mkdtempSync(join(tmpdir(), 'sluice-hadoop-conf-'));
  t.after(() => rmSync(confDir, { recursive: true, force: true }));
  writeFileSync(join(confDir, 'core-site.xml'), `<configuration>${property('fs.defaultFS', 'hdfs://archive')}</configuration>`);
  writeFileSync(join(confDir, 'hdfs-site.xml'), `<configuration>
  ${property('dfs.nameservices', 'archive')}
  ${property('dfs.ha.namenodes.archive', 'gone,live')}
  ${property('dfs.namenode.http-address.archive.gone', `127.0.0.1:${dead}`)}
  ${property('dfs.namenode.http-address.archive.live', new URL(webhdfsUrl()).host)}
</configuration>`);
  const failovers: string[] = [];
  const fs = createFileSystem('hdfs:///', { env: { HADOOP_CONF_DIR: confDir }, onFailover: (_error, from, to) => failovers.push(`${from}->${to}`) });
  t.after(() => fs.close());
  const files = await fs.listFiles(`hdfs://${root}/dt=*/*.ndjson`);
  assert.deepEqual(files.map((f) => f.url), [`hdfs://archive${root}/dt=2018-03-24/a.ndjson`], 'file URLs name the nameservice');
  assert.deepEqual(failovers, [`127.0.0.1:${dead}->${new URL(webhdfsUrl()).host}`]);
  const reader = createFileSystem(files[0]?.url as string, { env: { HADOOP_CONF_DIR: confDir } });
  t.after(() => reader.close());
  assert.equal(Buffer.from(await reader.open(files[0]?.url as string)).toString(), '{"a":1}\n');
});

test('webhdfs: a missing path becomes NOT_FOUND with the RemoteException in its context', async (t) => {
  const { client, root } = await workspace(t);
  const path = `${root}/does/not/exist.ndjson`;
  const calls = [() => client.getFileStatus(path), () => client.open(path), () => client.listStatus(path), () => client.listFiles(path)];
  for (const call of calls) {
    const error = await rejection(call());
    assert.equal(error.code, ErrorCode.NOT_FOUND);
    assert.equal(error.retryable, false);
    assert.equal(error.context.exception, 'FileNotFoundException');
    assert.equal(error.context.javaClassName, 'java.io.FileNotFoundException');
    assert.equal(error.context.status, 404);
    assert.equal(error.context.path, path);
    assert.match(String(error.context.url), /\/webhdfs\/v1\/tmp\/sluice-test\//);
  }
});

test('webhdfs: an unreachable NameNode is UNAVAILABLE and says what to check', async () => {
  const port = await closedPort();
  const client = createWebHdfsClient({ url: `http://127.0.0.1:${port}`, retries: 0 });
  const error = await rejection(client.getFileStatus('/'));
  assert.equal(error.code, ErrorCode.UNAVAILABLE);
  assert.equal(error.retryable, true);
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.match(error.message, /NameNode/);
  assert.match(error.message, /webhdfs:\/\/ URL.*SLUICE_HDFS_HTTP_ADDRESS.*HADOOP_CONF_DIR/);
  await client.close();
});

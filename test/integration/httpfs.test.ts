/**
 * The WebHDFS client against a real HttpFS gateway (Hadoop 3.4, in front of the local HDFS), both
 * ways of sending data: the redirect every WebHDFS client follows, and `direct` (`data=true`, one
 * round trip). HttpFS differs from the NameNode in what it answers: data comes from the gateway
 * itself, an offset past the end is a 500 HTML page, refusals come with a 500. A text split read
 * through it finds every line once, as over WebHDFS.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { ErrorCode } from '@sluice/core';
import { readSplit } from '@sluice/formats';
import { createWebHdfsClient, DataTransfer } from '@sluice/hdfs';
import { webhdfsUrl } from '../support/env.ts';
import { rejection } from '../support/rejection.ts';
import { startHttpFs } from '../support/httpfs.ts';

/** Removes `path` through the NameNode after the test: hooks run in order, so HttpFS is gone by then. */
function removeAfter(t: TestContext, path: string): void {
  t.after(async () => {
    const nameNode = createWebHdfsClient({ url: webhdfsUrl(), user: 'sluice' });
    try {
      await nameNode.delete(path, { recursive: true });
    } finally {
      await nameNode.close();
    }
  });
}

async function* inPieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

test('httpfs: the client reads, writes, lists and renames through a real HttpFS, with either data transfer', async (t) => {
  const httpFs = await startHttpFs(t);
  for (const dataTransfer of [DataTransfer.REDIRECT, DataTransfer.DIRECT]) {
    const retries: string[] = [];
    const client = createWebHdfsClient({ url: httpFs, user: 'sluice', dataTransfer, backoff: { baseMs: 50, maxMs: 200 }, onRetry: (error) => retries.push(error.message) });
    const root = `/tmp/sluice-test/httpfs-${dataTransfer}-${randomUUID()}`;
    removeAfter(t, root);
    t.after(() => client.close());
    await client.mkdirs(root);
    await client.create(`${root}/small.txt`, 'hello world\n');
    await client.append(`${root}/small.txt`, 'more\n');
    assert.equal(Buffer.from(await client.open(`${root}/small.txt`, { offset: 6, length: 8 })).toString(), 'world\nmo', dataTransfer);
    assert.equal((await client.open(`${root}/small.txt`, { offset: 100, length: 5 })).length, 0, 'past the end reads as empty, as over WebHDFS');
    assert.equal((await client.open(`${root}/small.txt`, { offset: 17 })).length, 0, 'at the end too');

    // Larger than one upload slice, streamed from an iterable, read back as a stream.
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await client.create(`${root}/big.bin`, inPieces(big, 256 * 1024));
    const parts: Buffer[] = [];
    for await (const chunk of client.openStream(`${root}/big.bin`, { offset: 1000 })) parts.push(Buffer.from(chunk));
    assert.ok(Buffer.concat(parts).equals(big.subarray(1000)), `${dataTransfer}: streamed bytes`);

    const listed = await client.listFiles(`${root}/*.txt`);
    assert.deepEqual(listed.map((f) => [f.url, f.length]), [[`webhdfs://${new URL(httpFs).host}${root}/small.txt`, 17]]);
    await client.rename(`${root}/small.txt`, `${root}/renamed.txt`);
    assert.equal((await client.getFileStatus(`${root}/renamed.txt`)).length, 17);
    assert.equal((await rejection(client.getFileStatus(`${root}/small.txt`))).code, ErrorCode.NOT_FOUND);
    assert.equal((await rejection(client.rename(`${root}/nope`, `${root}/x`))).code, ErrorCode.NOT_FOUND);

    retries.length = 0;
    const exists = await rejection(client.create(`${root}/renamed.txt`, 'x'));
    assert.equal(exists.code, ErrorCode.REMOTE, `${dataTransfer}: ${exists.message}`);
    assert.equal(exists.retryable, false);
    assert.equal(exists.context.exception, 'FileAlreadyExistsException');
    assert.deepEqual(retries, [], 'a refusal is not retried');
    assert.equal(await client.delete(`${root}/renamed.txt`), true);
    assert.equal(await client.delete(`${root}/renamed.txt`), false, 'nothing left to delete is an answer');
  }
});

test('httpfs: text splits of an NDJSON file read through HttpFS give every line exactly once', async (t) => {
  const httpFs = await startHttpFs(t);
  const client = createWebHdfsClient({ url: httpFs, user: 'sluice', dataTransfer: DataTransfer.DIRECT });
  const path = `/tmp/sluice-test/httpfs-split-${randomUUID()}.ndjson`;
  removeAfter(t, path);
  t.after(() => client.close());
  const lines = Array.from({ length: 2_000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(i % 97) }));
  const text = `${lines.join('\n')}\n`;
  await client.create(path, text);
  const size = Buffer.byteLength(text);
  const seen: number[] = [];
  // Splits of 10,000 bytes: each reads past its end to finish its last line, the last one past the file's end.
  for (let start = 0; start < size; start += 10_000) {
    const reader = client.createRangeReader(path);
    for await (const batch of readSplit(reader, { format: 'ndjson', compression: 'none', start, end: Math.min(size, start + 10_000) })) {
      assert.deepEqual(batch.deadLetters, []);
      for (const record of batch.records) seen.push(record.i as number);
    }
  }
  assert.deepEqual(seen, lines.map((_, i) => i));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { detectBinaryContent } from '../src/check-text-content.ts';
import { readSplit } from '../src/read-split.ts';
import type { ReadSplitOptions } from '../src/read-split.ts';
import { createMemoryRangeReader } from './support/memory-range-reader.ts';
import { writeFixture } from './support/parquet-fixture.ts';

const lines = Buffer.from(Array.from({ length: 200 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(50)}"}\n`).join(''));

async function readAll(bytes: Uint8Array, options: Omit<ReadSplitOptions, 'compression'>): Promise<number> {
  let n = 0;
  for await (const batch of readSplit(createMemoryRangeReader(bytes, 4096, 'mem://archive/x.ndjson'), { ...options, compression: 'none' })) n += batch.records.length + batch.deadLetters.length;
  return n;
}

test('a gzip or Parquet file named as plain text fails every split, naming what it is and the fix', async () => {
  const gz = gzipSync(lines);
  for (const start of [0, 100]) {
    await assert.rejects(readAll(gz, { format: 'ndjson', start, end: gz.length }), (error: unknown) => {
      assert.ok(isSluiceError(error));
      assert.equal(error.code, ErrorCode.CORRUPT_INPUT);
      assert.equal(error.retryable, false, 'a misnamed file stays misnamed: no retry');
      assert.match(error.message, /^mem:\/\/archive\/x\.ndjson is named as plain ndjson but is gzip-compressed \(its first bytes are 1f8b0800\); name it with \.gz at the end/u);
      return true;
    }, `the split at ${start}`);
  }
  const parquet = writeFixture(10);
  await assert.rejects(readAll(parquet, { format: 'csv', start: 0, end: parquet.length }), /is named as plain csv but is a Parquet file.*; name it \.parquet/u);
  await assert.rejects(readAll(zstdCompressSync(lines), { format: 'zeek', start: 0, end: 1000 }), /is zstd-compressed/u);
});

test('text passes, even text that begins with the letters of a magic number', async () => {
  assert.equal(await readAll(lines, { format: 'ndjson', start: 0, end: lines.length }), 200);
  assert.equal(await readAll(lines, { format: 'ndjson', start: 1000, end: lines.length }) > 0, true);
  assert.equal(await readAll(new Uint8Array(0), { format: 'ndjson', start: 0, end: 0 }), 0);
  for (const text of ['PAR1,PAR2\n1,2\n', 'BZh\n', 'PK,x\n', 'Obj,x\n', '\uFEFF{"a":1}\n', '']) {
    assert.equal(detectBinaryContent(Buffer.from(text)), undefined, JSON.stringify(text));
  }
  const csv = Buffer.from('PAR1,PAR2\n1,2\n');
  assert.equal(await readAll(csv, { format: 'csv', start: 0, end: csv.length }), 1);
});

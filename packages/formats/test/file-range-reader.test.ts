import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createFileRangeReader } from '../src/file-range-reader.ts';
import { readSplit } from '../src/read-split.ts';

async function scratchFile(t: { after: (fn: () => Promise<void>) => void }, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-formats-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'data.ndjson');
  await writeFile(path, content);
  return path;
}

describe('createFileRangeReader', () => {
  test('reads exact ranges, fewer bytes only at end of file, and streams [offset, end) in chunks', async (t) => {
    const content = Buffer.from('0123456789abcdefghij');
    const path = await scratchFile(t, content);
    const reader = createFileRangeReader(path, { chunkSize: 3 });
    t.after(() => reader.close());
    assert.equal(reader.url, `file://${path}`);
    assert.equal(await reader.size(), 20);
    assert.equal(Buffer.from(await reader.read(5, 4)).toString(), '5678');
    assert.equal(Buffer.from(await reader.read(18, 10)).toString(), 'ij');
    assert.equal((await reader.read(25, 10)).length, 0);
    const chunks: string[] = [];
    for await (const chunk of reader.stream(4, 12)) chunks.push(Buffer.from(chunk).toString());
    assert.deepEqual(chunks, ['456', '789', 'ab']);
    const rest: string[] = [];
    for await (const chunk of reader.stream(17)) rest.push(Buffer.from(chunk).toString());
    assert.deepEqual(rest, ['hij']);
    const none: unknown[] = [];
    for await (const chunk of reader.stream(6, 6)) none.push(chunk);
    assert.deepEqual(none, []);
  });

  test('a missing file is NOT_FOUND with its URL', async (t) => {
    const path = join(await scratchFile(t, ''), '..', 'missing.ndjson');
    const reader = createFileRangeReader(path);
    t.after(() => reader.close());
    for (const attempt of [() => reader.size(), () => reader.read(0, 10), async () => { for await (const _ of reader.stream(0)) break; }]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(isSluiceError(error));
        assert.equal(error.code, ErrorCode.NOT_FOUND);
        assert.equal(error.context.url, reader.url);
        return true;
      });
    }
  });

  test('decodes a file through readSplit in splits, with small chunks', async (t) => {
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ i, s: 'ü'.repeat(i % 7) }));
    const path = await scratchFile(t, `${lines.join('\n')}\n`);
    const reader = createFileRangeReader(path, { chunkSize: 101 });
    t.after(() => reader.close());
    const size = await reader.size();
    const seen: number[] = [];
    for (let start = 0; start < size; start += 1000) {
      for await (const batch of readSplit(reader, { format: 'ndjson', compression: 'none', start, end: Math.min(size, start + 1000) })) {
        for (const record of batch.records) seen.push(record.i as number);
      }
    }
    assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => i));
  });
});

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { DEAD_LETTERS_ARCHIVED_FIELD, createDeadLetterLog, runDeadLetterFilesKey, runDeadLettersKey, runStatsKey } from '../src/index.ts';
import type { DeadLetterLog } from '../src/index.ts';

const base = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;
const url = (() => {
  const u = new URL(base);
  u.pathname = '/12';
  return u.href;
})();

function withLog(t: TestContext): { redis: Redis; log: DeadLetterLog; runId: string; letters: string[] } {
  const redis = new Redis(url);
  const runId = `test-${randomUUID()}`;
  t.after(async () => {
    await redis.del(runDeadLettersKey(runId), runStatsKey(runId), runDeadLetterFilesKey(runId));
    redis.disconnect();
  });
  const letters = Array.from({ length: 12 }, (_, i) => JSON.stringify({ provenance: `f@${i}`, reason: 'bad', raw: `line ${i}` }));
  return { redis, log: createDeadLetterLog(redis), runId, letters };
}

/** An in-memory archive: file URL → content. */
function memoryFiles(): { files: Map<string, string>; read(url: string): Promise<Uint8Array> } {
  const files = new Map<string, string>();
  return {
    files,
    read: async (u) => {
      const text = files.get(u);
      if (text === undefined) throw new Error(`no file ${u}`);
      return new TextEncoder().encode(text);
    },
  };
}

test('trimArchived drops the oldest entries and lists the file once; a second trim from the same position is refused', async (t) => {
  const { redis, log, runId, letters } = withLog(t);
  await redis.rpush(runDeadLettersKey(runId), ...letters);
  assert.deepEqual((await log.counts([runId])).get(runId), { archived: 0, stored: 12 });
  assert.deepEqual(await log.head(runId, 3), letters.slice(0, 3));

  const first = { url: 'file:///a/dead-0-x.ndjson', from: 0, count: 5 };
  assert.equal(await log.trimArchived(runId, first), true);
  assert.equal(await log.trimArchived(runId, { ...first, url: 'file:///a/dead-0-y.ndjson' }), false, 'a racing archiver that read the same entries trims nothing');
  assert.deepEqual(await redis.lrange(runDeadLettersKey(runId), 0, -1), letters.slice(5));
  assert.equal(await redis.hget(runStatsKey(runId), DEAD_LETTERS_ARCHIVED_FIELD), '5');
  assert.deepEqual(await log.files(runId), [first]);
  assert.equal(await log.trimArchived(runId, { url: 'file:///a/dead-5.ndjson', from: 5, count: 8 }), false, 'a file cannot stand for more entries than Redis holds');
  assert.deepEqual((await log.counts([runId])).get(runId), { archived: 5, stored: 7 });
});

test('read returns every dead letter oldest first across files and Redis, bounded by the limit', async (t) => {
  const { redis, log, runId, letters } = withLog(t);
  const archive = memoryFiles();
  await redis.rpush(runDeadLettersKey(runId), ...letters);
  for (const [from, count] of [[0, 4], [4, 3]] as const) {
    const file = { url: `mem://dead-${from}`, from, count };
    archive.files.set(file.url, `${(await log.head(runId, count)).join('\n')}\n`);
    assert.equal(await log.trimArchived(runId, file), true);
  }
  const all = letters.map((l) => JSON.parse(l) as unknown);
  assert.deepEqual(await log.read(runId, 100, archive.read), { letters: all, total: 12 });
  assert.deepEqual(await log.read(runId, 6, archive.read), { letters: all.slice(0, 6), total: 12 }, 'a limit inside the second file');
  assert.deepEqual(await log.read(runId, 4, archive.read), { letters: all.slice(0, 4), total: 12 }, 'a limit at a file boundary reads no more');
  assert.deepEqual(await log.read(runId, 9, archive.read), { letters: all.slice(0, 9), total: 12 }, 'files, then the head of the list');
});

test('read starts again when entries move to a file between its reads, and never returns one twice', async (t) => {
  const { redis, log, runId, letters } = withLog(t);
  await redis.rpush(runDeadLettersKey(runId), ...letters);
  const archive = memoryFiles();
  let moved = false;
  // The first file read triggers an archive step, as a coordinator would run one concurrently.
  const readAndMove = async (u: string): Promise<Uint8Array> => {
    if (!moved) {
      moved = true;
      const file = { url: 'mem://dead-2', from: 2, count: 3 };
      archive.files.set(file.url, `${(await log.head(runId, 3)).join('\n')}\n`);
      assert.equal(await log.trimArchived(runId, file), true);
    }
    return archive.read(u);
  };
  const first = { url: 'mem://dead-0', from: 0, count: 2 };
  archive.files.set(first.url, `${(await log.head(runId, 2)).join('\n')}\n`);
  assert.equal(await log.trimArchived(runId, first), true);
  assert.deepEqual(await log.read(runId, 100, readAndMove), { letters: letters.map((l) => JSON.parse(l) as unknown), total: 12 });
});

test('a listed file that lost lines is a CORRUPT_INPUT error naming it', async (t) => {
  const { redis, log, runId, letters } = withLog(t);
  await redis.rpush(runDeadLettersKey(runId), ...letters);
  const archive = memoryFiles();
  const file = { url: 'mem://dead-0', from: 0, count: 4 };
  archive.files.set(file.url, `${(await log.head(runId, 3)).join('\n')}\n`);
  assert.equal(await log.trimArchived(runId, file), true);
  await assert.rejects(log.read(runId, 100, archive.read), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.CORRUPT_INPUT && e.message.includes('mem://dead-0') && e.message.includes('holds 3 lines where 4'));
});

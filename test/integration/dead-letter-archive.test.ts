/**
 * Moving dead letters out of Redis into files on the real HDFS (`infra/local`): what moves, that
 * every dead letter stays readable exactly once, oldest first, when two archivers race over the
 * same entries, and that a bad archive URL stops the coordinator at start with what to fix.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createDeadLetterLog, runDeadLetterFilesKey, runDeadLettersKey, runStatsKey } from '@sluice/control';
import { archiveDeadLetters } from '@sluice/coordinator';
import { createFileSystem } from '@sluice/hdfs';
import { openDeadLetterArchive, readFileBytes } from '../../packages/cli/src/inputs.ts';
import { redisUrl, webhdfsUrl } from '../support/env.ts';

const hdfsBase = webhdfsUrl().replace(/^http/, 'webhdfs');

async function setup(t: TestContext, count: number): Promise<{ redis: Redis; runId: string; letters: string[]; dir: string }> {
  const redis = new Redis(redisUrl());
  const runId = `dl-${randomUUID().slice(0, 8)}`;
  const dir = `/tmp/sluice-test/${runId}`;
  const fs = createFileSystem(webhdfsUrl());
  t.after(async () => {
    await redis.del(runDeadLettersKey(runId), runStatsKey(runId), runDeadLetterFilesKey(runId));
    redis.disconnect();
    await fs.delete(dir, { recursive: true }).catch(() => false);
    await fs.close();
  });
  const letters = Array.from({ length: count }, (_, i) => JSON.stringify({ provenance: `${hdfsBase}/in/x.ndjson@${i * 100}`, reason: `invalid JSON ${i}`, raw: `{"broken": ${i}`, splitId: 's', seq: 0 }));
  await redis.rpush(runDeadLettersKey(runId), ...letters);
  return { redis, runId, letters, dir };
}

test('the oldest dead letters beyond the kept ones move to files on HDFS, and read back oldest first', async (t) => {
  const { redis, runId, letters, dir } = await setup(t, 25);
  const archive = await openDeadLetterArchive(`${hdfsBase}${dir}`);
  const log = createDeadLetterLog(redis);
  const outcomes = await archiveDeadLetters(log, [runId], archive, { keepInRedis: 10, maxPerFile: 7, maxFilesPerRun: 10 });
  assert.deepEqual(outcomes, [{ runId, moved: 15, files: 3 }]);
  assert.deepEqual(await redis.lrange(runDeadLettersKey(runId), 0, -1), letters.slice(15), 'Redis keeps the newest 10');
  const files = await log.files(runId);
  assert.deepEqual(files.map((f) => [f.from, f.count]), [[0, 7], [7, 7], [14, 1]]);
  for (const file of files) {
    assert.ok(file.url.startsWith(`${hdfsBase}${dir}/${runId}/dead-`), file.url);
    assert.equal(new TextDecoder().decode(await readFileBytes(file.url)), `${letters.slice(file.from, file.from + file.count).join('\n')}\n`);
  }
  assert.deepEqual(await log.read(runId, 1000, readFileBytes), { letters: letters.map((l) => JSON.parse(l) as unknown), total: 25 });
  assert.deepEqual(await archiveDeadLetters(log, [runId], archive, { keepInRedis: 10, maxPerFile: 7, maxFilesPerRun: 10 }), [], 'nothing more to move');
});

test('two archivers racing over the same dead letters: each is kept once and the loser\'s copy is deleted', async (t) => {
  const { redis, runId, letters, dir } = await setup(t, 40);
  const other = new Redis(redisUrl());
  t.after(() => other.disconnect());
  const archive = await openDeadLetterArchive(`${hdfsBase}${dir}`);
  const limits = { keepInRedis: 5, maxPerFile: 6, maxFilesPerRun: 10 };
  // The first archiver's first write completes only after the second archiver moved everything:
  // the first then holds a file of entries already archived, as a deposed leader would.
  const { promise: secondDone, resolve: releaseSlow } = Promise.withResolvers<void>();
  const { promise: firstWritten, resolve: written } = Promise.withResolvers<void>();
  const slow = { ...archive, write: async (u: string, text: string) => {
    await archive.write(u, text);
    written();
    await secondDone;
  } };
  const first = archiveDeadLetters(createDeadLetterLog(redis), [runId], slow, limits);
  await firstWritten;
  const second = await archiveDeadLetters(createDeadLetterLog(other), [runId], archive, limits);
  releaseSlow();
  assert.deepEqual(second, [{ runId, moved: 35, files: 6 }]);
  assert.deepEqual(await first, [{ runId, moved: 0, files: 0, lostRace: true }], 'the first lost its race and moved nothing');
  const log = createDeadLetterLog(redis);
  assert.deepEqual(await log.read(runId, 1000, readFileBytes), { letters: letters.map((l) => JSON.parse(l) as unknown), total: 40 });
  const listed = (await log.files(runId)).map((f) => f.url).sort();
  const fs = createFileSystem(webhdfsUrl());
  t.after(() => fs.close());
  const present = (await fs.listStatus(`${dir}/${runId}`)).map((s) => s.url).sort();
  assert.deepEqual(present.map((u) => u.replace(/^[a-z]+:\/\/[^/]+/, '')), listed.map((u) => u.replace(/^[a-z]+:\/\/[^/]+/, '')), 'the directory holds exactly the listed files');
});

test('a trim applied whose reply was lost (the script resent, refused) keeps its file: nothing is deleted or lost', async (t) => {
  const { redis, runId, letters, dir } = await setup(t, 12);
  const archive = await openDeadLetterArchive(`${hdfsBase}${dir}`);
  const real = createDeadLetterLog(redis);
  // What ioredis does on a reconnect: the script ran, its reply was lost, the resent one is refused.
  const lostReply = { ...real, trimArchived: async (id: string, file: Parameters<typeof real.trimArchived>[1]) => (await real.trimArchived(id, file)) && false };
  assert.deepEqual(await archiveDeadLetters(lostReply, [runId], archive, { keepInRedis: 2, maxPerFile: 4, maxFilesPerRun: 10 }), [{ runId, moved: 10, files: 3 }]);
  assert.deepEqual(await real.read(runId, 1000, readFileBytes), { letters: letters.map((l) => JSON.parse(l) as unknown), total: 12 });
});

test('an archiver told to stop ends after the step in progress', async (t) => {
  const { redis, runId, dir } = await setup(t, 20);
  const archive = await openDeadLetterArchive(`${hdfsBase}${dir}`);
  const log = createDeadLetterLog(redis);
  let written = 0;
  const counting = { ...archive, write: async (u: string, text: string) => {
    written += 1;
    await archive.write(u, text);
  } };
  assert.deepEqual(await archiveDeadLetters(log, [runId], counting, { keepInRedis: 0, maxPerFile: 5, maxFilesPerRun: 10 }, () => written < 2), [{ runId, moved: 10, files: 2 }]);
  assert.deepEqual((await log.counts([runId])).get(runId), { archived: 10, stored: 10 });
});

test('a bad --dead-letter-archive fails at once with what to fix', async () => {
  for (const [input, code, pattern] of [
    ['ftp://host/dead', ErrorCode.INVALID_CONFIG, /--dead-letter-archive ftp:\/\/host\/dead: .*scheme ftp:\/\/.*give a directory the coordinator can write/],
    [`${hdfsBase}/tmp/sluice-test/*`, ErrorCode.INVALID_CONFIG, /cannot be a glob/],
  ] as const) {
    await assert.rejects(openDeadLetterArchive(input), (e: unknown) => isSluiceError(e) && e.code === code && pattern.test(e.message), input);
  }
});

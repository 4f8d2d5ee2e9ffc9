/**
 * Bad input through the real backfill path (HDFS, a coordinator and a worker process): garbage lines
 * become dead letters with file and byte offset while every good record is committed; a truncated
 * gzip and a file that is not Parquet fail their splits (and only them) with CORRUPT_INPUT; a missing path, a glob that matches nothing
 * and an unreachable NameNode fail the run at planning with a message that says what is wrong.
 * The coordinator moves dead letters beyond the newest two of a run to files on HDFS, and
 * `sluice dead-letters` still lists every one.
 *
 * The stack runs on a Redis database of its own: the coordinator lease and the run index are per
 * database, and a coordinator of another test or of `npm start` on the shared one would take the
 * lease (or plan these runs into its own queues).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { RUNS_INDEX, createDeadLetterLog, createRunStore } from '@sluice/control';
import { createFileSystem } from '@sluice/hdfs';
import { redisDatabaseUrl, webhdfsUrl } from '../support/env.ts';
import { datasetFiles, deleteKeys, dumpKeys } from '../support/network-metrics-reference.ts';
import { writeDatasetParquet } from '../support/parquet-dataset.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';

const redisDb = redisDatabaseUrl(14);
// Whole days, so the 2018 records land inside kairos's retention windows with their buckets aligned.
const SHIFT = 86_400 * Math.floor((Date.now() / 1000 - Date.parse('2018-03-24T17:40:00Z') / 1000) / 86_400);

interface Progress {
  run: { state: string; error?: string; runId: string; splitsTotal?: number; inputs: string[] };
  records: number;
  badRecords: number;
  failed: { splitId: string; code: string; message: string; attempts: number }[];
}

interface DeadLetter { provenance: string; reason: string; raw: string }

test('bad input end to end', async (t) => {
  const ns = `err-${randomUUID().slice(0, 8)}`;
  const prefix = `${ns}:`;
  const redis = new Redis(redisDb);
  const dir = `/tmp/sluice-test/${ns}`;
  const deadDir = `/tmp/sluice-test/${ns}-dead`;
  const fs = createFileSystem(webhdfsUrl());
  const local = mkdtempSync(join(tmpdir(), 'sluice-err-'));
  const procs: SluiceProcess[] = [];
  t.after(async () => {
    // Hooks run in the order they were added: stop every process first, so none writes after the cleanup.
    await Promise.all(procs.map(async (p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      p.kill('SIGKILL');
      await p.exited;
    }));
    await deleteKeys(redis, `${ns}*`);
    await deleteKeys(redis, `sluice:*${ns}*`);
    const runIds = (await redis.zrange(RUNS_INDEX, 0, -1)).filter((id) => id.startsWith(ns));
    if (runIds.length > 0) await redis.zrem(RUNS_INDEX, ...runIds);
    redis.disconnect();
    await fs.delete(dir, { recursive: true }).catch(() => false);
    await fs.delete(deadDir, { recursive: true }).catch(() => false);
    await fs.close();
    rmSync(local, { recursive: true, force: true });
  });

  const common = ['--redis', redisDb, '--namespace', ns];
  const archive = `${webhdfsUrl().replace(/^http/, 'webhdfs')}${deadDir}`;
  const coordinator = spawnSluice(t, ['coordinator', ...common, '--tick', '300', '--lease-ttl', '3000', '--attempts', '2',
    '--dead-letter-archive', archive, '--dead-letters-in-redis', '2', '--dead-letter-archive-every', '300']);
  procs.push(coordinator);
  await coordinator.waitFor('is the leader');
  const worker = spawnSluice(t, ['worker', ...common, '--key-prefix', prefix, '--chunk-records', '500', '--drain', '2']);
  procs.push(worker);
  await worker.waitFor('ready');
  const diagnose = (): string => `\n--- coordinator\n${coordinator.output().slice(-3000)}\n--- worker\n${worker.output().slice(-3000)}`;
  const backfill = async (input: string): Promise<Progress> => {
    const res = await runSluice(t, ['backfill', 'network-metrics', '--input', input, '--set', `timeShift=${SHIFT}`, '--run-id', `${ns}-${randomUUID().slice(0, 8)}`,
      '--redis', redisDb, '--namespace', ns, '--wait', '--json', '--split-size', '64k']);
    assert.equal(res.code, 1, `a run that failed exits non-zero:\n${res.output}${diagnose()}`);
    assert.match(res.stdout, /"state":"failed"/, `${res.output}${diagnose()}`);
    return JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as Progress;
  };
  const base = `${webhdfsUrl().replace(/^http/, 'webhdfs')}${dir}`;

  await t.test('garbage lines are dead letters, a truncated gzip fails only its split, every good record is committed', async () => {
    const dns = gunzipSync(readFileSync(datasetFiles('ndjson')[0] as string)).toString('utf8').split('\n').filter((l) => l !== '').slice(0, 3000);
    const garbage = [
      { line: 'not json at all', reason: /invalid JSON/ },
      { line: '[1, 2, 3]', reason: /not a JSON object: the line holds an array/ },
      { line: JSON.stringify({ _path: 'dns', 'id.orig_h': '10.9.9.9' }), reason: /field ts is missing/ },
      { line: '{"ts": "2018-03-24T17:20:00Z", "_path": "dns"', reason: /invalid JSON/ },
    ];
    const mixed = [...dns.slice(0, 1000), garbage[0]?.line, ...dns.slice(1000, 2000), garbage[1]?.line, garbage[3]?.line, ...dns.slice(2000), garbage[2]?.line] as string[];
    const sslGz = readFileSync(datasetFiles('ndjson')[1] as string);
    await fs.create(`${dir}/dns-mixed.ndjson`, `${mixed.join('\n')}\n`);
    await fs.create(`${dir}/ssl-truncated.ndjson.gz`, sslGz.subarray(0, Math.floor(sslGz.length / 2)));

    const p = await backfill(`${base}/*.ndjson*`);
    assert.equal(p.run.state, 'failed');
    assert.deepEqual(p.failed.map((f) => [f.splitId, f.code, f.attempts]), [[`${base}/ssl-truncated.ndjson.gz#0-${Math.floor(sslGz.length / 2)}`, 'SLUICE_CORRUPT_INPUT', 1]],
      'exactly the truncated file\'s split failed, at once: a corrupt input is not retried');
    assert.match(p.failed[0]?.message ?? '', /is not a valid gzip stream/);
    assert.equal(p.run.error, `1 of ${p.run.splitsTotal} splits failed`);
    assert.ok((p.run.splitsTotal ?? 0) > 3, 'the plain file was split');
    assert.equal(p.badRecords, garbage.length, 'only the garbage lines are bad records');
    assert.ok(p.records >= mixed.length, `every line of the mixed file is counted (${p.records})`);

    // The coordinator moves all but the newest two out of Redis; the command reads both places.
    // It archives while the run is live too, so it may take several steps: wait for where they end.
    const deadLog = createDeadLetterLog(redis);
    for (let waited = 0; (await deadLog.counts([p.run.runId])).get(p.run.runId)?.archived !== garbage.length - 2; waited += 100) {
      assert.ok(waited < 30_000, `the coordinator archived the dead letters beyond the newest two${diagnose()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(coordinator.output(), new RegExp(`run ${p.run.runId}: moved \\d+ dead letters to \\d+ files? under ${archive}`));
    const files = await deadLog.files(p.run.runId);
    assert.ok(files.length > 0 && files.every((f) => f.url.startsWith(`${archive}/`)), JSON.stringify(files));
    assert.equal((await createRunStore(redis).deadLetters(p.run.runId, 1000)).length, 2, 'Redis keeps the newest two');
    const listed = await runSluice(t, ['dead-letters', p.run.runId, '--json', '--limit', '1000', '--redis', redisDb]);
    assert.equal(listed.code, 0, listed.output);
    const dead = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as DeadLetter);
    const text = await runSluice(t, ['dead-letters', p.run.runId, '--limit', '3', '--redis', redisDb]);
    assert.match(text.stdout, new RegExp(`3 of ${garbage.length} dead letters`), text.output);
    const offsetOf = (line: string): number => Buffer.byteLength(mixed.slice(0, mixed.indexOf(line)).map((l) => `${l}\n`).join(''));
    assert.deepEqual(dead.map((d) => d.provenance).sort(), garbage.map((g) => `${base}/dns-mixed.ndjson@${offsetOf(g.line)}`).sort());
    for (const g of garbage) {
      const letter = dead.find((d) => d.provenance.endsWith(`@${offsetOf(g.line)}`));
      assert.match(letter?.reason ?? '', g.reason, g.line);
      assert.ok((letter?.raw ?? '').length > 0, 'the raw line is kept for inspection');
    }

    // Every good dns record is committed: the same keys as a local run over the good lines alone.
    writeFileSync(join(local, 'dns.ndjson'), `${dns.join('\n')}\n`);
    const refPrefix = `${ns}-ref:`;
    const ref = await runSluice(t, ['run', 'network-metrics', '--input', join(local, 'dns.ndjson'), '--set', `timeShift=${SHIFT}`, '--key-prefix', refPrefix,
      '--run-id', `${ns}-ref`, '--redis', redisDb]);
    assert.equal(ref.code, 0, ref.output);
    const expected = strip(await dumpKeys(redis, `${refPrefix}dns.*`), refPrefix);
    assert.ok(expected.size > 100, `the reference has keys to compare (${expected.size})`);
    // ssl keys are left out: the truncated file's chunks before the corruption are committed too.
    assert.deepEqual(strip(await dumpKeys(redis, `${prefix}dns.*`), prefix), expected);
  });

  await t.test('a Parquet file that is not Parquet fails only its split; replaced and resubmitted, the run completes with each record once', async () => {
    const [dnsParquet] = writeDatasetParquet(local, { rowGroupSize: 10_000 });
    await fs.create(`${dir}/parquet/dns.parquet`, readFileSync(dnsParquet?.path as string));
    await fs.create(`${dir}/parquet/broken.parquet`, 'PAR1 then no footer at all, as a copy cut short might look');
    const p = await backfill(`${base}/parquet/*.parquet`);
    assert.equal(p.run.state, 'failed');
    assert.deepEqual(p.failed.map((f) => [f.splitId, f.code, f.attempts]), [[`${base}/parquet/broken.parquet#rows=0-end`, 'SLUICE_CORRUPT_INPUT', 1]],
      'exactly the broken file\'s split failed, at once');
    assert.match(p.failed[0]?.message ?? '', /broken\.parquet is not a readable Parquet file: reading the footer \(truncated, or not Parquet\?\) failed/);
    assert.equal(p.run.error, `1 of ${p.run.splitsTotal} splits failed`);
    assert.equal(p.records, dnsParquet?.rows, 'every record of the good file is committed');
    assert.equal(p.badRecords, 0);

    // The file is replaced by a good one and the run resubmitted under its id: only what is
    // missing runs (the dns splits are fenced), and the counts are exact.
    const [, sslParquet] = writeDatasetParquet(local, { rowGroupSize: 10_000 });
    await fs.create(`${dir}/parquet/broken.parquet`, readFileSync(sslParquet?.path as string), { overwrite: true });
    const again = await runSluice(t, ['backfill', 'network-metrics', '--input', `${base}/parquet/*.parquet`, '--set', `timeShift=${SHIFT}`, '--run-id', p.run.runId,
      '--redis', redisDb, '--namespace', ns, '--wait', '--json', '--split-size', '64k']);
    assert.equal(again.code, 0, `${again.output}${diagnose()}`);
    const done = JSON.parse(again.stdout.trim().split('\n').at(-1) as string) as Progress;
    assert.equal(done.run.state, 'completed');
    assert.deepEqual(done.failed, []);
    assert.equal(done.records, (dnsParquet?.rows ?? 0) + (sslParquet?.rows ?? 0), 'the dns records once, the ssl records once');
  });

  await t.test('a missing path fails the run at planning with NOT_FOUND naming the path', async () => {
    const missing = `${base}/nothing-here/*.ndjson`;
    const p = await backfill(missing);
    assert.equal(p.run.state, 'failed');
    assert.equal(p.run.splitsTotal, undefined, 'nothing was planned');
    assert.match(p.run.error ?? '', /^\[SLUICE_NOT_FOUND\] .*File does not exist: .*\/nothing-here/);
  });

  await t.test('a glob that matches nothing fails the run at planning, naming the input', async () => {
    const nothing = `${base}/*.csv`;
    const p = await backfill(nothing);
    assert.equal(p.run.state, 'failed');
    assert.equal(p.run.error, `[SLUICE_NOT_FOUND] input ${nothing} matched no file; check the URL and glob`);
  });

  await t.test('an unreachable NameNode fails the run with UNAVAILABLE after a few planning attempts', async () => {
    const p = await backfill('webhdfs://127.0.0.1:1/archive/*.ndjson');
    assert.equal(p.run.state, 'failed');
    assert.match(p.run.error ?? '', /^\[SLUICE_UNAVAILABLE\] .*cannot reach the NameNode at http:\/\/127\.0\.0\.1:1/);
    assert.match(coordinator.output(), new RegExp(`run ${p.run.runId}: planning attempt 1 of \\d+ failed, will retry`));
    assert.match(coordinator.output(), new RegExp(`run ${p.run.runId} failed at planning`));
  });

  await t.test('a failed run resubmitted under its id: refused with other inputs, naming them; resumed with the same', async () => {
    const runId = `${ns}-resubmitted`;
    const input = `${base}/arrives-later/*.ndjson`;
    const submit = (inputs: string): Promise<{ code: number | string; stdout: string; output: string }> => runSluice(t, [
      'backfill', 'network-metrics', '--input', inputs, '--set', `timeShift=${SHIFT}`, '--run-id', runId, '--redis', redisDb, '--namespace', ns, '--wait', '--json',
    ]);
    const first = await submit(input);
    assert.equal(first.code, 1, first.output);
    assert.match(first.stdout, /"state":"failed"/, 'nothing there yet: it fails at planning');

    const other = await submit(`${base}/*.ndjson*`);
    assert.equal(other.code, 1);
    assert.match(other.output, new RegExp(`error \\[SLUICE_INVALID_CONFIG\\]: run ${runId} \\(failed\\) was submitted with other inputs; .*choose another --run-id`));
    assert.ok(other.output.includes(`inputs: {"first":["${input}"],"now":["${base}/*.ndjson*"]}`), other.output);
    assert.equal((await createRunStore(redis).get(runId))?.state, 'failed', 'the refused resubmission changed nothing');

    const lines = gunzipSync(readFileSync(datasetFiles('ndjson')[0] as string)).toString('utf8').split('\n').filter((l) => l !== '').slice(0, 500);
    await fs.create(`${dir}/arrives-later/dns.ndjson`, `${lines.join('\n')}\n`);
    const resumed = await submit(input);
    assert.equal(resumed.code, 0, `${resumed.output}${diagnose()}`);
    const p = JSON.parse(resumed.stdout.trim().split('\n').at(-1) as string) as Progress;
    assert.deepEqual([p.run.runId, p.run.state, p.records, p.run.inputs], [runId, 'completed', 500, [input]]);
  });

  await stop(coordinator);
  await stop(worker);
});

/** Stops a process the way an operator does, so the coordinator gives its lease up at once. */
async function stop(p: SluiceProcess): Promise<void> {
  p.kill('SIGTERM');
  await p.exited;
}

function strip(keys: Map<string, unknown>, prefix: string): Map<string, unknown> {
  return new Map([...keys].map(([k, v]) => [k.slice(prefix.length), v]));
}

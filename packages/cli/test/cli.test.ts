/**
 * The `sluice` command as a process: what a user sees when something is wrong before any work
 * starts. Every case must fail at once with a code and the setting or input to fix.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { deleteKeys } from '../src/delete-keys.ts';
import { ACTIVE_RUNS_INDEX, RUNS_INDEX, RunState, SUBMIT_WAKEUP, createRunStore } from '@sluice/control';

const bin = resolve(import.meta.dirname, '..', 'src', 'bin.ts');
const base = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;
// The coordinator lease lives per database: on one no coordinator uses, none is alive.
const quietRedis = (() => {
  const u = new URL(base);
  u.pathname = '/13';
  return u.href;
})();
// Nothing listens on port 1: a command that fails before connecting never notices.
const deadRedis = 'redis://127.0.0.1:1';

function sluice(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('backfill with no coordinator alive fails and says how to start one', async (t) => {
  const redis = new Redis(quietRedis);
  t.after(() => redis.disconnect());
  assert.equal(await redis.get('sluice:coordinator:lease'), null, 'precondition: no coordinator on this database');
  const before = await redis.zcard('sluice:runs');
  const res = await sluice(['backfill', 'network-metrics', '--input', '/nope', '--redis', quietRedis]);
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /error \[SLUICE_UNAVAILABLE\]: no coordinator is alive: start one with `sluice coordinator`/);
  assert.equal(await redis.zcard('sluice:runs'), before, 'nothing was submitted');
});

test('--redis notaurl fails before connecting, naming the flag', async () => {
  const res = await sluice(['backfill', 'network-metrics', '--input', '/nope', '--redis', 'notaurl']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error \[SLUICE_INVALID_CONFIG\]: --redis "notaurl" is not a URL/);
  assert.match(res.stderr, /setting: --redis/);
  const env = await sluice(['status'], { REDIS_URL: 'http://127.0.0.1:6379' });
  assert.equal(env.code, 1);
  assert.match(env.stderr, /error \[SLUICE_INVALID_CONFIG\]: REDIS_URL must start with redis:\/\//);
});

test('backfill checks the job, its options and the input scheme before touching Redis', async () => {
  const cases: [string[], RegExp][] = [
    [['backfill', 'no-such-job', '--input', '/x'], /error \[SLUICE_NOT_FOUND\]: no job named "no-such-job"/],
    [['backfill', 'network-metrics', '--input', '/x', '--set', 'timeShift=soon'], /error \[SLUICE_INVALID_CONFIG\]: timeShift must be whole seconds or 'auto'/],
    [['backfill', 'network-metrics', '--input', '/x', '--set', 'recordType=http'], /error \[SLUICE_INVALID_CONFIG\]: network-metrics: recordType must be 'dns' or 'ssl'/],
    [['backfill', 'network-metrics', '--input', '/x', '--set', 'timeshift=auto'], /error \[SLUICE_INVALID_CONFIG\]: job network-metrics has no option "timeshift" .*did you mean timeShift\?/],
    [['stream', 'network-metrics', '--topic', 't', '--set', 'recordtype=dns'], /error \[SLUICE_INVALID_CONFIG\]: job network-metrics has no option "recordtype" .*did you mean recordType\?/],
    [['backfill', 'network-metrics', '--input', '/x', '--since', 'last week'], /error \[SLUICE_INVALID_CONFIG\]: --since must be an ISO-8601 time/],
    [['backfill', 'network-metrics', '--input', 's3://bucket/x.ndjson'], /error \[SLUICE_INVALID_CONFIG\]: input "s3:\/\/bucket\/x.ndjson" has scheme s3:\/\//],
    [['backfill', 'network-metrics', '--input', 'webhdfs:///archive/x.ndjson'], /error \[SLUICE_INVALID_CONFIG\]: invalid WebHDFS URL .*needs a host/],
    [['backfill', 'network-metrics', '--input', 'webhdfs://nn:99999/x'], /error \[SLUICE_INVALID_CONFIG\]: invalid WebHDFS URL .*is not a valid host:port/],
    [['backfill', 'network-metrics', '--input', '/x', '--since', '2020-01-02T00:00:00Z', '--until', '2020-01-01T00:00:00Z'], /error \[SLUICE_INVALID_CONFIG\]: --since \(2020-01-02T00:00:00Z\) must be before --until/],
    [['run', 'network-metrics', '--backfill', 'webhdfs://h:9870/a', '--stream', 't', '--boundary', 'noon'], /error \[SLUICE_INVALID_CONFIG\]: --boundary must be an ISO-8601 time/],
  ];
  const results = await Promise.all(cases.map(([args]) => sluice([...args, '--redis', deadRedis])));
  for (const [i, [args, expected]] of cases.entries()) {
    const res = results[i] as { code: number; stderr: string };
    assert.equal(res.code, 1, args.join(' '));
    assert.match(res.stderr, expected, args.join(' '));
  }
});

test('run with an input glob that matches nothing says so and names the pattern', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'present.ndjson'), '{}\n');
  const pattern = join(dir, '*.log.gz');
  const res = await sluice(['run', 'network-metrics', '--input', join(dir, 'present.ndjson'), pattern, '--redis', deadRedis]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error \[SLUICE_NOT_FOUND\]: --input ".*\*\.log\.gz" matches no file/);
  assert.ok(res.stderr.includes(`input: ${pattern}`), res.stderr);
});

test('run refuses to mix a local --input with the hand-off, or half a hand-off, before touching Redis', async () => {
  const cases: [string[], RegExp][] = [
    [['run', 'network-metrics', '--input', '/x', '--backfill', 'webhdfs://h:9870/a', '--stream', 't'], /error \[SLUICE_INVALID_CONFIG\]: --input runs locally and --backfill\/--stream hand off through the coordinator: pass one or the other/],
    [['run', 'network-metrics', '--backfill', 'webhdfs://h:9870/a'], /error \[SLUICE_INVALID_CONFIG\]: the hand-off needs both --backfill <url> and --stream <topic>/],
    [['run', 'network-metrics', '--stream', 't'], /error \[SLUICE_INVALID_CONFIG\]: the hand-off needs both --backfill <url> and --stream <topic>/],
    [['run', 'network-metrics'], /error \[SLUICE_INVALID_CONFIG\]: pass --input <path or glob>/],
  ];
  const results = await Promise.all(cases.map(([args]) => sluice([...args, '--redis', deadRedis])));
  for (const [i, [args, expected]] of cases.entries()) {
    const res = results[i] as { code: number; stderr: string };
    assert.equal(res.code, 1, args.join(' '));
    assert.match(res.stderr, expected, args.join(' '));
  }
});

test('every command that needs Redis fails with the same message when it cannot reach it, and prints no retry noise', async () => {
  const commands = [
    ['status'],
    ['cancel', 'some-run'],
    ['forget', 'some-run'],
    ['backfill', 'network-metrics', '--input', '/x'],
    ['stream', 'start', 'network-metrics', '--topic', 't'],
    ['stream', 'stop', 'some-run'],
    ['run', 'network-metrics', '--backfill', 'webhdfs://h:9870/a', '--stream', 't'],
    ['worker'],
    ['coordinator'],
  ];
  const results = await Promise.all(commands.map((args) => sluice([...args, '--redis', deadRedis])));
  for (const [i, args] of commands.entries()) {
    const res = results[i] as { code: number; stderr: string };
    assert.equal(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, /^error \[SLUICE_UNAVAILABLE\]: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 /, args.join(' '));
    assert.ok(!res.stderr.includes('Unhandled error event'), `${args.join(' ')}: ${res.stderr}`);
  }
});

test('an unknown command or a missing required flag is a usage error with help', async () => {
  const unknown = await sluice(['backfil']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown command 'backfil'/);
  const missing = await sluice(['backfill', 'network-metrics']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /required option '-i, --input <url\.\.\.>' not specified/);
});

test('status lists every active run, however old, besides the newest --limit runs', async (t) => {
  const redis = new Redis(quietRedis);
  const prefix = `cli-status-${randomUUID().slice(0, 8)}`;
  const ids = [`${prefix}-old-running`, `${prefix}-done-1`, `${prefix}-done-2`];
  t.after(async () => {
    const keys = (await Promise.all(ids.map((id) => redis.keys(`sluice:run:${id}*`)))).flat();
    if (keys.length > 0) await redis.del(...keys);
    await redis.zrem(RUNS_INDEX, ...ids);
    await redis.zrem(ACTIVE_RUNS_INDEX, ...ids);
    for (const id of ids) await redis.lrem(SUBMIT_WAKEUP, 0, id);
    redis.disconnect();
  });
  const runs = createRunStore(redis);
  // Far in the future, so the finished ones are the newest runs on this database.
  for (const [i, id] of ids.entries()) await runs.submit({ runId: id, kind: 'backfill', job: 'network-metrics', inputs: ['file:///x'], options: {}, splitSize: 1024 }, 5_000_000_000_000 + i);
  await runs.transition(ids[0] as string, [RunState.SUBMITTED], RunState.RUNNING);
  for (const id of ids.slice(1)) await runs.transition(id, [RunState.SUBMITTED], RunState.COMPLETED);
  const res = await sluice(['status', '--json', '--limit', '1', '--redis', quietRedis]);
  assert.equal(res.code, 0, res.stderr);
  const listed = (JSON.parse(res.stdout) as { run: { runId: string } }[]).map((p) => p.run.runId).filter((id) => id.startsWith(prefix));
  assert.deepEqual(listed, [ids[2], ids[0]], 'the newest run, then the older one still running; not the other finished one');
});

test('status and dead-letters name a forgotten run and say when it ended and was forgotten', async (t) => {
  const redis = new Redis(quietRedis);
  const runId = `cli-forgotten-${randomUUID().slice(0, 8)}`;
  t.after(async () => {
    await redis.del(`sluice:fence:${runId}`);
    redis.disconnect();
  });
  const runs = createRunStore(redis);
  const finishedAt = Date.parse('2026-01-02T03:04:05Z');
  await runs.submit({ runId, kind: 'backfill', job: 'network-metrics', inputs: ['file:///x'], options: {}, splitSize: 1024 }, finishedAt - 1000);
  await runs.transition(runId, [RunState.SUBMITTED], RunState.FAILED, { finishedAt });
  assert.deepEqual(await runs.forgetFinished(finishedAt + 1, '', Date.parse('2026-04-02T00:00:00Z')), [runId]);
  const said = /run cli-forgotten-\S+ \(backfill network-metrics\) finished failed at 2026-01-02T03:04:05.000Z and was forgotten at 2026-04-02T00:00:00.000Z \(the coordinator's --forget-finished\)/;
  for (const args of [['status', runId], ['dead-letters', runId]]) {
    const res = await sluice([...args, '--redis', quietRedis]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /^error \[SLUICE_NOT_FOUND\]: /, args.join(' '));
    assert.match(res.stderr, said, args.join(' '));
  }
});

test('forget deletes a finished run at once, refuses one still going, and names a run it does not know', async (t) => {
  const redis = new Redis(quietRedis);
  const prefix = `cli-forget-${randomUUID().slice(0, 8)}`;
  const [done, going] = [`${prefix}-done`, `${prefix}-going`];
  t.after(async () => {
    const keys = (await Promise.all([done, going].map((id) => redis.keys(`sluice:run:${id}*`)))).flat();
    await redis.del(...keys, `sluice:fence:${done}`, `sluice:fence:${going}`);
    await redis.zrem(RUNS_INDEX, done, going);
    await redis.zrem(ACTIVE_RUNS_INDEX, done, going);
    for (const id of [done, going]) await redis.lrem(SUBMIT_WAKEUP, 0, id);
    redis.disconnect();
  });
  const runs = createRunStore(redis);
  for (const id of [done, going]) await runs.submit({ runId: id, kind: 'backfill', job: 'network-metrics', inputs: ['file:///x'], options: {}, splitSize: 1024 });
  await runs.transition(done, [RunState.SUBMITTED], RunState.COMPLETED, { finishedAt: Date.parse('2026-01-02T03:04:05Z') });
  await redis.hset(`sluice:fence:${done}`, 'f#0-10', '0:9007199254740991');
  await runs.transition(going, [RunState.SUBMITTED], RunState.RUNNING);

  const res = await sluice(['forget', done, '--redis', quietRedis]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^forgot run cli-forget-\S+-done \(backfill network-metrics, completed at 2026-01-02T03:04:05.000Z\); forgotten at /);
  assert.equal(await runs.get(done), undefined);
  assert.deepEqual((await redis.hkeys(`sluice:fence:${done}`)).toSorted(), ['@forgotten', '@pruned']);
  assert.equal((await sluice(['forget', done, '--redis', quietRedis])).code, 0, 'forgetting twice is a no-op');

  const refused = await sluice(['forget', going, '--redis', quietRedis]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error \[SLUICE_INVALID_CONFIG\]: run cli-forget-\S+-going is running: only a finished run can be forgotten; cancel it first/);
  assert.equal((await runs.get(going))?.state, RunState.RUNNING, 'and it is left alone');

  const unknown = await sluice(['forget', `${prefix}-nope`, '--redis', quietRedis]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error \[SLUICE_NOT_FOUND\]: no run cli-forget-\S+-nope/);
});

test('a numeric option out of range fails before anything connects, printed with the option to fix', async () => {
  const cases: [string[], string][] = [
    [['worker', '--concurrency', 'two'], 'error [SLUICE_INVALID_CONFIG]: --concurrency must be an integer from 1 to 1024, got "two"\n  flag: --concurrency\n'],
    [['coordinator', '--tick', '1.5'], 'error [SLUICE_INVALID_CONFIG]: --tick must be an integer from 10 to 2147483647 (milliseconds), got "1.5"\n  flag: --tick\n'],
  ];
  const results = await Promise.all(cases.map(([args]) => sluice([...args, '--redis', deadRedis])));
  for (const [i, [args, expected]] of cases.entries()) {
    const res = results[i] as { code: number; stderr: string };
    assert.equal(res.code, 1, args.join(' '));
    assert.ok(res.stderr.startsWith(expected), `${args.join(' ')}:\n${res.stderr}`);
  }
});

test('output into a pipe whose reader went away ends quietly with 0, as Unix tools do (| head)', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'many'));
  // Far more than a pipe buffer holds, so writes go on after the reader is gone.
  for (let i = 0; i < 4000; i += 1) writeFileSync(join(dir, 'many', `file-${String(i).padStart(5, '0')}-${'x'.repeat(40)}.ndjson`), '');
  const child = spawn(process.execPath, [bin, 'hdfs', 'ls', `file://${dir}/many/*.ndjson`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const first = await new Promise<string>((done) => child.stdout.once('data', (chunk: Buffer) => done(chunk.toString())));
  child.stdout.destroy();
  const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
  assert.match(first, /file-00000-x+\.ndjson/u, 'the listing started');
  assert.equal(stderr, '', 'no EPIPE error or stack trace');
  assert.equal(code, 0);
});

test('--version prints the version of the package and of Node, and exits 0', async () => {
  const res = await sluice(['--version']);
  assert.equal(res.code, 0, res.stderr);
  const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
  assert.equal(res.stdout, `sluice ${manifest.version} (node ${process.version})\n`);
});

test('a worker whose Kafka brokers setting is malformed fails and exits, not hangs with Redis connected', async () => {
  const res = await sluice(['worker', '--redis', base, '--namespace', `cli-${randomUUID()}`], { KAFKA_BROKERS: 'garbage' });
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /error \[SLUICE_INVALID_CONFIG\]: brokers\[0\] must be host:port/u);
  assert.doesNotMatch(res.stderr + res.stdout, /ready/u, 'it never started taking splits');
});

test('hdfs put names an existing destination and the flag that replaces it, and a local file that is missing', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.ndjson'), '{"a":1}\n');
  const dest = `file://${dir}/dest`;
  assert.equal((await sluice(['hdfs', 'put', dest, join(dir, 'a.ndjson')])).code, 0);
  const again = await sluice(['hdfs', 'put', dest, join(dir, 'a.ndjson')]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`error \\[SLUICE_REMOTE\\]: ${dest}/a\\.ndjson already exists; pass --overwrite to replace it`, 'u'));
  assert.equal((await sluice(['hdfs', 'put', '--overwrite', dest, join(dir, 'a.ndjson')])).code, 0);
  const missing = await sluice(['hdfs', 'put', dest, join(dir, 'missing.gz')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error \[SLUICE_NOT_FOUND\]: local file ".*missing\.gz" matches no file/u);
});

test('hdfs ls of a directory shows its subdirectories as well as its files; a glob that matches nothing fails', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'dt=2018-03-24'));
  writeFileSync(join(dir, 'dt=2018-03-24', 'a.ndjson'), '{"a":1}\n');
  writeFileSync(join(dir, 'top.ndjson'), '{}\n');
  const listed = await sluice(['hdfs', 'ls', dir]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(listed.stdout.trimEnd().split('\n').map((line) => line.trim()), [
    `-  file://${dir}/dt=2018-03-24/`,
    `3  file://${dir}/top.ndjson`,
  ]);
  const deep = await sluice(['hdfs', 'ls', '-R', dir]);
  assert.deepEqual(deep.stdout.trimEnd().split('\n').map((line) => line.trim()), [`8  file://${dir}/dt=2018-03-24/a.ndjson`, `3  file://${dir}/top.ndjson`]);
  const none = await sluice(['hdfs', 'ls', `${dir}/*.parquet`]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /error \[SLUICE_NOT_FOUND\]: no file matches .*\/\*\.parquet/u);
});

test('run --input reads a directory as backfills do (its files), and names what to pass when there are none', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.ndjson'), `${dnsLine(0)}\n${dnsLine(1)}\n`);
  writeFileSync(join(dir, 'b.ndjson'), `${dnsLine(2)}\n`);
  writeFileSync(join(dir, '_SUCCESS'), '');
  const runId = `cli-dir-${randomUUID()}`;
  const redis = new Redis(base);
  t.after(async () => {
    await deleteKeys(redis, `${runId}:*`);
    await redis.del(`sluice:run:${runId}`, `sluice:run:${runId}:dead`, `sluice:run:${runId}:stats`);
    redis.disconnect();
  });
  const res = await sluice(['run', 'network-metrics', '--input', dir, '--run-id', runId, '--key-prefix', `${runId}:`, '--set', 'timeShift=auto', '--redis', base, '--json']);
  assert.equal(res.code, 0, res.stderr);
  const summary = JSON.parse(res.stdout) as { splits: number; records: number; badRecords: number };
  assert.deepEqual([summary.splits, summary.records, summary.badRecords], [2, 3, 0], 'both files, and not _SUCCESS');
  const outer = tempDir(t);
  mkdirSync(join(outer, 'dt=2018-03-24'));
  const parent = await sluice(['run', 'network-metrics', '--input', outer, '--redis', deadRedis]);
  assert.equal(parent.code, 1);
  assert.match(parent.stderr, /error \[SLUICE_NOT_FOUND\]: input .* is a directory with no files directly in it, only directories \(dt=2018-03-24\/\): name the files under them with a glob/u);
  const remote = await sluice(['run', 'network-metrics', '--input', 'webhdfs://127.0.0.1:9870/archive/x.ndjson', '--redis', deadRedis]);
  assert.equal(remote.code, 1);
  assert.match(remote.stderr, /error \[SLUICE_INVALID_CONFIG\]: --input "webhdfs:.*" is not a local path: this command reads local files \(submit HDFS inputs with `sluice backfill`\)/u);
});

/** One network-metrics DNS record as NDJSON. */
function dnsLine(i: number): string {
  return JSON.stringify({ ts: 1521911000 + i, _path: 'dns', 'id.orig_h': '10.0.0.1', 'id.resp_h': '10.0.0.2', query: `q${i}.example`, rcode_name: 'NOERROR' });
}

test('a gzip file named .ndjson fails the run with the fix, leaving no dead letters', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'dns.ndjson');
  writeFileSync(file, gzipSync(Array.from({ length: 5000 }, (_, i) => `${dnsLine(i)}\n`).join('')));
  const runId = `cli-misnamed-${randomUUID()}`;
  const redis = new Redis(base);
  t.after(async () => {
    await redis.del(`sluice:run:${runId}`, `sluice:run:${runId}:dead`, `sluice:run:${runId}:stats`);
    redis.disconnect();
  });
  const res = await sluice(['run', 'network-metrics', '--input', file, '--run-id', runId, '--key-prefix', `${runId}:`, '--redis', base]);
  assert.equal(res.code, 1, res.stdout);
  assert.match(res.stderr, /error \[SLUICE_CORRUPT_INPUT\]: file:\/\/.*\/dns\.ndjson is named as plain ndjson but is gzip-compressed .*; name it with \.gz at the end/u);
  assert.equal(await redis.llen(`sluice:run:${runId}:dead`), 0, 'no garbage lines were kept as dead letters');
});

test('dead-letters lists a run\'s bad records with file@offset and reason, and the run\'s summary points to it', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'dns.ndjson');
  const good = JSON.stringify({ ts: 1521911000, _path: 'dns', 'id.orig_h': '10.0.0.1', 'id.resp_h': '10.0.0.2', query: 'a.example', rcode_name: 'NOERROR' });
  const text = `${good}\nnot json at all\n${good}\n{"ts": \n`;
  writeFileSync(file, text);
  const runId = `cli-dead-${randomUUID()}`;
  const redis = new Redis(base);
  t.after(async () => {
    await deleteKeys(redis, `${runId}:*`);
    await redis.del(`sluice:run:${runId}`, `sluice:run:${runId}:dead`, `sluice:run:${runId}:stats`);
    redis.disconnect();
  });
  const run = await sluice(['run', 'network-metrics', '--input', file, '--run-id', runId, '--key-prefix', `${runId}:`, '--set', 'timeShift=auto', '--redis', base]);
  assert.equal(run.code, 0, run.stderr);
  const second = Buffer.byteLength(`${good}\n`);
  const fourth = Buffer.byteLength(`${good}\nnot json at all\n${good}\n`);
  const listed = await sluice(['dead-letters', runId, '--redis', base]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`^file://${dir}/dns\\.ndjson@${second}  .*\\n    "not json at all"\\n`, 'mu'));
  assert.match(listed.stdout, new RegExp(`^file://${dir}/dns\\.ndjson@${fourth}  `, 'mu'));
  assert.match(listed.stdout, /\n2 dead letters\n$/u);
  const one = await sluice(['dead-letters', runId, '--limit', '1', '--json', '--redis', base]);
  const lines = one.stdout.trim().split('\n').map((l) => JSON.parse(l) as { provenance: string; raw: string });
  assert.deepEqual(lines.map((l) => [l.provenance, l.raw]), [[`file://${dir}/dns.ndjson@${second}`, 'not json at all']]);
  assert.match(run.stdout, new RegExp(`^bad records +2 \\(sluice dead-letters ${runId}\\)$`, 'mu'), 'the summary says where to look');
  const missing = await sluice(['dead-letters', 'no-such-run', '--redis', base]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error \[SLUICE_NOT_FOUND\]: no run no-such-run/u);
});

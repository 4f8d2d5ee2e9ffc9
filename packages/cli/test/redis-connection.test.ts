/**
 * How the commands meet Redis: a wrong URL or a stopped server fails at once with what to fix, and
 * a running service rides out a Redis restart with one line for the outage and one for the
 * recovery. The restart test runs its own redis-server on a free port, so the shared one stays up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCode, SluiceError } from '@sluice/core';
import { connectRedis, createOutageReporter, redactRedisUrl } from '../src/redis-connection.ts';

const bin = resolve(import.meta.dirname, '..', 'src', 'bin.ts');
const base = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;

function withPath(url: string, userInfo: string, path: string): string {
  const u = new URL(url);
  if (userInfo !== '') {
    const [user, password] = userInfo.split(':') as [string, string];
    u.username = user;
    u.password = password;
  }
  u.pathname = path;
  return u.href;
}

async function refused(url: string): Promise<SluiceError> {
  try {
    const redis = await connectRedis(url, { connectTimeoutMs: 2000 });
    redis.disconnect();
  } catch (error) {
    assert.ok(error instanceof SluiceError, String(error));
    return error;
  }
  assert.fail(`connecting to ${url} succeeded`);
}

test('connectRedis answers with a connected client on a good URL', async () => {
  const redis = await connectRedis(base);
  try {
    assert.equal(await redis.ping(), 'PONG');
  } finally {
    redis.disconnect();
  }
});

test('connectRedis fails at once, saying what to fix, for a stopped server, a bad database and bad credentials', async () => {
  const stopped = await refused('redis://127.0.0.1:1');
  assert.equal(stopped.code, ErrorCode.UNAVAILABLE);
  assert.match(stopped.message, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(connect ECONNREFUSED[^)]*\); start it \(npx sluice dev up redis\) or point --redis or REDIS_URL at a running server/);

  // ioredis would otherwise log the failed SELECT and go on writing to database 0.
  const database = await refused(withPath(base, '', '/999'));
  assert.equal(database.code, ErrorCode.INVALID_CONFIG);
  assert.match(database.message, /has no such database \(ERR DB index is out of range\)/);

  const credentials = await refused(withPath(base, 'nobody:secret', '/0'));
  assert.equal(credentials.code, ErrorCode.INVALID_CONFIG);
  assert.match(credentials.message, /refused the credentials \(WRONGPASS[^)]*\); fix the user and password/);
  assert.ok(!credentials.message.includes('secret'), credentials.message);
  assert.match(credentials.message, /nobody:\*\*\*@/);
});

test('redactRedisUrl hides only the password', () => {
  assert.equal(redactRedisUrl('redis://user:pw@host:6380/2'), 'redis://user:***@host:6380/2');
  assert.equal(redactRedisUrl('redis://host:6379'), 'redis://host:6379');
});

test('the outage reporter prints the first failure, drops repeats, and says when the connection is back', () => {
  const lines: string[] = [];
  const report = createOutageReporter((line) => lines.push(line));
  report.recovered('Redis at x');
  report.failed('Redis at x', new Error('connect ECONNREFUSED'));
  report.failed('Redis at x', new Error('connect ECONNREFUSED'));
  report.failed('queue at x', new Error('connect ECONNREFUSED'));
  report.recovered('Redis at x');
  report.recovered('Redis at x');
  report.failed('Redis at x', new Error('connect ECONNREFUSED'));
  assert.deepEqual(lines, [
    'Redis at x: connect ECONNREFUSED; retrying',
    'queue at x: connect ECONNREFUSED; retrying',
    'Redis at x: connected again',
    'Redis at x: connect ECONNREFUSED; retrying',
  ]);
});

test('every command that needs Redis fails with the same message when it cannot reach it, and prints no retry noise', async () => {
  const commands = [
    ['status'],
    ['cancel', 'some-run'],
    ['backfill', 'network-metrics', '--input', '/x'],
    ['stream', 'start', 'network-metrics', '--topic', 't'],
    ['stream', 'stop', 'some-run'],
    ['run', 'network-metrics', '--backfill', 'webhdfs://h:9870/a', '--stream', 't'],
    ['worker'],
    ['coordinator'],
  ];
  const results = await Promise.all(commands.map((args) => new Promise<{ code: number; stderr: string }>((done) => {
    execFile(process.execPath, [bin, ...args, '--redis', 'redis://127.0.0.1:1'], { timeout: 60_000 }, (error, _stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stderr });
    });
  })));
  for (const [i, args] of commands.entries()) {
    const res = results[i] as { code: number; stderr: string };
    assert.equal(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, /^error \[SLUICE_UNAVAILABLE\]: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 /, args.join(' '));
    assert.ok(!res.stderr.includes('Unhandled error event'), `${args.join(' ')}: ${res.stderr}`);
  }
});

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function startRedisServer(port: number, dir: string): Promise<ChildProcess> {
  // Appendonly, as a production Redis runs: the queue, the runs and the lease survive the restart.
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((done, fail) => {
    let out = '';
    server.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('Ready to accept connections')) done();
    });
    server.once('exit', (code) => fail(new Error(`redis-server on port ${port} exited with ${String(code)}: ${out}`)));
  });
  return server;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill(signal);
  await exited;
}

async function until(what: string, check: () => boolean, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Service { child: ChildProcess; output: () => string }

function startService(args: readonly string[]): Service {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  return { child, output: () => out };
}

test('a worker and a coordinator ride out a Redis restart, report it in one line each way, run a backfill after it, and stop when told', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-restart-'));
  const port = await freePort();
  let server = await startRedisServer(port, dir);
  const url = `redis://127.0.0.1:${port}`;
  const common = ['--redis', url, '--namespace', 'restart-test'];
  const worker = startService(['worker', ...common]);
  const coordinator = startService(['coordinator', ...common, '--tick', '100']);
  t.after(async () => {
    await stopProcess(worker.child, 'SIGKILL');
    await stopProcess(coordinator.child, 'SIGKILL');
    await stopProcess(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await until('the worker to be ready', () => worker.output().includes('ready (concurrency 1)'), worker.output);
  await until('the coordinator to lead', () => coordinator.output().includes('is the leader'), coordinator.output);

  await stopProcess(server);
  const refusedLine = `Redis at ${url}: connect ECONNREFUSED`;
  await until('the worker to report the outage', () => worker.output().includes(refusedLine), worker.output);
  await until('the coordinator to report the outage', () => coordinator.output().includes(refusedLine), coordinator.output);
  // Many reconnection attempts fail meanwhile; each distinct failure is printed once.
  await new Promise((r) => setTimeout(r, 3000));
  server = await startRedisServer(port, dir);
  await until('the worker to reconnect', () => worker.output().includes(`Redis at ${url}: connected again`), worker.output);
  await until('the coordinator to reconnect', () => coordinator.output().includes(`Redis at ${url}: connected again`), coordinator.output);

  const input = join(dir, 'dns.ndjson');
  const now = Date.now();
  const lines = [0, 1, 2].map((i) => JSON.stringify({ _path: 'dns', ts: new Date(now - i * 1000).toISOString(), 'id.orig_h': '10.9.8.7', 'id.resp_h': '10.9.8.1', rcode_name: 'NOERROR', rtt: 0.001, qtype_name: 'A' }));
  writeFileSync(input, `${lines.join('\n')}\n`);
  const backfill = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, [bin, 'backfill', 'network-metrics', '--input', input, ...common, '--wait', '--json'], { timeout: 90_000 }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
  assert.equal(backfill.code, 0, `${backfill.stderr}\nworker:\n${worker.output()}\ncoordinator:\n${coordinator.output()}`);
  const final = JSON.parse(backfill.stdout) as { run: { state: string }; records: number };
  assert.equal(final.run.state, 'completed');
  assert.equal(final.records, 3);
  const redis = await connectRedis(url);
  try {
    assert.ok((await redis.keys('dns.queries.10.9.8.7:*')).length > 0, 'the backfill wrote no dns.queries series');
  } finally {
    redis.disconnect();
  }

  for (const [name, service] of [['worker', worker], ['coordinator', coordinator]] as const) {
    const out = service.output();
    const outageLines = out.split('\n').filter((line) => line.includes('ECONNREFUSED'));
    // Its own client(s) and the queue's connections: one line each, not one per attempt.
    assert.ok(outageLines.length >= 1 && outageLines.length <= 2, `${name} reported the outage ${outageLines.length} times:\n${out}`);
    assert.ok(!out.includes('Unhandled error event') && !/\n\s+at /.test(out), `stack traces in the ${name}'s output:\n${out}`);
  }

  // Bounded even if BullMQ's connections are still reconnecting: drain (none running) plus 10 s.
  const stopping = Date.now();
  await Promise.all([stopProcess(worker.child), stopProcess(coordinator.child)]);
  assert.ok(Date.now() - stopping < 30_000, `stopping took ${Date.now() - stopping} ms`);
  assert.match(worker.output(), /worker \d+ stopped\n/);
});

/**
 * How the commands meet Redis: a wrong URL, a stopped server, bad credentials or a missing database
 * fail at once with what to fix; a service's later outages are reported once each way. The
 * processes riding out a real restart are tested in test/e2e/redis-restart.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SluiceError } from '@sluice/core';
import { checkRedisServer, connectRedis, createOutageReporter, redactRedisUrl } from '../src/redis-connection.ts';

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

/** INFO as a server sends it: sections, CRLF line ends. */
function infoText(fields: Record<string, string>): string {
  return ['# Server', 'redis_version:7.0.15', '# Replication', ...Object.entries(fields).map(([k, v]) => `${k}:${v}`), ''].join('\r\n');
}

async function checked(fields: Record<string, string>): Promise<{ error?: SluiceError; warnings: string[] }> {
  const warnings: string[] = [];
  try {
    await checkRedisServer({ info: () => Promise.resolve(infoText(fields)) }, 'redis://r:6379', (line) => warnings.push(line));
    return { warnings };
  } catch (error) {
    assert.ok(error instanceof SluiceError, String(error));
    return { error, warnings };
  }
}

test('checkRedisServer accepts a standalone primary without a memory limit, or with one under noeviction', async () => {
  assert.deepEqual(await checked({ role: 'master', cluster_enabled: '0', maxmemory: '0', maxmemory_policy: 'allkeys-lru' }), { warnings: [] });
  assert.deepEqual(await checked({ role: 'master', cluster_enabled: '0', maxmemory: '1048576', maxmemory_policy: 'noeviction' }), { warnings: [] });
});

test('checkRedisServer refuses cluster mode, a replica and eviction, each with its fix', async () => {
  const cluster = await checked({ role: 'master', cluster_enabled: '1' });
  assert.equal(cluster.error?.code, ErrorCode.INVALID_CONFIG);
  assert.match(cluster.error?.message ?? '', /^Redis at redis:\/\/r:6379 runs in cluster mode.*point --redis or REDIS_URL at a standalone primary/);

  const replica = await checked({ role: 'slave', master_host: '10.0.0.9', master_port: '6380' });
  assert.match(replica.error?.message ?? '', /is a read-only replica of 10\.0\.0\.9:6380; point --redis or REDIS_URL at the primary$/);

  for (const policy of ['allkeys-lru', 'volatile-ttl', 'allkeys-random']) {
    const evicting = await checked({ role: 'master', maxmemory: '1048576', maxmemory_policy: policy });
    assert.equal(evicting.error?.code, ErrorCode.INVALID_CONFIG);
    assert.match(evicting.error?.message ?? '', new RegExp(`maxmemory 1048576 bytes, maxmemory-policy ${policy}\\).*set maxmemory-policy noeviction`));
  }
});

test('checkRedisServer warns, and goes on, when the server refuses INFO', async () => {
  const warnings: string[] = [];
  const denied = { info: () => Promise.reject(new Error("NOPERM User sluice has no permissions to run the 'info' command")) };
  await checkRedisServer(denied, 'redis://r:6379', (line) => warnings.push(line));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /^Redis at redis:\/\/r:6379 refused INFO \(NOPERM .*\), so Sluice cannot check that it is a standalone primary that never evicts keys/);
});

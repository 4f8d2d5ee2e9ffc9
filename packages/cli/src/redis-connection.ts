/**
 * Redis connections of the `sluice` commands.
 *
 * Left to itself, ioredis retries an unreachable server forever, prints every failed attempt as an
 * "Unhandled error event" with a stack, and a command then fails with a retry counter message that
 * names neither the server nor the fix. So every command connects here first and fails at once,
 * saying which URL it tried, why it failed and what to change. Long-running services (worker,
 * coordinator) also connect here first, then ride out later outages: they print one line when
 * Redis goes away and one when it is back, not a stack per attempt.
 */
import { Redis } from 'ioredis';
import { ErrorCode, SluiceError, createRepeatFilter } from '@sluice/core';
import { resolveRedisUrl } from './config.ts';

/** How a command connects. */
export interface ConnectRedisOptions {
  /** ioredis's per-command retries once connected: a number for one-shot commands, null for services (wait until Redis is back). */
  maxRetriesPerRequest?: number | null;
  /** How long one connection attempt may take (default 5,000 ms). */
  connectTimeoutMs?: number;
  /** Services: where lost and regained connections are reported after the first connect. Without it they are ignored. */
  outages?: OutageReporter;
  /**
   * Commands that commit or plan (worker, coordinator, local run): refuse a server on which commits
   * cannot stay exact (see `checkRedisServer`); `warn` hears when the server will not say.
   */
  serverCheck?: { warn(line: string): void };
}

/** What `checkRedisServer` reads of a server: ioredis's `info`. */
export interface RedisInfoSource {
  info(): Promise<string>;
}

/** Reports a service's connection troubles as single lines, whatever the number of clients and retries. */
export interface OutageReporter {
  /** Any client of `what` failed with `error` (repeats of the same message within a minute are dropped). */
  failed(what: string, error: Error): void;
  /** A client of `what` is connected again after a failure. */
  recovered(what: string): void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const REPEAT_QUIET_MS = 60_000;

/** Shows a Redis URL without its password. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

/** Creates a reporter printing through `log`: the first failure of an outage, later different ones, and the recovery. */
export function createOutageReporter(log: (line: string) => void): OutageReporter {
  // Keyed by the whole line: each client and each distinct failure is printed once per minute.
  const repeats = createRepeatFilter(REPEAT_QUIET_MS);
  let down = false;
  return {
    failed(what, error) {
      const line = `${what}: ${error.message}`;
      down = true;
      if (repeats.admit(line, line)) log(`${line}; retrying`);
    },
    recovered(what) {
      if (!down) return;
      down = false;
      repeats.clear();
      log(`${what}: connected again`);
    },
  };
}

/**
 * Connects to `url` and waits until the server has answered: an unreachable server, a bad password
 * or a database index the server does not have fails with what to fix, and no retry is left running.
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<Redis> {
  const shown = redactRedisUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
  // ioredis reports a failed SELECT or AUTH as an error event and still calls the connection
  // ready (writing to database 0 for a SELECT): any error before ready fails the connect.
  let early: Error | undefined;
  const onEarly = (error: Error): void => {
    early ??= error;
  };
  redis.on('error', onEarly);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    early ??= error instanceof Error ? error : new Error(String(error));
  }
  redis.off('error', onEarly);
  if (early !== undefined) {
    redis.disconnect();
    throw connectError(shown, early);
  }
  if (options.serverCheck !== undefined) {
    try {
      await checkRedisServer(redis, shown, options.serverCheck.warn);
    } catch (error) {
      redis.disconnect();
      throw error;
    }
  }
  const outages = options.outages;
  const what = `Redis at ${shown}`;
  if (outages === undefined) {
    // One-shot commands: a later failure reaches the command that was waiting on it.
    redis.on('error', () => undefined);
  } else {
    redis.on('error', (error: Error) => outages.failed(what, error));
    redis.on('ready', () => outages.recovered(what));
  }
  return redis;
}

/** Runs a one-shot command's `body` on a connection to `--redis` (else REDIS_URL), closed after it whatever happens. */
export async function withRedis<T>(flag: string | undefined, body: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis(resolveRedisUrl(flag));
  try {
    return await body(redis);
  } finally {
    redis.disconnect();
  }
}

/**
 * Refuses a server on which Sluice's commits cannot be exact, with what to change: Redis Cluster (a
 * chunk's kairos keys span hash slots, which one script may not touch), a read-only replica, or a
 * memory limit with an eviction policy (an evicted fence lets a retried chunk count twice, an
 * evicted series loses counts; under `noeviction` a full Redis refuses the commit instead, and the
 * split is retried). A server that refuses `INFO` (an ACL, a renamed command) is not checked, and
 * `warn` says so.
 */
export async function checkRedisServer(redis: RedisInfoSource, shown: string, warn: (line: string) => void): Promise<void> {
  let text: string;
  try {
    text = await redis.info();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    warn(`Redis at ${shown} refused INFO (${reason}), so Sluice cannot check that it is a standalone primary that never evicts keys; make sure it is`);
    return;
  }
  const info = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) info.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const context = { url: shown };
  if (info.get('cluster_enabled') === '1') {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `Redis at ${shown} runs in cluster mode, which Sluice does not support: a commit writes a chunk's kairos keys in one script, and Redis Cluster refuses a script whose keys span hash slots; point --redis or REDIS_URL at a standalone primary (replicas are fine)`, { context: { ...context, clusterEnabled: true } });
  }
  const role = info.get('role');
  if (role === 'slave' || role === 'replica') {
    const primary = info.has('master_host') ? ` of ${info.get('master_host') ?? ''}:${info.get('master_port') ?? ''}` : '';
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `Redis at ${shown} is a read-only replica${primary}; point --redis or REDIS_URL at the primary`, { context: { ...context, role } });
  }
  const maxmemory = Number(info.get('maxmemory') ?? '0');
  const policy = info.get('maxmemory_policy') ?? 'noeviction';
  if (maxmemory > 0 && policy !== 'noeviction') {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `Redis at ${shown} evicts keys when full (maxmemory ${maxmemory} bytes, maxmemory-policy ${policy}): an evicted fence would let a retried chunk count twice and an evicted series loses counts; set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf), or remove the memory limit (maxmemory 0)`, { context: { ...context, maxmemory, policy } });
  }
}

function connectError(shown: string, error: Error): SluiceError {
  const reason = error.message;
  const context = { url: shown, reason };
  if (/WRONGPASS|NOAUTH|invalid password|AUTH/i.test(reason)) {
    return new SluiceError(ErrorCode.INVALID_CONFIG, `Redis at ${shown} refused the credentials (${reason}); fix the user and password in --redis or REDIS_URL`, { cause: error, context });
  }
  if (/DB index is out of range/i.test(reason)) {
    return new SluiceError(ErrorCode.INVALID_CONFIG, `Redis at ${shown} has no such database (${reason}); use a database index the server has (0-15 by default) in --redis or REDIS_URL`, { cause: error, context });
  }
  if (/Protocol error/i.test(reason)) {
    return new SluiceError(ErrorCode.INVALID_CONFIG, `${shown} did not answer as a Redis server (${reason}); check the host and port in --redis or REDIS_URL`, { cause: error, context });
  }
  return new SluiceError(ErrorCode.UNAVAILABLE, `cannot reach Redis at ${shown} (${reason}); start it (npx sluice dev up redis) or point --redis or REDIS_URL at a running server`, { cause: error, context });
}

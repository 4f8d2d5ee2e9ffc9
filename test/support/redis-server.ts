/**
 * A private redis-server for tests that stop, restart or starve Redis, so the shared one stays up
 * for the other tests. It runs on a free port with appendonly (as production runs it) in a
 * directory of its own, and the test context removes both when the test ends.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A redis-server owned by one test. */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Its data directory, also a place for the test's own files. */
  dir: string;
  /** Stops the server (SIGTERM: it saves its append-only file) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, once stopped. */
  start(): Promise<void>;
}

/**
 * Starts a redis-server for this test; it is killed and its directory removed after the test.
 * `args` are more `redis-server` options (`--maxmemory`, `--replicaof`, ...).
 */
export async function startPrivateRedis(t: TestContext, name: string, args: readonly string[] = []): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
  const port = await freePort();
  let server: ChildProcess | undefined;
  t.after(async () => {
    if (server !== undefined) await stopServer(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop() {
      if (server !== undefined) await stopServer(server, 'SIGTERM');
    },
    async start() {
      server = await startRedisServer(port, dir, args);
    },
  };
  await redis.start();
  return redis;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function startRedisServer(port: number, dir: string, args: readonly string[]): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

async function stopServer(server: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((done) => server.once('exit', () => done()));
  server.kill(signal);
  await exited;
}

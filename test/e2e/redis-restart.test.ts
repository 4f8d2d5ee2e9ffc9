/**
 * A worker and a coordinator outlive a Redis restart: each prints one line when Redis goes away and
 * one when it is back (no stack per reconnection attempt), a backfill submitted after the restart
 * completes, and both stop within their bound when told, even while BullMQ's connections are still
 * reconnecting. The test runs a redis-server of its own on a free port (appendonly, as production
 * runs it), so the shared one stays up for the other tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { runSluice, spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';
import { startPrivateRedis } from '../support/redis-server.ts';
import type { PrivateRedis } from '../support/redis-server.ts';

/** A private Redis with a worker and a coordinator on it, both ready. */
async function startStack(t: TestContext, name: string): Promise<{ redis: PrivateRedis; common: string[]; worker: SluiceProcess; coordinator: SluiceProcess }> {
  const redis = await startPrivateRedis(t, name);
  const common = ['--redis', redis.url, '--namespace', name];
  const worker = spawnSluice(t, ['worker', ...common]);
  const coordinator = spawnSluice(t, ['coordinator', ...common, '--tick', '100']);
  await worker.waitFor('ready (concurrency 1)');
  await coordinator.waitFor('is the leader');
  return { redis, common, worker, coordinator };
}

test('a worker and a coordinator ride out a Redis restart, report it in one line each way, run a backfill after it, and stop when told', async (t) => {
  const { redis: server, common, worker, coordinator } = await startStack(t, 'restart-test');
  const { url, dir } = server;

  await server.stop();
  await worker.waitFor(`Redis at ${url}: connect ECONNREFUSED`);
  await coordinator.waitFor(`Redis at ${url}: connect ECONNREFUSED`);
  // Many reconnection attempts fail meanwhile; each distinct failure is printed once.
  await sleep(3000);
  await server.start();
  await worker.waitFor(`Redis at ${url}: connected again`);
  await coordinator.waitFor(`Redis at ${url}: connected again`);

  const input = join(dir, 'dns.ndjson');
  const now = Date.now();
  const lines = [0, 1, 2].map((i) => JSON.stringify({ _path: 'dns', ts: new Date(now - i * 1000).toISOString(), 'id.orig_h': '10.9.8.7', 'id.resp_h': '10.9.8.1', rcode_name: 'NOERROR', rtt: 0.001, qtype_name: 'A' }));
  writeFileSync(input, `${lines.join('\n')}\n`);
  const backfill = await runSluice(t, ['backfill', 'network-metrics', '--input', input, ...common, '--wait', '--json']);
  assert.equal(backfill.code, 0, `${backfill.output}\nworker:\n${worker.output()}\ncoordinator:\n${coordinator.output()}`);
  const final = JSON.parse(backfill.stdout) as { run: { state: string }; records: number };
  assert.equal(final.run.state, 'completed');
  assert.equal(final.records, 3);
  const redis = new Redis(url);
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
  worker.kill();
  coordinator.kill();
  await Promise.all([worker.exited, coordinator.exited]);
  assert.ok(Date.now() - stopping < 30_000, `stopping took ${Date.now() - stopping} ms`);
  assert.match(worker.output(), /worker \d+ stopped\n/);
});

test('a worker and a coordinator told to stop while Redis is away exit within their bound and say why', async (t) => {
  const { redis: server, worker, coordinator } = await startStack(t, 'away-test');
  const { url } = server;

  await server.stop();
  await worker.waitFor(`Redis at ${url}: connect ECONNREFUSED`);
  await coordinator.waitFor(`Redis at ${url}: connect ECONNREFUSED`);

  // Neither can hand anything back to a Redis that is gone: each gives up after its bound, says
  // so, and exits 1 (the worker: no split running, then 10 s for BullMQ; the coordinator: 2 s for
  // the lease, 10 s for the queues, a tick plus 2 s for its loop).
  const stopping = Date.now();
  worker.kill();
  coordinator.kill();
  const [workerExit, coordinatorExit] = await Promise.all([worker.exited, coordinator.exited]);
  // About 14 s; a worker that spends its 30 s drain waiting on BullMQ's close would take 40 s.
  const took = Date.now() - stopping;
  console.log(`stopping while Redis is away took ${took} ms`);
  assert.ok(took < 25_000, `stopping took ${took} ms`);
  assert.equal(workerExit, 1, worker.output());
  assert.equal(coordinatorExit, 1, coordinator.output());
  assert.match(worker.output(), /did not close within \d+ ms[^\n]*\n[^\n]*worker \d+ stopped\n/);
  assert.match(coordinator.output(), /SIGTERM: stopping\n/);
  assert.match(coordinator.output(), /could not hand the lease back/);
  assert.match(coordinator.output(), /coordinator stopped\n/);
});

/**
 * `sluice backfill --wait` says why a run does not move: no worker running, or no coordinator
 * alive, once either has been missing for 10 s, or workers that commit nothing for 20 s (one stuck, or
 * dead holding a split), and says when it is back; the run then completes
 * and the command exits 0. On a redis-server of its own, so the coordinator lease is the test's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnSluice } from '../support/processes.ts';
import type { SluiceProcess } from '../support/processes.ts';
import { startPrivateRedis } from '../support/redis-server.ts';

test('backfill --wait says when no worker runs or no coordinator is alive, and when they are back', async (t) => {
  const redis = await startPrivateRedis(t, 'wait-test');
  const common = ['--redis', redis.url, '--namespace', 'wait-test'];
  const input = join(redis.dir, 'dns.ndjson');
  const now = Date.now();
  writeFileSync(input, `${[0, 1, 2].map((i) => JSON.stringify({ _path: 'dns', ts: new Date(now - i * 1000).toISOString(), 'id.orig_h': '10.9.8.7', 'id.resp_h': '10.9.8.1', rcode_name: 'NOERROR', rtt: 0.001, qtype_name: 'A' })).join('\n')}\n`);
  const backfill = (runId: string): SluiceProcess => spawnSluice(t, ['backfill', 'network-metrics', '--input', input, '--run-id', runId, ...common, '--wait', '--json']);

  const coordinator = spawnSluice(t, ['coordinator', ...common, '--tick', '100']);
  await coordinator.waitFor('is the leader');

  // No worker: the run is planned and sits still, and says why.
  const run = backfill('wait-run');
  await run.waitFor('no worker is running: run wait-run waits until one runs (sluice worker --namespace wait-test)', 30_000);
  // The coordinator stops too (handing its lease back): nothing could finish the run.
  coordinator.kill();
  await coordinator.exited;
  await run.waitFor('no coordinator is alive: run wait-run waits until one runs (sluice coordinator --namespace wait-test)', 30_000);
  await spawnSluice(t, ['coordinator', ...common, '--tick', '100']).waitFor('is the leader');
  await run.waitFor('a coordinator is alive again', 30_000);
  // Each notice once, however long the wait.
  assert.equal(run.output().split('no worker is running').length, 2, run.output());
  spawnSluice(t, ['worker', ...common]);
  assert.equal(await run.exited, 0, run.output());
  assert.match(run.output(), /"state":"completed"/);
});

test('Ctrl-C during backfill --wait stops the waiting, not the run, and says how to follow or cancel it', async (t) => {
  const redis = await startPrivateRedis(t, 'wait-int');
  const common = ['--redis', redis.url, '--namespace', 'wait-int'];
  const input = join(redis.dir, 'dns.ndjson');
  writeFileSync(input, `${JSON.stringify({ _path: 'dns', ts: new Date().toISOString(), 'id.orig_h': '10.9.8.7', 'id.resp_h': '10.9.8.1', rcode_name: 'NOERROR' })}\n`);
  await spawnSluice(t, ['coordinator', ...common, '--tick', '100']).waitFor('is the leader');
  // No worker runs, so the run cannot finish while the command waits.
  const waiting = spawnSluice(t, ['backfill', 'network-metrics', '--input', input, '--run-id', 'int-run', ...common, '--wait']);
  await waiting.waitFor('submitted run int-run');
  waiting.kill('SIGINT');
  assert.equal(await waiting.exited, 130, waiting.output());
  assert.match(waiting.output(), /stopped waiting; run int-run goes on: `sluice status int-run` shows it, `sluice cancel int-run` stops it/u);
  const status = spawnSluice(t, ['status', 'int-run', '--json', '--redis', redis.url]);
  assert.equal(await status.exited, 0, status.output());
  assert.match(status.output(), /"state":"(submitted|planning|running)"/u, 'the run was not cancelled');
});

test('backfill --wait says when workers run but nothing commits for 20 s (a stuck worker), and when it commits again', async (t) => {
  const redis = await startPrivateRedis(t, 'wait-stall');
  const common = ['--redis', redis.url, '--namespace', 'wait-stall'];
  const input = join(redis.dir, 'dns.ndjson');
  writeFileSync(input, `${JSON.stringify({ _path: 'dns', ts: new Date().toISOString(), 'id.orig_h': '10.9.8.7', 'id.resp_h': '10.9.8.1', rcode_name: 'NOERROR' })}\n`);
  await spawnSluice(t, ['coordinator', ...common, '--tick', '100']).waitFor('is the leader');
  // A worker that is connected (so it counts as running) but cannot take the split: paused.
  const worker = spawnSluice(t, ['worker', ...common]);
  await worker.waitFor('ready');
  // Paused only once its queue connection is open: that connection is how a worker is counted.
  const client = new Redis(redis.url);
  const deadline = Date.now() + 30_000;
  const queueClient = `bull:${Buffer.from('wait-stall.splits').toString('base64')}`;
  while (!String(await client.call('CLIENT', 'LIST')).includes(queueClient)) {
    assert.ok(Date.now() < deadline, 'the worker never connected to the splits queue');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  client.disconnect();
  worker.kill('SIGSTOP');
  t.after(() => worker.kill('SIGCONT'));
  const run = spawnSluice(t, ['backfill', 'network-metrics', '--input', input, '--run-id', 'stall-run', ...common, '--wait', '--json']);
  await run.waitFor('run stall-run has committed nothing for 20 s while workers run: one may be stuck, or have died holding a split', 60_000);
  assert.doesNotMatch(run.output(), /no worker is running/u, 'the paused worker counts as running');
  worker.kill('SIGCONT');
  await run.waitFor('run stall-run is committing again', 30_000);
  assert.equal(await run.exited, 0, run.output());
  assert.match(run.output(), /"state":"completed"/u);
});

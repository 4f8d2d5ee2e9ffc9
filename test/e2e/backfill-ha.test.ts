/**
 * End to end on an HA HDFS: the WRCCDC logs loaded through `hdfs://ha/...` (the NameNodes listed in
 * SLUICE_HDFS_HTTP_ADDRESS), then a network-metrics backfill whose coordinator and workers find both
 * NameNodes in the pair's own Hadoop configuration (HADOOP_CONF_DIR), as Spark would. Mid-run the operator fails the active
 * role over to the other NameNode, and later kills that one and forces the first active again. The
 * run completes and Redis equals the reference, so no split was lost or counted twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisUrl } from '../support/env.ts';
import { startHaHdfs } from '../support/hdfs-ha.ts';
import { computeReference, datasetFiles, deleteKeys, dumpKeys, wholeDaysShift } from '../support/network-metrics-reference.ts';
import { runSluice, spawnSluice } from '../support/processes.ts';

const shift = wholeDaysShift();

test('backfill over hdfs://nameservice survives a NameNode failover and a killed NameNode mid-run', async (t) => {
  const ha = await startHaHdfs(t);
  const [nn1, nn2] = ha.httpAddresses;
  const hdfs = { HADOOP_CONF_DIR: ha.clientConfDir };
  const input = 'hdfs://ha/archive/zeek-ndjson';
  const put = await runSluice(t, ['hdfs', 'put', '--gunzip', input, ...datasetFiles('ndjson')], { SLUICE_HDFS_HTTP_ADDRESS: `${nn2},${nn1}` });
  assert.equal(put.code, 0, put.output);

  const namespace = `bfha-${randomUUID().slice(0, 8)}`;
  const prefix = `${namespace}:`;
  const redis = new Redis(redisUrl());
  t.after(async () => {
    await deleteKeys(redis, `${prefix}*`);
    await deleteKeys(redis, `sluice:run:${namespace}-run*`);
    redis.disconnect();
  });
  const common = ['--redis', redisUrl(), '--namespace', namespace];
  const coordinator = spawnSluice(t, ['coordinator', ...common, '--lease-ttl', '3000', '--tick', '300'], hdfs);
  await coordinator.waitFor('is the leader');
  // Small splits and chunks, so the run is still reading when the NameNodes change hands.
  const workers = [1, 2].map(() => spawnSluice(t, ['worker', ...common, '--key-prefix', prefix, '--lock-duration', '3000', '--chunk-records', '100'], hdfs));
  for (const worker of workers) await worker.waitFor('ready');

  const done = runSluice(t, ['backfill', 'network-metrics', '--input', `${input}/*.ndjson`, '--set', `timeShift=${shift}`, '--split-size', '256k',
    '--redis', redisUrl(), '--wait', '--json', '--run-id', `${namespace}-run`, '--namespace', namespace], hdfs);
  // Chunks are committed inside the fenced write: a count that moves means workers are reading.
  const chunks = async (): Promise<number> => Number((await redis.hget(`sluice:run:${namespace}-run:stats`, 'chunks')) ?? 0);
  const waitForChunks = async (atLeast: number, what: string): Promise<void> => {
    const deadline = Date.now() + 120_000;
    while ((await chunks()) < atLeast) {
      assert.ok(Date.now() < deadline, `${what}: fewer than ${atLeast} chunks committed after 120 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await redis.hget(`sluice:run:${namespace}-run`, 'state'), 'running', `${what}: the run is still running`);
  };

  await waitForChunks(20, 'before the failover');
  await ha.failover('nn1', 'nn2');
  await waitForChunks((await chunks()) + 20, 'after the failover');
  await ha.kill('nn2');
  await ha.activate('nn1');

  assert.equal(await redis.hget(`sluice:run:${namespace}-run`, 'state'), 'running', 'nn1 is back while the run still reads');
  const res = await done;
  assert.equal(res.code, 0, `backfill failed:\n${res.output}\n${workers.map((w) => w.output().slice(-3000)).join('\n')}`);
  const progress = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { run: { state: string; splitsTotal: number }; records: number; badRecords: number };
  assert.equal(progress.run.state, 'completed');
  assert.ok(progress.run.splitsTotal > 20, `many splits, so some ran on each NameNode (got ${progress.run.splitsTotal})`);
  assert.equal(progress.records, 53_615 + 49_474);
  assert.equal(progress.badRecords, 0);
  const written = new Map([...(await dumpKeys(redis, `${prefix}*`))].map(([k, v]) => [k.slice(prefix.length), v]));
  assert.deepEqual(written, computeReference(shift));
  const said = [coordinator, ...workers].map((p) => p.output()).join('\n');
  assert.match(said, new RegExp(`HDFS: NameNode ${nn1} did not serve .*, now asking ${nn2}`, 'u'), 'a process moved to nn2 after the failover');
  assert.match(said, new RegExp(`HDFS: NameNode ${nn2} did not serve .*, now asking ${nn1}`, 'u'), 'and back to nn1 after nn2 died');
});

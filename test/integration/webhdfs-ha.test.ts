/**
 * The WebHDFS client against a real HA HDFS (two NameNodes sharing their edits, one DataNode): it
 * finds the active NameNode whichever is listed first, follows an operator's failover, and passes
 * over a NameNode that was killed, for reads and for writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFileSystem, createWebHdfsClient } from '@sluice/hdfs';
import { startHaHdfs } from '../support/hdfs-ha.ts';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

test('webhdfs HA: reads and writes follow the active NameNode through a failover and a killed NameNode', async (t) => {
  const ha = await startHaHdfs(t);
  const [nn1, nn2] = ha.httpAddresses;
  const failovers: string[] = [];
  // nn2, the standby, is listed first: the client must find nn1 by itself.
  const client = createWebHdfsClient({
    url: 'hdfs://ha/',
    hdfsHttpAddress: `${nn2},${nn1}`,
    user: 'sluice',
    backoff: { baseMs: 100, maxMs: 1000 },
    onFailover: (_error, from, to) => failovers.push(`${from}->${to}`),
  });
  t.after(() => client.close());

  await client.mkdirs('/archive');
  await client.create('/archive/a.ndjson', '{"n":1}\n{"n":2}\n');
  assert.deepEqual(failovers, [`${nn2}->${nn1}`], 'one failover, past the standby');
  assert.equal(client.endpoint.authority, nn1);
  const listed = await client.listFiles('hdfs://ha/archive/*.ndjson');
  assert.deepEqual(listed.map((f) => f.url), ['hdfs://ha/archive/a.ndjson'], 'files are named by the nameservice, not by one NameNode');

  await ha.failover('nn1', 'nn2');
  assert.equal(text(await client.open('/archive/a.ndjson', { offset: 8, length: 8 })), '{"n":2}\n', 'a ranged read after the failover');
  assert.deepEqual(failovers, [`${nn2}->${nn1}`, `${nn1}->${nn2}`]);
  await client.create('/archive/b.ndjson', '{"n":3}\n');

  // A reader built from a file URL alone, as a worker builds one from a split, fails over too.
  const reader = createFileSystem('hdfs://ha/archive/b.ndjson', { hdfsHttpAddress: `${nn1},${nn2}`, backoff: { baseMs: 100, maxMs: 1000 } });
  t.after(() => reader.close());
  assert.equal(text(await reader.open('hdfs://ha/archive/b.ndjson')), '{"n":3}\n');

  // nn2 dies; the operator makes nn1 active again: refused connections send the client back to nn1.
  await ha.kill('nn2');
  await ha.activate('nn1');
  const names = (await client.listStatus('/archive')).map((s) => s.name);
  assert.deepEqual(names, ['a.ndjson', 'b.ndjson'], 'the edits made on nn2 are on nn1 after it took over');
  assert.deepEqual(failovers.at(-1), `${nn2}->${nn1}`);
  await client.append('/archive/b.ndjson', '{"n":4}\n');
  assert.equal(text(await client.open('/archive/b.ndjson')), '{"n":3}\n{"n":4}\n');
});

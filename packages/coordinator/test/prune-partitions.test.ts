import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRUNE_SLACK_MICROS, partitionEndMicros, prunePartitionsBefore } from '../src/prune-partitions.ts';

const us = (iso: string): number => Date.parse(iso) * 1000;

test('a dt=, date= or day= segment is a UTC day, an hour= segment under it an hour of that day', () => {
  assert.equal(partitionEndMicros('webhdfs://nn:9870/archive/zeek/dt=2018-03-24/dns.ndjson.gz'), us('2018-03-25T00:00:00Z'));
  assert.equal(partitionEndMicros('file:///a/date=2018-03-24/hour=17/x.log'), us('2018-03-24T18:00:00Z'));
  assert.equal(partitionEndMicros('hdfs://nn/a/day=2018-12-31/h=23/x'), us('2019-01-01T00:00:00Z'));
  assert.equal(partitionEndMicros('/local/dt%3D2018-03-24/x.ndjson'), us('2018-03-25T00:00:00Z'), 'an escaped = too');
  // The innermost date partition counts.
  assert.equal(partitionEndMicros('webhdfs://nn:9870/year/dt=2018-01-01/dt=2018-03-24/x'), us('2018-03-25T00:00:00Z'));
  for (const url of ['webhdfs://nn:9870/archive/zeek/dns.ndjson', 'file:///a/dt=2018-02-30/x', 'file:///a/dt=20180324/x', 'file:///a/xdt=2018-03-24/x', 'file:///a/dt=2018-03-24.tar']) {
    assert.equal(partitionEndMicros(url), undefined, url);
  }
});

test('files in partitions that ended (with an hour of slack) before since are pruned; undated files and later partitions stay', () => {
  const files = [
    { url: 'file:///a/dt=2018-03-22/x.ndjson' },
    { url: 'file:///a/dt=2018-03-23/x.ndjson' },
    { url: 'file:///a/dt=2018-03-24/x.ndjson' },
    { url: 'file:///a/dt=2018-03-25/x.ndjson' },
    { url: 'file:///a/extra.ndjson' },
  ];
  const since = us('2018-03-24T00:30:00Z');
  const { kept, pruned } = prunePartitionsBefore(files, since);
  // dt=2018-03-23 ended 30 minutes before since: within the slack, so it is kept.
  assert.deepEqual(kept.map((f) => f.url), files.slice(1).map((f) => f.url));
  assert.equal(pruned, 1);
  assert.equal(prunePartitionsBefore(files, us('2018-03-24T00:00:00Z') + PRUNE_SLACK_MICROS).pruned, 2, 'exactly at the slack, the day before goes too');
  assert.deepEqual(prunePartitionsBefore(files, undefined), { kept: files, pruned: 0 }, 'no since, no pruning');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fenceKey,
  gaugeTimeKey,
  intervalKey,
  metricPattern,
  normalizePrefix,
  resolutionKey,
  runDeadLettersKey,
  runStatsKey,
  seriesOrderKey,
} from '../src/keys.ts';

test("normalizePrefix appends ':' to a non-empty prefix like kairos", () => {
  assert.equal(normalizePrefix(''), '');
  assert.equal(normalizePrefix('kairos'), 'kairos:');
  assert.equal(normalizePrefix('kairos:'), 'kairos:');
  assert.equal(normalizePrefix('a:b'), 'a:b:');
});

test('kairos keys: {prefix}{name}:{interval}:{i_bucket}[:{r_bucket}]', () => {
  const iKey = intervalKey('kairos:', 'hits', 'hour', 388_888);
  assert.equal(iKey, 'kairos:hits:hour:388888');
  assert.equal(resolutionKey(iKey, 23_333_333), 'kairos:hits:hour:388888:23333333');
  assert.equal(intervalKey('', 'ip.10.0.0.1.responses', 'days', 23_333_333), 'ip.10.0.0.1.responses:days:23333333');
});

test('metricPattern escapes glob characters of the prefix and name', () => {
  assert.equal(metricPattern('p:', 'hits'), 'p:hits:*');
  assert.equal(metricPattern('p:', 'a*b?[c]\\'), 'p:a\\*b\\?\\[c\\]\\\\:*');
});

test("Sluice's own keys live under sluice:", () => {
  assert.equal(fenceKey('run-1'), 'sluice:fence:run-1');
  assert.equal(runStatsKey('run-1'), 'sluice:run:run-1:stats');
  assert.equal(runDeadLettersKey('run-1'), 'sluice:run:run-1:dead');
  assert.equal(gaugeTimeKey('temp:m:1'), 'sluice:gauge:temp:m:1');
  assert.equal(seriesOrderKey('lat:daily:20140513'), 'sluice:order:lat:daily:20140513');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settledWithin } from '../src/settled-within.ts';

test('settledWithin is true for a promise that settles in time, either way', async () => {
  assert.equal(await settledWithin(Promise.resolve(1), 1000), true);
  const rejected = Promise.reject(new Error('no'));
  assert.equal(await settledWithin(rejected, 1000), true);
  await assert.rejects(rejected, /no/);
});

test('settledWithin is false for a promise still pending at the bound, and leaves no timer behind', async () => {
  const started = performance.now();
  assert.equal(await settledWithin(new Promise(() => {}), 50), false);
  assert.ok(performance.now() - started >= 45);
  assert.deepEqual(process.getActiveResourcesInfo().filter((r) => r === 'Timeout'), []);
});

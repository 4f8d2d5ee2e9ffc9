import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRepeatFilter } from '../src/index.ts';

test('a repeated line passes once per quiet period, a changed one at once, and forgetting a key resets it', () => {
  let clock = 0;
  const filter = createRepeatFilter(60_000, () => clock);
  assert.equal(filter.admit('run-a', 'broker down'), true);
  clock = 1000;
  assert.equal(filter.admit('run-a', 'broker down'), false);
  assert.equal(filter.admit('run-b', 'broker down'), true, 'keys are independent');
  assert.equal(filter.admit('run-a', 'topic deleted'), true, 'a new text passes at once');
  clock = 61_000;
  assert.equal(filter.admit('run-a', 'topic deleted'), true, 'the reminder after the quiet period');
  assert.equal(filter.forget('run-a'), true);
  assert.equal(filter.forget('run-a'), false);
  assert.equal(filter.admit('run-a', 'topic deleted'), true);
  filter.clear();
  assert.equal(filter.admit('run-b', 'broker down'), true);
});

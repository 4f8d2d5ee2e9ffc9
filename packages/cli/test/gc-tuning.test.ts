import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEAP_GROWING_PERCENT, tuneGarbageCollector } from '../src/gc-tuning.ts';

test('the heap growth is tuned unless the process was started with its own setting', () => {
  assert.equal(HEAP_GROWING_PERCENT, 200);
  assert.equal(tuneGarbageCollector(['--max-old-space-size=320']), true);
  for (const own of ['--heap-growing-percent=0', '--heap_growing_percent=50', '--heap-growing-percent']) {
    assert.equal(tuneGarbageCollector(['--max-old-space-size=320', own]), false, own);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAhead } from '../src/read-ahead.ts';

/** A source that logs when each item is asked for and when its generator is closed. */
function loggedSource(items: number[], log: string[], failAt?: number): AsyncGenerator<number, void, undefined> {
  return (async function* source() {
    try {
      for (const item of items) {
        log.push(`pull ${item}`);
        await new Promise((resolve) => setImmediate(resolve));
        if (item === failAt) throw new Error(`source failed at ${item}`);
        yield item;
      }
    } finally {
      log.push('closed');
    }
  })();
}

test('readAhead yields every item in order and asks for the next one before handing out the current one', async () => {
  const log: string[] = [];
  const seen: number[] = [];
  for await (const item of readAhead(loggedSource([1, 2, 3], log))) {
    // While item k is processed, item k+1 has already been asked for.
    seen.push(item);
    log.push(`process ${item}`);
  }
  assert.deepEqual(seen, [1, 2, 3]);
  // The source ends (closes) while the last item is still being processed.
  assert.deepEqual(log, ['pull 1', 'pull 2', 'process 1', 'pull 3', 'process 2', 'closed', 'process 3']);
});

test('readAhead surfaces a source failure after the items before it, with no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const log: string[] = [];
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const item of readAhead(loggedSource([1, 2, 3], log, 2))) {
        seen.push(item);
        // Let the failing read-ahead settle while this item is still being processed.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }, /source failed at 2/);
    assert.deepEqual(seen, [1]);
    assert.equal(log.at(-1), 'closed');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('readAhead closes the source when the consumer stops early', async () => {
  const log: string[] = [];
  for await (const item of readAhead(loggedSource([1, 2, 3, 4], log))) {
    if (item === 2) break;
  }
  assert.equal(log.at(-1), 'closed');
  assert.ok(!log.includes('pull 4'), `read past what was needed: ${log.join(', ')}`);
});

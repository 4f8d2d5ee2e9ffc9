import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, SluiceError } from '@sluice/core';
import { computeBackoffMs, retryWithBackoff } from '../src/retry.ts';

test('property: the backoff lies in [cap/2, cap] with cap = min(max, base * 2^(retry-1))', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.double({ min: 0, max: 0.999_999, noNaN: true }),
      (retry, baseMs, maxMs, jitter) => {
        const cap = Math.min(maxMs, baseMs * 2 ** (retry - 1));
        const delay = computeBackoffMs(retry, { baseMs, maxMs }, () => jitter);
        assert.ok(delay >= Math.floor(cap / 2) && delay <= Math.ceil(cap), `${delay} outside [${cap / 2}, ${cap}]`);
      },
    ),
  );
});

const half = (): number => 0.5;

test('the backoff grows exponentially until the cap', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((retry) => computeBackoffMs(retry, { baseMs: 100, maxMs: 1000 }, half)), [75, 150, 300, 600, 750, 750]);
});

test('retryWithBackoff retries retryable errors only, and reports each retry', async () => {
  const seen: number[] = [];
  let calls = 0;
  const value = await retryWithBackoff(
    async () => {
      calls += 1;
      if (calls < 3) throw new SluiceError(ErrorCode.UNAVAILABLE, 'busy');
      return 'done';
    },
    { retries: 5, backoff: { baseMs: 1, maxMs: 1 }, onRetry: (_e, retry) => seen.push(retry) },
  );
  assert.equal(value, 'done');
  assert.deepEqual(seen, [1, 2]);

  let permanent = 0;
  await assert.rejects(
    retryWithBackoff(async () => {
      permanent += 1;
      throw new SluiceError(ErrorCode.NOT_FOUND, 'gone');
    }, { retries: 5 }),
    (error: unknown) => error instanceof SluiceError && error.code === ErrorCode.NOT_FOUND,
  );
  assert.equal(permanent, 1);

  let vetoed = 0;
  await assert.rejects(
    retryWithBackoff(async () => {
      vetoed += 1;
      throw new SluiceError(ErrorCode.UNAVAILABLE, 'maybe applied');
    }, { retries: 5, shouldRetry: () => false }),
  );
  assert.equal(vetoed, 1);
});

test('an abort during the wait ends the retries with CANCELLED', async () => {
  const controller = new AbortController();
  const pending = retryWithBackoff(
    async () => {
      queueMicrotask(() => controller.abort());
      throw new SluiceError(ErrorCode.UNAVAILABLE, 'down');
    },
    { retries: 3, backoff: { baseMs: 60_000, maxMs: 60_000 }, signal: controller.signal },
  );
  await assert.rejects(pending, (error: unknown) => error instanceof SluiceError && error.code === ErrorCode.CANCELLED);
});

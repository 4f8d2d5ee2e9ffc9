import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { planTextSplits } from '../src/plan-text-splits.ts';
import { isSplittable } from '../src/split-format.ts';

describe('planTextSplits', () => {
  test('property: splits cover [0, size) contiguously, each at least the target except the last, none over 1.1x', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 1200 })),
          fc.tuple(fc.integer({ min: 0, max: 1e10 }), fc.integer({ min: 1e6, max: 2e10 })),
        ),
        ([size, target]) => {
        const splits = planTextSplits(size, target);
        if (size === 0) return assert.deepEqual(splits, []);
        assert.equal(splits[0]?.start, 0);
        assert.equal(splits.at(-1)?.end, size);
        splits.forEach((split, i) => {
          if (i > 0) assert.equal(split.start, splits[i - 1]?.end);
          assert.ok(split.end > split.start);
          assert.ok(split.end - split.start <= target * 1.1 + 1);
          if (i < splits.length - 1) assert.equal(split.end - split.start, target);
        });
        },
      ),
    );
  });

  test('a remainder within 10% joins the previous split', () => {
    assert.deepEqual(planTextSplits(105, 50), [
      { start: 0, end: 50 },
      { start: 50, end: 105 },
    ]);
    assert.deepEqual(planTextSplits(120, 50), [
      { start: 0, end: 50 },
      { start: 50, end: 100 },
      { start: 100, end: 120 },
    ]);
  });

  test('rejects a non-positive split size with INVALID_CONFIG', () => {
    for (const target of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => planTextSplits(10, target), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG);
    }
  });

  test('only uncompressed files are splittable', () => {
    assert.equal(isSplittable('none'), true);
    assert.equal(isSplittable('gzip'), false);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { FetchErrorAction, OutOfRange, classifyFetchError, classifyOutOfRange } from '../src/classify-fetch-error.ts';

test('partition error codes map to the reader reactions', () => {
  assert.equal(classifyFetchError(1), FetchErrorAction.CHECK_BOUNDS, 'OFFSET_OUT_OF_RANGE');
  assert.equal(classifyFetchError(6), FetchErrorAction.REFRESH_AND_RETRY, 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(classifyFetchError(5), FetchErrorAction.REFRESH_AND_RETRY, 'LEADER_NOT_AVAILABLE');
  assert.equal(classifyFetchError(74), FetchErrorAction.REFRESH_AND_RETRY, 'FENCED_LEADER_EPOCH');
  assert.equal(classifyFetchError(75), FetchErrorAction.REFRESH_AND_RETRY, 'UNKNOWN_LEADER_EPOCH');
  assert.equal(classifyFetchError(3), FetchErrorAction.NOT_FOUND, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(classifyFetchError(100), FetchErrorAction.NOT_FOUND, 'UNKNOWN_TOPIC_ID');
  assert.equal(classifyFetchError(29), FetchErrorAction.DENIED, 'TOPIC_AUTHORIZATION_FAILED');
  assert.equal(classifyFetchError(2), FetchErrorAction.REFRESH_AND_RETRY, 'CORRUPT_MESSAGE: a torn read, read again');
  assert.equal(classifyFetchError(4), FetchErrorAction.FAIL, 'INVALID_FETCH_SIZE');
  assert.equal(classifyFetchError(9_999), FetchErrorAction.FAIL, 'a code this library does not know');
});

test('out of range below the log start is a gap, above the high watermark is ahead', () => {
  const bounds = { logStartOffset: 100, highWatermark: 200 };
  assert.equal(classifyOutOfRange(10, bounds), OutOfRange.GAP);
  assert.equal(classifyOutOfRange(99, bounds), OutOfRange.GAP);
  assert.equal(classifyOutOfRange(100, bounds), OutOfRange.INSIDE);
  assert.equal(classifyOutOfRange(200, bounds), OutOfRange.INSIDE);
  assert.equal(classifyOutOfRange(201, bounds), OutOfRange.AHEAD);
});

test('property: exactly one case holds for any position and bounds', () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.nat(), (position, start, length) => {
      const bounds = { logStartOffset: start, highWatermark: start + length };
      const where = classifyOutOfRange(position, bounds);
      assert.equal(where === OutOfRange.GAP, position < start);
      assert.equal(where === OutOfRange.AHEAD, position > start + length);
    }),
  );
});

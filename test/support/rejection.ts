/** Awaiting a promise that must reject with a SluiceError, for assertions on its code and context. */
import assert from 'node:assert/strict';
import { isSluiceError } from '@sluice/core';
import type { SluiceError } from '@sluice/core';

/** The SluiceError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSluiceError(error), `expected a SluiceError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { PAYLOAD_VERSION, QueueKind, decodeSplitPayload, queueName, splitJobId } from '../src/index.ts';
import type { SplitPayload } from '../src/index.ts';

const payload: SplitPayload = {
  v: PAYLOAD_VERSION, runId: 'run-1', job: 'network-metrics', splitId: 'webhdfs://nn:9870/a/dns.ndjson#0-1000', ordinal: 3,
  url: 'webhdfs://nn:9870/a/dns.ndjson', format: 'ndjson', compression: 'none', start: 0, end: 1000, options: { timeShift: '86400' },
};

const malformed = (field: RegExp) => (e: unknown): boolean =>
  isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && !e.retryable && e.message.startsWith('malformed split payload: ') && field.test(e.message);

test('a well-formed payload decodes to itself after a trip through JSON', () => {
  assert.deepEqual(decodeSplitPayload(JSON.parse(JSON.stringify(payload))), payload);
});

test('a malformed payload is refused, not retried, naming the field', () => {
  assert.throws(() => decodeSplitPayload(null), malformed(/not an object/));
  assert.throws(() => decodeSplitPayload('x'), malformed(/not an object/));
  assert.throws(() => decodeSplitPayload({ ...payload, v: 0 }), malformed(/version 0 is not 1/));
  assert.throws(() => decodeSplitPayload({ ...payload, v: '2' }), malformed(/version 2 is not 1/));
  assert.throws(() => decodeSplitPayload({ ...payload, v: 1.5 }), malformed(/version 1.5 is not 1/));
  assert.throws(() => decodeSplitPayload({ ...payload, v: undefined }), malformed(/version undefined/));
  for (const field of ['runId', 'job', 'splitId', 'url', 'format', 'compression']) {
    assert.throws(() => decodeSplitPayload({ ...payload, [field]: '' }), malformed(new RegExp(`field ${field} must be a non-empty string`)), field);
    assert.throws(() => decodeSplitPayload({ ...payload, [field]: 7 }), malformed(new RegExp(`field ${field}`)), field);
  }
  for (const field of ['ordinal', 'start', 'end']) {
    for (const bad of [-1, 1.5, '3', Number.MAX_SAFE_INTEGER + 1, null]) {
      assert.throws(() => decodeSplitPayload({ ...payload, [field]: bad }), malformed(new RegExp(`field ${field} must be a non-negative integer`)), `${field}=${String(bad)}`);
    }
  }
  assert.throws(() => decodeSplitPayload({ ...payload, options: null }), malformed(/field options must be an object/));
  assert.throws(() => decodeSplitPayload({ ...payload, options: 'a=b' }), malformed(/field options/));
});

test('a payload of a newer version says this worker is outdated, and is not malformed', () => {
  assert.throws(
    () => decodeSplitPayload({ ...payload, v: PAYLOAD_VERSION + 1, splitId: '' }),
    (e: unknown) =>
      isSluiceError(e) && e.code === ErrorCode.OUTDATED && !e.retryable &&
      e.message === `split payload version ${PAYLOAD_VERSION + 1} is newer than this worker's ${PAYLOAD_VERSION}: upgrade the worker` &&
      e.context.runId === 'run-1',
  );
});

test('split job ids are stable, free of ":" and distinct for distinct splits', () => {
  assert.equal(splitJobId('run-1', payload.splitId), splitJobId('run-1', payload.splitId));
  fc.assert(
    fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 2, maxLength: 50 }), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), (splitIds, runId) => {
      const ids = splitIds.map((s) => splitJobId(runId, s));
      assert.equal(new Set(ids).size, ids.length);
      for (const id of ids) {
        assert.ok(!id.includes(':'), id);
        assert.ok(id.startsWith(`${runId}.`), id);
      }
    }),
  );
  assert.notEqual(splitJobId('run-1', 'a'), splitJobId('run-2', 'a'), 'the same split of two runs is two jobs');
});

test('queue names: a kind, optionally behind a namespace', () => {
  assert.equal(queueName(QueueKind.SPLITS), 'splits');
  assert.equal(queueName(QueueKind.RANGES, ''), 'ranges');
  assert.equal(queueName(QueueKind.SPLITS, 'test-1'), 'test-1.splits');
});

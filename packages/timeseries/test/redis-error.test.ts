import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@sluice/core';
import { toStoreError } from '../src/redis-error.ts';

class ReplyError extends Error {
  override name = 'ReplyError';
}

test('connection trouble is UNAVAILABLE and retryable; an error reply is REMOTE and is not', () => {
  const down = toStoreError(new Error('connect ECONNREFUSED 127.0.0.1:6379'), 'commit to Redis', { runId: 'r' });
  assert.deepEqual([down.code, down.retryable, down.context], [ErrorCode.UNAVAILABLE, true, { runId: 'r' }]);
  const reply = toStoreError(new ReplyError('ERR unknown command'), 'commit to Redis', {});
  assert.deepEqual([reply.code, reply.retryable, reply.message], [ErrorCode.REMOTE, false, 'commit to Redis: ERR unknown command']);
});

test('a Redis at its maxmemory says so, and what to do, keeping its own words', () => {
  // What Redis 7 replies to a script's first write past maxmemory under noeviction.
  const raw = "OOM command not allowed when used memory > 'maxmemory'. script: 5106428a, on @user_script:137.";
  const error = toStoreError(new ReplyError(raw), 'commit to Redis', { splitId: 's' });
  assert.equal(error.code, ErrorCode.REMOTE);
  assert.equal(error.retryable, false);
  assert.ok(error.message.startsWith(`commit to Redis: Redis is out of memory (${raw}); raise its maxmemory or free memory, then resubmit the run`), error.message);
  assert.deepEqual(error.context, { splitId: 's' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, MultipleErrors, NetworkError, ResponseError, TimeoutError, UserError } from '@platformatic/kafka';
import { ErrorCode, SluiceError } from '@sluice/core';
import { convertKafkaError, isRetryableKafkaErrorCode, nameKafkaErrorCode } from '../src/kafka-error.ts';

const convert = (error: unknown): SluiceError => convertKafkaError(error, 'doing it', { topic: 't' });

test('network failures are retryable UNAVAILABLE, also when wrapped by the retry loop', () => {
  const direct = convert(new NetworkError('Connection closed'));
  assert.equal(direct.code, ErrorCode.UNAVAILABLE);
  assert.equal(direct.retryable, true);
  const wrapped = convert(new MultipleErrors('metadata failed 3 times.', [new NetworkError('a'), new NetworkError('b')]));
  assert.equal(wrapped.code, ErrorCode.UNAVAILABLE);
  assert.deepEqual(wrapped.context, { topic: 't' });
  assert.ok(wrapped.cause instanceof MultipleErrors, 'the original stays as cause');
});

test('an unreachable broker names the brokers and the system error under the retry wrappers', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const attempt = (): MultipleErrors => new MultipleErrors('Cannot connect to any broker.', [new NetworkError('Connection to 127.0.0.1:1 failed.', { cause: refused })]);
  const error = convertKafkaError(new MultipleErrors('metadata failed 4 times.', [attempt(), attempt()]), 'cannot read metadata of topic t', { brokers: ['127.0.0.1:1'], topic: 't' });
  assert.equal(error.code, ErrorCode.UNAVAILABLE);
  assert.equal(error.retryable, true);
  assert.equal(error.message, 'cannot read metadata of topic t: cannot connect to the Kafka brokers 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1); check that the brokers run and that --brokers or KAFKA_BROKERS names them');
  // A connection the broker closed mid-request is no configuration problem: the library's words stay.
  assert.equal(convert(new NetworkError('Connection closed')).message, 'doing it: Connection closed');
});

test('timeouts, denials, unknown topics and refused requests get their own codes', () => {
  assert.equal(convert(new TimeoutError('Request timed out')).code, ErrorCode.TIMEOUT);
  assert.equal(convert(new AuthenticationError('bad password')).code, ErrorCode.PERMISSION_DENIED);
  const denied = convert(new ResponseError(1, 17, { '/responses/0/partitions/0': [29, null] }, {}));
  assert.equal(denied.code, ErrorCode.PERMISSION_DENIED);
  assert.equal(denied.context.kafkaError, 'TOPIC_AUTHORIZATION_FAILED');
  const missing = convert(new UserError('Unknown topic nope.'));
  assert.equal(missing.code, ErrorCode.NOT_FOUND);
  assert.equal(missing.retryable, false);
  assert.equal(convert(new ResponseError(19, 7, { '/topics/0': [36, 'exists'] }, {})).code, ErrorCode.INVALID_CONFIG, 'TOPIC_ALREADY_EXISTS');
  const leader = convert(new ResponseError(1, 17, { '/responses/0/partitions/0': [6, null] }, {}));
  assert.equal(leader.code, ErrorCode.UNAVAILABLE, 'NOT_LEADER_OR_FOLLOWER is transient');
  assert.equal(convert(new Error('boom')).code, ErrorCode.REMOTE);
});

test('a SluiceError passes through unchanged', () => {
  const original = new SluiceError(ErrorCode.OFFSET_GAP, 'gap');
  assert.equal(convert(original), original);
});

test('error code names and retryability come from the protocol table', () => {
  assert.equal(nameKafkaErrorCode(6), 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(nameKafkaErrorCode(12_345), 'UNKNOWN_12345');
  assert.equal(isRetryableKafkaErrorCode(6), true);
  assert.equal(isRetryableKafkaErrorCode(1), false);
});

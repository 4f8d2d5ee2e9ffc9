import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@sluice/core';
import { parseBrokers } from '../src/brokers.ts';
import { createKafkaAdmin, createKafkaClient, createKafkaProducer } from '../src/index.ts';

test('broker lists: arrays, comma-separated strings, hostnames and bracketed IPv6', () => {
  assert.deepEqual(parseBrokers(['127.0.0.1:9092']), ['127.0.0.1:9092']);
  assert.deepEqual(parseBrokers('kafka-0.svc:9092, kafka-1.svc:9093'), ['kafka-0.svc:9092', 'kafka-1.svc:9093']);
  assert.deepEqual(parseBrokers(['[::1]:9092']), ['[::1]:9092']);
});

test('a bad broker gives INVALID_CONFIG naming the option and the entry', () => {
  for (const [value, option] of [
    ['localhost', 'brokers[0]'],
    [['127.0.0.1:9092', 'kafka:0'], 'brokers[1]'],
    [['kafka:70000'], 'brokers[0]'],
    [['http://kafka:9092'], 'brokers[0]'],
    [[], 'brokers'],
    ['', 'brokers[0]'],
    [42, 'brokers'],
  ] as const) {
    assert.throws(
      () => parseBrokers(value),
      (error: unknown) => {
        assert.equal((error as { code: unknown }).code, ErrorCode.INVALID_CONFIG);
        assert.equal((error as { context: { option: unknown } }).context.option, option);
        assert.match((error as Error).message, new RegExp(`^${option.replace(/[[\]]/g, '\\$&')} must be`));
        return true;
      },
      `${JSON.stringify(value)} is rejected`,
    );
  }
});

const isBadBrokers = (error: unknown): boolean =>
  (error as { code: unknown }).code === ErrorCode.INVALID_CONFIG && (error as { context: { option: unknown } }).context.option === 'brokers[0]';

test('every factory checks its brokers before opening anything', () => {
  assert.throws(() => createKafkaClient({ brokers: 'nope' }), isBadBrokers);
  assert.throws(() => createKafkaAdmin({ brokers: ['nope'] }), isBadBrokers);
  assert.throws(() => createKafkaProducer({ brokers: ['nope'] }), isBadBrokers);
  assert.throws(
    () => createKafkaClient({ brokers: ['127.0.0.1:9092'], clientId: 'has space' }),
    (error: unknown) => (error as { context: { option: unknown } }).context.option === 'clientId',
  );
});

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { byteSizeFlag, collectSet, durationFlag, integerFlag, numberFlag, parseByteSize, resolveRedisUrl } from '../src/config.ts';

function withRedisUrl(t: TestContext, value: string | undefined): void {
  const before = process.env.REDIS_URL;
  if (value === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = value;
  t.after(() => {
    if (before === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = before;
  });
}

const invalidSetting = (setting: string) => (e: unknown): boolean =>
  isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && e.context.setting === setting && e.message.startsWith(setting);

test('the Redis URL comes from --redis, else REDIS_URL, else the local default', (t) => {
  withRedisUrl(t, undefined);
  assert.equal(resolveRedisUrl(), 'redis://127.0.0.1:6379');
  process.env.REDIS_URL = 'redis://cache:6380/2';
  assert.equal(resolveRedisUrl(), 'redis://cache:6380/2');
  assert.equal(resolveRedisUrl('rediss://user:pw@secure:6379/0'), 'rediss://user:pw@secure:6379/0');
});

test('a Redis URL that is not one, or not redis://, fails naming the setting it came from', (t) => {
  withRedisUrl(t, 'localhost:6379');
  assert.throws(() => resolveRedisUrl(), invalidSetting('REDIS_URL'), 'host:port parses as a URL with scheme localhost:');
  process.env.REDIS_URL = 'not a url';
  assert.throws(() => resolveRedisUrl(), (e: unknown) => invalidSetting('REDIS_URL')(e) && /is not a URL; use e\.g\. redis:\/\//.test((e as Error).message));
  process.env.REDIS_URL = 'http://127.0.0.1:6379';
  assert.throws(() => resolveRedisUrl(), (e: unknown) => invalidSetting('REDIS_URL')(e) && /redis:\/\/ or rediss:\/\//.test((e as Error).message));
  process.env.REDIS_URL = 'redis://127.0.0.1:6379';
  assert.throws(() => resolveRedisUrl('notaurl'), invalidSetting('--redis'));
  assert.throws(() => resolveRedisUrl('tcp://127.0.0.1:6379'), invalidSetting('--redis'));
});

test('--set pairs: key=value, the value may hold "=", later pairs win; a pair without a key fails', () => {
  let set = collectSet('timeShift=auto');
  set = collectSet('filter=a=b', set);
  set = collectSet('empty=', set);
  set = collectSet('timeShift=3600', set);
  assert.deepEqual(set, { timeShift: '3600', filter: 'a=b', empty: '' });
  for (const bad of ['novalue', '=x', '']) {
    assert.throws(() => collectSet(bad), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && e.context.flag === '--set', bad);
  }
  const before = { a: '1' };
  collectSet('b=2', before);
  assert.deepEqual(before, { a: '1' }, 'the previous pairs are not mutated');
});

test('byte sizes: plain bytes or k/m/g (binary), with optional i and b, any case', () => {
  assert.equal(parseByteSize('134217728'), 134_217_728);
  assert.equal(parseByteSize('128m'), 128 * 1024 ** 2);
  assert.equal(parseByteSize('64k'), 64 * 1024);
  assert.equal(parseByteSize('1g'), 1024 ** 3);
  assert.equal(parseByteSize('2MiB'), 2 * 1024 ** 2);
  assert.equal(parseByteSize('3KB'), 3 * 1024);
  assert.equal(parseByteSize(' 5m '), 5 * 1024 ** 2);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 20 }), fc.constantFrom(['', 1], ['k', 1024], ['M', 1024 ** 2], ['gib', 1024 ** 3]), (n, [unit, factor]) => {
    assert.equal(parseByteSize(`${n}${unit as string}`), n * (factor as number));
  }));
  for (const bad of ['1.5m', '-1', 'm', '', '10 m', '12t', '1e6', '0x10']) {
    assert.throws(() => parseByteSize(bad), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && e.message.includes('128m'), bad);
  }
});

const invalidFlag = (flag: string, expected: RegExp) => (e: unknown): boolean => {
  assert.ok(isSluiceError(e), `a SluiceError, got ${String(e)}`);
  assert.equal(e.code, ErrorCode.INVALID_CONFIG);
  assert.equal(e.context.flag, flag);
  assert.match(e.message, new RegExp(`^${flag} must be `));
  assert.match(e.message, expected);
  return true;
};

test('integer flags: decimal integers within the bounds; anything else names the flag, the bounds and the value', () => {
  const parse = integerFlag('--concurrency', { min: 1, max: 1024 });
  assert.equal(parse('1'), 1);
  assert.equal(parse('1024'), 1024);
  assert.equal(parse(' 16 '), 16);
  assert.equal(parse('+8'), 8);
  for (const bad of ['0', '1025', '-1', 'abc', '', '2.5', '1e3', '0x10', '4 workers', 'Infinity', 'NaN', '99999999999999999999']) {
    assert.throws(() => parse(bad), (e: unknown) => invalidFlag('--concurrency', /an integer from 1 to 1024, got /)(e) && (e as Error).message.endsWith(`got ${JSON.stringify(bad)}`), bad);
  }
  const unbounded = integerFlag('--lock-duration', { min: 1000, unit: 'milliseconds' });
  assert.equal(unbounded(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.throws(() => unbounded('999'), invalidFlag('--lock-duration', /an integer of at least 1000 \(milliseconds\), got "999"/));
  fc.assert(fc.property(fc.integer({ min: 1, max: 1024 }), (n) => parse(String(n)) === n));
});

test('number flags take decimals within the bounds', () => {
  const parse = numberFlag('--drain', { min: 0, max: 86_400, unit: 'seconds' });
  assert.deepEqual(['0', '2.5', '.5', '30', '86400'].map(parse), [0, 2.5, 0.5, 30, 86_400]);
  for (const bad of ['-1', '86401', 'soon', '', '1e2', '1,5', 'Infinity']) {
    assert.throws(() => parse(bad), invalidFlag('--drain', /a number from 0 to 86400 \(seconds\), got /), bad);
  }
});

test('byte size flags: a byte size of at least the minimum, the size error kept as the cause', () => {
  const parse = byteSizeFlag('--split-size', 1024);
  assert.equal(parse('128m'), 128 * 1024 ** 2);
  assert.equal(parse('1024'), 1024);
  for (const bad of ['1023', '0', '12t', 'big', '']) {
    assert.throws(() => parse(bad), invalidFlag('--split-size', /a byte size of at least 1024 bytes, e\.g\. 134217728, 128m or 64k/), bad);
  }
  assert.throws(() => parse('12t'), (e: unknown) => isSluiceError(e) && isSluiceError(e.cause) && e.cause.message.includes('is not a byte size'));
});

test('duration flags: a whole number of seconds, minutes, hours or days in milliseconds, or never', () => {
  const parse = durationFlag('--retain-completed');
  assert.deepEqual(['90s', '30m', '12h', '7d', ' 1D ', '0s', 'never', 'Never'].map(parse), [90_000, 1_800_000, 43_200_000, 604_800_000, 86_400_000, 0, Infinity, Infinity]);
  for (const bad of ['7', '7 d', '1.5h', '-1d', '1w', 'forever', '', '99999999999999d']) {
    assert.throws(() => parse(bad), invalidFlag('--retain-completed', /a duration such as 7d, 12h, 30m or 90s, or never, got /), bad);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { condenseRows, decodeRow } from '../src/rows.ts';

test('decodeRow gives kairos rows without read_func, and its empty rows', () => {
  assert.deepEqual(decodeRow('series', ['1.5', '2'], 'k'), ['1.5', '2']);
  assert.deepEqual(decodeRow('series', [], 'k'), []);
  assert.deepEqual(decodeRow('set', ['b', 'a', '7'], 'k'), ['7', 'a', 'b']);
  assert.deepEqual(decodeRow('histogram', { '3': '2', '2.5': '1' }, 'k'), { '3': 2, '2.5': 1 });
  assert.deepEqual(decodeRow('histogram', {}, 'k'), {});
  assert.equal(decodeRow('count', '5', 'k'), 5);
  assert.equal(decodeRow('count', null, 'k'), 0);
  assert.equal(decodeRow('gauge', '22', 'k'), '22');
  assert.equal(decodeRow('gauge', null, 'k'), null);
});

test("decodeRow keeps a histogram field named __proto__ as data", () => {
  const raw: Record<string, string> = {};
  Object.defineProperty(raw, '__proto__', { value: '4', enumerable: true });
  const row = decodeRow('histogram', raw, 'k') as Record<string, number>;
  assert.equal(Object.getOwnPropertyDescriptor(row, '__proto__')?.value, 4);
});

test('a count kairos cannot read (INCRBYFLOAT) is an error, as in kairos', () => {
  assert.throws(() => decodeRow('count', '1.5', 'hits:m:1'), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.CORRUPT_INPUT && e.message.includes('hits:m:1'));
});

test('condenseRows: concatenation, per-key sums, sum, last truthy gauge, union', () => {
  assert.deepEqual(condenseRows('series', [['a'], [], ['b', 'c']]), ['a', 'b', 'c']);
  assert.deepEqual(condenseRows('histogram', [{ '3': 2 }, { '3': 1, '2.5': 1 }]), { '3': 3, '2.5': 1 });
  assert.equal(condenseRows('count', [5, 1, 0]), 6);
  assert.equal(condenseRows('gauge', ['21.5', '22', null, '']), '22');
  assert.equal(condenseRows('gauge', [null, '']), null);
  assert.equal(condenseRows('gauge', []), null);
  assert.deepEqual(condenseRows('set', [['b', 'a'], ['c', 'a']]), ['a', 'b', 'c']);
  assert.deepEqual(condenseRows('series', []), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, defineJob, isSluiceError } from '@sluice/core';
import { computeAutoShiftSeconds, parseEventTimeBound, parseMaxBadFraction, parseTimeShift, resolveRunOptions } from '../src/index.ts';

const invalidConfig = (option: string) => (e: unknown): boolean =>
  isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG && e.context.option === option && !e.retryable;

test('timeShift: whole seconds of either sign, or auto; anything else fails fast', () => {
  assert.equal(parseTimeShift(undefined), 0);
  assert.equal(parseTimeShift(''), 0);
  assert.equal(parseTimeShift('0'), 0);
  assert.equal(parseTimeShift('auto'), 'auto');
  assert.equal(parseTimeShift('86400'), 86_400);
  assert.equal(parseTimeShift('-3600'), -3600);
  for (const bad of ['1.5', '1e3', 'Auto', ' 60', '60s', 'yesterday', '--1']) {
    assert.throws(() => parseTimeShift(bad), invalidConfig('timeShift'), bad);
  }
});

test('auto shift: whole days that bring the newest record into the last 24 hours', () => {
  const day = 86_400;
  const now = Date.UTC(2026, 10, 28, 6, 0, 0) * 1000;
  assert.equal(computeAutoShiftSeconds(now, now), 0);
  assert.equal(computeAutoShiftSeconds(now - 1e6, now), 0, 'one second old: no shift');
  assert.equal(computeAutoShiftSeconds(now - day * 1e6, now), day, 'exactly a day old: one day');
  assert.equal(computeAutoShiftSeconds(now - (day * 1e6 - 1), now), 0, 'a microsecond less than a day: none');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 20 * 365 * day * 1e6 }), fc.integer({ min: 1e15, max: 2e15 }), (age, nowMicros) => {
      const newest = nowMicros - age;
      const shift = computeAutoShiftSeconds(newest, nowMicros);
      assert.equal(shift % day, 0, 'whole days keep every bucket aligned');
      assert.ok(shift >= 0);
      const shifted = newest + shift * 1e6;
      assert.ok(shifted <= nowMicros, 'never in the future');
      assert.ok(shifted > nowMicros - day * 1e6, 'within the last 24 hours');
    }),
  );
});

test('since/until: ISO-8601 times or epoch microseconds; other strings fail naming the option', () => {
  assert.equal(parseEventTimeBound('since', undefined), undefined);
  assert.equal(parseEventTimeBound('since', ''), undefined);
  assert.equal(parseEventTimeBound('since', '2018-03-24T17:20:00Z'), Date.UTC(2018, 2, 24, 17, 20) * 1000);
  assert.equal(parseEventTimeBound('since', '2018-03-24T17:20:00.250Z'), (Date.UTC(2018, 2, 24, 17, 20) + 250) * 1000);
  assert.equal(parseEventTimeBound('since', '2018-03-24T19:20:00+02:00'), Date.UTC(2018, 2, 24, 17, 20) * 1000);
  assert.equal(parseEventTimeBound('until', '2018-03-24'), Date.UTC(2018, 2, 24) * 1000);
  assert.equal(parseEventTimeBound('until', '1521912000000000'), 1_521_912_000_000_000, 'digits are microseconds, as they are');
  for (const bad of ['yesterday', '2018-13-45T00:00:00Z', '-5', '12 May 2018', '1.5e15', '2018/03/24']) {
    assert.throws(() => parseEventTimeBound('--since', bad), invalidConfig('--since'), bad);
  }
});

test('framework options are split from the job\'s own, which its parser alone sees', () => {
  const seen: Record<string, string>[] = [];
  const job = defineJob<unknown, { depth: number }>({
    name: 'opts',
    series: { a: { type: 'count', intervals: { m: { step: 60 } } } },
    process: () => undefined,
    options(raw) {
      seen.push({ ...raw });
      return { depth: Number(raw.depth ?? 1) };
    },
  });
  const resolved = resolveRunOptions(job, { depth: '3', timeShift: 'auto', since: '2018-03-24T00:00:00Z', until: '1521936000000000', start: 'earliest' });
  assert.deepEqual(seen, [{ depth: '3' }], 'timeShift, since, until and start are the framework\'s');
  assert.deepEqual(resolved, { options: { depth: 3 }, timeShift: 'auto', maxBadFraction: 0.5, since: Date.UTC(2018, 2, 24) * 1000, until: 1_521_936_000_000_000 });
  assert.deepEqual(resolveRunOptions(job, {}), { options: { depth: 1 }, timeShift: 0, maxBadFraction: 0.5 }, 'no bounds: no since/until keys at all');
  assert.throws(() => resolveRunOptions(job, { timeShift: 'soon' }), invalidConfig('timeShift'));
  assert.throws(() => resolveRunOptions(job, { until: 'later' }), invalidConfig('until'));
  const plain = defineJob({ name: 'plain', series: { a: { type: 'count', intervals: { m: { step: 60 } } } }, process: () => undefined });
  assert.deepEqual(resolveRunOptions(plain, { x: '1', timeShift: '60' }).options, { x: '1' }, 'without a parser the job gets its raw pairs');
});

/** Checks an unknown-option refusal: INVALID_CONFIG, the message fragments, and every key but `depth` named. */
function refused(raw: Record<string, string>, ...fragments: RegExp[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG, String(e));
    for (const fragment of fragments) assert.match(e.message, fragment);
    assert.deepEqual(e.context.unknown, Object.keys(raw).filter((k) => k !== 'depth'));
    return true;
  };
}

test('a job that declares its optionNames refuses any other key, suggesting the one a typo meant', () => {
  const job = defineJob<unknown, { depth: number }>({
    name: 'named',
    series: { a: { type: 'count', intervals: { m: { step: 60 } } } },
    process: () => undefined,
    options: (raw) => ({ depth: Number(raw.depth ?? 1) }),
    optionNames: ['depth'],
  });
  assert.deepEqual(resolveRunOptions(job, { depth: '2', timeShift: '60', start: 'latest' }).options, { depth: 2 }, 'its own and the framework\'s keys pass');
  const bogus = { bogus: '1' };
  assert.throws(() => resolveRunOptions(job, bogus), refused(bogus, /^job named has no option "bogus" \(--set bogus=…\); it takes depth, and every job takes timeShift, since, until, start, maxBadFraction$/u));
  const typos = { timeshift: 'auto', dpeth: '3', depth: '1' };
  assert.throws(() => resolveRunOptions(job, typos), refused(typos, /no option "timeshift", "dpeth"/u, /did you mean timeShift, depth\?$/u));
  const none = defineJob({ name: 'none', series: { a: { type: 'count', intervals: { m: { step: 60 } } } }, process: () => undefined, optionNames: [] });
  assert.throws(() => resolveRunOptions(none, { x: '1' }), refused({ x: '1' }, /it takes no options of its own/u));
});

test('maxBadFraction: a number from 0 to 1, 0.5 when unset; anything else fails naming the option', () => {
  assert.equal(parseMaxBadFraction(undefined), 0.5);
  assert.equal(parseMaxBadFraction(''), 0.5);
  for (const [text, value] of [['0', 0], ['0.05', 0.05], ['.9', 0.9], ['1', 1], ['1.0', 1]] as const) assert.equal(parseMaxBadFraction(text), value, text);
  for (const bad of ['1.5', '-0.1', '50%', 'half', '1e-3', ' 0.5']) assert.throws(() => parseMaxBadFraction(bad), invalidConfig('maxBadFraction'), bad);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, defineJob, isSluiceError } from '../src/index.ts';
import type { SeriesDecl } from '../src/index.ts';

const minute = { minute: { step: 60 } };
const ok = (series: Record<string, SeriesDecl>) => defineJob({ name: 'j', series, process: () => {} });

function assertInvalid(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isSluiceError(error), 'a SluiceError');
    assert.equal(error.code, ErrorCode.INVALID_DEFINITION);
    for (const fragment of fragments) assert.match(error.message, new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return true;
  });
}

test('a valid job is returned frozen', () => {
  const job = ok({ hits: { type: 'count', intervals: { minute: { step: 60, steps: 10 }, daily: { step: 'daily' }, h: { step: '1h', resolution: 60 } } } });
  assert.ok(Object.isFrozen(job));
  assert.equal(job.name, 'j');
});

test('an unknown type names the job, the series and the valid types', () => {
  assertInvalid(() => ok({ hits: { type: 'counter' as 'count', intervals: minute } }), 'job "j", series "hits"', 'unknown type "counter"', 'histogram');
});

test('a float step is refused, naming the interval', () => {
  assertInvalid(() => ok({ hits: { type: 'count', intervals: { minute: { step: 60.5 } } } }), 'series "hits"', 'interval "minute"');
});

test('an interval without a step says how to add one', () => {
  assertInvalid(() => ok({ hits: { type: 'count', intervals: { minute: {} as { step: number } } } }), 'interval "minute" has no step', "step: '1h'");
});

test('steps must be a positive integer', () => {
  assertInvalid(() => ok({ hits: { type: 'count', intervals: { minute: { step: 60, steps: 0 } } } }), 'steps must be a positive integer');
});

test('a float count is refused because kairos cannot read it', () => {
  assertInvalid(() => ok({ hits: { type: 'count', intervals: minute, value: 'float' } }), "value 'integer'");
});

test('an interval name with a colon is refused', () => {
  assertInvalid(() => ok({ hits: { type: 'count', intervals: { 'a:b': { step: 60 } } } }), "must not contain ':'");
});

test('a job needs a valid name, a process function and series', () => {
  assertInvalid(() => defineJob({ name: 'Bad Name', series: { h: { type: 'count', intervals: minute } }, process: () => {} }), 'job name');
  assertInvalid(() => defineJob({ name: 'j', series: {}, process: () => {} }), 'at least one series');
  assertInvalid(() => defineJob({ name: 'j', series: { h: { type: 'count', intervals: minute } }, process: undefined as never }), 'process must be a function');
});

test('a namePrefix must be a string', () => {
  assertInvalid(() => ok({ hits: { type: 'count', intervals: minute, namePrefix: 7 as unknown as string } }), 'series "hits"', 'namePrefix must be a string, got 7');
  assert.equal(ok({ hits: { type: 'count', intervals: minute, namePrefix: 'hits.' } }).series.hits?.namePrefix, 'hits.');
});

test('optionNames must be option keys, and none the framework reads itself', () => {
  const series = { hits: { type: 'count' as const, intervals: minute } };
  assert.deepEqual(defineJob({ name: 'j', series, process: () => {}, optionNames: ['recordType'] }).optionNames, ['recordType']);
  assertInvalid(() => defineJob({ name: 'j', series, process: () => {}, optionNames: ['a=b'] }), 'optionNames must be an array of option keys');
  assertInvalid(() => defineJob({ name: 'j', series, process: () => {}, optionNames: 'recordType' as unknown as string[] }), 'optionNames must be an array');
  assertInvalid(() => defineJob({ name: 'j', series, process: () => {}, optionNames: ['since', 'x'] }), 'optionNames lists since, which the framework reads for every job; remove it');
});

/** An event time read from `ts`. */
function eventTime(r: { ts?: number }): number | undefined {
  return r.ts;
}

test('eventTimeField must name a field of eventTime, among the declared fields', () => {
  const series = { c: { type: 'count' as const, intervals: { m: { step: 60 } } } };
  assert.equal(defineJob({ name: 'j', series, process: () => {}, eventTime, eventTimeField: 'ts', fields: ['ts', 'x'] }).eventTimeField, 'ts');
  assertInvalid(() => defineJob({ name: 'j', series, process: () => {}, eventTimeField: 'ts' }), 'eventTimeField "ts" names the field of eventTime(record), which the job does not define');
  assertInvalid(() => defineJob({ name: 'j', series, process: () => {}, eventTime, eventTimeField: 'ts', fields: ['x'] }), 'eventTimeField "ts" is not among fields; add it there');
  assertInvalid(() => defineJob({ name: 'j', series, process: () => {}, eventTime, eventTimeField: '' }), 'eventTimeField must be a field name');
});

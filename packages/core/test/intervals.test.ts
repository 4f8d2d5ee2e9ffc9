/**
 * Interval math against the spec's recorded kairos values, and calendar buckets against Python's
 * own datetime (strftime/strptime/mktime under TZ=UTC), which is what kairos calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fc from 'fast-check';
import { createBucketCalc, createIntervalCalc, resolveStep } from '../src/intervals.ts';
import type { GregorianStep } from '../src/intervals.ts';
import { ErrorCode, isSluiceError } from '../src/errors.ts';

const NOW = 1_400_000_000;
const S = 1_000_000;

test('resolveStep accepts every form kairos accepts', () => {
  assert.equal(resolveStep(60), 60);
  assert.equal(resolveStep('60'), 60);
  assert.equal(resolveStep('1h'), 3600);
  assert.equal(resolveStep('2d'), 172_800);
  assert.equal(resolveStep('1w'), 604_800);
  assert.equal(resolveStep('1m'), 2_592_000, "'1m' is a 30-day month, not a minute");
  assert.equal(resolveStep('1y'), 31_536_000);
  assert.equal(resolveStep('30d'), 2_592_000);
  for (const calendar of ['daily', 'weekly', 'monthly', 'yearly']) assert.equal(resolveStep(calendar), calendar);
});

test('resolveStep rejects what kairos rejects, naming the value and the accepted forms', () => {
  for (const bad of [1.5, 0, -60, NaN, Infinity, '', '1x', 'minute', '1.5h', '0', '0h', '-60', ' 60', 'Daily', 1e12, '99999999999999999999']) {
    assert.throws(
      () => resolveStep(bad),
      (error: unknown) =>
        isSluiceError(error) &&
        error.code === ErrorCode.INVALID_DEFINITION &&
        error.message.includes(typeof bad === 'string' ? JSON.stringify(bad) : String(bad)) &&
        String(error.context.accepted).includes("'1m' = 30 days"),
      `step ${String(bad)}`,
    );
  }
});

test('V1: relative buckets, from_bucket and the TTL of a write at now', () => {
  const days = createIntervalCalc({ step: 60, steps: 2880 });
  const months = createIntervalCalc({ step: 1800, steps: 4032 });
  assert.equal(days.iCalc.toBucket(NOW * S), 23_333_333);
  assert.equal(months.iCalc.toBucket(NOW * S), 777_777);
  assert.equal(days.iCalc.fromBucket(23_333_333), 1_399_999_980);
  assert.equal(months.iCalc.fromBucket(777_777), 1_399_998_600);
  assert.equal(days.ttlSeconds(23_333_333, NOW * S), 172_800);
  assert.equal(months.ttlSeconds(777_777, NOW * S), 7_257_600);
  assert.equal(days.expire, 172_800);
  assert.equal(days.coarse, true);
});

test('V2: a resolution gives absolute r_buckets; normalize is the interval start', () => {
  const hour = createIntervalCalc({ step: '1h', steps: 24, resolution: 60 });
  assert.equal(hour.coarse, false);
  assert.equal(hour.iCalc.toBucket(NOW * S), 388_888);
  assert.equal(hour.rCalc.toBucket(NOW * S), 23_333_333);
  assert.equal(hour.rCalc.toBucket(1_400_000_100 * S), 23_333_335);
  assert.equal(hour.rCalc.fromBucket(23_333_335), 1_400_000_100);
  assert.equal(hour.iCalc.normalize(NOW * S), 1_399_996_800);
  assert.equal(hour.ttlSeconds(388_888, NOW * S), 86_400);
  assert.deepEqual(hour.iCalc.buckets(1_399_993_200 * S, NOW * S), [388_887, 388_888]);
});

test('V3 and the other calendar vectors', () => {
  const daily = createIntervalCalc({ step: 'daily', steps: 30 });
  assert.equal(daily.iCalc.toBucket(NOW * S), 20_140_513);
  assert.equal(daily.iCalc.fromBucket(20_140_513), 1_399_939_200);
  assert.equal(daily.ttlSeconds(20_140_513, NOW * S), 2_592_000);
  assert.equal(daily.expire, 2_592_000);
  const minute = createIntervalCalc({ step: 60 });
  assert.equal(minute.ttlSeconds(23_333_333, NOW * S), undefined);
  assert.equal(minute.expire, undefined);
  assert.equal(createBucketCalc('weekly').toBucket(NOW * S), 201_419);
  assert.equal(createBucketCalc('weekly').fromBucket(201_419), Date.UTC(2014, 4, 14) / 1000, 'Jan 1 + 19 weeks, not the %U week');
  assert.equal(createBucketCalc('monthly').toBucket(NOW * S), 201_405);
  assert.equal(createBucketCalc('monthly').fromBucket(201_405), 1_398_902_400);
  assert.equal(createBucketCalc('yearly').toBucket(NOW * S), 2014);
  assert.equal(createBucketCalc(resolveStep('30d')).toBucket(NOW * S), 540);
});

test('rolling vector: normalize(ts, -k) and the TTL of each earlier bucket', () => {
  const m = createIntervalCalc({ step: 60, steps: 10, resolution: 10 });
  const ts = 1_400_000_025 * S;
  const rows = [0, -2, -1].map((k) => {
    const at = k === 0 ? ts : m.iCalc.normalize(ts, k) * S;
    const iBucket = m.iCalc.toBucket(at);
    return [iBucket, m.rCalc.toBucket(at), m.ttlSeconds(iBucket, NOW * S)];
  });
  assert.deepEqual(rows, [
    [23_333_333, 140_000_002, 600],
    [23_333_331, 139_999_986, 480],
    [23_333_332, 139_999_992, 540],
  ]);
});

test('relative TTL rule: k buckets back gets (steps-k)*step, k >= steps is skipped, the future gets more', () => {
  const calc = createIntervalCalc({ step: 60, steps: 10 });
  const now = calc.iCalc.toBucket(NOW * S);
  assert.equal(calc.ttlSeconds(now - 3, NOW * S), 420);
  assert.equal(calc.ttlSeconds(now - 9, NOW * S), 60);
  assert.equal(calc.ttlSeconds(now - 10, NOW * S), 0);
  assert.equal(calc.isExpired(now - 10, NOW * S), true);
  assert.equal(calc.ttlSeconds(now - 11, NOW * S), 0);
  assert.equal(calc.isExpired(now - 9, NOW * S), false);
  assert.equal(calc.ttlSeconds(now + 2, NOW * S), 720);
});

test('toBucket is the exact integer floor of micros / step, for any safe timestamp', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 9_007_199_254 }), (ts, step) => {
      const expected = Number(BigInt(ts) / (BigInt(step) * 1_000_000n));
      assert.equal(createBucketCalc(step).toBucket(ts), expected);
    }),
    { numRuns: 2000 },
  );
  const calc = createBucketCalc(60);
  assert.equal(calc.toBucket(60 * S - 1), 0);
  assert.equal(calc.toBucket(60 * S), 1);
  assert.equal(calc.toBucket(-30 * S), 0, "int() truncates toward zero, like kairos's int(ts/step)");
  assert.ok(Object.is(calc.toBucket(-30 * S), 0));
});

test('createIntervalCalc rejects bad steps counts and bad steps', () => {
  for (const decl of [{ step: 60, steps: 0 }, { step: 60, steps: -1 }, { step: 60, steps: 1.5 }, { step: 'often' }, { step: 60, resolution: 0.5 }]) {
    assert.throws(
      () => createIntervalCalc(decl),
      (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_DEFINITION,
      JSON.stringify(decl),
    );
  }
});

test('monthly and yearly offsets', () => {
  const monthly = createBucketCalc('monthly');
  const jan31 = Date.UTC(2014, 0, 31, 12) * 1000;
  assert.equal(monthly.toBucket(jan31, 1), 201_402);
  assert.equal(monthly.toBucket(jan31, -1), 201_312);
  assert.equal(monthly.toBucket(jan31, 11), 201_412);
  assert.equal(monthly.toBucket(jan31, 12), 201_501);
  assert.equal(monthly.toBucket(jan31, -13), 201_212);
  assert.equal(createBucketCalc('yearly').toBucket(jan31, -3), 2011);
  assert.equal(createBucketCalc('yearly').fromBucket(2011), Date.UTC(2011, 0, 1) / 1000);
});

/**
 * Python's side of the calendar: buckets by strftime of utcfromtimestamp, starts by strptime and
 * mktime (TZ=UTC) or Jan 1 + weeks for weekly, offsets by timedelta (months clamped like
 * MonthDelta), the walk of buckets(), and the day-based TTL rule with Python 2's integer division.
 */
const PYTHON_CALENDAR = String.raw`
import calendar, json, sys, time
from datetime import datetime, timedelta
FMT = {'daily': '%Y%m%d', 'weekly': '%Y%U', 'monthly': '%Y%m', 'yearly': '%Y'}
DAYS = {'daily': 1, 'weekly': 7, 'monthly': 30, 'yearly': 365}
def to_bucket(step, ts, k=0):
    dt = datetime.utcfromtimestamp(ts)
    if k and step == 'daily': dt += timedelta(days=k)
    if k and step == 'weekly': dt += timedelta(weeks=k)
    if k and step == 'monthly':
        y, m = divmod(dt.year * 12 + dt.month - 1 + k, 12)
        dt = dt.replace(year=y, month=m + 1, day=min(dt.day, calendar.monthrange(y, m + 1)[1]))
    if k and step == 'yearly': dt = datetime(dt.year + k, 1, 1)
    return int(dt.strftime(FMT[step]))
def start(step, b):
    s = str(b)
    if step == 'weekly':
        return datetime(int(s[:4]), 1, 1) + timedelta(weeks=int(s[4:]))
    return datetime.strptime(s, FMT[step])
def from_bucket(step, b):
    return int(time.mktime(start(step, b).timetuple()))
def walk(step, a, b):
    out, k = [to_bucket(step, a)], 1
    while True:
        bucket = to_bucket(step, a, k)
        t = from_bucket(step, bucket)
        if t >= b:
            if t == b: out.append(bucket)
            return out
        out.append(bucket)
        k += 1
def ttl(step, steps, ts, now):
    day_diff = (start(step, to_bucket(step, now)) - start(step, to_bucket(step, ts))).days
    step_diff = steps * DAYS[step]
    return 0 if day_diff > step_diff else (step_diff - day_diff) * 86400
q = json.load(sys.stdin)
out = []
for ts in q['ts']:
    row = {}
    for step in FMT:
        b = to_bucket(step, ts)
        row[step] = [b, from_bucket(step, b), [ttl(step, n, ts, q['now']) for n in (1, 2, 5, 30)]]
    row['offsets'] = [[to_bucket(s, ts, k) for k in (-3, -1, 1, 2, 53)] for s in ('daily', 'weekly')]
    row['walk'] = [walk(s, ts, ts + q['span']) for s in FMT]
    out.append(row)
print(json.dumps(out))
`;

test('calendar buckets, starts, offsets, bucket walks and TTLs equal Python datetime under TZ=UTC', () => {
  const now = NOW;
  const fixed = [0, 86_399, 86_400, NOW, 1_388_534_399, 1_388_534_400, 1_389_484_800, 1_419_984_000, 1_420_070_399, 951_782_400, 4_102_444_800, 1_704_067_200, 1_735_603_200];
  const random = fc.sample(fc.integer({ min: 0, max: 4_102_444_800 }), { seed: 7, numRuns: 300 });
  const near = fc.sample(fc.integer({ min: NOW - 400 * 86_400, max: NOW + 40 * 86_400 }), { seed: 11, numRuns: 200 });
  const stamps = [...fixed, ...random, ...near];
  const span = 40 * 86_400;
  const out = execFileSync('python3', ['-W', 'ignore', '-c', PYTHON_CALENDAR], {
    input: JSON.stringify({ ts: stamps, now, span }),
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  const expected = JSON.parse(out) as unknown[];
  const steps: GregorianStep[] = ['daily', 'weekly', 'monthly', 'yearly'];
  const actual = stamps.map((ts) => {
    const row: Record<string, unknown> = {};
    for (const step of steps) {
      const bucketCalc = createBucketCalc(step);
      const b = bucketCalc.toBucket(ts * S + 999_999);
      row[step] = [b, bucketCalc.fromBucket(b), [1, 2, 5, 30].map((n) => createIntervalCalc({ step, steps: n }).ttlSeconds(b, now * S))];
    }
    row.offsets = (['daily', 'weekly'] as const).map((s) => [-3, -1, 1, 2, 53].map((k) => createBucketCalc(s).toBucket(ts * S, k)));
    row.walk = steps.map((s) => createBucketCalc(s).buckets(ts * S, (ts + span) * S));
    return row;
  });
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < stamps.length; i++) assert.deepEqual(actual[i], expected[i], `ts ${stamps[i]}`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { planRanges, resolveStartOffset } from '../src/plan-ranges.ts';
import type { OffsetRange, PartitionPlanInput, RangePlanningLimits } from '../src/plan-ranges.ts';

const part = (partition: number, planned: number, endOffset: number, extra: Partial<PartitionPlanInput> = {}): PartitionPlanInput => ({
  partition,
  planned,
  endOffset,
  logStartOffset: 0,
  inFlight: 0,
  ...extra,
});

const limits: RangePlanningLimits = { maxRecords: 100, maxInFlightPerPartition: 3 };

function rejectsWith(code: string, option?: string) {
  return (error: unknown): boolean => {
    assert.ok(isSluiceError(error), `a SluiceError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (option !== undefined) assert.equal(error.context.option, option);
    return true;
  };
}

test('a backlog is cut into ranges of maxRecords, as many as the in-flight budget allows', () => {
  assert.deepEqual(planRanges([part(0, 1_000, 10_000)], limits), {
    ranges: [
      { partition: 0, from: 1_000, until: 1_100 },
      { partition: 0, from: 1_100, until: 1_200 },
      { partition: 0, from: 1_200, until: 1_300 },
    ],
    gaps: [],
  });
  assert.deepEqual(planRanges([part(0, 1_000, 10_000, { inFlight: 2 })], limits).ranges, [{ partition: 0, from: 1_000, until: 1_100 }]);
  assert.deepEqual(planRanges([part(0, 1_000, 10_000, { inFlight: 3 })], limits).ranges, [], 'budget spent');
  assert.deepEqual(planRanges([part(0, 1_000, 10_000, { inFlight: 5 })], limits).ranges, [], 'over budget after a limit was lowered');
});

test('records are planned as soon as they exist, even one, and the last range ends at the end offset', () => {
  assert.deepEqual(planRanges([part(0, 41, 42)], limits).ranges, [{ partition: 0, from: 41, until: 42 }]);
  assert.deepEqual(planRanges([part(0, 0, 150)], limits).ranges, [{ partition: 0, from: 0, until: 100 }, { partition: 0, from: 100, until: 150 }]);
  assert.deepEqual(planRanges([part(0, 42, 42)], limits), { ranges: [], gaps: [] }, 'nothing new');
  assert.deepEqual(planRanges([part(0, 50, 42)], limits), { ranges: [], gaps: [] }, 'planned past the end (a truncated log): wait, plan nothing');
});

test('offsets deleted by retention before they were planned are a gap, and planning goes on from the log start', () => {
  assert.deepEqual(planRanges([part(2, 10, 500, { logStartOffset: 300 })], limits), {
    ranges: [{ partition: 2, from: 300, until: 400 }, { partition: 2, from: 400, until: 500 }],
    gaps: [{ partition: 2, from: 10, until: 300 }],
  });
  assert.deepEqual(planRanges([part(2, 10, 300, { logStartOffset: 300, inFlight: 3 })], limits), {
    ranges: [],
    gaps: [{ partition: 2, from: 10, until: 300 }],
  }, 'a gap is reported even when no range may be planned, and takes no in-flight slot');
  assert.deepEqual(planRanges([part(2, 300, 500, { logStartOffset: 300 })], limits).gaps, [], 'planned at the log start: no gap');
});

test('with maxBytes, ranges are bounded by the partition\'s bytes-per-record estimate too', () => {
  const bytes = { ...limits, maxBytes: 1_000 };
  assert.deepEqual(planRanges([part(0, 0, 1_000, { bytesPerRecordEstimate: 40 })], bytes).ranges.map((r) => r.until - r.from), [25, 25, 25]);
  assert.deepEqual(planRanges([part(0, 0, 1_000, { bytesPerRecordEstimate: 4 })], bytes).ranges.map((r) => r.until - r.from), [100, 100, 100], 'maxRecords still binds');
  assert.deepEqual(planRanges([part(0, 0, 1_000, { bytesPerRecordEstimate: 5_000 })], bytes).ranges.map((r) => r.until - r.from), [1, 1, 1], 'a huge record still gets a range');
  assert.deepEqual(planRanges([part(0, 0, 1_000)], bytes).ranges.map((r) => r.until - r.from), [100, 100, 100], 'no estimate yet: records only');
  assert.deepEqual(planRanges([part(0, 0, 1_000, { bytesPerRecordEstimate: 40 })], limits).ranges.map((r) => r.until - r.from), [100, 100, 100], 'no maxBytes: the estimate is unused');
});

test('partitions are interleaved, oldest range of each first; each partition keeps its own budget and bounds', () => {
  const { ranges } = planRanges([part(0, 0, 250), part(1, 500, 520, { inFlight: 1 }), part(2, 7, 7), part(3, 0, 1_000, { inFlight: 2 })], limits);
  assert.deepEqual(ranges, [
    { partition: 0, from: 0, until: 100 },
    { partition: 1, from: 500, until: 520 },
    { partition: 3, from: 0, until: 100 },
    { partition: 0, from: 100, until: 200 },
    { partition: 0, from: 200, until: 250 },
  ]);
});

test('bad limits are INVALID_CONFIG naming the option; impossible positions are INTERNAL', () => {
  for (const [patch, option] of [
    [{ maxRecords: 0 }, 'maxRecords'],
    [{ maxRecords: 1.5 }, 'maxRecords'],
    [{ maxInFlightPerPartition: 0 }, 'maxInFlightPerPartition'],
    [{ maxBytes: -1 }, 'maxBytes'],
    [{ maxBytes: Number.NaN }, 'maxBytes'],
  ] as const) {
    assert.throws(() => planRanges([part(0, 0, 10)], { ...limits, ...patch }), rejectsWith(ErrorCode.INVALID_CONFIG, option), option);
  }
  assert.throws(() => planRanges([part(0, -1, 10)], limits), rejectsWith(ErrorCode.INTERNAL));
  assert.throws(() => planRanges([part(0, 0, 2 ** 53)], limits), rejectsWith(ErrorCode.INTERNAL));
  assert.throws(() => planRanges([part(0, 0, 10), part(0, 0, 10)], limits), rejectsWith(ErrorCode.INTERNAL));
  assert.deepEqual(planRanges([], limits), { ranges: [], gaps: [] });
});

test('a start resolves to the log start, the end, or the first offset at or after a time', () => {
  const offsets = { logStartOffset: 100, endOffset: 900, offsetForTimestamp: 450 };
  assert.equal(resolveStartOffset('earliest', offsets), 100);
  assert.equal(resolveStartOffset('latest', offsets), 900);
  assert.equal(resolveStartOffset({ timestampMs: 1_700_000_000_000 }, offsets), 450);
  assert.equal(resolveStartOffset({ timestampMs: 1_700_000_000_000 }, { ...offsets, offsetForTimestamp: null }), 900, 'every record is older: start at the end');
  assert.equal(resolveStartOffset({ timestampMs: 0 }, { ...offsets, offsetForTimestamp: 20 }), 100, 'never below the log start');
  assert.throws(() => resolveStartOffset({ timestampMs: 0 }, { logStartOffset: 0, endOffset: 1 }), rejectsWith(ErrorCode.INTERNAL), 'offsets listed without the timestamp');
});

const inputArb = fc
  .record({
    planned: fc.nat({ max: 5_000 }),
    logStartOffset: fc.nat({ max: 5_000 }),
    ahead: fc.nat({ max: 5_000 }),
    inFlight: fc.nat({ max: 6 }),
    estimate: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined }),
  })
  .map(({ planned, logStartOffset, ahead, inFlight, estimate }) => ({
    planned,
    logStartOffset,
    endOffset: Math.max(planned, logStartOffset) + ahead,
    inFlight,
    ...(estimate === undefined ? {} : { bytesPerRecordEstimate: estimate }),
  }));

const limitsArb = fc.record({
  maxRecords: fc.integer({ min: 1, max: 2_000 }),
  maxInFlightPerPartition: fc.integer({ min: 1, max: 5 }),
  maxBytes: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }),
}).map(({ maxBytes, ...rest }): RangePlanningLimits => (maxBytes === undefined ? rest : { ...rest, maxBytes }));

test('property: per partition, ranges are contiguous from max(planned, log start), within bounds and limits, and stop only at a limit or the end', () => {
  fc.assert(
    fc.property(fc.array(inputArb, { maxLength: 6 }), limitsArb, (raw, lim) => {
      const inputs = raw.map((r, partition) => ({ partition, ...r }));
      const { ranges, gaps } = planRanges(inputs, lim);
      for (const input of inputs) {
        const mine = ranges.filter((r) => r.partition === input.partition);
        const start = Math.max(input.planned, input.logStartOffset);
        const slots = Math.max(0, lim.maxInFlightPerPartition - input.inFlight);
        const sizeCap = lim.maxBytes !== undefined && input.bytesPerRecordEstimate !== undefined
          ? Math.min(lim.maxRecords, Math.max(1, Math.floor(lim.maxBytes / input.bytesPerRecordEstimate)))
          : lim.maxRecords;
        assert.ok(mine.length <= slots, 'in-flight budget');
        let at = start;
        for (const r of mine) {
          assert.equal(r.from, at, 'contiguous, no overlap, nothing skipped');
          assert.ok(r.until > r.from && r.until <= input.endOffset, 'non-empty, within the log');
          assert.ok(r.until - r.from <= sizeCap, 'size limits');
          at = r.until;
        }
        if (mine.length < slots) assert.equal(at, input.endOffset, 'budget left over only when everything up to the end is planned');
        if (mine.length === slots && mine.length > 0) assert.ok(mine.slice(0, -1).every((r) => r.until - r.from === sizeCap), 'all but the last range are full');
        const gap = gaps.filter((g) => g.partition === input.partition);
        assert.deepEqual(gap, input.planned < input.logStartOffset ? [{ partition: input.partition, from: input.planned, until: input.logStartOffset }] : []);
      }
      const waves = ranges.map((r) => ranges.filter((o) => o.partition === r.partition).indexOf(r));
      assert.deepEqual(waves, waves.toSorted((a, b) => a - b), 'interleaved by wave');
    }),
    { numRuns: 500 },
  );
});

test('property: ticks over a growing, retention-trimmed log plan every offset exactly once, as a range or a gap', () => {
  const tickArb = fc.record({ produced: fc.nat({ max: 400 }), trimTo: fc.nat({ max: 100 }), completions: fc.nat({ max: 4 }) });
  fc.assert(
    fc.property(fc.nat({ max: 1_000 }), fc.array(tickArb, { minLength: 1, maxLength: 30 }), limitsArb, (start, ticks, lim) => {
      let end = start;
      let logStart = start;
      let planned = start;
      const inFlight: OffsetRange[] = [];
      const covered: OffsetRange[] = [];
      for (const tick of ticks) {
        end += tick.produced;
        // Retention deletes from the front, never past the end.
        logStart = Math.min(end, logStart + tick.trimTo);
        const { ranges, gaps } = planRanges([{ partition: 0, planned, endOffset: end, logStartOffset: logStart, inFlight: inFlight.length }], lim);
        for (const g of gaps) {
          assert.equal(g.from, planned);
          covered.push(g);
          planned = g.until;
        }
        for (const r of ranges) {
          assert.equal(r.from, planned, 'each range starts where planning stood');
          covered.push(r);
          inFlight.push(r);
          planned = r.until;
        }
        assert.ok(inFlight.length <= lim.maxInFlightPerPartition);
        inFlight.splice(0, tick.completions);
      }
      let at = start;
      for (const r of covered) {
        assert.equal(r.from, at, 'no offset twice, none skipped');
        at = r.until;
      }
      assert.equal(at, planned);
      assert.ok(planned <= end);
    }),
    { numRuns: 300 },
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRangeLog, createRepeatLog } from '../src/worker-log.ts';

test('finished ranges are summed into one line per period, and nothing is printed for an idle period', () => {
  const lines: string[] = [];
  const ranges = createRangeLog((line) => lines.push(line), 60_000);
  ranges.flush();
  assert.deepEqual(lines, []);
  ranges.done({ records: 500, badRecords: 1, resumed: false });
  ranges.done({ records: 1500, badRecords: 0, resumed: true });
  ranges.flush();
  assert.equal(lines.length, 1);
  assert.match(String(lines[0]), /^ranges: 2 done in the last \d+ s, 2,000 records, 1 bad, 1 resumed after an earlier attempt$/);
  ranges.done({ records: 7, badRecords: 0, resumed: false });
  ranges.close();
  assert.match(String(lines[1]), /^ranges: 1 done in the last \d+ s, 7 records, 0 bad$/);
  ranges.flush();
  assert.equal(lines.length, 2, 'the sums start again after each line');
});

test('a repeated line prints once per quiet period with the count it hid; an always line prints every time', () => {
  const lines: string[] = [];
  let clock = 0;
  const repeats = createRepeatLog((line) => lines.push(line), 60_000, () => clock);
  repeats.say('[SLUICE_UNAVAILABLE] broker away', 'range a: attempt 1 failed, will retry');
  repeats.say('[SLUICE_UNAVAILABLE] broker away', 'range b: attempt 1 failed, will retry');
  repeats.say('[SLUICE_UNAVAILABLE] broker away', 'range a: attempt 2 failed, will retry');
  repeats.say('[SLUICE_REMOTE] OOM', 'range c: attempt 1 failed, will retry');
  repeats.say('[SLUICE_UNAVAILABLE] broker away', 'range d: attempt 1 failed for good', true);
  clock = 60_000;
  repeats.say('[SLUICE_UNAVAILABLE] broker away', 'range b: attempt 3 failed, will retry');
  assert.deepEqual(lines, [
    'range a: attempt 1 failed, will retry',
    'range c: attempt 1 failed, will retry',
    'range d: attempt 1 failed for good',
    'range b: attempt 3 failed, will retry (and 2 more like it since it was last printed)',
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunState } from '@sluice/control';
import type { RunProgress } from '@sluice/control';
import { formatProgress } from '../src/commands/status.ts';

function progress(state: RunState, splitsTotal: number | undefined, error?: string): RunProgress {
  return {
    run: {
      runId: 'r1', kind: 'backfill', job: 'network-metrics', inputs: ['/in'], options: {}, splitSize: 1024, state, submittedAt: 0,
      ...(splitsTotal === undefined ? {} : { splitsTotal }), ...(error === undefined ? {} : { error }),
    },
    splitsDone: splitsTotal === undefined ? 0 : 3, splitsFailed: 0, records: 1234, badRecords: 0, bytes: 0, expired: 0, chunks: 0,
    recordsPerSecond: 0, etaSeconds: undefined, failed: [],
  };
}

const splitsRow = (text: string): string | undefined => /^splits\s+(.*)$/mu.exec(text)?.[1];

test('the splits row says planning only while a run can still plan, and none planned once it failed before', () => {
  assert.equal(splitsRow(formatProgress(progress(RunState.PLANNING, undefined))), 'planning');
  assert.equal(splitsRow(formatProgress(progress(RunState.SUBMITTED, undefined))), 'planning');
  const failed = formatProgress(progress(RunState.FAILED, undefined, '[SLUICE_NOT_FOUND] GETFILESTATUS /nope'));
  assert.equal(splitsRow(failed), 'none planned');
  assert.match(failed, /^error\s+\[SLUICE_NOT_FOUND\] GETFILESTATUS \/nope$/mu);
  assert.equal(splitsRow(formatProgress(progress(RunState.RUNNING, 10))), '3/10 done');
  assert.match(formatProgress(progress(RunState.RUNNING, 10)), /^records\s+1,234$/mu);
  assert.match(formatProgress(progress(RunState.RUNNING, 10)), /^bad records\s+0$/mu);
  assert.match(formatProgress({ ...progress(RunState.COMPLETED, 10), badRecords: 3 }), /^bad records\s+3 \(sluice dead-letters r1\)$/mu, 'where to see them');
});

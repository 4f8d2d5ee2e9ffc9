import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunState } from '@sluice/control';
import type { RunProgress } from '@sluice/control';
import { formatDuration, formatProgress, formatRunList } from '../src/commands/status.ts';

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

test('the run list has a header, when each run was submitted and how long it ran, and its namespace when any has one', () => {
  const started = Date.UTC(2026, 11, 3, 20, 15, 4);
  const done = { ...progress(RunState.COMPLETED, 10), splitsDone: 10, run: { ...progress(RunState.COMPLETED, 10).run, submittedAt: started - 500, startedAt: started, finishedAt: started + 42_300 } };
  const live = {
    ...progress(RunState.RUNNING, undefined), splitsDone: 1, records: 1_234_567, badRecords: 3,
    run: { ...progress(RunState.RUNNING, undefined).run, runId: 'live-stream', kind: 'stream' as const, submittedAt: started, startedAt: started },
  };
  const lines = formatRunList([done, live], started + 2 * 3600_000 + 125_000).split('\n');
  assert.deepEqual(lines.map((l) => l.split(/\s{2,}/u)), [
    ['RUN', 'KIND', 'JOB', 'STATE', 'SUBMITTED (UTC)', 'ELAPSED', 'PROGRESS', 'RECORDS', 'BAD'],
    ['r1', 'backfill', 'network-metrics', 'completed', '2026-12-03 20:15:03', '42.3 s', '10/10 splits', '1,234', '0'],
    ['live-stream', 'stream', 'network-metrics', 'running', '2026-12-03 20:15:04', '2h 02m', '1 range', '1,234,567', '3'],
  ]);
  assert.equal(lines[1]!.length, lines[2]!.length, 'counts are right-aligned');
  const other = { ...live, run: { ...live.run, namespace: 'staging' } };
  assert.deepEqual(formatRunList([done, other], started).split('\n').map((l) => l.split(/\s{2,}/u)[3]), ['NAMESPACE', '-', 'staging']);
  assert.equal(formatDuration(7 * 60_000 + 5_000), '7m 05s');
  assert.match(formatProgress(done), /^submitted\s+2026-12-03 20:15:03 UTC$/mu);
  assert.match(formatProgress(done), /^elapsed\s+42\.3 s$/mu);
  assert.doesNotMatch(formatProgress(done), /^pruned/mu);
  const pruned = { ...done, run: { ...done.run, prunedAt: started + 7 * 86_400_000 } };
  assert.match(formatProgress(pruned), /^pruned\s+2026-12-10 20:15:04 UTC \(its fences and split ids; a late attempt still writes nothing\)$/mu);
});

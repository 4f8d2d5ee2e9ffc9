/**
 * Redis key names that two packages must agree on: the fenced commit (`@sluice/timeseries`) writes
 * a run's counters and dead letters in the same atomic step as the data, and the run store
 * (`@sluice/control`) reads them. One definition, so the two cannot drift apart.
 */

/** Hash of a run's counters (records, badRecords, bytes, expired, chunks). */
export function runStatsKey(runId: string): string {
  return `sluice:run:${runId}:stats`;
}

/** List of a run's dead letters (JSON), appended by the commit that consumed them. */
export function runDeadLettersKey(runId: string): string {
  return `sluice:run:${runId}:dead`;
}

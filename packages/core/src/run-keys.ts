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

/** Hash of a run's fences: field = split id, value = `${seq}:${resumeAt}` of the last applied chunk. */
export function fenceKey(runId: string): string {
  return `sluice:fence:${runId}`;
}

/**
 * The field of a run's fence hash that stands for every fence of it once they were pruned (the run
 * completed long enough ago): any chunk of the run is then a duplicate, and every split reads as done.
 */
export const FENCES_PRUNED_FIELD = '@pruned';

/**
 * The field of a run's fence hash holding the lowest commit protocol allowed to write the run's
 * chunks. A version whose commits older workers must not mix with raises its protocol and records
 * it there; a commit script of a lower protocol then writes nothing (OUTDATED). Absent: protocol 1.
 */
export const COMMIT_PROTOCOL_FIELD = '@protocol';

/** The URL of a Kafka partition, as live range payloads carry it. */
export function rangeUrl(topic: string, partition: number): string {
  return `kafka://${topic}/${partition}`;
}

/** The split id of the live range `[from, until)` of a partition: `${rangeUrl}@${from}-${until}`. */
export function rangeSplitId(topic: string, partition: number, from: number, until: number): string {
  return `${rangeUrl(topic, partition)}@${from}-${until}`;
}

/**
 * The fence-hash field holding a partition's floor: every range of it starting below the floor
 * completed, and its fence was dropped (stream positions compact them as `committed` passes them,
 * so a stream that runs for months keeps only the fences of ranges still in flight). The commit
 * refuses a range below the floor as a duplicate, as it would on the fence itself.
 */
export function rangeFloorField(url: string): string {
  return `${url}@floor`;
}

/** The partition URL and bounds of a live range's split id; undefined for any other split id. */
export function parseRangeSplitId(splitId: string): { url: string; from: number; until: number } | undefined {
  // The same pattern as commit.lua's floor check: a backfill split id ends in `#start-end` instead.
  const match = /^(.+)@(\d+)-(\d+)$/.exec(splitId);
  if (match === null) return undefined;
  return { url: match[1] as string, from: Number(match[2]), until: Number(match[3]) };
}

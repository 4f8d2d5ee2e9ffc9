export { COORDINATOR_EPOCH, COORDINATOR_LEASE, coordinatorLeaseKey, RUNS_INDEX, SUBMIT_WAKEUP, runDeadLettersKey, runDoneKey, runFailedKey, runKey, runStatsKey } from './keys.ts';
export { RunState, isFinalState } from './run-state.ts';
export { createRunStore } from './run-store.ts';
export type { FailedSplit, RunProgress, RunRecord, RunSpec, RunStore } from './run-store.ts';
export { createLease, readLeaseHolder } from './lease.ts';
export type { Lease, LeaseOptions } from './lease.ts';
export { streamDoneKey, streamEndsKey, streamGapsKey, streamPlannedKey, streamPositionsKey } from './keys.ts';
export { createStreamPositions } from './stream-positions.ts';
export type { PartitionPositions, PlannedRange, StreamPositions } from './stream-positions.ts';

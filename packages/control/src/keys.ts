/**
 * Every Redis key of the control plane is named here. All live under `sluice:` so they never
 * collide with kairos series, and the per-run stats key is the one the fenced commit increments.
 */

// Shared with the other side of the fenced commit; defined once in core.
export { runDeadLettersKey, runStatsKey } from '@sluice/core';

/** Sorted set of run ids, scored by submission time (ms). */
export const RUNS_INDEX = 'sluice:runs';
/**
 * Sorted set of the ids of runs not in a final state, scored by submission time (ms): what the
 * coordinator works through on every tick, however many finished runs `RUNS_INDEX` holds. Kept in
 * the same atomic step as every state change.
 */
export const ACTIVE_RUNS_INDEX = 'sluice:runs:active';
/** Set once `ACTIVE_RUNS_INDEX` holds every active run of a Redis written before the index existed. */
export const ACTIVE_RUNS_INDEXED = 'sluice:runs:active:indexed';
/** List the CLI pushes run ids to, to wake the coordinator at once. */
export const SUBMIT_WAKEUP = 'sluice:runs:wakeup';
/** The coordinator lease (value: `${holder}:${token}`). */
export const COORDINATOR_LEASE = 'sluice:coordinator:lease';
/**
 * The lease of the coordinators of one namespace: installations (or tests) sharing a Redis each
 * have their own leader and only plan their own runs.
 */
export function coordinatorLeaseKey(namespace = ''): string {
  return namespace === '' ? COORDINATOR_LEASE : `${COORDINATOR_LEASE}:${namespace}`;
}

/**
 * The field of a run's fence hash (`fenceKey`, next to `FENCES_PRUNED_FIELD`) that marks a run
 * deleted by `forgetFinished`: JSON { state, job, kind, finishedAt, forgottenAt }. It refuses a new
 * run of the same id, which would commit again what the forgotten one did.
 */
export const FORGOTTEN_FIELD = '@forgotten';

/**
 * The highest planning protocol (`claimPlanningProtocol`) a coordinator of the namespace has led
 * with: a coordinator of a lower one must not lead there again.
 */
export function coordinatorProtocolKey(namespace = ''): string {
  return namespace === '' ? 'sluice:coordinator:protocol' : `sluice:coordinator:protocol:${namespace}`;
}

/** Counter issuing fencing tokens to successive lease holders. */
export const COORDINATOR_EPOCH = 'sluice:coordinator:epoch';

/** Hash with a run's definition and state. */
export function runKey(runId: string): string {
  return `sluice:run:${runId}`;
}

/** Hash of failed splits: splitId → JSON { code, message, attempts }. */
export function runFailedKey(runId: string): string {
  return `sluice:run:${runId}:failed`;
}

/** Set of split ids a run has finished (idempotent: a split rerun after finishing adds nothing). */
export function runDoneKey(runId: string): string {
  return `sluice:run:${runId}:done`;
}

/** Hash of a stream run's partitions: `${topic}/${partition}` → JSON { planned, committed, start, startedAt, committedTimestamp? }. */
export function streamPositionsKey(runId: string): string {
  return `sluice:stream:${runId}:positions`;
}

/** Hash of ranges planned and not yet completed: `${topic}/${partition}@${from}` → until. */
export function streamPlannedKey(runId: string): string {
  return `sluice:stream:${runId}:planned`;
}

/** Hash of ranges completed above the committed position: `${topic}/${partition}@${from}` → until. */
export function streamDoneKey(runId: string): string {
  return `sluice:stream:${runId}:done`;
}

/**
 * Hash of the greatest Kafka record timestamp (ms) of each range completed above the committed
 * position: `${topic}/${partition}@${from}` → ms. Folded into the partition's `committedTimestamp`
 * when `committed` passes the range, so that timestamp only ever covers committed records.
 */
export function streamTimesKey(runId: string): string {
  return `sluice:stream:${runId}:times`;
}

/** Hash of the latest end offsets seen per partition: `${topic}/${partition}` → JSON { endOffset, at, newestTimestamp? }. */
export function streamEndsKey(runId: string): string {
  return `sluice:stream:${runId}:ends`;
}

/** List of offset gaps (records deleted by retention before they were read), JSON. */
export function streamGapsKey(runId: string): string {
  return `sluice:stream:${runId}:gaps`;
}

/** Hash of value bytes and records read per partition (`${topic}/${partition}:bytes|records`), for sizing ranges by bytes. */
export function streamSizesKey(runId: string): string {
  return `sluice:stream:${runId}:sizes`;
}

/**
 * List of the files a run's oldest dead letters were moved to, oldest first: JSON { url, from,
 * count }, `from` being the index of the file's first dead letter among all of the run's. Written
 * in the same step that trims those dead letters from `runDeadLettersKey`, so it is the authority
 * on which archive files hold them.
 */
export function runDeadLetterFilesKey(runId: string): string {
  return `sluice:run:${runId}:dead:files`;
}

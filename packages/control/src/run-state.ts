/**
 * The lifecycle of a run, one line per state. A run only moves forward along these arrows:
 *
 *   SUBMITTED → PLANNING → RUNNING → COMPLETED | FAILED
 *        any non-final state → CANCELLING → CANCELLED
 *   a FAILED or CANCELLED run resubmitted with the same id and the same inputs and options →
 *   SUBMITTED (only what is missing runs); with other inputs or options it is refused
 */
export const RunState = {
  /** Recorded by the CLI; waiting for a coordinator to plan it. */
  SUBMITTED: 'submitted',
  /** A coordinator is listing the input and enqueuing splits. */
  PLANNING: 'planning',
  /** Splits are enqueued; workers are running them. */
  RUNNING: 'running',
  /** Every split committed. */
  COMPLETED: 'completed',
  /** Every split finished and at least one failed after its retries; the run lists which and why. */
  FAILED: 'failed',
  /** Cancel requested; waiting jobs are being removed. */
  CANCELLING: 'cancelling',
  /** Cancelled; what was committed stays committed. */
  CANCELLED: 'cancelled',
} as const;

/** One of the run states. */
export type RunState = (typeof RunState)[keyof typeof RunState];

/** True for states a run never leaves on its own. */
export function isFinalState(state: RunState): boolean {
  return state === RunState.COMPLETED || state === RunState.FAILED || state === RunState.CANCELLED;
}

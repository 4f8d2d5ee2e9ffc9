/**
 * The error for a run id that names no run: a run of that id may have been forgotten
 * (`sluice coordinator --forget-finished`), which the message then says with its dates.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { RunStore } from '@sluice/control';

/** NOT_FOUND for a run id that names no run, saying when the run of that id was forgotten if it was. */
export async function missingRun(runs: RunStore, runId: string): Promise<SluiceError> {
  const gone = await runs.forgotten(runId);
  if (gone === undefined) return new SluiceError(ErrorCode.NOT_FOUND, `no run ${runId}; \`sluice status\` lists the runs`, { context: { runId } });
  return new SluiceError(
    ErrorCode.NOT_FOUND,
    `run ${runId} (${gone.kind} ${gone.job}) finished ${gone.state} at ${new Date(gone.finishedAt).toISOString()} and was forgotten at ${new Date(gone.forgottenAt).toISOString()} (the coordinator's --forget-finished): its record, stats and the dead letters Redis held are gone (files under a --dead-letter-archive stay); what it committed stays in the series`,
    { context: { runId, state: gone.state, finishedAt: gone.finishedAt, forgottenAt: gone.forgottenAt } },
  );
}

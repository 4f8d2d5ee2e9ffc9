/**
 * `sluice forget <run-id>`: deletes a finished run at once, as the coordinator's
 * `--forget-finished` does after its delay: its record, stats, dead letters in Redis, stream
 * positions and fences. What it committed to the series stays; its id stays refused.
 */
import type { Command } from 'commander';
import { createRunStore } from '@sluice/control';
import { withRedis } from '../redis-connection.ts';

/** Registers `sluice forget`. */
export function registerForgetCommand(program: Command): void {
  program
    .command('forget <run-id>')
    .description('delete a finished run now (record, stats, dead letters in Redis, fences); what it committed stays, and its id stays refused')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .action(async (runId: string, flags: { redis?: string }) => {
      await withRedis(flags.redis, async (redis) => {
        const gone = await createRunStore(redis).forget(runId);
        process.stdout.write(`forgot run ${runId} (${gone.kind} ${gone.job}, ${gone.state} at ${new Date(gone.finishedAt).toISOString()}); forgotten at ${new Date(gone.forgottenAt).toISOString()}\n`);
      });
    });
}

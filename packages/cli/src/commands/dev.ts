/**
 * `sluice dev up|down|status`: the local Redis, Kafka and HDFS processes, through the same scripts
 * `npm test` uses, so there is one way to run the stack.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { findRepoRoot } from '../repo.ts';

/** Registers `sluice dev`. */
export function registerDevCommand(program: Command): void {
  const dev = program.command('dev').description('start, stop and inspect the local services (Redis, Kafka, HDFS)');
  for (const [action, description] of [
    ['up', 'install what is missing and start the services (idempotent)'],
    ['down', 'stop the services'],
    ['status', 'show which services run, their pids, ports and memory'],
  ] as const) {
    dev
      .command(`${action} [services...]`)
      .description(description)
      .allowUnknownOption(action === 'status')
      .action((services: string[] = []) => {
        const script = join(findRepoRoot(), 'infra', 'local', action);
        const result = spawnSync(script, services, { stdio: 'inherit' });
        if (result.error) throw result.error;
        process.exitCode = result.status ?? 1;
      });
  }
}

/**
 * The `sluice` program: one commander tree; every command lives in `commands/`. Errors are printed
 * once, with their code and context, and set a non-zero exit code.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { coerceError } from '@sluice/core';
import { registerDevCommand } from './commands/dev.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerBackfillCommand } from './commands/backfill.ts';
import { registerCoordinatorCommand } from './commands/coordinator.ts';
import { registerForgetCommand } from './commands/forget.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { registerHdfsCommand } from './commands/hdfs.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerStreamCommand } from './commands/stream.ts';
import { registerDeadLettersCommand } from './commands/dead-letters.ts';

/** The version of this CLI, from its package.json (which ships beside the sources in the image too). */
export function readCliVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/** Builds the command tree (exported for tests). */
export function createProgram(): Command {
  const program = new Command('sluice')
    .description('Distributed batch and stream jobs: HDFS and Kafka in, kairos time series in Redis out, exactly once.')
    .version(`sluice ${readCliVersion()} (node ${process.version})`, '-V, --version', 'print the version of sluice and of Node')
    .showHelpAfterError()
    .exitOverride();
  registerDevCommand(program);
  registerRunCommand(program);
  registerBackfillCommand(program);
  registerStatusCommand(program);
  registerDeadLettersCommand(program);
  registerForgetCommand(program);
  registerCoordinatorCommand(program);
  registerWorkerCommand(program);
  registerHdfsCommand(program);
  registerDemoCommand(program);
  registerStreamCommand(program);
  return program;
}

/** Parses argv and runs the command; never throws, sets `process.exitCode` instead. */
export async function runCli(argv: readonly string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    const failure = coerceError(error);
    const context = Object.entries(failure.context)
      .map(([key, value]) => `  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join('\n');
    process.stderr.write(`error [${failure.code}]: ${failure.message}\n${context ? `${context}\n` : ''}`);
    process.exitCode = 1;
  }
}

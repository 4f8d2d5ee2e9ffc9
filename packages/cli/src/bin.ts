#!/usr/bin/env node
/** Entry point of the `sluice` command. */
import { tuneGarbageCollector } from './gc-tuning.ts';
import { runCli } from './program.ts';

// A reader that went away (`sluice hdfs ls … | head`) ends the command quietly, as it ends Unix
// tools, instead of an unhandled EPIPE with a stack trace. Exiting at once is safe even for a
// worker: its commits are fenced, and a split it held is retried as after any crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});
tuneGarbageCollector();
await runCli(process.argv);
// A command that failed has printed why; a connection it opened must not keep the process (a
// worker, a coordinator) alive, doing nothing, after it said it failed.
if (process.exitCode !== undefined && process.exitCode !== 0) process.exit();

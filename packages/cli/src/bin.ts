#!/usr/bin/env node
/** Entry point of the `sluice` command. */
import { runCli } from './program.ts';

await runCli(process.argv);

#!/usr/bin/env node
/** Entry point of the `sluice` command. */
import { tuneGarbageCollector } from './gc-tuning.ts';
import { runCli } from './program.ts';

tuneGarbageCollector();
await runCli(process.argv);

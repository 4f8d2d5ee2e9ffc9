export { createProgram, runCli } from './program.ts';
export { HEAP_GROWING_PERCENT, tuneGarbageCollector } from './gc-tuning.ts';

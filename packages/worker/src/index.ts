export { createWorker } from './worker.ts';
export type { SluiceWorker, SourceOpener, WorkerOptions } from './worker.ts';

export { createWorker } from './worker.ts';
export type { SluiceWorker, WorkerOptions } from './worker.ts';

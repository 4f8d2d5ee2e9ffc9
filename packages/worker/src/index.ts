export { createWorker } from './worker.ts';
export type { RangeRead, SluiceWorker, SourceBatch, SourceOpener, WorkerOptions } from './worker.ts';

/**
 * The thread side of `threads.ts`: decodes one local file with `readSplit` and posts each record
 * batch to the main thread (a structured clone), keeping at most `credit` batches unacknowledged
 * so a slow consumer bounds the memory held.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createFileRangeReader, readSplit } from '@sluice/formats';
import type { ReadSplitOptions } from '@sluice/formats';

interface DecodeThreadData {
  path: string;
  split: ReadSplitOptions;
  credit: number;
}

const port = parentPort;
if (port === null) throw new Error('decode-thread.ts runs as a worker thread');
const { path, split, credit } = workerData as DecodeThreadData;
let available = credit;
let wake: (() => void) | undefined;
port.on('message', () => {
  available += 1;
  wake?.();
});
const reader = createFileRangeReader(path);
try {
  for await (const batch of readSplit(reader, split)) {
    // The acknowledgement handler adds credit before it wakes this loop.
    if (available === 0) await new Promise<void>((resolve) => (wake = resolve));
    available -= 1;
    port.postMessage(batch);
  }
  port.postMessage(null);
} finally {
  await reader.close();
}

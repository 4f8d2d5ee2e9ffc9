export { DEFAULT_QUEUE_PREFIX, QueueKind, queueName } from './names.ts';
export { PAYLOAD_VERSION, decodeSplitPayload } from './payload.ts';
export type { SplitPayload } from './payload.ts';
export { createSplitQueue, removePendingJobs, splitJobId } from './split-queue.ts';
export type { PendingRemoval, SplitQueue, SplitQueueOptions } from './split-queue.ts';
export { createSplitConsumer } from './split-consumer.ts';
export type { SplitConsumer, SplitConsumerOptions, SplitContext } from './split-consumer.ts';
export { DEFAULT_RANGE_RETRY_DELAYS, RANGE_ATTEMPTS, cappedBackoffMs } from './retry-policy.ts';
export type { RetryDelays } from './retry-policy.ts';

/**
 * Every BullMQ queue name and prefix Sluice uses is built here, so a deployment can run several
 * Sluice installations on one Redis by changing one prefix.
 */

/** The kinds of work Sluice queues. */
export const QueueKind = {
  /** Backfill splits: files, byte ranges, Parquet row groups. */
  SPLITS: 'splits',
  /** Live Kafka offset ranges; served before splits. */
  RANGES: 'ranges',
} as const;

/** One of Sluice's queue kinds. */
export type QueueKind = (typeof QueueKind)[keyof typeof QueueKind];

/** Default BullMQ key prefix; BullMQ's own default is `bull`, ours keeps Sluice's keys together. */
export const DEFAULT_QUEUE_PREFIX = 'sluice:bull';

/** The BullMQ queue name for a kind of work, optionally namespaced (tests use a unique namespace). */
export function queueName(kind: QueueKind, namespace?: string): string {
  return namespace === undefined || namespace === '' ? kind : `${namespace}.${kind}`;
}

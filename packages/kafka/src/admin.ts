/**
 * Topic administration for the coordinator, the CLI and tests. Separate from `KafkaClient`
 * because admin calls go to the controller and are rare, while the client's connections serve
 * the hot fetch path.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka';
import { ErrorCode, SluiceError } from '@sluice/core';
import { parseBrokers } from './brokers.ts';
import type { BrokerList } from './brokers.ts';
import { convertKafkaError } from './kafka-error.ts';
import { invalidOption, requireClientId, requireInteger, requireOffset, requireTopic } from './options.ts';

/** Options of `createKafkaAdmin`. */
export interface KafkaAdminOptions {
  brokers: BrokerList;
  clientId?: string;
}

/** Options of `KafkaAdmin#createTopic`. */
export interface CreateTopicOptions {
  /** Replication factor; the broker default when omitted. */
  replicas?: number;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  configs?: Readonly<Record<string, string>>;
}

/** The record of a partition with the greatest timestamp, as ListOffsets MAX_TIMESTAMP reports it. */
export interface PartitionMaxTimestamp {
  partition: number;
  /** Offset of that record; null when the partition holds no record. */
  offset: number | null;
  /** Its Kafka timestamp (ms since the epoch); null when the partition holds no record. */
  timestamp: number | null;
}

/** The size of one partition's log on disk, as DescribeLogDirs reports it. */
export interface PartitionLogSize {
  partition: number;
  /** Bytes of its log (batches as stored: compressed, with headers); null when no broker reported it. */
  bytes: number | null;
}

/** Topic administration; `close()` it when done. */
export interface KafkaAdmin {
  /** Creates a topic and waits until every partition has a leader, so it can be written at once. */
  createTopic(name: string, partitions: number, options?: CreateTopicOptions): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  /** Grows a topic to `total` partitions (Kafka never shrinks one). */
  createPartitions(topic: string, total: number): Promise<void>;
  /** The partition numbers of a topic, ascending, from fresh metadata. */
  listPartitions(topic: string): Promise<number[]>;
  /** Deletes the records of a partition below `before`; returns the new log start offset. */
  deleteRecords(topic: string, partition: number, before: number): Promise<number>;
  /**
   * Per partition, the record with the greatest timestamp up to the high watermark (ListOffsets
   * MAX_TIMESTAMP, Kafka 3.0 and later): the newest event time a partition holds, for lag in
   * seconds. All of the topic's partitions when `partitions` is omitted.
   */
  listMaxTimestamps(topic: string, partitions?: readonly number[]): Promise<PartitionMaxTimestamp[]>;
  /**
   * Per partition, the size of its log on disk (DescribeLogDirs; the largest replica's, so a replica
   * still catching up does not shrink it): with the offsets, an average message size before any
   * record is read. All of the topic's partitions when `partitions` is omitted.
   */
  listPartitionSizes(topic: string, partitions?: readonly number[]): Promise<PartitionLogSize[]>;
  /** Ids of the consumer groups the cluster knows. */
  listGroups(): Promise<string[]>;
  close(): Promise<void>;
}

const READY_ATTEMPTS = 50;
const READY_DELAY_MS = 100;

/** Opens an admin client lazily: nothing connects until the first call. */
export function createKafkaAdmin(options: KafkaAdminOptions): KafkaAdmin {
  const brokers = parseBrokers(options.brokers);
  const clientId = requireClientId(options.clientId ?? 'sluice-admin');
  const admin = new Admin({ clientId, bootstrapBrokers: brokers, retries: 3, retryDelay: 250 });
  const context = (extra: Record<string, unknown>): Record<string, unknown> => ({ brokers, ...extra });

  async function call<T>(what: string, extra: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw convertKafkaError(error, what, context(extra));
    }
  }

  /** Leaders per partition, or the error: just after creation the topic may not be in metadata yet. */
  async function readPartitionLeaders(topic: string): Promise<{ leaders?: number[]; error?: unknown }> {
    try {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
      return { leaders: metadata.topics.get(topic)?.partitions.map((p) => p.leader) ?? [] };
    } catch (error) {
      return { error };
    }
  }

  /** The partitions a per-partition query covers: those given, checked, else all of the topic's. */
  async function partitionsAskedFor(topic: string, partitions: readonly number[] | undefined): Promise<number[]> {
    if (partitions !== undefined && !Array.isArray(partitions)) throw invalidOption('partitions', partitions, 'an array');
    return partitions?.map((p, i) => requireInteger(p, `partitions[${i}]`, 0, 2 ** 31 - 1)) ?? (await api.listPartitions(topic));
  }

  const api: KafkaAdmin = {
    async createTopic(name, partitions, topicOptions = {}) {
      const topic = requireTopic(name, 'name');
      const count = requireInteger(partitions, 'partitions', 1, 1_000_000);
      const replicas = topicOptions.replicas === undefined ? undefined : requireInteger(topicOptions.replicas, 'replicas', 1, 32_767);
      const configs = Object.entries(topicOptions.configs ?? {}).map(([configName, value]) => ({ name: configName, value }));
      await call(`cannot create topic ${topic}`, { topic, partitions: count }, () =>
        admin.createTopics({ topics: [topic], partitions: count, ...(replicas === undefined ? {} : { replicas }), configs }),
      );
      let lastError: unknown;
      for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
        const { leaders, error } = await readPartitionLeaders(topic);
        if (leaders !== undefined && leaders.length === count && leaders.every((leader) => leader >= 0)) return;
        lastError = error;
        await sleep(READY_DELAY_MS);
      }
      throw new SluiceError(ErrorCode.UNAVAILABLE, `topic ${topic} was created but its partitions have no leader yet`, {
        cause: lastError,
        context: context({ topic, partitions: count }),
      });
    },

    async deleteTopic(name) {
      const topic = requireTopic(name, 'name');
      await call(`cannot delete topic ${topic}`, { topic }, () => admin.deleteTopics({ topics: [topic] }));
    },

    async createPartitions(name, total) {
      const topic = requireTopic(name, 'topic');
      const count = requireInteger(total, 'total', 1, 1_000_000);
      await call(`cannot grow topic ${topic} to ${count} partitions`, { topic, total: count }, () =>
        admin.createPartitions({ topics: [{ name: topic, count }] }),
      );
    },

    async listPartitions(name) {
      const topic = requireTopic(name, 'topic');
      const metadata = await call(`cannot list partitions of topic ${topic}`, { topic }, () =>
        admin.metadata({ topics: [topic], forceUpdate: true }),
      );
      const count = metadata.topics.get(topic)?.partitionsCount;
      if (count === undefined) {
        throw new SluiceError(ErrorCode.NOT_FOUND, `topic ${topic} does not exist`, { retryable: false, context: context({ topic }) });
      }
      return Array.from({ length: count }, (_, i) => i);
    },

    async deleteRecords(name, partition, before) {
      const topic = requireTopic(name, 'topic');
      const index = requireInteger(partition, 'partition', 0, 2 ** 31 - 1);
      const offset = requireOffset(before, 'before');
      const deleted = await call(`cannot delete records of ${topic}/${index} below ${offset}`, { topic, partition: index, before: offset }, () =>
        admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: index, offset: BigInt(offset) }] }] }),
      );
      const lowWatermark = deleted.flatMap((t) => t.partitions).find((p) => p.partition === index)?.lowWatermark;
      if (lowWatermark === undefined) {
        throw new SluiceError(ErrorCode.REMOTE, `deleting records of ${topic}/${index} returned no low watermark`, {
          retryable: false,
          context: context({ topic, partition: index, before: offset }),
        });
      }
      return Number(lowWatermark);
    },

    async listMaxTimestamps(name, partitions) {
      const topic = requireTopic(name, 'topic');
      const ids = await partitionsAskedFor(topic, partitions);
      if (ids.length === 0) return [];
      const listed = await call(`cannot list the newest timestamps of topic ${topic}`, { topic, partitions: ids }, () =>
        admin.listOffsets({
          topics: [{ name: topic, partitions: ids.map((partitionIndex) => ({ partitionIndex, timestamp: ListOffsetTimestamps.MAX })) }],
          // Up to the high watermark: a record in an open transaction already is the newest event.
          isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
        }),
      );
      const found = new Map(listed.flatMap((t) => t.partitions).map((p) => [p.partitionIndex, p]));
      return ids.map((partition) => {
        const p = found.get(partition);
        // Kafka answers -1 for an empty partition (and for records written without a timestamp).
        if (p === undefined || p.offset < 0n || p.timestamp < 0n) return { partition, offset: null, timestamp: null };
        return { partition, offset: Number(p.offset), timestamp: Number(p.timestamp) };
      });
    },

    async listPartitionSizes(name, partitions) {
      const topic = requireTopic(name, 'topic');
      const ids = await partitionsAskedFor(topic, partitions);
      if (ids.length === 0) return [];
      const brokersSaid = await call(`cannot read the log sizes of topic ${topic}`, { topic, partitions: ids }, () =>
        admin.describeLogDirs({ topics: [{ name: topic, partitions: ids }] }),
      );
      const largest = new Map<number, number>();
      for (const broker of brokersSaid) {
        for (const dir of broker.results) {
          for (const t of dir.topics) {
            if (t.name !== topic) continue;
            for (const p of t.partitions) {
              // A future replica is a copy being moved between log dirs, not the log itself.
              if (p.isFutureKey) continue;
              largest.set(p.partitionIndex, Math.max(largest.get(p.partitionIndex) ?? 0, Number(p.partitionSize)));
            }
          }
        }
      }
      return ids.map((partition) => ({ partition, bytes: largest.get(partition) ?? null }));
    },

    async listGroups() {
      const groups = await call('cannot list consumer groups', {}, () => admin.listGroups());
      return [...groups.keys()].toSorted();
    },

    async close() {
      await admin.close();
    },
  };
  return api;
}

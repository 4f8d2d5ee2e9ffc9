/**
 * A connection to the cluster that many range reads share. A worker runs many range jobs at once;
 * opening connections per job would cost a TCP and ApiVersions handshake each time and, worse, give
 * every job its own long-poll, so the client keeps one connection per broker, one metadata cache
 * and one fetch loop per broker (see `node-fetcher.ts`).
 *
 * Underneath sits the library's `Admin` client, used only as a metadata cache and connection pool:
 * it never speaks the consumer group protocol, which is the point of this package.
 */
import { Admin, FetchIsolationLevels, kGetApi } from '@platformatic/kafka';
import type { ClusterMetadata, ClusterTopicMetadata, ListedOffsetsTopic, fetchV17 } from '@platformatic/kafka';
import { ErrorCode, SluiceError } from '@sluice/core';
import { parseBrokers } from './brokers.ts';
import type { BrokerList } from './brokers.ts';
import { convertKafkaError } from './kafka-error.ts';
import { createNodeFetcher } from './node-fetcher.ts';
import type { FetchApi, NodeFetcher, PartitionFetchRequest, PartitionFetchResult } from './node-fetcher.ts';
import { requireClientId, requireInteger } from './options.ts';

/** Options of `createKafkaClient`. */
export interface KafkaClientOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: BrokerList;
  /** Shown in broker logs and quotas; defaults to `sluice`. */
  clientId?: string;
  /** Cap of one Fetch response across all partitions of a round; default 50 MiB. */
  maxRequestBytes?: number;
  /** Milliseconds to open a connection; default 5,000. */
  connectTimeoutMs?: number;
}

/** A shared connection to a Kafka cluster; `close()` it when the process stops reading. */
export interface KafkaClient {
  readonly clientId: string;
  readonly brokers: readonly string[];
  /** Ends every fetch loop (waiting reads fail with CANCELLED) and closes the connections. */
  close(): Promise<void>;
}

/** Where a partition lives right now. */
export interface PartitionLocation {
  topic: string;
  topicId: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
}

/** What the readers of this package use of a client; not exported from the package. */
export interface ClientInternals {
  readonly brokers: readonly string[];
  /** Leader and topic id of a partition; `refresh` bypasses the metadata cache. */
  locate(topic: string, partition: number, refresh: boolean): Promise<PartitionLocation>;
  /** Fetches one partition in its leader's next round. */
  fetch(location: PartitionLocation, request: Omit<PartitionFetchRequest, 'topic' | 'topicId' | 'partition' | 'leaderEpoch'>, signal?: AbortSignal): Promise<PartitionFetchResult>;
  /** Number of partitions of a topic, from fresh metadata. */
  countPartitions(topic: string): Promise<number>;
  /** ListOffsets for some partitions at one timestamp (or -1n latest, -2n earliest); -1 where none. */
  queryOffsets(topic: string, partitions: readonly number[], timestamp: bigint, isolationLevel: IsolationLevel): Promise<Map<number, number>>;
  /** Forgets cached metadata, after the broker said it is stale. */
  invalidate(): void;
  /** Throws CANCELLED once the client is closed. */
  assertOpen(): void;
}

/** READ_UNCOMMITTED (0) or READ_COMMITTED (1). */
export type IsolationLevel = (typeof FetchIsolationLevels)[keyof typeof FetchIsolationLevels];

const internalsByClient = new WeakMap<KafkaClient, ClientInternals>();

/** The internals of a client made by `createKafkaClient`. */
export function getClientInternals(client: KafkaClient): ClientInternals {
  const internals = internalsByClient.get(client);
  if (internals === undefined) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, 'client must come from createKafkaClient', {
      retryable: false,
      context: { option: 'client' },
    });
  }
  return internals;
}

/** Opens a client lazily: nothing connects until the first request. */
export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  const brokers = parseBrokers(options.brokers);
  const clientId = requireClientId(options.clientId ?? 'sluice');
  const maxRequestBytes = requireInteger(options.maxRequestBytes ?? 50 * 1024 * 1024, 'maxRequestBytes', 1024);
  const connectTimeout = requireInteger(options.connectTimeoutMs ?? 5_000, 'connectTimeoutMs', 1);
  const library = new Admin({
    clientId,
    bootstrapBrokers: brokers,
    connectTimeout,
    // Leaders are refreshed on NOT_LEADER and friends, so the cache may live longer than 5 s.
    metadataMaxAge: 60_000,
    retries: 3,
    retryDelay: 250,
  });
  const fetchers = new Map<number, NodeFetcher>();
  let closed = false;
  let apiPromise: Promise<FetchApi> | undefined;

  const context = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ brokers, clientId, ...extra });

  function assertOpen(): void {
    if (closed) throw new SluiceError(ErrorCode.CANCELLED, 'the Kafka client is closed', { retryable: false, context: context() });
  }

  function getApi(): Promise<FetchApi> {
    apiPromise ??= new Promise<FetchApi>((resolve, reject) => {
      library[kGetApi]<fetchV17.FetchRequest, fetchV17.FetchResponse>('Fetch', (error, api) =>
        error !== null || api === undefined ? reject(error) : resolve(api),
      );
    });
    // A failure (broker down) must not stick: the next round asks again.
    apiPromise.catch(() => (apiPromise = undefined));
    return apiPromise;
  }

  // Reading never creates a topic (that would hide a misspelt name): say both ways out.
  function missingTopic(topic: string, cause?: SluiceError): SluiceError {
    return new SluiceError(ErrorCode.NOT_FOUND, `topic ${topic} does not exist on the brokers: check its name, or create the topic first`, {
      retryable: false,
      context: context({ topic }),
      ...(cause === undefined ? {} : { cause }),
    });
  }

  async function readMetadata(topic: string, refresh: boolean): Promise<{ metadata: ClusterMetadata; topicMetadata: ClusterTopicMetadata }> {
    let metadata: ClusterMetadata;
    try {
      metadata = await library.metadata({ topics: [topic], forceUpdate: refresh });
    } catch (error) {
      const converted = convertKafkaError(error, `cannot read metadata of topic ${topic}`, context({ topic }));
      if (converted.code !== ErrorCode.NOT_FOUND) throw converted;
      throw missingTopic(topic, converted);
    }
    const topicMetadata = metadata.topics.get(topic);
    if (topicMetadata === undefined) throw missingTopic(topic);
    return { metadata, topicMetadata };
  }

  async function locate(topic: string, partition: number, refresh: boolean): Promise<PartitionLocation> {
    assertOpen();
    let { topicMetadata } = await readMetadata(topic, refresh);
    // Partitions added since the cache was filled: look once more before calling it missing.
    if (partition >= topicMetadata.partitionsCount && !refresh) ({ topicMetadata } = await readMetadata(topic, true));
    const p = topicMetadata.partitions[partition];
    if (p === undefined) {
      throw new SluiceError(ErrorCode.NOT_FOUND, `topic ${topic} has no partition ${partition}`, {
        retryable: false,
        context: context({ topic, partition, partitions: topicMetadata.partitionsCount }),
      });
    }
    if (p.leader < 0) {
      throw new SluiceError(ErrorCode.UNAVAILABLE, `partition ${topic}/${partition} has no leader`, { context: context({ topic, partition }) });
    }
    return { topic, topicId: topicMetadata.id, partition, leader: p.leader, leaderEpoch: p.leaderEpoch };
  }

  function fetcherOf(node: number): NodeFetcher {
    let fetcher = fetchers.get(node);
    if (fetcher === undefined) {
      fetcher = createNodeFetcher({
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        maxRequestBytes,
        getApi,
        async connect() {
          const broker = library.currentMetadata?.brokers.get(node);
          if (broker === undefined) {
            throw new SluiceError(ErrorCode.UNAVAILABLE, `broker ${node} is not in the cluster metadata`, { context: context({ node }) });
          }
          return library.connections.get(broker);
        },
      });
      fetchers.set(node, fetcher);
    }
    return fetcher;
  }

  const client: KafkaClient = {
    clientId,
    brokers,
    async close() {
      if (closed) return;
      closed = true;
      const reason = new SluiceError(ErrorCode.CANCELLED, 'the Kafka client was closed while a range read waited', {
        retryable: false,
        context: context(),
      });
      for (const fetcher of fetchers.values()) fetcher.close(reason);
      fetchers.clear();
      await library.close();
    },
  };
  async function countPartitions(topic: string): Promise<number> {
    assertOpen();
    const { topicMetadata } = await readMetadata(topic, true);
    return topicMetadata.partitionsCount;
  }

  async function queryOffsets(
    topic: string,
    partitions: readonly number[],
    timestamp: bigint,
    isolationLevel: IsolationLevel,
  ): Promise<Map<number, number>> {
    assertOpen();
    let listed: ListedOffsetsTopic[];
    try {
      listed = await library.listOffsets({
        topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
        isolationLevel,
      });
    } catch (error) {
      throw convertKafkaError(error, `cannot list offsets of topic ${topic}`, context({ topic, partitions }));
    }
    const offsets = new Map<number, number>();
    for (const t of listed) for (const p of t.partitions) offsets.set(p.partitionIndex, Number(p.offset));
    return offsets;
  }

  internalsByClient.set(client, {
    brokers,
    locate,
    countPartitions,
    queryOffsets,
    fetch(location, request, signal) {
      assertOpen();
      const { topic, topicId, partition, leaderEpoch } = location;
      return fetcherOf(location.leader).fetch({ ...request, topic, topicId, partition, leaderEpoch }, signal);
    },
    invalidate() {
      library.clearMetadata();
    },
    assertOpen,
  });
  return client;
}

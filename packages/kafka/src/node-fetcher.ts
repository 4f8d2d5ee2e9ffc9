/**
 * One fetch loop per broker, shared by every range read that the broker leads. A broker serves the
 * requests of one connection one at a time, so separate long-polling fetches per range would queue
 * behind each other; instead each round sends one Fetch for all waiting partitions, like a consumer
 * does for its assignment, and hands every range its partition's slice of the answer.
 *
 * Fetches are sessionless (session id 0, epoch -1: KIP-227's "full fetch, no session"): ranges come
 * and go every round, and a session would need its membership kept in sync across them.
 */
import type { API, Connection, RecordsBatch, fetchV17 } from '@platformatic/kafka';
import type { AbortedTransaction } from './trim-batches.ts';

/** The Fetch API the library negotiated with the broker (all versions take the same arguments). */
export type FetchApi = API<fetchV17.FetchRequest, fetchV17.FetchResponse>;

/** What one range asks of one round. */
export interface PartitionFetchRequest {
  topic: string;
  /** Topic UUID from metadata; Fetch v13+ names topics by it. */
  topicId: string;
  partition: number;
  offset: number;
  /** Leader epoch from metadata, so a stale leader answers FENCED_LEADER_EPOCH instead of data. */
  leaderEpoch: number;
  maxBytes: number;
  maxWaitMs: number;
}

/** One partition's part of a Fetch response. Bounds are -1 when the broker did not report them. */
export interface PartitionFetchResult {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: AbortedTransaction[] | null;
  batches: RecordsBatch[];
}

/** How a node fetcher reaches its broker. */
export interface NodeFetcherOptions {
  connect(): Promise<Connection>;
  getApi(): Promise<FetchApi>;
  isolationLevel: number;
  /** Cap of one Fetch response (the broker's `fetch.max.bytes` default is 50 MiB). */
  maxRequestBytes: number;
}

/** The fetch loop of one broker. */
export interface NodeFetcher {
  /** Fetches one partition in the next round; rejects with `signal.reason` when aborted. */
  fetch(request: PartitionFetchRequest, signal?: AbortSignal): Promise<PartitionFetchResult>;
  /** Rejects every waiting fetch with `reason`; later fetches reject at once. */
  close(reason: Error): void;
}

interface Demand {
  request: PartitionFetchRequest;
  settled: boolean;
  resolve(result: PartitionFetchResult): void;
  reject(error: unknown): void;
}

/** Starts the fetch loop of one broker; it runs only while some range waits for data. */
export function createNodeFetcher(options: NodeFetcherOptions): NodeFetcher {
  let queue: Demand[] = [];
  let running = false;
  let closedBy: Error | undefined;

  function fetch(request: PartitionFetchRequest, signal?: AbortSignal): Promise<PartitionFetchResult> {
    if (closedBy !== undefined) return Promise.reject(closedBy);
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<PartitionFetchResult>((resolve, reject) => {
      const onAbort = (): void => {
        queue = queue.filter((d) => d !== demand);
        settle(demand, () => reject(signal?.reason));
      };
      const demand: Demand = {
        request,
        settled: false,
        resolve: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(demand);
      if (!running) void run();
    });
  }

  async function run(): Promise<void> {
    running = true;
    try {
      // close() may run while a round is in flight; it empties the queue, which ends the loop.
      while (queue.length > 0) {
        const round = takeRound();
        if (round.length > 0) await sendRound(round);
      }
    } finally {
      running = false;
    }
  }

  /** At most one demand per partition per round: a Fetch names each partition once. */
  function takeRound(): Demand[] {
    const seen = new Set<string>();
    const round: Demand[] = [];
    const later: Demand[] = [];
    for (const demand of queue) {
      if (demand.settled) continue;
      const key = `${demand.request.topicId}:${demand.request.partition}`;
      if (seen.has(key)) later.push(demand);
      else {
        seen.add(key);
        round.push(demand);
      }
    }
    queue = later;
    return round;
  }

  async function sendRound(round: Demand[]): Promise<void> {
    let response: fetchV17.FetchResponse;
    let byName = false;
    try {
      const [connection, api] = await Promise.all([options.connect(), options.getApi()]);
      // Fetch up to v12 names topics by name, later versions by UUID.
      byName = api.version <= 12;
      const topics = new Map<string, fetchV17.FetchRequestTopic>();
      let requestBytes = 0;
      let maxWaitMs = Number.POSITIVE_INFINITY;
      for (const { request } of round) {
        const ref = byName ? request.topic : request.topicId;
        let topic = topics.get(ref);
        if (topic === undefined) {
          topic = { topicId: ref, partitions: [] };
          topics.set(ref, topic);
        }
        topic.partitions.push({
          partition: request.partition,
          currentLeaderEpoch: request.leaderEpoch,
          fetchOffset: BigInt(request.offset),
          lastFetchedEpoch: -1,
          partitionMaxBytes: request.maxBytes,
        });
        requestBytes += request.maxBytes;
        maxWaitMs = Math.min(maxWaitMs, request.maxWaitMs);
      }
      const maxBytes = Math.min(options.maxRequestBytes, requestBytes);
      response = await api.async(connection, maxWaitMs, 1, maxBytes, options.isolationLevel, 0, -1, [...topics.values()], [], '');
    } catch (error) {
      // Partition errors arrive as a thrown ResponseError that still carries the parsed response.
      const partial = partialResponse(error);
      if (partial === undefined) {
        for (const demand of round) settle(demand, () => demand.reject(error));
        return;
      }
      response = partial;
    }
    const results = new Map<string, PartitionFetchResult>();
    for (const topic of response.responses) {
      for (const p of topic.partitions) {
        results.set(`${topic.topicId}:${p.partitionIndex}`, {
          errorCode: p.errorCode,
          highWatermark: Number(p.highWatermark),
          lastStableOffset: Number(p.lastStableOffset),
          logStartOffset: Number(p.logStartOffset),
          abortedTransactions: p.abortedTransactions,
          batches: p.records ?? [],
        });
      }
    }
    for (const demand of round) {
      const { request } = demand;
      const result = results.get(`${byName ? request.topic : request.topicId}:${request.partition}`) ?? EMPTY_RESULT;
      settle(demand, () => demand.resolve(result));
    }
  }

  return {
    fetch,
    close(reason) {
      closedBy = reason;
      const waiting = queue;
      queue = [];
      for (const demand of waiting) settle(demand, () => demand.reject(reason));
    },
  };
}

/** A partition the response left out: no data this round. */
const EMPTY_RESULT: PartitionFetchResult = {
  errorCode: 0,
  highWatermark: -1,
  lastStableOffset: -1,
  logStartOffset: -1,
  abortedTransactions: null,
  batches: [],
};

function settle(demand: Demand, action: () => void): void {
  if (demand.settled) return;
  demand.settled = true;
  action();
}

/** The response inside a ResponseError whose errors are all per partition (top-level code 0). */
function partialResponse(error: unknown): fetchV17.FetchResponse | undefined {
  if (typeof error !== 'object' || error === null || !('response' in error)) return undefined;
  const response = (error as { response: unknown }).response as Partial<fetchV17.FetchResponse> | undefined;
  if (response === undefined || response.errorCode !== 0 || !Array.isArray(response.responses)) return undefined;
  return response as fetchV17.FetchResponse;
}

/**
 * Readers accept either a shared client (workers: one per process) or a broker list (one-off
 * calls, tests); with brokers they open a client for the call and close it afterwards.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import { parseBrokers } from './brokers.ts';
import type { BrokerList } from './brokers.ts';
import { requireClientId } from './options.ts';
import { createKafkaClient, getClientInternals } from './client.ts';
import type { ClientInternals, KafkaClient } from './client.ts';

/** A shared client, or brokers to open a client for one call. */
export type KafkaSource =
  | { client: KafkaClient; brokers?: never; clientId?: never }
  | { brokers: BrokerList; clientId?: string; client?: never };

/** A client to use for one call, and whether the call owns (and must close) it. */
export interface SourceLease {
  client: KafkaClient;
  internals: ClientInternals;
  release(): Promise<void>;
}

/** Checks a source without opening anything, so that bad options fail at the call, not on first use. */
export function checkKafkaSource(source: KafkaSource): void {
  if (source.client !== undefined) {
    getClientInternals(source.client);
    return;
  }
  if (source.brokers === undefined) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, 'either client or brokers must be given', {
      retryable: false,
      context: { option: 'brokers' },
    });
  }
  parseBrokers(source.brokers);
  if (source.clientId !== undefined) requireClientId(source.clientId);
}

/** Opens the source for one call; `release()` closes the client if the call opened it. */
export function openKafkaSource(source: KafkaSource): SourceLease {
  checkKafkaSource(source);
  if (source.client !== undefined) {
    return { client: source.client, internals: getClientInternals(source.client), release: async () => {} };
  }
  const client = createKafkaClient({ brokers: source.brokers as BrokerList, ...(source.clientId === undefined ? {} : { clientId: source.clientId }) });
  return { client, internals: getClientInternals(client), release: () => client.close() };
}

/**
 * Where the integration tests find the real services that `infra/local/up` starts, and unique
 * names so that tests never share a key, queue, topic or path.
 */
import { randomUUID } from 'node:crypto';

/** Redis URL of the local stack (`REDIS_URL`, else the `REDIS_PORT` default of `infra/local`). */
export function redisUrl(): string {
  return process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;
}

/** The local stack's Redis URL on database `db`: for a test whose processes must not see other tests' keys. */
export function redisDatabaseUrl(db: number): string {
  const url = new URL(redisUrl());
  url.pathname = `/${db}`;
  return url.href;
}

/** Kafka bootstrap brokers of the local stack. */
export function kafkaBrokers(): string[] {
  return (process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`).split(',');
}

/** Base URL of the NameNode's WebHDFS endpoint, e.g. `http://127.0.0.1:9870`. */
export function webhdfsUrl(): string {
  return process.env.WEBHDFS_URL ?? `http://127.0.0.1:${process.env.WEBHDFS_PORT ?? '9870'}`;
}

/** A name no other test uses: `${prefix}-${uuid}`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** Removing the keys a demo (or a test of the CLI) owns, by pattern, without blocking Redis. */
import type { Redis } from 'ioredis';

/** Unlinks every key matching `pattern`, scanning in pages so a large keyspace never blocks Redis. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

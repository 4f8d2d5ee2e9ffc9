import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createLease, readLeaseHolder } from '../src/index.ts';
import type { Lease } from '../src/index.ts';

const url = process.env.REDIS_URL ?? `redis://127.0.0.1:${process.env.REDIS_PORT ?? '6379'}`;

/** Leases on keys of their own, so a coordinator running on this Redis is neither seen nor disturbed. */
function leases(t: TestContext): { redis: Redis; key: string; create(holder: string, ttlMs?: number): Lease } {
  const redis = new Redis(url);
  const key = `test:lease:${randomUUID()}`;
  const epochKey = `${key}:epoch`;
  t.after(async () => {
    await redis.del(key, epochKey);
    redis.disconnect();
  });
  return { redis, key, create: (holder, ttlMs = 60_000) => createLease(redis, { holder, ttlMs, key, epochKey }) };
}

test('two holders race for the lease: exactly one gets a token', async (t) => {
  const { redis, key, create } = leases(t);
  for (let round = 0; round < 20; round += 1) {
    const contenders = Array.from({ length: 4 }, (_, i) => create(`holder-${round}-${i}`));
    const tokens = await Promise.all(contenders.map((l) => l.tryAcquire()));
    const winners = contenders.filter((_, i) => tokens[i] !== undefined);
    assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(tokens)}`);
    const winner = winners[0] as Lease;
    assert.deepEqual(await readLeaseHolder(redis, key), { holder: `holder-${round}-${contenders.indexOf(winner)}`, token: winner.token });
    assert.equal(await winner.tryAcquire(), winner.token, 'the holder acquiring again keeps its token');
    await winner.release();
    assert.equal(await readLeaseHolder(redis, key), undefined);
  }
});

test('fencing tokens increase with every acquisition, whoever acquires', async (t) => {
  const { create } = leases(t);
  const a = create('a');
  const b = create('b');
  const seen: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const holder = i % 2 === 0 ? a : b;
    const token = await holder.tryAcquire();
    assert.ok(token !== undefined);
    seen.push(token);
    await holder.release();
  }
  assert.deepEqual(seen, [...seen].sort((x, y) => x - y));
  assert.equal(new Set(seen).size, seen.length, 'no token is issued twice');
});

test('a holder whose lease expired and was taken cannot renew or release the new holder\'s lease', async (t) => {
  const { redis, key, create } = leases(t);
  const expireAndTake = async (deposed: Lease): Promise<{ current: Lease; token: number }> => {
    const oldToken = await deposed.tryAcquire();
    assert.ok(oldToken !== undefined);
    while ((await readLeaseHolder(redis, key)) !== undefined) await sleep(20);
    const current = create('current');
    const token = await current.tryAcquire();
    assert.ok(token !== undefined && token > oldToken);
    return { current, token };
  };
  const renewing = create('renewing', 100);
  const first = await expireAndTake(renewing);
  assert.equal(await renewing.renew(), false);
  assert.equal(renewing.token, undefined, 'a failed renewal forgets the token');
  assert.equal(await first.current.renew(), true);
  await first.current.release();

  const releasing = create('releasing', 100);
  const second = await expireAndTake(releasing);
  await releasing.release();
  assert.deepEqual(await readLeaseHolder(redis, key), { holder: 'current', token: second.token }, 'the deposed holder\'s release is a no-op');
});

test('release lets a waiting holder acquire at once, not after the lease time', async (t) => {
  const { redis, key, create } = leases(t);
  const leader = create('leader', 60_000);
  const standby = create('standby', 60_000);
  assert.ok((await leader.tryAcquire()) !== undefined);
  assert.equal(await standby.tryAcquire(), undefined);
  assert.equal(await standby.renew(), false, 'renewing a lease never held fails');
  await leader.release();
  const token = await standby.tryAcquire();
  assert.ok(token !== undefined);
  assert.equal((await readLeaseHolder(redis, key))?.holder, 'standby');
  assert.ok((await redis.pttl(key)) > 30_000, 'the new holder got a full lease time');
});

test('renew extends the lease; the holder name may contain colons', async (t) => {
  const { redis, key, create } = leases(t);
  const lease = create('host:1234:abcd', 300);
  const token = await lease.tryAcquire();
  for (let i = 0; i < 5; i += 1) {
    await sleep(100);
    assert.equal(await lease.renew(), true);
  }
  assert.deepEqual(await readLeaseHolder(redis, key), { holder: 'host:1234:abcd', token }, 'held past its first lease time by renewals');
});

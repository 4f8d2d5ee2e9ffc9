/**
 * One coordinator is active at a time: it holds a lease in Redis that it renews well before it
 * expires. Each acquisition takes a new fencing token from a counter, so anything the coordinator
 * writes can carry the token and a deposed leader (paused, partitioned) is recognisable as stale.
 */
import type { Redis } from 'ioredis';
import { COORDINATOR_EPOCH, COORDINATOR_LEASE } from './keys.ts';

// KEYS[1] lease, KEYS[2] epoch; ARGV[1] holder, ARGV[2] ttl ms.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local holder, token = string.match(current, '^(.*):(%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
`;

// KEYS[1] lease; ARGV[1] expected value, ARGV[2] ttl ms (0 = release).
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/** Options of `createLease`. */
export interface LeaseOptions {
  /** Unique name of this process, e.g. `${hostname}:${pid}:${random}`. */
  holder: string;
  /** How long the lease lives without renewal. */
  ttlMs?: number;
  /** The lease key; defaults to `COORDINATOR_LEASE` (tests and separate installations pass their own). */
  key?: string;
  /** The counter of fencing tokens; defaults to `COORDINATOR_EPOCH`. */
  epochKey?: string;
}

/** A coordinator lease. */
export interface Lease {
  /** Tries once to take (or keep) the lease; returns the fencing token, or undefined when another holds it. */
  tryAcquire(): Promise<number | undefined>;
  /** Extends the lease; false means it was lost (expired and taken by another). */
  renew(): Promise<boolean>;
  /** Gives the lease up, so a standby takes over at once. */
  release(): Promise<void>;
  readonly token: number | undefined;
  readonly ttlMs: number;
  /** The lease key and the value it holds while this holder has it, for fenced writes; undefined when not held. */
  fence(): LeaseFence | undefined;
}

/** What a fenced write checks: the lease key still holds `value`. */
export interface LeaseFence {
  key: string;
  value: string;
}

/** Creates a lease handle for one holder (the caller owns the connection). */
export function createLease(redis: Redis, options: LeaseOptions): Lease {
  const ttlMs = options.ttlMs ?? 10_000;
  const key = options.key ?? COORDINATOR_LEASE;
  const epochKey = options.epochKey ?? COORDINATOR_EPOCH;
  let token: number | undefined;
  const value = (): string => `${options.holder}:${String(token)}`;
  return {
    get token() {
      return token;
    },
    ttlMs,
    fence() {
      return token === undefined ? undefined : { key, value: value() };
    },
    async tryAcquire() {
      const got = Number(await redis.eval(ACQUIRE, 2, key, epochKey, options.holder, String(ttlMs)));
      token = got > 0 ? got : undefined;
      return token;
    },
    async renew() {
      if (token === undefined) return false;
      const ok = Number(await redis.eval(RENEW, 1, key, value(), String(ttlMs))) === 1;
      if (!ok) token = undefined;
      return ok;
    },
    async release() {
      if (token === undefined) return;
      await redis.eval(RENEW, 1, key, value(), '0');
      token = undefined;
    },
  };
}

/** Who holds the coordinator lease now, if anyone (for `sluice backfill` to say no coordinator is alive). */
export async function readLeaseHolder(redis: Redis, key: string = COORDINATOR_LEASE): Promise<{ holder: string; token: number } | undefined> {
  const current = await redis.get(key);
  if (current === null) return undefined;
  const at = current.lastIndexOf(':');
  return { holder: current.slice(0, at), token: Number(current.slice(at + 1)) };
}

// KEYS[1] protocol key, KEYS[2] lease; ARGV[1] the lease value the claimer holds it with, ARGV[2]
// its protocol. Returns -1 when the lease is not held so, the recorded protocol when it is higher,
// else 0 (recorded, raised if lower).
const CLAIM_PROTOCOL = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local mine = tonumber(ARGV[2])
if current > mine then return current end
if current < mine then redis.call('SET', KEYS[1], ARGV[2]) end
return 0
`;

/** What `claimPlanningProtocol` found. */
export type ProtocolClaim = { ok: true } | { ok: false; reason: 'not-leader' } | { ok: false; reason: 'newer'; recorded: number };

/**
 * Records that the holder of `fence` leads with planning protocol `protocol` in the key
 * `protocolKey`, unless a coordinator of a higher protocol has led there: one that would plan a
 * run differently (other split ids) must never re-plan what a newer one planned.
 */
export async function claimPlanningProtocol(redis: Redis, protocolKey: string, fence: LeaseFence, protocol: number): Promise<ProtocolClaim> {
  const got = Number(await redis.eval(CLAIM_PROTOCOL, 2, protocolKey, fence.key, fence.value, String(protocol)));
  if (got === -1) return { ok: false, reason: 'not-leader' };
  if (got > 0) return { ok: false, reason: 'newer', recorded: got };
  return { ok: true };
}

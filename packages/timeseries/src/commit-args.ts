/**
 * The wire format between the store and `commit.lua`: every key in KEYS (so the script declares
 * all it touches, as Redis Cluster requires), and the operations as a flat token stream in ARGV,
 * so a chunk of tens of thousands of field updates is one EVALSHA with no string parsing in Lua.
 *
 * KEYS: [fence, stats, dead letters] when fenced, then per op its key (and side key for gauge and list).
 * ARGV: 'F'|'M' splitId seq resumeAt startsAt records badRecords bytes expired nDead dead* | 'U', then ops
 * ('M': several split ids separated by newlines, applied only if none has a fence yet; startsAt:
 * where the fence must have ended for the chunk to apply, '' for no check):
 *   C ttl increment | H ttl n (field count)*n | S ttl n member*n | G ttl tsMicros value
 *   L ttl ordinal n value*n | R ttl n value*n | T ttl          (ttl: whole seconds; exactly "0" = no EXPIRE)
 */
import type { ChunkStats } from '@sluice/core';
import type { CommitOp } from './commit-plan.ts';
import { gaugeTimeKey, seriesOrderKey } from './keys.ts';

/** The fence part of a commit. */
export interface FenceArgs {
  fenceKey: string;
  statsKey: string;
  deadLettersKey: string;
  splitId: string;
  /** More splits committed by this one chunk, all or nothing ('M'); `splitId` is the first. */
  alsoSplitIds?: readonly string[];
  seq: number;
  resumeAt: number;
  /** The fence's `resumeAt` this chunk must follow (see `Chunk.startsAt`). */
  startsAt?: number;
  stats: ChunkStats;
  expired: number;
  /** Dead letters, already serialized. */
  deadLetters: readonly string[];
}

/** KEYS and ARGV of one `commit.lua` call. */
export interface CommitArgs {
  keys: string[];
  args: string[];
}

/** Encodes ops (and the fence, for a fenced commit) as the script's KEYS and ARGV. */
export function encodeCommitArgs(ops: readonly CommitOp[], fence?: FenceArgs): CommitArgs {
  const keys: string[] = [];
  const args: string[] = [];
  if (fence === undefined) {
    args.push('U');
  } else {
    keys.push(fence.fenceKey, fence.statsKey, fence.deadLettersKey);
    const also = fence.alsoSplitIds ?? [];
    args.push(
      also.length === 0 ? 'F' : 'M',
      also.length === 0 ? fence.splitId : [fence.splitId, ...also].join('\n'),
      String(fence.seq),
      String(fence.resumeAt),
      fence.startsAt === undefined ? '' : String(fence.startsAt),
      String(fence.stats.records),
      String(fence.stats.badRecords),
      String(fence.stats.bytes),
      String(fence.expired),
      String(fence.deadLetters.length),
    );
    for (const letter of fence.deadLetters) args.push(letter);
  }
  for (const op of ops) {
    const ttl = String(op.ttl);
    keys.push(op.key);
    switch (op.kind) {
      case 'count':
        args.push('C', ttl, String(op.increment));
        break;
      case 'hash':
        args.push('H', ttl, String(op.fields.size));
        for (const [field, count] of op.fields) args.push(field, String(count));
        break;
      case 'set':
        args.push('S', ttl, String(op.members.length));
        for (const member of op.members) args.push(member);
        break;
      case 'gauge':
        keys.push(gaugeTimeKey(op.key));
        args.push('G', ttl, String(op.tsMicros), op.value);
        break;
      case 'list':
        keys.push(seriesOrderKey(op.key));
        args.push('L', ttl, String(op.ordinal), String(op.values.length));
        for (const value of op.values) args.push(value);
        break;
      case 'push':
        args.push('R', ttl, String(op.values.length));
        for (const value of op.values) args.push(value);
        break;
      case 'touch':
        args.push('T', ttl);
        break;
    }
  }
  return { keys, args };
}

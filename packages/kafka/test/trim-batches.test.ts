import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { ControlType, trimBatches } from '../src/trim-batches.ts';
import type { AbortedTransaction, FetchedBatch } from '../src/trim-batches.ts';
import { makeBatch, makeControlBatch } from './fake-log.ts';

const values = (records: { value: Buffer | null }[]): (string | null)[] => records.map((r) => r.value?.toString() ?? null);

test('records before the position and at or after until are dropped from whole batches', () => {
  const batches = [makeBatch(5, ['a', 'b', 'c', 'd', 'e']), makeBatch(10, ['f', 'g', 'h', 'i', 'j'])];
  const { records, nextOffset } = trimBatches(batches, { position: 7, until: 12 });
  assert.deepEqual(records.map((r) => r.offset), [7, 8, 9, 10, 11]);
  assert.deepEqual(values(records), ['c', 'd', 'e', 'f', 'g']);
  assert.equal(nextOffset, 15, 'the next fetch starts after the last batch seen');
});

test('timestamps are the batch base plus the record delta, or the max timestamp with LogAppendTime', () => {
  const create = makeBatch(0, ['a', 'b'], { firstTimestamp: 1_000 });
  assert.deepEqual(trimBatches([create], { position: 0, until: 2 }).records.map((r) => r.timestamp), [1_000, 1_001]);
  const append = makeBatch(0, ['a', 'b'], { firstTimestamp: 1_000, attributes: 0x08 });
  assert.deepEqual(trimBatches([append], { position: 0, until: 2 }).records.map((r) => r.timestamp), [1_002, 1_002]);
});

test('compacted gaps: missing offsets are skipped and the position still moves past the batch', () => {
  const compacted = makeBatch(20, ['x', 'y'], { offsetDeltas: [1, 4], lastOffsetDelta: 6 });
  const { records, nextOffset } = trimBatches([compacted], { position: 20, until: 30 });
  assert.deepEqual(records.map((r) => r.offset), [21, 24]);
  assert.equal(nextOffset, 27);
});

test('a batch starting at or past until ends the range even when offsets before it are missing', () => {
  const { records, nextOffset } = trimBatches([makeBatch(40, ['z'])], { position: 30, until: 35 });
  assert.deepEqual(records, []);
  assert.equal(nextOffset, 40);
});

test('control batches are dropped, and an aborted transaction is dropped up to its ABORT marker', () => {
  const batches: FetchedBatch[] = [
    makeBatch(0, ['t1', 't2'], { attributes: 0x10, producerId: 7n }),
    makeBatch(2, ['plain']),
    makeControlBatch(3, 7n, ControlType.ABORT),
    makeBatch(4, ['t3'], { attributes: 0x10, producerId: 7n }),
    makeControlBatch(5, 7n, ControlType.COMMIT),
  ];
  const aborted: AbortedTransaction[] = [{ producerId: 7n, firstOffset: 0n }];
  const { records, nextOffset } = trimBatches(batches, { position: 0, until: 10, abortedTransactions: aborted });
  assert.deepEqual(values(records), ['plain', 't3'], 'the second transaction of the same producer committed');
  assert.equal(nextOffset, 6);
});

test('headers come out with string keys, in wire order', () => {
  const batch = makeBatch(0, ['a']);
  batch.records[0]!.headers = [[Buffer.from('k'), Buffer.from('v')], [Buffer.from('k'), null]];
  assert.deepEqual(trimBatches([batch], { position: 0, until: 1 }).records[0]?.headers, [['k', Buffer.from('v')], ['k', null]]);
});

/**
 * A random log: transactions of distinct producers interleaved with plain batches, some aborted,
 * some records compacted away. The oracle says which offsets a READ_COMMITTED reader must see.
 */
interface Log {
  batches: FetchedBatch[];
  aborted: { producerId: bigint; firstOffset: number; markerOffset: number }[];
  visible: number[];
  end: number;
}

const logArbitrary = fc
  .array(
    fc.record({
      transactional: fc.boolean(),
      abort: fc.boolean(),
      sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
      keep: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((groups): Log => {
    const batches: FetchedBatch[] = [];
    const aborted: Log['aborted'] = [];
    const visible: number[] = [];
    let offset = 0;
    groups.forEach((group, g) => {
      const producerId = BigInt(100 + g);
      const firstOffset = offset;
      let k = 0;
      for (const size of group.sizes) {
        const deltas = Array.from({ length: size }, (_, i) => i).filter(() => group.keep[k++ % 12] !== false);
        batches.push(
          makeBatch(offset, deltas.map((d) => `r${offset + d}`), {
            offsetDeltas: deltas,
            lastOffsetDelta: size - 1,
            ...(group.transactional ? { attributes: 0x10, producerId } : {}),
          }),
        );
        if (!(group.transactional && group.abort)) visible.push(...deltas.map((d) => offset + d));
        offset += size;
      }
      if (group.transactional) {
        batches.push(makeControlBatch(offset, producerId, group.abort ? ControlType.ABORT : ControlType.COMMIT));
        if (group.abort) aborted.push({ producerId, firstOffset, markerOffset: offset });
        offset += 1;
      }
    });
    return { batches, aborted, visible, end: offset };
  });

test('property: any window yields exactly the visible offsets in it, in order, and moves forward', () => {
  fc.assert(
    fc.property(logArbitrary, fc.nat(), fc.nat(), (log, a, b) => {
      const position = a % (log.end + 1);
      const until = position + (b % (log.end + 2 - position));
      // The broker sends batches from the one holding the position, and the aborted transactions
      // that are still open at it (marker at or after the position).
      const fetched = log.batches.filter((batch) => Number(batch.firstOffset) + batch.lastOffsetDelta >= position);
      const abortedTransactions = log.aborted
        .filter((t) => t.markerOffset >= position)
        .map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }));
      const { records, nextOffset } = trimBatches(fetched, { position, until, abortedTransactions });
      assert.deepEqual(records.map((r) => r.offset), log.visible.filter((o) => o >= position && o < until));
      assert.ok(nextOffset >= position);
      if (fetched.length > 0 && until > position) assert.ok(nextOffset > position, 'a non-empty fetch always moves the position');
      if (nextOffset < until) assert.equal(nextOffset, log.end, 'the window ends early only when the log does');
    }),
    { numRuns: 500 },
  );
});

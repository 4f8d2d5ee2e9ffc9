/**
 * The combiner folds a split's emits into partial aggregates, one per Redis key, so a split of a
 * million records becomes a few thousand key updates. Every fold is commutative and associative
 * (sums, set unions, max by event time) except `series` lists, which keep source order within a
 * split; the commit orders splits. That is what makes the result independent of how the input was
 * split and in which order splits finish.
 */
import type { Aggregate } from './aggregate.ts';
import { encodeValue } from './encode.ts';
import { ErrorCode, SluiceError } from './errors.ts';
import { createIntervalCalc } from './intervals.ts';
import type { IntervalCalc } from './intervals.ts';
import type { Emit, JobDefinition } from './job.ts';
import type { SeriesType, ValueKind } from './series.ts';

/** Options of `createCombiner`. */
export interface CombinerOptions {
  /**
   * Flush threshold: distinct keys plus distinct histogram fields, set members and list values.
   * Bounds memory; the runtime cuts a chunk when `full` turns true at a record boundary.
   */
  maxWeight?: number;
}

/** An in-memory combiner for one chunk of one split. */
export interface Combiner {
  /** The `emit` handed to the processor. */
  readonly emit: Emit;
  /** Current weight (see `CombinerOptions.maxWeight`). */
  readonly weight: number;
  /** True once the weight reached the threshold: time to cut a chunk. */
  readonly full: boolean;
  /** Returns the aggregates folded so far and starts empty again. */
  drain(): Aggregate[];
}

interface Family {
  type: SeriesType;
  kind: ValueKind | undefined;
  intervals: { name: string; calc: IntervalCalc }[];
}

/** Creates a combiner for a job's series; emits to an undeclared series throw INVALID_DEFINITION. */
export function createCombiner(job: Pick<JobDefinition<never, never>, 'name' | 'series'>, options: CombinerOptions = {}): Combiner {
  // About 20k field updates keep one fenced commit (a Lua script) under ~50 ms of Redis time.
  const maxWeight = options.maxWeight ?? 20_000;
  const families = new Map<string, Family>();
  for (const [family, decl] of Object.entries(job.series)) {
    families.set(family, {
      type: decl.type,
      kind: decl.value,
      intervals: Object.entries(decl.intervals).map(([name, config]) => ({ name, calc: createIntervalCalc(config) })),
    });
  }
  let entries = new Map<string, Aggregate>();
  let weight = 0;

  const emit: Emit = (series, name, value, tsMicros) => {
    const family = families.get(series);
    if (family === undefined) {
      throw new SluiceError(
        ErrorCode.INVALID_DEFINITION,
        `job ${JSON.stringify(job.name)} emitted to series ${JSON.stringify(series)}, which it does not declare; add it to \`series\` or fix the name (declared: ${[...families.keys()].join(', ')})`,
        { context: { job: job.name, series } },
      );
    }
    if (!Number.isSafeInteger(tsMicros)) {
      throw new SluiceError(ErrorCode.BAD_RECORD, `event time must be whole epoch microseconds, got ${String(tsMicros)}`, {
        context: { job: job.name, series, name },
      });
    }
    if (family.type === 'count') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw new SluiceError(ErrorCode.BAD_RECORD, `count ${JSON.stringify(series)} takes an integer increment, got ${JSON.stringify(value)}`, {
          context: { job: job.name, series, name },
        });
      }
      // kairos sends no command for a zero increment, so no key appears.
      if (value === 0) return;
    }
    const encoded = family.type === 'count' ? '' : encodeValue(value, family.kind ?? inferKind(value));
    for (const { name: interval, calc } of family.intervals) {
      const iBucket = calc.iCalc.toBucket(tsMicros);
      const rBucket = calc.coarse ? undefined : calc.rCalc.toBucket(tsMicros);
      const id = `${series}\u0000${name}\u0000${interval}\u0000${iBucket}\u0000${rBucket ?? ''}`;
      let entry = entries.get(id);
      if (entry === undefined) {
        entry = createEntry(family.type, series, name, interval, iBucket, rBucket, encoded, tsMicros);
        entries.set(id, entry);
        weight += 1;
      }
      weight += fold(entry, value, encoded, tsMicros);
    }
  };

  return {
    emit,
    get weight() {
      return weight;
    },
    get full() {
      return weight >= maxWeight;
    },
    drain() {
      const out = [...entries.values()];
      entries = new Map();
      weight = 0;
      return out;
    },
  };
}

function createEntry(
  type: SeriesType,
  series: string,
  name: string,
  interval: string,
  iBucket: number,
  rBucket: number | undefined,
  encoded: string,
  tsMicros: number,
): Aggregate {
  const target = { series, name, interval, iBucket, emits: 0, ...(rBucket === undefined ? {} : { rBucket }) };
  switch (type) {
    case 'count':
      return { ...target, type, increment: 0 };
    case 'histogram':
      return { ...target, type, fields: new Map() };
    case 'set':
      return { ...target, type, members: new Set() };
    case 'series':
      return { ...target, type, values: [] };
    case 'gauge':
      return { ...target, type, value: encoded, tsMicros };
  }
}

/** Folds one emit into its entry; returns the weight added. */
function fold(entry: Aggregate, value: string | number, encoded: string, tsMicros: number): number {
  entry.emits += 1;
  switch (entry.type) {
    case 'count':
      entry.increment += value as number;
      return 0;
    case 'histogram': {
      const before = entry.fields.get(encoded);
      entry.fields.set(encoded, (before ?? 0) + 1);
      return before === undefined ? 1 : 0;
    }
    case 'set': {
      const before = entry.members.size;
      entry.members.add(encoded);
      return entry.members.size - before;
    }
    case 'series':
      entry.values.push(encoded);
      return 1;
    case 'gauge':
      if (tsMicros > entry.tsMicros || (tsMicros === entry.tsMicros && compareUtf8(encoded, entry.value) > 0)) {
        entry.tsMicros = tsMicros;
        entry.value = encoded;
      }
      return 0;
  }
}

/** Without a declared kind, numbers encode as kairos would write a Python int or float, strings as is. */
function inferKind(value: string | number): ValueKind {
  if (typeof value === 'string') return 'string';
  return Number.isInteger(value) ? 'integer' : 'float';
}

/** Byte order of the UTF-8 encodings, as the commit script (Lua) compares strings; differs from `<` only beyond the BMP. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

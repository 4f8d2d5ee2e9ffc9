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
  /**
   * Folds the first `count` of `slots` (one record's emits), all or nothing: every emit is checked
   * and encoded before any is folded, so a record refused half-way leaves no partial aggregates.
   */
  emitAll(slots: readonly EmitSlot[], count: number): void;
  /** Current weight (see `CombinerOptions.maxWeight`). */
  readonly weight: number;
  /** True once the weight reached the threshold: time to cut a chunk. */
  readonly full: boolean;
  /** Returns the aggregates folded so far, in first-emit order, and starts empty again. */
  drain(): Aggregate[];
}

/** One buffered emit, as a processor made it; slots are reused from record to record. */
export interface EmitSlot {
  series: string;
  name: string;
  value: string | number;
  tsMicros: number;
  /** Filled by `emitAll` between checking and folding. */
  family?: unknown;
  encoded?: string;
}

interface Family {
  series: string;
  /** The declared `namePrefix`, '' without one; entries carry prefix + emitted name. */
  namePrefix: string;
  type: SeriesType;
  kind: ValueKind | undefined;
  intervals: { name: string; calc: IntervalCalc; coarse: boolean }[];
  /**
   * Emitted name (without `namePrefix`) to its entries, one slot per interval. Keying by name
   * first hashes the processor's name string once per emit rather than a composite key once per
   * interval, which was the worker's hottest path; coarse intervals (most) key buckets by number.
   */
  names: Map<string, BucketSlot[]>;
}

/**
 * The entries of one name and interval: the last bucket used, and a map only once a second
 * bucket shows up. Within a chunk most names see one bucket per interval, and a map per name
 * and interval was most of the combiner's allocation.
 */
interface BucketSlot {
  key: number | string;
  entry: Aggregate;
  more: Map<number | string, Aggregate> | undefined;
}

/** Creates a combiner for a job's series; emits to an undeclared series throw INVALID_DEFINITION. */
export function createCombiner(job: Pick<JobDefinition<never, never>, 'name' | 'series'>, options: CombinerOptions = {}): Combiner {
  // About 20k field updates keep one fenced commit (a Lua script) under ~50 ms of Redis time.
  const maxWeight = options.maxWeight ?? 20_000;
  const families = new Map<string, Family>();
  for (const [family, decl] of Object.entries(job.series)) {
    families.set(family, {
      series: family,
      namePrefix: decl.namePrefix ?? '',
      type: decl.type,
      kind: decl.value,
      intervals: Object.entries(decl.intervals).map(([name, config]) => {
        const calc = createIntervalCalc(config);
        return { name, calc, coarse: calc.coarse };
      }),
      names: new Map(),
    });
  }
  let order: Aggregate[] = [];
  let weight = 0;

  /** Checks one emit as the fold would and returns its encoded value; throws what the fold would refuse. */
  const check = (series: string, name: string, value: string | number, tsMicros: number): Family => {
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
    if (family.type === 'count' && (typeof value !== 'number' || !Number.isSafeInteger(value))) {
      throw new SluiceError(ErrorCode.BAD_RECORD, `count ${JSON.stringify(series)} takes an integer increment, got ${JSON.stringify(value)}`, {
        context: { job: job.name, series, name },
      });
    }
    return family;
  };

  const encode = (family: Family, value: string | number): string =>
    family.type === 'count' ? '' : encodeValue(value, family.kind ?? inferKind(value));

  const foldInto = (family: Family, name: string, value: string | number, encoded: string, tsMicros: number): void => {
    // kairos sends no command for a zero increment, so no key appears.
    if (family.type === 'count' && value === 0) return;
    const intervals = family.intervals;
    // Built once per call, and only for a new entry: the lookup itself uses the emitted name.
    let fullName: string | undefined;
    let slots = family.names.get(name);
    if (slots === undefined) {
      slots = [];
      family.names.set(name, slots);
    }
    for (let i = 0; i < intervals.length; i += 1) {
      const { name: interval, calc, coarse } = intervals[i] as Family['intervals'][number];
      const iBucket = calc.iCalc.toBucket(tsMicros);
      const rBucket = coarse ? undefined : calc.rCalc.toBucket(tsMicros);
      const key = rBucket === undefined ? iBucket : `${iBucket}:${rBucket}`;
      const slot = slots[i];
      let entry: Aggregate | undefined;
      if (slot !== undefined && slot.key === key) {
        entry = slot.entry;
      } else {
        if (slot !== undefined) {
          slot.more ??= new Map([[slot.key, slot.entry]]);
          entry = slot.more.get(key);
        }
        if (entry === undefined) {
          fullName ??= family.namePrefix === '' ? name : family.namePrefix + name;
          entry = createEntry(family.type, family.series, fullName, interval, iBucket, rBucket, encoded, tsMicros);
          slot?.more?.set(key, entry);
          order.push(entry);
          weight += 1;
        }
        if (slot === undefined) slots[i] = { key, entry, more: undefined };
        else {
          slot.key = key;
          slot.entry = entry;
        }
      }
      weight += fold(entry, value, encoded, tsMicros);
    }
  };

  const emit: Emit = (series, name, value, tsMicros) => {
    const family = check(series, name, value, tsMicros);
    foldInto(family, name, value, encode(family, value), tsMicros);
  };

  const emitAll = (slots: readonly EmitSlot[], count: number): void => {
    if (count === 1) {
      const s = slots[0] as EmitSlot;
      emit(s.series, s.name, s.value, s.tsMicros);
      return;
    }
    for (let k = 0; k < count; k += 1) {
      const s = slots[k] as EmitSlot;
      const family = check(s.series, s.name, s.value, s.tsMicros);
      s.family = family;
      s.encoded = encode(family, s.value);
    }
    for (let k = 0; k < count; k += 1) {
      const s = slots[k] as EmitSlot;
      foldInto(s.family as Family, s.name, s.value, s.encoded as string, s.tsMicros);
    }
  };

  return {
    emit,
    emitAll,
    get weight() {
      return weight;
    },
    get full() {
      return weight >= maxWeight;
    },
    drain() {
      const out = order;
      order = [];
      for (const family of families.values()) family.names = new Map();
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
  // Literal objects rather than spreads: one shape per type (and rBucket presence), cheap to build.
  if (rBucket !== undefined) {
    switch (type) {
      case 'count':
        return { series, name, interval, iBucket, rBucket, emits: 0, type, increment: 0 };
      case 'histogram':
        return { series, name, interval, iBucket, rBucket, emits: 0, type, fields: new Map() };
      case 'set':
        return { series, name, interval, iBucket, rBucket, emits: 0, type, members: new Set() };
      case 'series':
        return { series, name, interval, iBucket, rBucket, emits: 0, type, values: [] };
      case 'gauge':
        return { series, name, interval, iBucket, rBucket, emits: 0, type, value: encoded, tsMicros };
    }
  }
  switch (type) {
    case 'count':
      return { series, name, interval, iBucket, emits: 0, type, increment: 0 };
    case 'histogram':
      return { series, name, interval, iBucket, emits: 0, type, fields: new Map() };
    case 'set':
      return { series, name, interval, iBucket, emits: 0, type, members: new Set() };
    case 'series':
      return { series, name, interval, iBucket, emits: 0, type, values: [] };
    case 'gauge':
      return { series, name, interval, iBucket, emits: 0, type, value: encoded, tsMicros };
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

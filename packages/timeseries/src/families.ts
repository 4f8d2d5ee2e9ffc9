/**
 * Series declarations preprocessed once per store: the effective kairos prefix and the interval
 * calculators, so neither the commit nor the reader re-parses steps per call.
 */
import { ErrorCode, SluiceError, createIntervalCalc } from '@sluice/core';
import type { IntervalCalc, SeriesDecl, SeriesType, ValueKind } from '@sluice/core';
import { normalizePrefix } from './keys.ts';

/** One series family, ready for key building and bucket math. */
export interface SeriesFamily {
  /** The family's name (the key of the job's `series`). */
  readonly name: string;
  readonly type: SeriesType;
  /** `keyPrefix` + the kairos prefix, normalized like kairos (':' appended when non-empty). */
  readonly prefix: string;
  /** Declared value encoding; undefined infers it from each value. */
  readonly kind: ValueKind | undefined;
  readonly intervals: ReadonlyMap<string, IntervalCalc>;
}

/** Preprocesses declarations; `keyPrefix` goes in front of every family's kairos prefix. */
export function resolveFamilies(series: Readonly<Record<string, SeriesDecl>>, keyPrefix = ''): ReadonlyMap<string, SeriesFamily> {
  const out = new Map<string, SeriesFamily>();
  for (const [name, decl] of Object.entries(series)) {
    const intervals = new Map<string, IntervalCalc>();
    for (const [interval, config] of Object.entries(decl.intervals)) intervals.set(interval, createIntervalCalc(config));
    out.set(name, { name, type: decl.type, prefix: normalizePrefix(keyPrefix + (decl.prefix ?? '')), kind: decl.value, intervals });
  }
  return out;
}

/** The family an operation names; an unknown one throws INVALID_DEFINITION listing what is declared. */
export function lookupFamily(families: ReadonlyMap<string, SeriesFamily>, series: string): SeriesFamily {
  const family = families.get(series);
  if (family === undefined) {
    throw new SluiceError(
      ErrorCode.INVALID_DEFINITION,
      `series ${JSON.stringify(series)} is not declared in this store (declared: ${[...families.keys()].join(', ') || 'none'})`,
      { context: { series } },
    );
  }
  return family;
}

/** The family and interval an operation names; unknown ones throw INVALID_DEFINITION listing what is declared. */
export function lookupInterval(
  families: ReadonlyMap<string, SeriesFamily>,
  series: string,
  interval: string,
): { family: SeriesFamily; calc: IntervalCalc } {
  const family = lookupFamily(families, series);
  const calc = family.intervals.get(interval);
  if (calc === undefined) {
    throw new SluiceError(
      ErrorCode.INVALID_DEFINITION,
      `series ${JSON.stringify(series)} has no interval ${JSON.stringify(interval)} (declared: ${[...family.intervals.keys()].join(', ')})`,
      { context: { series, interval } },
    );
  }
  return { family, calc };
}

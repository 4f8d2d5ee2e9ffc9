/**
 * kairos's row semantics without `read_func`: what one key reads back as (`_process_row`) and how
 * rows of several buckets fold into one (`_condense`, also used by `collapse`).
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { SeriesType } from '@sluice/core';

/**
 * One bucket's data: series → values in list order; histogram → value → count; count → number;
 * gauge → the raw value or null; set → members sorted (kairos returns an unordered Python set).
 */
export type Row = string[] | Record<string, number> | number | string | null;

/** A timestamped row: `[epoch seconds, row]`, the entries of kairos's OrderedDicts in order. */
export type Point<T> = [tsSeconds: number, row: T];

/** What the Redis read command of a key returned (LRANGE, HGETALL, GET, SMEMBERS). */
export type RawRow = string[] | Record<string, string> | string | null;

/** kairos `_process_row`: a raw reply as the row kairos returns (values stay strings). */
export function decodeRow(type: SeriesType, raw: RawRow, key: string): Row {
  switch (type) {
    case 'series':
      return Array.isArray(raw) ? raw : [];
    case 'set':
      return Array.isArray(raw) ? raw.toSorted() : [];
    case 'histogram': {
      const row: Record<string, number> = {};
      if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
        for (const [field, count] of Object.entries(raw)) define(row, field, parseInteger(count, key));
      }
      return row;
    }
    case 'count':
      return typeof raw === 'string' && raw.length > 0 ? parseInteger(raw, key) : 0;
    case 'gauge':
      return typeof raw === 'string' ? raw : null;
  }
}

/** kairos `_condense`: folds rows in timestamp order into one. */
export function condenseRows(type: SeriesType, rows: readonly Row[]): Row {
  switch (type) {
    case 'series':
      return rows.flatMap((row) => row as string[]);
    case 'set':
      return [...new Set(rows.flatMap((row) => row as string[]))].toSorted();
    case 'histogram': {
      const sum: Record<string, number> = {};
      for (const row of rows) {
        for (const [field, count] of Object.entries(row as Record<string, number>)) define(sum, field, (Object.hasOwn(sum, field) ? (sum[field] ?? 0) : 0) + count);
      }
      return sum;
    }
    case 'count':
      return rows.reduce<number>((total, row) => total + (row as number), 0);
    case 'gauge': {
      // The last value that Python finds truthy: neither None nor ''.
      let last: string | null = null;
      for (const row of rows) if (typeof row === 'string' && row.length > 0) last = row;
      return last;
    }
  }
}

/** Sets an own property whatever its name, `__proto__` included. */
function define(target: Record<string, number>, field: string, value: number): void {
  Object.defineProperty(target, field, { value, enumerable: true, writable: true, configurable: true });
}

function parseInteger(text: string, key: string): number {
  // Python's int() accepts surrounding whitespace; INCRBY never writes any.
  if (!/^\s*[-+]?[0-9]+\s*$/.test(text)) {
    throw new SluiceError(ErrorCode.CORRUPT_INPUT, `${key} holds ${JSON.stringify(text)}, which kairos cannot read as an integer count`, {
      context: { key, value: text },
    });
  }
  return Number(text);
}

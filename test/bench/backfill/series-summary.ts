/**
 * A summary of a job's kairos series that Sluice's Redis contents and the Spark baselines can both
 * be reduced to, so the benchmark proves they computed the same thing without shipping a million
 * keys around. Per `family:interval` (`dns.rcodes:days`): the number of keys; of entries (hash
 * fields, set members, 1 for a count or a gauge); the total (counts summed, histogram counts
 * summed, set sizes, 1 per gauge); and for gauges, how many keys hold each value.
 * `spark_network_metrics.py` computes the same shape.
 */
import type { Redis } from 'ioredis';
import type { SeriesDecl } from '@sluice/core';

/** One family and interval. */
export interface SeriesStat {
  keys: number;
  entries: number;
  total: number;
  /** Gauges only: value → number of keys holding it. */
  values?: Record<string, number>;
}

/** `family:interval` → its stats. */
export type SeriesSummary = Record<string, SeriesStat>;

/** Reads every kairos key under `prefix` (which ends in `:`) and summarizes it; keys of no family in `series` are an error. */
export async function readRedisSummary(redis: Redis, prefix: string, series: Readonly<Record<string, SeriesDecl>>): Promise<SeriesSummary> {
  const families = Object.entries(series).map(([name, decl]) => ({ name, type: decl.type, dotted: `${prefix}${name}.` }));
  const summary: SeriesSummary = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 20_000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipe = redis.pipeline();
    const targets = keys.map((key) => {
      const family = families.find((f) => key.startsWith(f.dotted));
      if (family === undefined) throw new Error(`key ${key} belongs to no series of the job`);
      const interval = key.split(':').at(-2) as string;
      if (family.type === 'count' || family.type === 'gauge') pipe.get(key);
      else if (family.type === 'histogram') pipe.hvals(key);
      else if (family.type === 'set') pipe.scard(key);
      else throw new Error(`series type ${family.type} is not summarized`);
      return { stat: `${family.name}:${interval}`, type: family.type };
    });
    const replies = (await pipe.exec()) ?? [];
    targets.forEach(({ stat, type }, i) => {
      const [error, value] = replies[i] ?? [new Error('no reply'), undefined];
      if (error !== null) throw error;
      const s = (summary[stat] ??= { keys: 0, entries: 0, total: 0 });
      s.keys += 1;
      if (type === 'count') {
        s.entries += 1;
        s.total += Number(value);
      } else if (type === 'gauge') {
        s.entries += 1;
        s.total += 1;
        const values = (s.values ??= {});
        values[value as string] = (values[value as string] ?? 0) + 1;
      } else if (type === 'histogram') {
        const counts = value as string[];
        s.entries += counts.length;
        for (const c of counts) s.total += Number(c);
      } else {
        s.entries += value as number;
        s.total += value as number;
      }
    });
  } while (cursor !== '0');
  return summary;
}

/** Number of keys a summary covers. */
export function countKeys(summary: SeriesSummary): number {
  return Object.values(summary).reduce((n, s) => n + s.keys, 0);
}

/** Human-readable differences between two summaries; empty when they are equal. */
export function diffSummaries(a: SeriesSummary, b: SeriesSummary, aName: string, bName: string): string[] {
  const out: string[] = [];
  for (const stat of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = JSON.stringify(normalize(a[stat]));
    const y = JSON.stringify(normalize(b[stat]));
    if (x !== y) out.push(`${stat}: ${aName} ${x}, ${bName} ${y}`);
  }
  return out;
}

function normalize(stat: SeriesStat | undefined): unknown {
  if (stat === undefined) return null;
  const values = stat.values === undefined ? undefined : Object.fromEntries(Object.entries(stat.values).sort(([p], [q]) => (p < q ? -1 : 1)));
  return { keys: stat.keys, entries: stat.entries, total: stat.total, ...(values === undefined ? {} : { values }) };
}

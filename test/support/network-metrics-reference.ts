/**
 * An independent reference for the network-metrics job: reads the raw dataset files with zlib and
 * JSON.parse (none of Sluice's decoders, combiner or store) and computes the Redis contents one
 * sequential kairos pass would leave. Tests compare what Sluice wrote against it.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';

/** The dataset folder (`SLUICE_DATASET_DIR`, else `../shared/datasets/wrccdc-2018` beside the repo). */
export function datasetDir(): string {
  return process.env.SLUICE_DATASET_DIR ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'datasets', 'wrccdc-2018');
}

/** Paths of the dataset files in one format. */
export function datasetFiles(format: 'ndjson' | 'zeek'): string[] {
  const ext = format === 'ndjson' ? 'ndjson.gz' : 'log.gz';
  return ['dns', 'ssl'].map((type) => join(datasetDir(), `${type}.${ext}`));
}

/** Expected value of one Redis key, in a form comparable with `dumpKeys`. */
export type KeyValue =
  | { type: 'string'; value: string }
  | { type: 'hash'; value: Record<string, string> }
  | { type: 'set'; value: string[] };

const STEPS = { days: 60, months: 1800 } as const;

/** Parses `2018-03-24T17:15:21.123456Z` to epoch microseconds without going through Date's milliseconds. */
function isoToMicros(iso: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (m === null) throw new Error(`unexpected ts ${iso}`);
  const seconds = Date.parse(`${m[1]}Z`) / 1000;
  return seconds * 1e6 + Number((m[2] ?? '').padEnd(6, '0'));
}

/** Newest event time of the NDJSON files, epoch microseconds. */
export function newestEventMicros(): number {
  let newest = 0;
  for (const record of readNdjson()) newest = Math.max(newest, isoToMicros(record.ts as string));
  return newest;
}

/** Whole days that move the dataset's newest event into the last day, so its buckets stay aligned and inside retention. */
export function wholeDaysShift(): number {
  return 86_400 * Math.floor((Date.now() / 1000 - newestEventMicros() / 1e6) / 86_400);
}

function readNdjson(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const file of datasetFiles('ndjson')) {
    for (const line of gunzipSync(readFileSync(file)).toString('utf8').split('\n')) {
      if (line.trim() !== '') out.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  return out;
}

/**
 * The Redis contents (key → value) that one sequential pass of network-metrics leaves, with
 * `shiftSeconds` added to event times, over `records` (by default every record of the dataset).
 */
/**
 * Whole-second bounds `[since, until)` (ISO) a third and two thirds into the dataset's events, and
 * the records inside them: for backfills bounded in event time. Bounds on whole seconds let
 * milliseconds compare exactly (Date.parse drops the microseconds).
 */
export function eventTimeWindow(): { since: string; until: string; inside: Record<string, unknown>[]; all: number } {
  const records = readNdjson();
  const times = records.map((r) => Date.parse(r.ts as string)).sort((a, b) => a - b);
  const at = (fraction: number): string => new Date(Math.floor((times[Math.floor(times.length * fraction)] as number) / 1000) * 1000).toISOString();
  const since = at(1 / 3);
  const until = at(2 / 3);
  const inside = records.filter((r) => Date.parse(r.ts as string) >= Date.parse(since) && Date.parse(r.ts as string) < Date.parse(until));
  return { since, until, inside, all: records.length };
}

export function computeReference(shiftSeconds: number, prefix = '', records: readonly Record<string, unknown>[] = readNdjson()): Map<string, KeyValue> {
  const counts = new Map<string, number>();
  const hashes = new Map<string, Map<string, number>>();
  const sets = new Map<string, Set<string>>();
  const gauges = new Map<string, { ts: number; value: string }>();
  const each = (name: string, ts: number, fn: (key: string) => void): void => {
    for (const [interval, step] of Object.entries(STEPS)) fn(`${prefix}${name}:${interval}:${Math.floor(ts / (step * 1e6))}`);
  };
  for (const r of records) {
    const ts = isoToMicros(r.ts as string) + shiftSeconds * 1e6;
    if (r._path === 'ssl') {
      const resp = r['id.resp_h'] as string;
      if (r.established === true) each(`tls.responses.${resp}`, ts, (k) => counts.set(k, (counts.get(k) ?? 0) + 1));
      if (typeof r.version === 'string') {
        each(`tls.versions.${resp}`, ts, (k) => bump(hashes, k, r.version as string));
      }
      each(`tls.clients.${resp}`, ts, (k) => addTo(sets, k, r['id.orig_h'] as string));
    } else if (r._path === 'dns') {
      const orig = r['id.orig_h'] as string;
      each(`dns.queries.${orig}`, ts, (k) => counts.set(k, (counts.get(k) ?? 0) + 1));
      each(`dns.rcodes.${orig}`, ts, (k) => bump(hashes, k, typeof r.rcode_name === 'string' ? r.rcode_name : 'NONE'));
      if (typeof r.rtt === 'number') {
        const ms = Math.floor(Math.round(r.rtt * 1e6) / 1000);
        each(`dns.rtt_ms.${r['id.resp_h'] as string}`, ts, (k) => bump(hashes, k, String(ms)));
      }
      if (typeof r.qtype_name === 'string') {
        const q = r.qtype_name;
        each(`dns.last_qtype.${orig}`, ts, (k) => {
          const g = gauges.get(k);
          if (g === undefined || ts > g.ts || (ts === g.ts && q > g.value)) gauges.set(k, { ts, value: q });
        });
      }
    }
  }
  const out = new Map<string, KeyValue>();
  for (const [k, v] of counts) out.set(k, { type: 'string', value: String(v) });
  for (const [k, v] of hashes) out.set(k, { type: 'hash', value: Object.fromEntries([...v].map(([f, n]) => [f, String(n)])) });
  for (const [k, v] of sets) out.set(k, { type: 'set', value: [...v].sort() });
  for (const [k, v] of gauges) out.set(k, { type: 'string', value: v.value });
  return out;
}

function bump(map: Map<string, Map<string, number>>, key: string, field: string): void {
  let h = map.get(key);
  if (h === undefined) map.set(key, (h = new Map()));
  h.set(field, (h.get(field) ?? 0) + 1);
}

function addTo(map: Map<string, Set<string>>, key: string, member: string): void {
  let s = map.get(key);
  if (s === undefined) map.set(key, (s = new Set()));
  s.add(member);
}

/** Reads every key matching `pattern` (Sluice's own `sluice:*` metadata excluded) with its type and value. */
export async function dumpKeys(redis: Redis, pattern: string): Promise<Map<string, KeyValue>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    for (const k of batch) if (!k.startsWith('sluice:')) keys.push(k);
  } while (cursor !== '0');
  const out = new Map<string, KeyValue>();
  const pipe = redis.pipeline();
  for (const k of keys) pipe.type(k);
  const types = (await pipe.exec()) ?? [];
  const reads = redis.pipeline();
  keys.forEach((k, i) => {
    const t = types[i]?.[1];
    if (t === 'string') reads.get(k);
    else if (t === 'hash') reads.hgetall(k);
    else if (t === 'set') reads.smembers(k);
    else reads.type(k);
  });
  const values = (await reads.exec()) ?? [];
  keys.forEach((k, i) => {
    const t = types[i]?.[1] as string;
    const v = values[i]?.[1];
    if (t === 'string') out.set(k, { type: 'string', value: v as string });
    else if (t === 'hash') out.set(k, { type: 'hash', value: v as Record<string, string> });
    else if (t === 'set') out.set(k, { type: 'set', value: [...(v as string[])].sort() });
    else throw new Error(`unexpected type ${t} for ${k}`);
  });
  return out;
}

// The tests remove their keys the way the CLI removes a demo's: one implementation.
export { deleteKeys } from '../../packages/cli/src/delete-keys.ts';

/**
 * network-metrics: how often each IP answered TLS connections, with which versions and clients, and
 * how each host uses DNS, minute by minute (`days`) and half-hour by half-hour (`months`), as the
 * seed pipeline's analysts read them with kairos.
 */
import { ErrorCode, SluiceError, defineJob } from '@sluice/core';
import type { Emit, IntervalDecl } from '@sluice/core';
import { parseTimestampMicros } from '@sluice/formats';

/** The seed's intervals: one-minute buckets kept 2 days, half-hour buckets kept 12 weeks. */
export const INTERVALS: Readonly<Record<string, IntervalDecl>> = Object.freeze({
  days: { step: 60, steps: 2880 },
  months: { step: 1800, steps: 4032 },
});

/** Options of the job (`--set recordType=dns`). */
export interface NetworkMetricsOptions {
  /** Record type for records without `_path` (Zeek logs written without it); `_path` wins when present. */
  recordType?: 'dns' | 'ssl';
}

/** A Zeek dns or ssl record as decoded from Zeek JSON or Zeek TSV. */
export type ZeekRecord = Readonly<Record<string, unknown>>;

function parseOptions(raw: Readonly<Record<string, string>>): NetworkMetricsOptions {
  const type = raw.recordType;
  if (type === undefined) return {};
  if (type !== 'dns' && type !== 'ssl') {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `network-metrics: recordType must be 'dns' or 'ssl', got ${JSON.stringify(type)}`, {
      context: { option: 'recordType', value: type },
    });
  }
  return { recordType: type };
}

function badRecord(reason: string, field: string): SluiceError {
  return new SluiceError(ErrorCode.BAD_RECORD, reason, { context: { field } });
}

function requireString(record: ZeekRecord, field: string): string {
  const value = record[field];
  if (typeof value !== 'string' || value === '') throw badRecord(`field ${field} is missing or not a string`, field);
  return value;
}

function processSsl(record: ZeekRecord, emit: Emit, ts: number): void {
  const responder = requireString(record, 'id.resp_h');
  const client = requireString(record, 'id.orig_h');
  if (record.established === true) emit('tls.responses', responder, 1, ts);
  const version = record.version;
  if (typeof version === 'string' && version !== '') emit('tls.versions', responder, version, ts);
  emit('tls.clients', responder, client, ts);
}

function processDns(record: ZeekRecord, emit: Emit, ts: number): void {
  const origin = requireString(record, 'id.orig_h');
  emit('dns.queries', origin, 1, ts);
  const rcode = record.rcode_name;
  emit('dns.rcodes', origin, typeof rcode === 'string' && rcode !== '' ? rcode : 'NONE', ts);
  const rtt = record.rtt;
  if (rtt !== undefined && rtt !== null) {
    if (typeof rtt !== 'number' || !Number.isFinite(rtt) || rtt < 0) throw badRecord(`field rtt must be a non-negative number of seconds, got ${JSON.stringify(rtt)}`, 'rtt');
    const responder = requireString(record, 'id.resp_h');
    // Whole microseconds first, so 0.000999 s (999 µs) and a float just under it agree across formats.
    emit('dns.rtt_ms', responder, Math.floor(Math.round(rtt * 1e6) / 1000), ts);
  }
  const qtype = record.qtype_name;
  if (typeof qtype === 'string' && qtype !== '') emit('dns.last_qtype', origin, qtype, ts);
}

/** Event time of a Zeek record in epoch microseconds (ISO string or epoch seconds). */
export function eventTimeOf(record: ZeekRecord): number | undefined {
  return parseTimestampMicros(record.ts);
}

/** The job definition. */
export const networkMetrics = defineJob<ZeekRecord, NetworkMetricsOptions>({
  name: 'network-metrics',
  description: 'Per-IP TLS responses, versions and clients; per-host DNS queries, rcodes, RTTs and last query type.',
  // Metric names are `<family>.<ip>`: each family declares its part, so the processor emits the
  // IP string of the record as is, and the same string serves every family keyed by that IP.
  series: {
    'tls.responses': { type: 'count', intervals: INTERVALS, namePrefix: 'tls.responses.' },
    'tls.versions': { type: 'histogram', intervals: INTERVALS, value: 'string', namePrefix: 'tls.versions.' },
    'tls.clients': { type: 'set', intervals: INTERVALS, value: 'string', namePrefix: 'tls.clients.' },
    'dns.queries': { type: 'count', intervals: INTERVALS, namePrefix: 'dns.queries.' },
    'dns.rcodes': { type: 'histogram', intervals: INTERVALS, value: 'string', namePrefix: 'dns.rcodes.' },
    'dns.rtt_ms': { type: 'histogram', intervals: INTERVALS, value: 'integer', namePrefix: 'dns.rtt_ms.' },
    'dns.last_qtype': { type: 'gauge', intervals: INTERVALS, value: 'string', namePrefix: 'dns.last_qtype.' },
  },
  fields: ['_path', 'ts', 'id.orig_h', 'id.resp_h', 'established', 'version', 'rcode_name', 'rtt', 'qtype_name'],
  options: parseOptions,
  optionNames: ['recordType'],
  eventTime: eventTimeOf,
  eventTimeField: 'ts',
  process(record, emit, { options }) {
    const ts = eventTimeOf(record);
    if (ts === undefined) throw badRecord(`field ts is missing or not a timestamp: ${JSON.stringify(record.ts)}`, 'ts');
    const path = typeof record._path === 'string' ? record._path : options.recordType;
    if (path === 'ssl') processSsl(record, emit, ts);
    else if (path === 'dns') processDns(record, emit, ts);
    else throw badRecord(`record type ${JSON.stringify(record._path)} is neither dns nor ssl; set --set recordType=dns|ssl for logs without _path`, '_path');
  },
});

export default networkMetrics;

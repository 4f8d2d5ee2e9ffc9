/**
 * Every Redis key this package touches is named here: kairos's keys, byte for byte as kairos 0.10.1
 * builds them, and Sluice's own bookkeeping under `sluice:`.
 *
 * kairos's `list()` runs `KEYS *` over the whole database and keeps the text before the first ':'
 * after stripping its prefix's length, so a kairos reader without a prefix lists `sluice` as if it were
 * a metric name. That is harmless (reads of `sluice` find no configured interval) but visible; give
 * the series families a prefix to keep kairos's `list()` clean.
 */

// Shared with the other side of the fenced commit; defined once in core.
export { fenceKey, runDeadLettersKey, runStatsKey } from '@sluice/core';

/** The namespace of Sluice's own keys. */
export const SLUICE_NAMESPACE = 'sluice:';

/** kairos's prefix rule: a non-empty prefix gets ':' appended unless it already ends with one. */
export function normalizePrefix(prefix: string): string {
  return prefix.length > 0 && !prefix.endsWith(':') ? `${prefix}:` : prefix;
}

/** The interval key `{prefix}{name}:{interval}:{i_bucket}`; `prefix` already normalized. */
export function intervalKey(prefix: string, name: string, interval: string, iBucket: number): string {
  return `${prefix}${name}:${interval}:${iBucket}`;
}

/** The resolution key `{i_key}:{r_bucket}`. */
export function resolutionKey(iKey: string, rBucket: number): string {
  return `${iKey}:${rBucket}`;
}

/** The glob matching every key of one metric, with the metric's glob characters escaped (kairos does not escape them). */
export function metricPattern(prefix: string, name: string): string {
  return `${escapeGlob(prefix + name)}:*`;
}

/** String beside a gauge key: the event time (epoch µs) of the value it holds, so merges are order-independent. */
export function gaugeTimeKey(gaugeKey: string): string {
  return `${SLUICE_NAMESPACE}gauge:${gaugeKey}`;
}

/**
 * Hash beside a series list: field = split ordinal, value = elements that split contributed, plus
 * field `max` = the highest ordinal seen, so a chunk lands after every lower ordinal.
 */
export function seriesOrderKey(listKey: string): string {
  return `${SLUICE_NAMESPACE}order:${listKey}`;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

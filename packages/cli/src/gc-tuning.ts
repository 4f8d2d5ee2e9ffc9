/**
 * V8 sizes the old generation's growth after each full collection by a factor it derives from the
 * heap cap: 4 for caps of 2 GiB and more, about 1.3 for the 320 MiB a worker container gets. A
 * worker keeps little alive (one chunk's aggregates, ~16 MiB after a collection) but allocates
 * fast (decoded records), so with the small factor it ran a full collection every ~20 MiB of
 * growth: 77 Mark-Compacts where an uncapped process ran 5, with incremental marking (and its
 * write barriers) active most of the time. Measured on 632,926 NDJSON records (test/bench/process.ts,
 * cap 320 MiB): 3.5 → 2.7 µs CPU per record to decode, 5.5 → 4.3 µs to decode, process and combine,
 * for 20-35 MiB more peak RSS. A factor of 3 keeps the cap (the heap still cannot pass it) and
 * collects as a large heap would.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's `--heap-growing-percent` for Sluice processes: a growth factor of 3 after each full collection. */
export const HEAP_GROWING_PERCENT = 200;

/**
 * Sets `--heap-growing-percent` unless the process was started with one (which then wins, 0 being
 * V8's own choice). Returns whether it set it. Called first thing in the `sluice` entry point.
 */
export function tuneGarbageCollector(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

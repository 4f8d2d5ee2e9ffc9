/**
 * What a long-running worker prints. A backfill split is big and rare: one line each. A live range
 * is small and frequent (a stream at a few thousand events/s completes several a second per
 * partition), and a Kafka or Redis outage fails every range in flight at each retry: printed one by
 * one, both would bury what matters. So ranges are summed up over a period, and a retried failure
 * is printed the first time and then once a minute with how many attempts failed the same way.
 */
import { createRepeatFilter } from '@sluice/core';

/** What one finished range adds to the summary. */
export interface RangeOutcome {
  records: number;
  badRecords: number;
  /** It resumed after a chunk an earlier attempt committed. */
  resumed: boolean;
}

/** Sums finished ranges and prints them as one line per period. */
export interface RangeLog {
  done(outcome: RangeOutcome): void;
  /** Prints what was summed since the last line, if anything. */
  flush(): void;
  /** Prints what is left and stops the timer. */
  close(): void;
}

/** Creates a range log printing through `log` every `everyMs` (an unref'd timer: it never keeps the process up). */
export function createRangeLog(log: (line: string) => void, everyMs = 10_000): RangeLog {
  let ranges = 0;
  let records = 0;
  let bad = 0;
  let resumed = 0;
  let since = Date.now();
  const flush = (): void => {
    const now = Date.now();
    if (ranges > 0) {
      const seconds = Math.max(1, Math.round((now - since) / 1000));
      log(`ranges: ${ranges.toLocaleString('en-US')} done in the last ${seconds} s, ${records.toLocaleString('en-US')} records, ${bad.toLocaleString('en-US')} bad${resumed > 0 ? `, ${resumed} resumed after an earlier attempt` : ''}`);
    }
    ranges = 0;
    records = 0;
    bad = 0;
    resumed = 0;
    since = now;
  };
  const timer = setInterval(flush, everyMs);
  timer.unref();
  return {
    done(outcome) {
      ranges += 1;
      records += outcome.records;
      bad += outcome.badRecords;
      if (outcome.resumed) resumed += 1;
    },
    flush,
    close() {
      clearInterval(timer);
      flush();
    },
  };
}

/** Prints lines that may repeat many times a minute (retried failures, declined range groups). */
export interface RepeatLog {
  /**
   * Prints `line` unless a line with the same `key` was printed within the quiet period; then
   * counts it, and the next line printed for the key says how many it hid. `always` prints anyway
   * (a final failure).
   */
  say(key: string, line: string, always?: boolean): void;
}

/** Creates a repeat log that prints a line per key at most once per `quietMs`. */
export function createRepeatLog(log: (line: string) => void, quietMs = 60_000, now: () => number = Date.now): RepeatLog {
  const filter = createRepeatFilter(quietMs, now);
  const hidden = new Map<string, number>();
  return {
    say(key, line, always = false) {
      if (always) {
        log(line);
        return;
      }
      if (!filter.admit(key, key)) {
        hidden.set(key, (hidden.get(key) ?? 0) + 1);
        return;
      }
      const more = hidden.get(key) ?? 0;
      hidden.delete(key);
      log(more > 0 ? `${line} (and ${more} more like it since it was last printed)` : line);
    },
  };
}

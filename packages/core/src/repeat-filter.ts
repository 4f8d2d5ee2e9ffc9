/**
 * Which repeated log lines to print. A service that retries every poll or every reconnect would
 * otherwise print the same failure many times a second; the first one and any change are what an
 * operator needs, plus a reminder now and then while it lasts.
 */

/** Remembers the last line printed per key. */
export interface RepeatFilter {
  /** Whether to print `text` for `key`: yes the first time, when the text changed, or once `quietMs` passed. */
  admit(key: string, text: string): boolean;
  /** Forgets `key`; true when it had a line (the condition it reported is over). */
  forget(key: string): boolean;
  /** Forgets every key. */
  clear(): void;
}

/** Creates a filter that lets the same line through for a key at most once per `quietMs`. */
export function createRepeatFilter(quietMs: number, now: () => number = Date.now): RepeatFilter {
  const last = new Map<string, { text: string; at: number }>();
  return {
    admit(key, text) {
      const at = now();
      const seen = last.get(key);
      if (seen !== undefined && seen.text === text && at - seen.at < quietMs) return false;
      last.set(key, { text, at });
      return true;
    },
    forget: (key) => last.delete(key),
    clear: () => last.clear(),
  };
}

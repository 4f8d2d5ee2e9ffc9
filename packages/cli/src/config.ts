/**
 * Configuration read from the environment and flags, checked before anything connects, so a typo
 * fails at once with the name of the setting to fix instead of as a connection timeout later.
 */
import { ErrorCode, SluiceError } from '@sluice/core';

/** The Redis URL: `--redis`, else `REDIS_URL`, else the local stack's default. */
export function resolveRedisUrl(flag?: string): string {
  const value = flag ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // Name the setting the value came from: the user fixes a flag differently from the environment.
  const setting = flag === undefined ? 'REDIS_URL' : '--redis';
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${setting} ${JSON.stringify(value)} is not a URL; use e.g. redis://127.0.0.1:6379/0`, {
      cause: error,
      context: { setting, value },
    });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${setting} must start with redis:// or rediss://, got ${JSON.stringify(value)}`, {
      context: { setting, value },
    });
  }
  return value;
}

/** Parses repeated `--set key=value` flags into an object; a pair without `=` fails fast. */
export function collectSet(pair: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = pair.indexOf('=');
  if (eq <= 0) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `--set expects key=value, got ${JSON.stringify(pair)}`, { context: { flag: '--set', value: pair } });
  }
  return { ...previous, [pair.slice(0, eq)]: pair.slice(eq + 1) };
}

/** Parses a byte size such as `128m`, `64k`, `1g` or a plain number of bytes. */
export function parseByteSize(value: string): number {
  const match = /^(\d+)([kmg]i?b?)?$/i.exec(value.trim());
  if (match === null) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `size ${JSON.stringify(value)} is not a byte size; use e.g. 134217728, 128m or 64k`, { context: { value } });
  }
  const unit = (match[2] ?? '').toLowerCase()[0];
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(match[1]) * factor;
}

/** Bounds and unit of a numeric flag, for its check and its error message. */
export interface NumericFlagOptions {
  min: number;
  /** Inclusive; unbounded (up to 2^53 - 1) when omitted. */
  max?: number;
  /** What the number counts, said in the error: `milliseconds`, `seconds`, `records`. */
  unit?: string;
}

function invalidFlag(flag: string, value: string, expected: string, cause?: unknown): SluiceError {
  return new SluiceError(ErrorCode.INVALID_CONFIG, `${flag} must be ${expected}, got ${JSON.stringify(value)}`, {
    ...(cause === undefined ? {} : { cause }),
    context: { flag, value, expected },
  });
}

function describeRange(kind: string, { min, max, unit }: NumericFlagOptions): string {
  const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
  return `${kind} ${range}${unit === undefined ? '' : ` (${unit})`}`;
}

/**
 * A commander argument parser for an integer flag: a decimal integer within the bounds, else
 * INVALID_CONFIG naming the flag and what it takes, before anything connects.
 */
export function integerFlag(flag: string, options: NumericFlagOptions): (value: string) => number {
  const max = Math.min(options.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return (value) => {
    const n = /^\+?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < options.min || n > max) throw invalidFlag(flag, value, describeRange('an integer', options));
    return n;
  };
}

/** A commander argument parser for a decimal number flag (`2.5` seconds) within the bounds. */
export function numberFlag(flag: string, options: NumericFlagOptions): (value: string) => number {
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return (value) => {
    const n = /^\+?(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isFinite(n) || n < options.min || n > max) throw invalidFlag(flag, value, describeRange('a number', options));
    return n;
  };
}

/** A commander argument parser for a byte size flag (`128m`, `64k`, bytes) of at least `min` bytes. */
export function byteSizeFlag(flag: string, min = 1): (value: string) => number {
  const expected = `a byte size of at least ${min} bytes, e.g. 134217728, 128m or 64k`;
  return (value) => {
    let bytes: number;
    try {
      bytes = parseByteSize(value);
    } catch (error) {
      throw invalidFlag(flag, value, expected, error);
    }
    if (!Number.isSafeInteger(bytes) || bytes < min) throw invalidFlag(flag, value, expected);
    return bytes;
  };
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A commander argument parser for a duration flag (`7d`, `12h`, `30m`, `90s`) in milliseconds, of
 * at least `minMs`; `never` gives Infinity.
 */
export function durationFlag(flag: string, minMs = 0): (value: string) => number {
  const expected = `a duration such as 7d, 12h, 30m or 90s${minMs > 0 ? ` of at least ${formatDurationFlag(minMs)}` : ''}, or never`;
  return (value) => {
    const text = value.trim().toLowerCase();
    if (text === 'never') return Number.POSITIVE_INFINITY;
    const match = /^(\d+)(s|m|h|d)$/.exec(text);
    const ms = match === null ? Number.NaN : Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
    if (!Number.isSafeInteger(ms) || ms < minMs) throw invalidFlag(flag, value, expected);
    return ms;
  };
}

/** The largest whole unit of a duration flag: 3600000 is "1h". */
function formatDurationFlag(ms: number): string {
  for (const [unit, size] of Object.entries(DURATION_UNITS).toSorted(([, a], [, b]) => b - a)) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

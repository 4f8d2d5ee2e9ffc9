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

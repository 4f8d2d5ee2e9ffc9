/**
 * Validation of the options every entry point takes. Each failure is an INVALID_CONFIG error that
 * names the option, so a wrong job definition or CLI flag says what to fix instead of surfacing
 * later as a protocol error from the broker.
 */
import { ErrorCode, SluiceError } from '@sluice/core';

/** Kafka topic names: 1-249 characters of `[a-zA-Z0-9._-]` (the broker's own rule). */
const TOPIC_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

/** Builds the INVALID_CONFIG error for one option. */
export function invalidOption(option: string, value: unknown, expected: string): SluiceError {
  return new SluiceError(ErrorCode.INVALID_CONFIG, `${option} must be ${expected}, got ${describe(value)}`, {
    retryable: false,
    context: { option, value: describe(value) },
  });
}

/** A topic name the broker accepts. */
export function requireTopic(value: unknown, option = 'topic'): string {
  if (typeof value !== 'string' || !TOPIC_PATTERN.test(value) || value === '.' || value === '..') {
    throw invalidOption(option, value, 'a topic name of 1-249 characters [a-zA-Z0-9._-]');
  }
  return value;
}

/** An integer in `[min, max]`. */
export function requireInteger(value: unknown, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidOption(option, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

/** A Kafka offset: a non-negative safe integer (offsets stay far below 2^53 in practice). */
export function requireOffset(value: unknown, option: string): number {
  return requireInteger(value, option, 0);
}

/** A client id: non-empty, no whitespace (the library's rule). */
export function requireClientId(value: unknown, option = 'clientId'): string {
  if (typeof value !== 'string' || !/^\S+$/.test(value)) throw invalidOption(option, value, 'a non-empty string without spaces');
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  return String(value);
}

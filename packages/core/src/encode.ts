/**
 * Value encoding exactly as kairos's writes reach Redis through redis-py: an int as `str(v)`, a
 * float as `repr(v)`, a string as is. Histogram fields and set members are these strings, so
 * `'3'` and `'3.0'` are different fields: a port that encodes differently splits kairos's counts.
 */
import { ErrorCode, SluiceError } from './errors.ts';
import type { ValueKind } from './series.ts';

/** Encodes an emitted value as kairos would store it; a value that does not fit `kind` throws BAD_RECORD. */
export function encodeValue(value: string | number, kind: ValueKind): string {
  switch (kind) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw mismatch(value, kind, 'a whole number within ±(2^53 - 1)');
      // String(-0) is '0', like Python's int.
      return String(value);
    case 'float':
      if (typeof value !== 'number') throw mismatch(value, kind, 'a number');
      return encodePythonFloat(value);
    case 'string':
      if (typeof value !== 'string') throw mismatch(value, kind, 'a string');
      return value;
  }
}

/**
 * Python 3 `repr(float)`: the shortest digits that round-trip (as JavaScript also picks), laid out
 * the Python way: exponent form when the decimal exponent is below -4 or at least 16, with a signed
 * two-digit exponent (`1e-05`, `1e+16`); otherwise positional with at least one fractional digit (`3.0`).
 */
export function encodePythonFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument yields the shortest round-trip digits, e.g. '1.2345e-7'.
  const exponential = Math.abs(x).toExponential();
  const at = exponential.indexOf('e');
  const digits = exponential.slice(0, at).replace('.', '');
  const exponent = Number(exponential.slice(at + 1));
  if (exponent < -4 || exponent >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const magnitude = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = exponent + 1;
  if (digits.length <= whole) return `${sign}${digits.padEnd(whole, '0')}.0`;
  return `${sign}${digits.slice(0, whole)}.${digits.slice(whole)}`;
}

function mismatch(value: unknown, kind: ValueKind, expected: string): SluiceError {
  return new SluiceError(
    ErrorCode.BAD_RECORD,
    `a value of kind '${kind}' must be ${expected}, got ${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}; convert it in the processor or declare the series' \`value\` kind to match`,
    { context: { value, kind } },
  );
}

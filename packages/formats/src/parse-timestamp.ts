/**
 * Event times to whole epoch microseconds, exactly. Zeek JSON writes `ts` as an ISO-8601 string
 * with 6 decimals, Zeek TSV as epoch seconds with 6 decimals; both must land in the same bucket
 * and order gauges the same way, so neither may go through `Date` (milliseconds only) or a float
 * multiplication of a string.
 */

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;
const EPOCH_SECONDS = /^([+-]?)(\d+)(?:\.(\d*))?$/;
const MICROS_PER_SECOND = 1_000_000;

/**
 * Epoch microseconds of an ISO-8601 date-time (`2018-03-24T17:15:20.865716Z`, up to 9 fraction
 * digits, `Z` or a `±hh:mm` offset), of epoch seconds as a string (`"1521911720.865716"`, exact),
 * of epoch seconds as a number (`Math.round(x * 1e6)`, exact for 6-decimal values before 2038),
 * or of a Date. Fraction digits beyond the sixth are truncated. Anything else gives undefined:
 * invalid calendar dates, and instants beyond a safe integer of microseconds (outside about the
 * years 1685 to 2255).
 */
export function parseTimestampMicros(value: unknown): number | undefined {
  if (typeof value === 'string') return parseString(value);
  if (typeof value === 'number') return safe(Math.round(value * MICROS_PER_SECOND));
  if (value instanceof Date) return safe(value.getTime() * 1000);
  return undefined;
}

function parseString(text: string): number | undefined {
  const fast = parseZuluFast(text);
  if (fast !== undefined) return fast;
  const iso = ISO_8601.exec(text);
  if (iso !== null) return parseIso(iso);
  const epoch = EPOCH_SECONDS.exec(text.trim());
  if (epoch === null) return undefined;
  const [, sign, whole, fraction] = epoch;
  const micros = Number(whole) * MICROS_PER_SECOND + fractionMicros(fraction);
  return safe(sign === '-' ? -micros : micros);
}

const DIGIT_0 = 48;

/** The value of the decimal digit at `at`, or -1. */
function digitAt(text: string, at: number): number {
  const d = text.charCodeAt(at) - DIGIT_0;
  return d >= 0 && d <= 9 ? d : -1;
}

/** Parses digits [from, to) as a number; -1 if any is not a digit. */
function digitsAt(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i += 1) {
    const d = digitAt(text, i);
    if (d < 0) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The layout Zeek writes, `YYYY-MM-DDTHH:MM:SS[.f…]Z`, read character by character: this runs once
 * per record and the regular expression cost more than the rest of a simple processor. Anything
 * else (offsets, odd separators, invalid values) gives undefined and goes the general way.
 */
function parseZuluFast(text: string): number | undefined {
  const n = text.length;
  if (n < 20 || n > 30) return undefined;
  const last = text.charCodeAt(n - 1);
  if (last !== 90 && last !== 122) return undefined; // Z, z
  const t = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (t !== 84 && t !== 116 && t !== 32) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 7);
  const day = digitsAt(text, 8, 10);
  const hour = digitsAt(text, 11, 13);
  const minute = digitsAt(text, 14, 16);
  const second = digitsAt(text, 17, 19);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let micros = 0;
  if (n > 20) {
    const sep = text.charCodeAt(19);
    const digits = n - 21;
    if ((sep !== 46 && sep !== 44) || digits < 1 || digits > 9) return undefined; // . or ,
    const kept = Math.min(digits, 6);
    const fraction = digitsAt(text, 20, 20 + kept);
    if (fraction < 0 || (digits > 6 && digitsAt(text, 26, n - 1) < 0)) return undefined;
    micros = fraction * 10 ** (6 - kept);
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  return safe(seconds * MICROS_PER_SECOND + micros);
}

function parseIso(match: RegExpExecArray): number | undefined {
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, offsetHours, offsetMinutes] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetSeconds = 0;
  if (zulu === undefined) {
    const oh = Number(offsetHours);
    const om = Number(offsetMinutes ?? '0');
    if (oh > 23 || om > 59) return undefined;
    offsetSeconds = (sign === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  return safe(seconds * MICROS_PER_SECOND + fractionMicros(fraction));
}

function fractionMicros(fraction: string | undefined): number {
  if (fraction === undefined || fraction.length === 0) return 0;
  return Number(fraction.length >= 6 ? fraction.slice(0, 6) : fraction.padEnd(6, '0'));
}

function safe(micros: number): number | undefined {
  return Number.isSafeInteger(micros) ? micros : undefined;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

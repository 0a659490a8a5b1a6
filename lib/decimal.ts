/**
 * Exact decimal arithmetic for money, on strings. Postgres `numeric(38,18)` and
 * ClickHouse `Decimal(38,18)` both carry 18 fractional digits, so values are held as
 * BigInt units of 10^-18: sums and products are exact, and no float ever touches money.
 */
import { badInput } from './errors.ts';

/** Fractional digits of every money column in every tier. */
export const SCALE = 18;
const UNIT = 10n ** BigInt(SCALE);
const DECIMAL_RE = /^-?(?:0|[1-9]\d{0,19})(?:\.\d{1,18})?$/;

/** Whether `value` is a decimal string we accept: at most 20 integer and 18 fractional digits. */
export function isDecimalString(value: string): boolean {
  return DECIMAL_RE.test(value);
}

/** Parses a decimal string, throwing INVALID_DECIMAL naming `field` when it is not one. */
export function parseDecimal(value: unknown, field = 'value'): bigint {
  if (typeof value !== 'string' || !DECIMAL_RE.test(value)) {
    throw badInput(
      'INVALID_DECIMAL',
      `${field} must be a decimal string such as "12.5" (at most 18 decimal places), got ${JSON.stringify(value)}`,
      { field },
    );
  }
  const negative = value.startsWith('-');
  const [int = '0', frac = ''] = (negative ? value.slice(1) : value).split('.');
  const units = BigInt(int) * UNIT + BigInt(frac.padEnd(SCALE, '0'));
  return negative ? -units : units;
}

/** Formats units as the shortest exact decimal string ("12.5", "0", "-0.000001"). */
export function formatDecimal(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const int = abs / UNIT;
  const frac = (abs % UNIT).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return (negative ? '-' : '') + int.toString() + (frac ? '.' + frac : '');
}

/** Normalizes what a database returns ("12.500000000000000000") to the canonical string. */
export function normalizeDecimal(value: string): string {
  return formatDecimal(parseDecimal(value));
}

/** Exact sum of decimal strings. */
export function sumDecimals(values: Iterable<string>): string {
  let total = 0n;
  for (const value of values) total += parseDecimal(value);
  return formatDecimal(total);
}

/** Product of two decimal strings, rounded half away from zero to 18 places. */
export function multiplyDecimals(a: string, b: string): string {
  const product = parseDecimal(a) * parseDecimal(b);
  const half = UNIT / 2n;
  const rounded = product >= 0n ? (product + half) / UNIT : (product - half) / UNIT;
  return formatDecimal(rounded);
}

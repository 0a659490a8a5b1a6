/** Argument validation shared by resolvers: clear messages naming the argument, with codes. */
import { badInput } from '../lib/errors.ts';

/** An integer argument within [min, max]. */
export function intInRange(
  value: number | null | undefined,
  fallback: number,
  range: { field: string; min: number; max: number },
): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw badInput(
      'INVALID_ARGUMENT',
      `${range.field} must be an integer from ${range.min} to ${range.max}, got ${n}`,
      { field: range.field },
    );
  }
  return n;
}

/** Exactly one of two alternative arguments. */
export function exactlyOne(a: unknown, b: unknown, names: readonly [string, string]): void {
  if ((a === null || a === undefined) === (b === null || b === undefined)) {
    throw badInput('INVALID_ARGUMENT', `Pass exactly one of ${names[0]} and ${names[1]}`, { fields: names });
  }
}

/** Checks of the auth factories' options: each fails fast with CONFIG_INVALID naming the option (never echoing a secret). */
import { AppError } from '../../lib/errors.ts';

/** The error for a bad auth option. */
export function invalidOption(message: string): AppError {
  return new AppError({ code: 'CONFIG_INVALID', message: `Invalid auth option ${message}` });
}

/** A string with something in it. */
export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value === 'string' && value !== '') return value;
  throw invalidOption(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
}

/** An integer within bounds. */
export function integerIn(value: unknown, name: string, bounds: { min: number; max: number }): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= bounds.min && value <= bounds.max) return value;
  throw invalidOption(`${name} must be an integer from ${bounds.min} to ${bounds.max}, got ${JSON.stringify(value)}`);
}

/** Validation of public ids: a malformed id is an INVALID_ID error naming the argument, never a 500. */
import { badInput } from './errors.ts';

const USER_ID = /^[1-9]\d{0,17}$/;

/** Whether a value is a user id (a positive integer of at most 18 digits, as a string). */
export const isUserId = (value: unknown): value is string => typeof value === 'string' && USER_ID.test(value);
const SLUG_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** User ids are positive integers (Postgres bigint identity), carried as strings. */
export function parseUserId(value: unknown, field = 'userId'): string {
  if (typeof value !== 'string' || !USER_ID.test(value)) {
    throw badInput('INVALID_ID', `${field} must be a positive integer id, got ${JSON.stringify(value)}`, { field });
  }
  return value;
}

/** Asset and protocol ids are short slugs ("ETH", "uniswap-v3"). */
export function parseSlugId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !SLUG_ID.test(value)) {
    throw badInput(
      'INVALID_ID',
      `${field} must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(value)}`,
      { field },
    );
  }
  return value;
}

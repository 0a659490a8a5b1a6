/**
 * Opaque keyset cursors for transaction pages: base64url of "<occurred_at in microseconds
 * since the epoch>|<id>". The time is the database's exact value: Postgres keeps microseconds,
 * and a cursor rounded to milliseconds skipped rows sharing a millisecond (issue 8).
 */
import { badInput } from '../../lib/errors.ts';

/** Where a page ends: the last row's exact time and id. */
export interface TransactionCursor {
  /** Microseconds since the Unix epoch, as decimal digits (exact, beyond 2^53 if need be). */
  readonly occurredAtUs: string;
  readonly id: string;
}

/** The client's opaque token for a cursor. */
export function encodeCursor(cursor: TransactionCursor): string {
  return Buffer.from(`${cursor.occurredAtUs}|${cursor.id}`).toString('base64url');
}

/** A cursor from a client; INVALID_ARGUMENT naming `field` when it is not one this API gave. */
export function decodeCursor(value: string, field = 'after'): TransactionCursor {
  const invalid = () => badInput('INVALID_ARGUMENT', `${field} is not a cursor returned by this API`, { field });
  if (value.length > 100) throw invalid();
  const match = /^(-?\d{1,19})\|([1-9]\d{0,17})$/.exec(Buffer.from(value, 'base64url').toString('utf8'));
  if (!match) throw invalid();
  return { occurredAtUs: match[1]!, id: match[2]! };
}

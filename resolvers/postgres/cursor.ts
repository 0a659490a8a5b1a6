/** Opaque keyset cursors for transaction pages: base64url of "occurredAt|id". */
import { badInput } from '../../lib/errors.ts';

export interface TransactionCursor {
  readonly occurredAt: Date;
  readonly id: string;
}

export function encodeCursor(cursor: TransactionCursor): string {
  return Buffer.from(`${cursor.occurredAt.toISOString()}|${cursor.id}`).toString('base64url');
}

export function decodeCursor(value: string, field = 'after'): TransactionCursor {
  const [time, id, extra] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const occurredAt = new Date(time ?? '');
  if (extra !== undefined || !id || !/^[1-9]\d{0,17}$/.test(id) || Number.isNaN(occurredAt.getTime())) {
    throw badInput('INVALID_ARGUMENT', `${field} is not a cursor returned by this API`, { field });
  }
  return { occurredAt, id };
}

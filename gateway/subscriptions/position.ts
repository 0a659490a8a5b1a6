/** Subscription positions: per partition, the next offset to serve, as an opaque token. */
import { badInput } from '../../lib/errors.ts';

/** Per partition, the next offset to serve. */
export type Vector = Map<number, bigint>;

/** "p:offset" pairs, base64url-encoded so clients treat the token as opaque. */
export function encodePosition(vector: ReadonlyMap<number, bigint>): string {
  return Buffer.from([...vector].map(([p, o]) => `${p}:${o}`).join(',')).toString('base64url');
}

/** The `after` argument of a subscription; INVALID_ARGUMENT when it is not a position this API gave. */
export function decodePosition(token: string): Vector {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const vector: Vector = new Map();
  for (const pair of text.split(',')) {
    const m = /^(\d{1,6}):(\d{1,19})$/.exec(pair);
    if (!m) throw badInput('INVALID_ARGUMENT', 'after is not a position returned by this API', { field: 'after' });
    vector.set(Number(m[1]), BigInt(m[2]!));
  }
  return vector;
}

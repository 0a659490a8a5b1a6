/**
 * Applies changes to the hot data in Redis, in one MULTI per batch:
 * - `portfolio:{userId}`: hash of holding id -> holding JSON (the user's hot portfolio);
 * - `transactions:{userId}`: sorted set of the latest transaction ids by time, with each
 *   transaction's JSON at `transaction:{id}`.
 * Every write is idempotent (HSET, HDEL, ZADD of an id, SET), so a replayed batch converges.
 */
import type { HotOp, HotStore } from '../../stores/hot.ts';
import type { Change } from '../change.ts';

/** Latest transactions kept per user. */
const RECENT_TRANSACTIONS = 50;
const TRANSACTION_TTL_MS = 7 * 24 * 3600 * 1000;

const hotKeys = {
  portfolio: (userId: string) => `portfolio:${userId}`,
  recentTransactions: (userId: string) => `transactions:${userId}`,
  transaction: (id: string) => `transaction:${id}`,
};

function redisOps(changes: readonly Change[]): HotOp[] {
  const ops: HotOp[] = [];
  for (const c of changes) {
    const before = c.before;
    const after = c.operation === 'DELETE' ? null : c.after;
    if (c.table === 'portfolio_holdings') {
      // Removed from the old owner's hash on delete, or when an update moved it to another user.
      if (before && (!after || before['user_id'] !== after['user_id']))
        ops.push({ op: 'hdel', key: hotKeys.portfolio(String(before['user_id'])), fields: [c.rowKey] });
      if (after)
        ops.push({
          op: 'hset',
          key: hotKeys.portfolio(String(after['user_id'])),
          fields: { [c.rowKey]: JSON.stringify({ ...after, _seq: c.seq }) },
        });
    } else if (c.table === 'transaction_history') {
      if (before && (!after || before['user_id'] !== after['user_id'])) {
        ops.push({ op: 'zrem', key: hotKeys.recentTransactions(String(before['user_id'])), members: [c.rowKey] });
      }
      if (after) {
        ops.push({
          op: 'set',
          key: hotKeys.transaction(c.rowKey),
          value: JSON.stringify({ ...after, _seq: c.seq }),
          ttlMs: TRANSACTION_TTL_MS,
        });
        const score = new Date(String(after['occurred_at'])).getTime();
        ops.push({
          op: 'zadd',
          key: hotKeys.recentTransactions(String(after['user_id'])),
          score,
          member: c.rowKey,
          keep: RECENT_TRANSACTIONS,
        });
      } else {
        ops.push({ op: 'del', keys: [hotKeys.transaction(c.rowKey)] });
      }
    }
  }
  return ops;
}

export async function applyToRedis(hot: HotStore, changes: readonly Change[]): Promise<void> {
  await hot.apply(redisOps(changes));
}

/**
 * Whether a token's user still exists: a verified token of a deleted user must not act as
 * that user. Answers are kept for a while in this process (a request must not cost a Postgres
 * round trip for it) and forgotten at once when the user's row changes: the gateway's event
 * hub sees every change of the users table.
 */
import type { Queryable } from '../../stores/postgres.ts';

/** How long an answer is trusted without an event. */
const TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/** Creates the check over `db`. */
export function createActiveUsers(options: { db: Queryable; ttlMs?: number }) {
  const ttlMs = options.ttlMs ?? TTL_MS;
  const known = new Map<string, { exists: boolean; until: number }>();
  return {
    /** Whether user `id` exists (cached). */
    async exists(id: string): Promise<boolean> {
      const now = Date.now();
      const hit = known.get(id);
      if (hit && hit.until > now) return hit.exists;
      const rows = await options.db.query<{ n: number }>('SELECT 1 AS n FROM users WHERE id = $1::bigint', [id]);
      known.delete(id);
      known.set(id, { exists: rows.length > 0, until: now + ttlMs });
      if (known.size > MAX_ENTRIES) known.delete(known.keys().next().value as string);
      return rows.length > 0;
    },
    /** The user's row changed (or was deleted): ask again next time. */
    forget(id: string): void {
      known.delete(id);
    },
  };
}

/** The check's interface. */
export type ActiveUsers = ReturnType<typeof createActiveUsers>;

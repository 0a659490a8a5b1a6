/**
 * Statements on cdc.change_log: claiming, marking, failing, pruning, re-driving.
 *
 * Claiming (several workers may run) takes two steps in the claiming transaction:
 * 1. Lock up to `batchSize` pending, due changes in sequence order, `FOR UPDATE SKIP LOCKED`,
 *    so workers split the pending set without waiting on each other.
 * 2. Keep, for each row, only the run of its changes that starts at the row's earliest
 *    unprocessed change and is wholly in our hands. A change whose row has an earlier
 *    unprocessed change elsewhere (held by another worker, backing off, or dead-lettered)
 *    is not applied; its lock is released at commit and it is claimed again later.
 * So a row's changes reach every sink strictly in sequence, while other rows flow past a
 * poisoned one. The locks are held until the transaction commits the outcome.
 */
import type { Queryable } from '../stores/postgres.ts';
import type { Change } from './change.ts';

const CHANGE_COLUMNS = `c.id::text AS id, c.seq::text AS seq, c.table_name AS "table", c.operation, c.row_key AS "rowKey",
  c.old_record AS before, c.new_record AS after, c."timestamp", c.transaction_id AS "transactionId", c.retry_count AS "retryCount"`;

/** Claims up to `batchSize` changes in sequence order, keeping per-row order (see the file comment). */
export async function claimBatch(tx: Queryable, batchSize: number): Promise<Change[]> {
  const locked = await tx.query<Change>(
    `SELECT ${CHANGE_COLUMNS}
     FROM cdc.change_log c
     WHERE NOT c.processed AND NOT c.dead_lettered AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= now())
     ORDER BY c.seq
     LIMIT $1
     FOR UPDATE SKIP LOCKED`,
    [batchSize],
  );
  if (locked.length === 0) return locked;
  const mine = new Set(locked.map((c) => c.seq));
  // Every unprocessed change of the rows we locked, up to the last one we locked.
  const earlier = await tx.query<{ seq: string; table: string; rowKey: string }>(
    `SELECT c.seq::text AS seq, c.table_name AS "table", c.row_key AS "rowKey"
     FROM cdc.change_log c
     JOIN unnest($1::text[], $2::text[]) AS k(table_name, row_key) ON c.table_name = k.table_name AND c.row_key = k.row_key
     WHERE NOT c.processed AND c.seq <= $3::bigint
     ORDER BY c.seq`,
    [locked.map((c) => c.table), locked.map((c) => c.rowKey), locked.at(-1)!.seq],
  );
  const blocked = new Set<string>();
  const eligible = new Set<string>();
  for (const e of earlier) {
    const row = `${e.table}\u0000${e.rowKey}`;
    if (blocked.has(row)) continue;
    if (mine.has(e.seq)) eligible.add(e.seq);
    else blocked.add(row);
  }
  return locked.filter((c) => eligible.has(c.seq));
}

/** Marks changes processed, inside the claiming transaction, once every sink took them. */
export async function markProcessed(tx: Queryable, seqs: readonly string[]): Promise<void> {
  if (seqs.length === 0) return;
  await tx.query(
    `UPDATE cdc.change_log SET processed = true, processed_at = now(), error_message = NULL, next_attempt_at = NULL WHERE seq = ANY($1::bigint[])`,
    [seqs],
  );
}

/** Records a failed attempt: backs off exponentially, dead-letters after `maxAttempts`. */
export async function markFailed(
  tx: Queryable,
  args: { seq: string; error: string; maxAttempts: number; retryBaseMs: number },
): Promise<{ deadLettered: boolean }> {
  const [row] = await tx.query<{ dead_lettered: boolean }>(
    `UPDATE cdc.change_log
     SET retry_count = retry_count + 1,
         error_message = left($2, 2000),
         dead_lettered = retry_count + 1 >= $3,
         next_attempt_at = now() + make_interval(secs => $4::float8 / 1000 * power(2, retry_count))
     WHERE seq = $1::bigint
     RETURNING dead_lettered`,
    [args.seq, args.error, args.maxAttempts, args.retryBaseMs],
  );
  return { deadLettered: row?.dead_lettered ?? false };
}

/** Deletes processed changes older than the retention, in bounded chunks. */
export async function pruneProcessed(db: Queryable, retentionMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await db.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM cdc.change_log WHERE id IN (
           SELECT id FROM cdc.change_log WHERE processed AND processed_at < now() - make_interval(secs => $1::float8 / 1000) LIMIT 10000)
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [retentionMs],
    );
    const n = rows[0]?.n ?? 0;
    total += n;
    if (n < 10000) return total;
  }
}

/** Puts dead-lettered changes back in the queue (all, or one table's, or one change's). */
export async function redrive(db: Queryable, filter: { table?: string; seq?: string } = {}): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `WITH r AS (
       UPDATE cdc.change_log SET dead_lettered = false, retry_count = 0, error_message = NULL, next_attempt_at = NULL
       WHERE dead_lettered AND ($1::text IS NULL OR table_name = $1) AND ($2::bigint IS NULL OR seq = $2::bigint)
       RETURNING 1)
     SELECT count(*)::int AS n FROM r`,
    [filter.table ?? null, filter.seq ?? null],
  );
  return rows[0]?.n ?? 0;
}

/** A dead-lettered change, for operators. */
export interface DeadLetterRow {
  readonly sequence: string;
  readonly table: string;
  readonly operation: string;
  readonly rowKey: string;
  readonly error: string | null;
  readonly attempts: number;
  readonly at: Date;
}

/** Dead-lettered changes, oldest first. */
export function deadLetters(db: Queryable, limit: number): Promise<DeadLetterRow[]> {
  return db.query<DeadLetterRow>(
    `SELECT seq::text AS sequence, table_name AS "table", operation, row_key AS "rowKey", error_message AS error,
            retry_count AS attempts, "timestamp" AS at
     FROM cdc.change_log WHERE dead_lettered ORDER BY seq LIMIT $1`,
    [limit],
  );
}

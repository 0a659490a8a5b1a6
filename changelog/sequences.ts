/**
 * Change sequences as the gateway uses them: the sequence a write produced (its consistency
 * token), and whether a sequence has been applied to every tier.
 */
import type { Queryable } from '../stores/postgres.ts';

/**
 * The sequence the capture trigger recorded for a write of one row in the current
 * transaction, or null when the write changed no captured column. Found through the change
 * log's per-row index (table, key), never by scanning the log for the transaction.
 */
export async function writeSequence(tx: Queryable, table: string, rowKey: string): Promise<string | null> {
  const [row] = await tx.query<{ seq: string | null }>(
    `SELECT max(seq)::text AS seq FROM cdc.change_log
     WHERE table_name = $1 AND row_key = $2 AND transaction_id = txid_current()::text`,
    [table, rowKey],
  );
  return row?.seq ?? null;
}

/**
 * Whether the change with this sequence has been applied to every tier: `processed` is set
 * only once every sink took it, and a sequence below the log's maximum that is no longer in
 * the log was pruned, which only happens to processed changes.
 */
export async function isApplied(db: Queryable, sequence: bigint): Promise<boolean> {
  const [row] = await db.query<{ applied: boolean }>(
    `SELECT coalesce((SELECT processed FROM cdc.change_log WHERE seq = $1::bigint),
                     $1::bigint <= (SELECT max(seq) FROM cdc.change_log)) AS applied`,
    [sequence.toString()],
  );
  return row?.applied === true;
}

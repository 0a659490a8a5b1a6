/**
 * Orphans in Postgres: holdings and transactions whose user, asset or protocol does not
 * exist. Foreign keys forbid them, but their checks are triggers, and a session with
 * `session_replication_role = replica` (a restore, a logical replication apply, a hurried
 * fix) skips triggers; so can a constraint added NOT VALID or dropped for a bulk load.
 * One statement for all relations, each an anti-join on the referenced primary key.
 */
import { AppError } from '../../lib/errors.ts';
import type { Queryable } from '../../stores/postgres.ts';
import { integerOption } from './options.ts';

/** A reference from a child column to the primary key of a parent table. */
export interface OrphanRelation {
  /** The referring table and column (a NULL never counts as an orphan). */
  readonly table: string;
  readonly column: string;
  /** The referenced table and its key column. */
  readonly references: { readonly table: string; readonly column: string };
  /** The referring table's key, listed for the samples. */
  readonly key: string;
}

/** Orphans found for one relation. */
export interface OrphanCount {
  readonly relation: OrphanRelation;
  readonly count: number;
  /** The smallest orphan keys (at most sampleSize). */
  readonly sampleKeys: string[];
}

/** The references of holdings and transactions (migrations/postgres/001_core.sql). */
export const ORPHAN_RELATIONS: readonly OrphanRelation[] = ['portfolio_holdings', 'transaction_history'].flatMap(
  (table) => [
    { table, column: 'user_id', references: { table: 'users', column: 'id' }, key: 'id' },
    { table, column: 'asset_id', references: { table: 'assets', column: 'id' }, key: 'id' },
    { table, column: 'protocol_id', references: { table: 'protocols', column: 'id' }, key: 'id' },
  ],
);

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Counts orphans per relation, with sample keys. */
export async function findOrphans(options: {
  postgres: Queryable;
  relations?: readonly OrphanRelation[];
  /** Keys listed per relation (default 10). */
  sampleSize?: number;
}): Promise<{ relations: OrphanCount[]; total: number }> {
  const relations = options.relations ?? ORPHAN_RELATIONS;
  const sampleSize = integerOption('sampleSize', options.sampleSize ?? 10, 0, 10_000);
  for (const r of relations) {
    for (const name of [r.table, r.column, r.key, r.references.table, r.references.column]) {
      if (!IDENTIFIER.test(name)) {
        throw new AppError({
          code: 'INVALID_ARGUMENT',
          message: `Invalid relation ${r.table}.${r.column}: ${JSON.stringify(name)} is not a lower-case identifier`,
        });
      }
    }
  }
  if (relations.length === 0) return { relations: [], total: 0 };
  const parts = relations.map(
    (r, i) => `SELECT ${i} AS i, count(*)::text AS n, (array_agg(o.${r.key}::text ORDER BY o.${r.key}))[1:$1] AS sample
     FROM ${r.table} o
     WHERE o.${r.column} IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM ${r.references.table} p WHERE p.${r.references.column} = o.${r.column})`,
  );
  const rows = await options.postgres.query<{ i: number; n: string; sample: string[] | null }>(
    parts.join('\nUNION ALL\n'),
    [sampleSize],
  );
  const byIndex = new Map(rows.map((r) => [Number(r.i), r]));
  const counts = relations.map((relation, i) => {
    const row = byIndex.get(i);
    return { relation, count: Number(row?.n ?? 0), sampleKeys: row?.sample ?? [] };
  });
  return { relations: counts, total: counts.reduce((n, c) => n + c.count, 0) };
}

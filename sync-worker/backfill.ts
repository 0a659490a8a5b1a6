/**
 * Backfill: copies a whole Postgres table into its ClickHouse replica in keyset-paginated
 * batches (`WHERE key > $last ORDER BY key LIMIT batchSize`), so memory stays flat and a
 * concurrent writer is never blocked. Rows are written with version 0: any change captured
 * by CDC carries a higher sequence and wins in the ReplacingMergeTree, so a backfill running
 * beside CDC converges to the current state instead of overwriting newer changes.
 */
import { AppError } from '../lib/errors.ts';
import type { Clickhouse } from '../stores/clickhouse.ts';
import type { Postgres } from '../stores/postgres.ts';
import { replicaSpecs } from './replicas.ts';

export interface BackfillProgress {
  readonly table: string;
  readonly copied: number;
  readonly total: number;
}

export async function backfillTable(options: {
  postgres: Postgres;
  clickhouse: Clickhouse;
  table: string;
  batchSize: number;
  onProgress?: (progress: BackfillProgress) => void;
}): Promise<BackfillProgress> {
  const spec = replicaSpecs[options.table];
  if (!spec) {
    throw new AppError({ code: 'INVALID_ARGUMENT', message: `No replica for table ${JSON.stringify(options.table)}; known: ${Object.keys(replicaSpecs).join(', ')}` });
  }
  const [{ total = 0 } = {}] = await options.postgres.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${spec.table}`);
  let last: string | null = null;
  let copied = 0;
  for (;;) {
    const rows: Array<Record<string, unknown>> = await options.postgres.query(
      `SELECT ${spec.select} FROM ${spec.table} WHERE $1::${spec.keyType} IS NULL OR ${spec.key} > $1::${spec.keyType} ORDER BY ${spec.key} LIMIT $2`,
      [last, options.batchSize],
    );
    if (rows.length === 0) break;
    await options.clickhouse.insert(spec.replica, rows.map((r) => ({ ...r, _version: 0, _deleted: 0 })));
    copied += rows.length;
    last = String(rows.at(-1)![spec.key]);
    options.onProgress?.({ table: spec.table, copied, total });
    if (rows.length < options.batchSize) break;
  }
  return { table: spec.table, copied, total };
}

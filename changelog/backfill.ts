/**
 * Backfill: copies a whole Postgres table into its ClickHouse replica in keyset-paginated
 * batches (`WHERE key > $last ORDER BY key LIMIT batchSize`), so memory stays flat and writers
 * are never blocked, while CDC keeps running. Run by a sync worker as a job (forceSync, the
 * CLI's `sync`) and by the demo seed.
 *
 * Versions: each row is written with the sequence of the last change to that row visible in
 * the same snapshot (0 if none). A change committed later carries a higher sequence (per row,
 * sequence order is commit order) and wins in the ReplacingMergeTree; a change already applied
 * carries the same version and the same data. So the backfill converges with CDC instead of
 * racing it. Replica rows whose key no longer exists in Postgres get a tombstone.
 */
import { toReplicaRow } from '../domain/replica-rows.ts';
import { replicatedTables, tableSpec, TABLES, type ReplicaSpec, type TableSpec } from '../domain/tables.ts';
import { badInput } from '../lib/errors.ts';
import type { Clickhouse } from '../stores/clickhouse.ts';
import type { Postgres } from '../stores/postgres.ts';

/** How far a backfill has got, reported after every batch. */
export interface BackfillProgress {
  readonly table: string;
  readonly copied: number;
  readonly total: number;
  readonly tombstoned: number;
}

type Replicated = TableSpec & { replica: ReplicaSpec };

/** The tables that have a ClickHouse replica, which a backfill can copy. */
export function backfillableTables(): string[] {
  return replicatedTables(TABLES).map((t) => t.name);
}

/** The registry entry of a table a backfill can copy; INVALID_ARGUMENT naming `field` otherwise. */
export function replicatedTable(name: string, field = 'table'): Replicated {
  const spec = tableSpec(name);
  if (!spec?.replica) {
    throw badInput(
      'INVALID_ARGUMENT',
      `No replica for table ${JSON.stringify(name.slice(0, 64))}; known: ${backfillableTables().join(', ')}`,
      { field },
    );
  }
  return spec as Replicated;
}

/** Copies `table` into its replica and tombstones replica rows Postgres no longer has. */
export async function backfillTable(options: {
  postgres: Postgres;
  clickhouse: Clickhouse;
  table: string;
  batchSize: number;
  onProgress?: (progress: BackfillProgress) => void;
  /** Stops between batches (the worker is stopping); what was copied stays copied. */
  signal?: AbortSignal;
}): Promise<BackfillProgress> {
  const spec = replicatedTable(options.table);
  const { postgres, clickhouse } = options;
  const key = spec.key.column;
  const [{ total = 0 } = {}] = await postgres.query<{ total: number }>(
    `SELECT count(*)::int AS total FROM ${spec.name}`,
  );
  const select = spec.replica.columns.map((c) => `t.${c}`).join(', ');
  let last: string | null = null;
  let copied = 0;
  let tombstoned = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const rows: Array<Record<string, unknown>> = await postgres.query(
      `SELECT ${select}, t.${key}::text AS _key,
              coalesce((SELECT max(c.seq) FROM cdc.change_log c WHERE c.table_name = $3 AND c.row_key = t.${key}::text), 0)::text AS _version
       FROM ${spec.name} t
       WHERE $1::${spec.key.kind} IS NULL OR t.${key} > $1::${spec.key.kind}
       ORDER BY t.${key} LIMIT $2`,
      [last, options.batchSize, spec.name],
    );
    const from = last;
    const to = rows.length < options.batchSize ? null : String(rows.at(-1)!['_key']);
    if (rows.length > 0) {
      await clickhouse.insert(
        spec.replica.table,
        rows.map((r) => toReplicaRow(spec, r, { version: r['_version'] as string, deleted: false })),
      );
    }
    tombstoned += await tombstoneMissing({
      clickhouse,
      spec,
      from,
      to,
      present: new Set(rows.map((r) => String(r['_key']))),
    });
    copied += rows.length;
    options.onProgress?.({ table: spec.name, copied, total, tombstoned });
    if (to === null) break;
    last = to;
  }
  return { table: spec.name, copied, total, tombstoned };
}

/** Tombstones live replica rows with a key in (from, to] (to = null: no upper bound) that Postgres no longer has. */
async function tombstoneMissing(args: {
  clickhouse: Clickhouse;
  spec: Replicated;
  from: string | null;
  to: string | null;
  present: Set<string>;
}): Promise<number> {
  const { clickhouse, spec } = args;
  const key = spec.key.column;
  const keyType = spec.key.kind === 'bigint' ? 'UInt64' : 'String';
  const inRange = `_deleted = 0
       AND ({hasFrom:UInt8} = 0 OR ${key} > {from:${keyType}})
       AND ({hasTo:UInt8} = 0 OR ${key} <= {to:${keyType}})`;
  const zero = keyType === 'UInt64' ? 0 : '';
  const range = {
    hasFrom: args.from === null ? 0 : 1,
    from: args.from ?? zero,
    hasTo: args.to === null ? 0 : 1,
    to: args.to ?? zero,
  };
  // Keys first: usually every live row is still in Postgres, and whole rows are read only for those that are not.
  const live = await clickhouse.query<{ _key: string }>(
    `SELECT toString(${key}) AS _key FROM ${spec.replica.table} FINAL WHERE ${inRange}`,
    range,
  );
  const goneKeys = live.map((r) => r._key).filter((k) => !args.present.has(k));
  if (goneKeys.length === 0) return 0;
  const gone = await clickhouse.query<Record<string, unknown> & { _v: string }>(
    `SELECT *, toString(_version) AS _v FROM ${spec.replica.table} FINAL WHERE ${inRange} AND toString(${key}) IN {keys:Array(String)}`,
    { ...range, keys: goneKeys },
  );
  // A tombstone outranks the live version; keys are never reused (identity columns), so nothing newer can follow.
  await clickhouse.insert(
    spec.replica.table,
    gone.map((r) => toReplicaRow(spec, r, { version: String(BigInt(r._v) + 1n), deleted: true })),
  );
  return gone.length;
}

/**
 * Backfill (forceSync): copies a whole Postgres table into its ClickHouse replica in
 * keyset-paginated batches (`WHERE key > $last ORDER BY key LIMIT batchSize`), so memory
 * stays flat and writers are never blocked, while CDC keeps running.
 *
 * Versions: each row is written with the sequence of the last change to that row visible in
 * the same snapshot (0 if none). A change committed later carries a higher sequence (per row,
 * sequence order is commit order) and wins in the ReplacingMergeTree; a change already applied
 * carries the same version and the same data. So the backfill converges with CDC instead of
 * racing it. Replica rows whose key no longer exists in Postgres get a tombstone.
 */
import { AppError } from '../lib/errors.ts';
import type { Clickhouse } from '../stores/clickhouse.ts';
import type { Postgres } from '../stores/postgres.ts';
import { replicaSpecs, toReplicaRow } from './replicas.ts';

export interface BackfillProgress {
  readonly table: string;
  readonly copied: number;
  readonly total: number;
  readonly tombstoned: number;
}

export function knownTables(): string[] {
  return Object.keys(replicaSpecs);
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
    throw new AppError({
      code: 'INVALID_ARGUMENT',
      message: `No replica for table ${JSON.stringify(options.table)}; known: ${knownTables().join(', ')}`,
      details: { field: 'table' },
    });
  }
  const { postgres, clickhouse } = options;
  const [{ total = 0 } = {}] = await postgres.query<{ total: number }>(
    `SELECT count(*)::int AS total FROM ${spec.table}`,
  );
  const select = spec.columns.map((c) => `t.${c}`).join(', ');
  let last: string | null = null;
  let copied = 0;
  let tombstoned = 0;
  for (;;) {
    const rows: Array<Record<string, unknown>> = await postgres.query(
      `SELECT ${select}, t.${spec.key}::text AS _key,
              coalesce((SELECT max(c.seq) FROM cdc.change_log c WHERE c.table_name = $3 AND c.row_key = t.${spec.key}::text), 0)::text AS _version
       FROM ${spec.table} t
       WHERE $1::${spec.keyType} IS NULL OR t.${spec.key} > $1::${spec.keyType}
       ORDER BY t.${spec.key} LIMIT $2`,
      [last, options.batchSize, spec.table],
    );
    const from = last;
    const to = rows.length < options.batchSize ? null : String(rows.at(-1)!['_key']);
    if (rows.length > 0) {
      await clickhouse.insert(
        spec.replica,
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
    options.onProgress?.({ table: spec.table, copied, total, tombstoned });
    if (to === null) break;
    last = to;
  }
  return { table: spec.table, copied, total, tombstoned };
}

/** Tombstones live replica rows with a key in (from, to] (to = null: no upper bound) that Postgres no longer has. */
async function tombstoneMissing(args: {
  clickhouse: Clickhouse;
  spec: (typeof replicaSpecs)[string];
  from: string | null;
  to: string | null;
  present: Set<string>;
}): Promise<number> {
  const { clickhouse, spec } = args;
  const keyType = spec.keyType === 'bigint' ? 'UInt64' : 'String';
  const inRange = `_deleted = 0
       AND ({hasFrom:UInt8} = 0 OR ${spec.key} > {from:${keyType}})
       AND ({hasTo:UInt8} = 0 OR ${spec.key} <= {to:${keyType}})`;
  const range = {
    hasFrom: args.from === null ? 0 : 1,
    from: args.from ?? (keyType === 'UInt64' ? 0 : ''),
    hasTo: args.to === null ? 0 : 1,
    to: args.to ?? (keyType === 'UInt64' ? 0 : ''),
  };
  // Keys first: usually every live row is still in Postgres, and whole rows are read only for those that are not.
  const live = await clickhouse.query<{ _key: string }>(
    `SELECT toString(${spec.key}) AS _key FROM ${spec.replica} FINAL WHERE ${inRange}`,
    range,
  );
  const goneKeys = live.map((r) => r._key).filter((k) => !args.present.has(k));
  if (goneKeys.length === 0) return 0;
  const gone = await clickhouse.query<Record<string, unknown> & { _v: string }>(
    `SELECT *, toString(_version) AS _v FROM ${spec.replica} FINAL WHERE ${inRange} AND toString(${spec.key}) IN {keys:Array(String)}`,
    { ...range, keys: goneKeys },
  );
  // A tombstone outranks the live version; keys are never reused (identity columns), so nothing newer can follow.
  await clickhouse.insert(
    spec.replica,
    gone.map((r) => toReplicaRow(spec, r, { version: String(BigInt(r._v) + 1n), deleted: true })),
  );
  return gone.length;
}

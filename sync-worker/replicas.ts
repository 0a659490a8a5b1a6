/**
 * How each captured Postgres table maps onto its ClickHouse replica: one spec per table,
 * shared by CDC apply and backfill so both write identical rows.
 */
import { chTime } from '../stores/clickhouse.ts';

export interface ReplicaSpec {
  /** Postgres table name (also the CDC `table_name`). */
  readonly table: string;
  /** ClickHouse replica table. */
  readonly replica: string;
  /** Primary key column, used for keyset pagination and Kafka keys. */
  readonly key: string;
  /** Postgres type of the key, so keyset pagination compares (and uses the index) natively. */
  readonly keyType: 'bigint' | 'text';
  /** Replica columns, each also a captured column. */
  readonly columns: readonly string[];
  /** Columns holding timestamps (converted to ClickHouse's DateTime64 text). */
  readonly timeColumns: readonly string[];
}

export const replicaSpecs: Readonly<Record<string, ReplicaSpec>> = {
  transaction_history: {
    table: 'transaction_history',
    replica: 'transactions',
    key: 'id',
    keyType: 'bigint',
    columns: ['id', 'user_id', 'asset_id', 'protocol_id', 'type', 'amount', 'value_usd', 'tx_hash', 'occurred_at'],
    timeColumns: ['occurred_at'],
  },
  portfolio_holdings: {
    table: 'portfolio_holdings',
    replica: 'portfolio_holdings',
    key: 'id',
    keyType: 'bigint',
    columns: ['id', 'user_id', 'asset_id', 'protocol_id', 'quantity', 'value_usd', 'updated_at'],
    timeColumns: ['updated_at'],
  },
  protocols: {
    table: 'protocols',
    replica: 'protocols',
    key: 'id',
    keyType: 'text',
    columns: ['id', 'name', 'category', 'chain', 'tvl_usd'],
    timeColumns: [],
  },
};

/** A replica row from a captured (or backfilled) record, with its version and tombstone flag. */
export function toReplicaRow(
  spec: ReplicaSpec,
  doc: Readonly<Record<string, unknown>>,
  meta: { version: string | number; deleted: boolean },
): Record<string, unknown> {
  const row: Record<string, unknown> = { _version: meta.version, _deleted: meta.deleted ? 1 : 0 };
  for (const column of spec.columns) {
    const value = doc[column];
    row[column] = spec.timeColumns.includes(column) ? toChTime(value) : value;
  }
  return row;
}

/** Postgres gives a Date (backfill) or ISO text (captured JSON); ClickHouse's own text passes through. */
function toChTime(value: unknown): unknown {
  if (value instanceof Date) return chTime(value);
  if (typeof value === 'string' && value.includes('T')) return chTime(new Date(value));
  return value;
}

/**
 * How each captured Postgres table maps onto its ClickHouse replica. One spec per table,
 * shared by CDC apply and backfill so both write identical rows.
 */

/** A replica row: the Postgres columns plus the version (change sequence) and tombstone flag. */
export type ReplicaRow = Record<string, unknown> & { _version: number | string; _deleted: 0 | 1 };

export interface ReplicaSpec {
  /** Postgres table name (also the CDC `table_name`). */
  readonly table: string;
  /** ClickHouse replica table. */
  readonly replica: string;
  /** Primary key column, used for keyset pagination and Kafka keys. */
  readonly key: string;
  /** Postgres type of the key, so keyset pagination compares (and uses the index) natively. */
  readonly keyType: 'bigint' | 'text';
  /** SELECT list producing the replica's columns from Postgres (times as UTC text). */
  readonly select: string;
}

/** ClickHouse's DateTime64(3) text format, in UTC. */
const epoch = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS ${column}`;

export const replicaSpecs: Readonly<Record<string, ReplicaSpec>> = {
  transaction_history: {
    table: 'transaction_history',
    replica: 'transactions',
    key: 'id',
    keyType: 'bigint',
    select: `id, user_id, asset_id, protocol_id, type, amount::text AS amount, value_usd::text AS value_usd, tx_hash, ${epoch('occurred_at')}`,
  },
  portfolio_holdings: {
    table: 'portfolio_holdings',
    replica: 'portfolio_holdings',
    key: 'id',
    keyType: 'bigint',
    select: `id, user_id, asset_id, protocol_id, quantity::text AS quantity, value_usd::text AS value_usd, ${epoch('updated_at')}`,
  },
  protocols: {
    table: 'protocols',
    replica: 'protocols',
    key: 'id',
    keyType: 'text',
    select: `id, name, category, chain, tvl_usd::text AS tvl_usd`,
  },
};

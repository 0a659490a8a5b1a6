/**
 * The table registry: everything the system knows about each table it captures, in one entry
 * per table. Capture (which columns the trigger records), the sync worker's sinks (ClickHouse
 * replica, Redis and vector projections, Kafka topic), the gateway's event hub (topic, who an
 * event is news for), the response cache (which entities a change touched) and the
 * consistency checks (column types, for a canonical encoding) all read it from here, so a
 * table is described once and every tier agrees on it.
 *
 * Config chooses which of these tables run (CDC_TABLES); it never describes one.
 */
import { AppError } from '../lib/errors.ts';
import { cacheTags } from './cache-tags.ts';
import { changedValues, type ChangeEvent } from './events.ts';
import type { HoldingRow, RowDoc, TransactionRow } from './rows.ts';

/**
 * How a column's values are typed in every tier. The consistency checks encode each kind the
 * same way in Postgres and ClickHouse (decimals at scale 18, timestamps in microseconds).
 */
export type ColumnKind = 'bigint' | 'int' | 'text' | 'decimal' | 'timestamp' | 'vector';

/** One captured column. */
export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
}

/**
 * A ClickHouse replica: a ReplacingMergeTree ordered by the key, versioned by the change
 * sequence (`_version`) with `_deleted` tombstones (migrations/clickhouse/002_replicas.sql).
 */
export interface ReplicaSpec {
  readonly table: string;
  /** Replicated columns (each also captured), the key first. */
  readonly columns: readonly string[];
}

/** The Redis or vector projection a table feeds (domain/projections.ts writes them). */
export type ProjectionKind = 'portfolio' | 'recentTransactions' | 'embeddings';

/** One captured table. */
export interface TableSpec {
  /** The Postgres table, also the change log's `table_name`. */
  readonly name: string;
  readonly key: { readonly column: string; readonly kind: 'bigint' | 'text' };
  /** Columns the capture trigger records, the key included. */
  readonly columns: readonly ColumnSpec[];
  /** The Kafka topic its change events go to (before the deployment's topic prefix). */
  readonly topic: string;
  readonly replica?: ReplicaSpec;
  /** Whether its changes are also appended to ClickHouse `user_activity` (the activity feed). */
  readonly activity?: boolean;
  readonly projection?: ProjectionKind;
  /** The cached entities a change of this table touched (the response cache evicts them). */
  readonly tags: (event: ChangeEvent) => string[];
  /** The users a change is news for: subscriptions to their data receive it. */
  readonly audience: (event: ChangeEvent) => string[];
}

const col = (name: string, kind: ColumnKind, nullable = false): ColumnSpec => ({ name, kind, nullable });
const names = (specs: readonly ColumnSpec[]) => specs.map((c) => c.name);

const transactionColumns = [
  col('id', 'bigint'),
  col('user_id', 'bigint'),
  col('asset_id', 'text'),
  col('protocol_id', 'text', true),
  col('type', 'text'),
  col('amount', 'decimal'),
  col('value_usd', 'decimal'),
  col('tx_hash', 'text', true),
  col('occurred_at', 'timestamp'),
];

const holdingColumns = [
  col('id', 'bigint'),
  col('user_id', 'bigint'),
  col('asset_id', 'text'),
  col('protocol_id', 'text', true),
  col('quantity', 'decimal'),
  col('value_usd', 'decimal'),
  col('updated_at', 'timestamp'),
];

const protocolColumns = [
  col('id', 'text'),
  col('name', 'text'),
  col('category', 'text'),
  col('chain', 'text'),
  col('tvl_usd', 'decimal'),
];

const users = (event: ChangeEvent) => changedValues(event, 'user_id');
const nobody = () => [];

/** Every table the system can capture, in the order the worker's stats list them. */
export const TABLES: readonly TableSpec[] = [
  {
    name: 'transaction_history',
    key: { column: 'id', kind: 'bigint' },
    columns: transactionColumns,
    topic: 'defi.transactions',
    replica: { table: 'transactions', columns: names(transactionColumns) },
    projection: 'recentTransactions',
    tags: (e) => {
      const protocols = changedValues(e, 'protocol_id');
      return [
        ...users(e).map(cacheTags.transactions),
        ...protocols.map(cacheTags.volume),
        ...(protocols.length > 0 ? [cacheTags.rankings] : []),
      ];
    },
    audience: users,
  },
  {
    name: 'portfolio_holdings',
    key: { column: 'id', kind: 'bigint' },
    columns: holdingColumns,
    topic: 'defi.portfolio',
    replica: { table: 'portfolio_holdings', columns: names(holdingColumns) },
    activity: true,
    projection: 'portfolio',
    // A holding's position also counts in its protocol's analytics (holders, positions).
    tags: (e) => [
      ...users(e).flatMap((u) => [cacheTags.holdings(u), cacheTags.activity(u)]),
      ...changedValues(e, 'protocol_id').map(cacheTags.positions),
    ],
    audience: users,
  },
  {
    name: 'protocols',
    key: { column: 'id', kind: 'text' },
    columns: protocolColumns,
    topic: 'defi.protocols',
    replica: { table: 'protocols', columns: names(protocolColumns) },
    tags: (e) => [cacheTags.protocol(e.key), cacheTags.rankings],
    audience: nobody,
  },
  {
    name: 'users',
    key: { column: 'id', kind: 'bigint' },
    columns: [col('id', 'bigint'), col('handle', 'text'), col('display_name', 'text')],
    topic: 'defi.users',
    tags: (e) => [cacheTags.user(e.key), ...changedValues(e, 'handle').map(cacheTags.userHandle)],
    audience: nobody,
  },
  {
    name: 'assets',
    key: { column: 'id', kind: 'text' },
    columns: [
      col('id', 'text'),
      col('symbol', 'text'),
      col('name', 'text'),
      col('chain', 'text'),
      col('decimals', 'int'),
    ],
    topic: 'defi.assets',
    tags: (e) => [cacheTags.asset(e.key)],
    audience: nobody,
  },
  {
    name: 'asset_embeddings',
    key: { column: 'asset_id', kind: 'text' },
    columns: [col('asset_id', 'text'), col('embedding', 'vector')],
    topic: 'defi.embeddings',
    projection: 'embeddings',
    // Nearest neighbours of every asset may change when one embedding does.
    tags: () => [cacheTags.similar],
    audience: nobody,
  },
];

const BY_NAME = new Map(TABLES.map((t) => [t.name, t]));

/** The spec of a captured table; undefined for a table the registry does not know. */
export function tableSpec(name: string): TableSpec | undefined {
  return BY_NAME.get(name);
}

/**
 * The tables an operator chose (CDC_TABLES), in registry order; all of them when none were
 * named. An unknown name stops the process at startup with a message listing the known ones.
 */
export function selectTables(chosen: readonly string[] | undefined): readonly TableSpec[] {
  if (chosen === undefined) return TABLES;
  const unknown = chosen.filter((name) => !BY_NAME.has(name));
  if (unknown.length > 0) {
    throw new AppError({
      code: 'CONFIG_INVALID',
      message: `Invalid CDC_TABLES: unknown table(s) ${unknown.join(', ')}; known: ${TABLES.map((t) => t.name).join(', ')}`,
    });
  }
  return TABLES.filter((t) => chosen.includes(t.name));
}

/** The entities a change of a captured row touched; a table the registry does not know touches none. */
export function tagsOfChange(event: ChangeEvent): string[] {
  return tableSpec(event.table)?.tags(event) ?? [];
}

/** The tables with a ClickHouse replica (backfill, syncStatus, consistency checks). */
export function replicatedTables(tables: readonly TableSpec[]): Array<TableSpec & { replica: ReplicaSpec }> {
  return tables.filter((t): t is TableSpec & { replica: ReplicaSpec } => t.replica !== undefined);
}

const text = (doc: RowDoc, key: string): string | null => {
  const value = doc[key];
  return value === null || value === undefined ? null : String(value);
};

/** A holding as a change event carries it. */
export function decodeHolding(doc: RowDoc): HoldingRow {
  return {
    id: text(doc, 'id')!,
    userId: text(doc, 'user_id')!,
    assetId: text(doc, 'asset_id')!,
    protocolId: text(doc, 'protocol_id'),
    quantity: text(doc, 'quantity')!,
    valueUsd: text(doc, 'value_usd')!,
    updatedAt: new Date(text(doc, 'updated_at')!),
  };
}

/** A transaction as a change event carries it. */
export function decodeTransaction(doc: RowDoc): TransactionRow {
  return {
    id: text(doc, 'id')!,
    userId: text(doc, 'user_id')!,
    assetId: text(doc, 'asset_id')!,
    protocolId: text(doc, 'protocol_id'),
    type: text(doc, 'type')!,
    amount: text(doc, 'amount')!,
    valueUsd: text(doc, 'value_usd')!,
    txHash: text(doc, 'tx_hash'),
    occurredAt: new Date(text(doc, 'occurred_at')!),
  };
}

/**
 * Shapes of the source-of-truth rows as the gateway serves them. SQL aliases columns to these
 * camelCase names, and the table registry decodes captured change documents into the same
 * shapes, so a holding read from Postgres and one carried by a change event are one type.
 */

/** A captured row as the change log records it: numbers as strings (see migrations/postgres/002_cdc.sql). */
export type RowDoc = Readonly<Record<string, string | boolean | null | readonly number[]>>;

/** A user of the product. */
export interface UserRow {
  readonly id: string;
  readonly handle: string;
  readonly displayName: string;
  readonly createdAt: Date;
}

/** An asset's metadata (prices live in ClickHouse and Redis). */
export interface AssetRow {
  readonly id: string;
  readonly symbol: string;
  readonly name: string;
  readonly chain: string;
  readonly decimals: number;
}

/** A DeFi protocol. */
export interface ProtocolRow {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly chain: string;
  readonly website: string | null;
  readonly tvlUsd: string;
}

/** One position of a user in an asset, optionally inside a protocol. */
export interface HoldingRow {
  readonly id: string;
  readonly userId: string;
  readonly assetId: string;
  readonly protocolId: string | null;
  readonly quantity: string;
  readonly valueUsd: string;
  readonly updatedAt: Date;
}

/** One transaction of a user's history. */
export interface TransactionRow {
  readonly id: string;
  readonly userId: string;
  readonly assetId: string;
  readonly protocolId: string | null;
  readonly type: string;
  readonly amount: string;
  readonly valueUsd: string;
  readonly txHash: string | null;
  readonly occurredAt: Date;
}

/** SELECT lists producing the shapes above, shared by every statement that reads these tables. */
export const columns = {
  user: (t: string) =>
    `${t}.id::text AS id, ${t}.handle, ${t}.display_name AS "displayName", ${t}.created_at AS "createdAt"`,
  asset: (t: string) => `${t}.id, ${t}.symbol, ${t}.name, ${t}.chain, ${t}.decimals`,
  protocol: (t: string) => `${t}.id, ${t}.name, ${t}.category, ${t}.chain, ${t}.website, ${t}.tvl_usd AS "tvlUsd"`,
  holding: (t: string) =>
    `${t}.id::text AS id, ${t}.user_id::text AS "userId", ${t}.asset_id AS "assetId", ${t}.protocol_id AS "protocolId", ${t}.quantity, ${t}.value_usd AS "valueUsd", ${t}.updated_at AS "updatedAt"`,
  transaction: (t: string) =>
    `${t}.id::text AS id, ${t}.user_id::text AS "userId", ${t}.asset_id AS "assetId", ${t}.protocol_id AS "protocolId", ${t}.type, ${t}.amount, ${t}.value_usd AS "valueUsd", ${t}.tx_hash AS "txHash", ${t}.occurred_at AS "occurredAt"`,
} as const;

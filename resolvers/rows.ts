import type { ChangeEvent, Delivered, PriceEvent } from '../domain/events.ts';

/**
 * Shapes the tiers return and resolvers pass down as parents (codegen mappers). SQL aliases
 * columns to these camelCase names so graphql-js's default resolver serves plain fields
 * without a resolver call each.
 */

export interface UserRow {
  readonly id: string;
  readonly handle: string;
  readonly displayName: string;
  readonly createdAt: Date;
}

export interface AssetRow {
  readonly id: string;
  readonly symbol: string;
  readonly name: string;
  readonly chain: string;
  readonly decimals: number;
}

export interface ProtocolRow {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly chain: string;
  readonly website: string | null;
  readonly tvlUsd: string;
}

export interface HoldingRow {
  readonly id: string;
  readonly userId: string;
  readonly assetId: string;
  readonly protocolId: string | null;
  readonly quantity: string;
  readonly valueUsd: string;
  readonly updatedAt: Date;
}

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

export interface PortfolioParent {
  readonly userId: string;
  readonly holdings: readonly HoldingRow[];
}

export interface SimilarParent {
  readonly assetId: string;
  readonly score: number;
}

export interface ProtocolAnalyticsParent {
  readonly protocol: ProtocolRow;
}

export interface IngestResultParent {
  readonly accepted: number;
  readonly assetIds: readonly string[];
}

export type DeliveredChange = Delivered<ChangeEvent>;
export type DeliveredPrice = Delivered<PriceEvent>;

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

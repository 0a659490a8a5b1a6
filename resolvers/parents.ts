/**
 * Parent values the resolvers pass down for types that are not plain rows (codegen mappers).
 * Row types themselves are domain/rows.ts.
 */
import type { ChangeEvent, Delivered, PriceEvent } from '../domain/events.ts';
import type { HoldingRow, ProtocolRow } from '../domain/rows.ts';

/** A user's portfolio: the holdings, loaded once. */
export interface PortfolioParent {
  readonly userId: string;
  readonly holdings: readonly HoldingRow[];
}

/** One neighbour of an asset in the vector index. */
export interface SimilarParent {
  readonly assetId: string;
  readonly score: number;
}

/** A protocol whose analytics (ClickHouse series) are resolved field by field. */
export interface ProtocolAnalyticsParent {
  readonly protocol: ProtocolRow;
}

/** The outcome of ingestPrices. */
export interface IngestResultParent {
  readonly accepted: number;
  readonly assetIds: readonly string[];
}

/** A change event as a subscriber receives it. */
export type DeliveredChange = Delivered<ChangeEvent>;
/** A price event as a subscriber receives it. */
export type DeliveredPrice = Delivered<PriceEvent>;

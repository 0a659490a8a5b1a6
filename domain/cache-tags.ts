/**
 * Cache tags: the names of the entities a cached response read, and of the entities a change
 * touched. A response is evicted when a change touches any entity it read, so both sides must
 * name entities alike: the gateway's loaders tag what they load, and the table registry
 * (domain/tables.ts) tags change events with these names. Tags are as narrow as the data they
 * stand for: a new price evicts `Price:ETH` (prices, candles), never `Asset:ETH` (name, symbol).
 */
import type { PriceEvent } from './events.ts';

/** Tag names by entity. */
export const cacheTags = {
  user: (id: string) => `User:${id}`,
  userHandle: (handle: string) => `User:@${handle}`,
  asset: (id: string) => `Asset:${id}`,
  protocol: (id: string) => `Protocol:${id}`,
  /** The set of a user's holdings and every field of them. */
  holdings: (userId: string) => `Holdings:${userId}`,
  /** A user's transaction history. */
  transactions: (userId: string) => `Transactions:${userId}`,
  /** A user's activity feed (ClickHouse user_activity), fed by holding changes. */
  activity: (userId: string) => `Activity:${userId}`,
  /** An asset's price data: latest price, 24 h change, candles. */
  price: (assetId: string) => `Price:${assetId}`,
  /** A protocol's volume series (from the transactions it saw). */
  volume: (protocolId: string) => `Volume:${protocolId}`,
  /** A protocol's positions: holders and value held (from the holdings replica). */
  positions: (protocolId: string) => `Positions:${protocolId}`,
  /** Every ranking of protocols: any protocol's volume or name may move it. */
  rankings: 'Rankings',
  /** Every similar-assets answer: one embedding changing can change anyone's neighbours. */
  similar: 'Similar',
} as const;

/** The entities a new price touched. */
export function tagsOfPrice(event: PriceEvent): string[] {
  return [cacheTags.price(event.assetId)];
}

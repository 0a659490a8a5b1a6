/**
 * Cache tags: the names of the entities a cached response read, and of the entities a change
 * touched. A response is evicted when a change touches any entity it read, so both sides must
 * name entities alike: the gateway's loaders tag what they load, and these functions tag
 * change and price events and writes. Tags are as narrow as the data they stand for: a new
 * price evicts `Price:ETH` (prices, candles), never `Asset:ETH` (name, symbol, chain).
 * Every captured table has its tags here; a table captured without them is evicted by
 * max-age only.
 */
import { changedValues, type ChangeEvent, type PriceEvent } from './events.ts';

export const cacheTags = {
  user: (id: string) => `User:${id}`,
  userHandle: (handle: string) => `User:@${handle}`,
  asset: (id: string) => `Asset:${id}`,
  protocol: (id: string) => `Protocol:${id}`,
  /** The set of a user's holdings and every field of them. */
  holdings: (userId: string) => `Holdings:${userId}`,
  /** A user's transaction history. */
  transactions: (userId: string) => `Transactions:${userId}`,
  /** An asset's price data: latest price, 24 h change, candles. */
  price: (assetId: string) => `Price:${assetId}`,
  /** A protocol's volume series (from the transactions it saw). */
  volume: (protocolId: string) => `Volume:${protocolId}`,
} as const;

/** The entities a change of a captured row touched. */
export function tagsOfChange(event: ChangeEvent): string[] {
  switch (event.table) {
    case 'portfolio_holdings':
      return changedValues(event, 'user_id').map(cacheTags.holdings);
    case 'transaction_history':
      return [
        ...changedValues(event, 'user_id').map(cacheTags.transactions),
        ...changedValues(event, 'protocol_id').map(cacheTags.volume),
      ];
    case 'protocols':
      return [cacheTags.protocol(event.key)];
    case 'users':
      return [cacheTags.user(event.key), ...changedValues(event, 'handle').map(cacheTags.userHandle)];
    case 'assets':
      return [cacheTags.asset(event.key)];
    default:
      return [];
  }
}

export function tagsOfPrice(event: PriceEvent): string[] {
  return [cacheTags.price(event.assetId)];
}

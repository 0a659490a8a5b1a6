/**
 * What our schema's list fields cost (schema/*.graphql). A field costs 1 plus its selection's
 * cost times its multiplier: the page size it asks for, or the typical length of the list it
 * returns. Fields not listed cost 1, times `defaultListMultiplier` when they return a list.
 */
import type { FieldCost } from './field-cost.ts';

/** Per-field costs of the product schema, keyed "Type.field". */
export const PRODUCT_FIELD_COSTS: Readonly<Record<string, FieldCost>> = {
  // Relay pages: `first` rows (SDL default 20; the resolver refuses more than MAX_PAGE_SIZE, 100).
  // A larger `first` is counted as asked, not capped: it is refused here, before any resolver
  // runs, with the cost it would have had.
  'Query.transactions': { multiplierArgs: ['first'] },
  'User.transactions': { multiplierArgs: ['first'] },
  // Newest changes of a user's holdings (SDL default 20, at most 100), protocols by volume
  // (default 10) and admin jobs (default 20, at most 100): pages of that many.
  'User.activity': { multiplierArgs: ['first'] },
  'Query.protocolRankings': { multiplierArgs: ['first'] },
  'Query.jobs': { multiplierArgs: ['last'] },
  // Dead-lettered changes for admins (default 20, at most 100).
  'Query.deadLetters': { multiplierArgs: ['first'] },
  // The page's length is counted once, at `transactions`; `edges` is that same list.
  'TransactionConnection.edges': { defaultMultiplier: 1 },
  // Nearest neighbours from the vector tier: k of them (SDL defaults 5 and 3; at most 100 and 50).
  'Query.similarAssets': { multiplierArgs: ['k'] },
  'Asset.similar': { multiplierArgs: ['k'] },
  // A portfolio holds 25 to 60 positions; the benchmark's whale holds 50.
  'Portfolio.holdings': { defaultMultiplier: 50 },
  // A day of candles by default: 1 daily, 24 hourly, 1,440 by the minute; `from`/`to` widen it
  // (the resolver caps the count). Candles are leaves read from ClickHouse's materialized
  // views: 100 prices the usual hourly and daily series a little high and a minute series low.
  'Query.marketData': { defaultMultiplier: 100 },
  // Thirty daily points each (protocolAnalytics: "over the last 30 days").
  'ProtocolAnalytics.volume': { defaultMultiplier: 30 },
  'ProtocolAnalytics.tvl': { defaultMultiplier: 30 },
  // One stream per asset id: each price tick of each of them resolves the selection.
  'Subscription.priceUpdated': { multiplierArgs: ['assetIds'] },
  // Not multiplied by `ticks`: a batch of 10,000 ticks is what bin/ingest.ts sends, and the
  // request body cap (gateway/app.ts, 4 MiB) bounds it. IngestResult.assets is the distinct
  // assets of the batch: the default list multiplier.
};

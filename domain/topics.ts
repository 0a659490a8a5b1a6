/** Kafka topics besides the captured tables' (whose topics are in the table registry). */

/** Price events from the market feed, keyed by asset id. */
export const MARKET_TOPIC = 'defi.market';

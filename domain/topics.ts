/** Kafka topic names: each captured table has its topic, market events theirs. */
export const topics = {
  transactions: 'defi.transactions',
  portfolio: 'defi.portfolio',
  protocols: 'defi.protocols',
  users: 'defi.users',
  assets: 'defi.assets',
  market: 'defi.market',
} as const;

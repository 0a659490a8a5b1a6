/** Kafka topic names: each captured table has its topic, market events theirs. */
export const topics = {
  transactions: 'defi.transactions',
  portfolio: 'defi.portfolio',
  protocols: 'defi.protocols',
  market: 'defi.market',
} as const;

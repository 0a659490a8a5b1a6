/**
 * Kafka topic names: each captured table's topic (from its capture config, where the worker
 * publishes), and market events'. The gateway's hub subscribes to these.
 */
import { DEFAULT_CAPTURE_TABLES } from '../lib/config.ts';

function topicOf(table: string): string {
  const captured = DEFAULT_CAPTURE_TABLES.find((t) => t.table === table);
  if (!captured) throw new Error(`${table} is not a captured table`);
  return captured.topic;
}

export const topics = {
  transactions: topicOf('transaction_history'),
  portfolio: topicOf('portfolio_holdings'),
  protocols: topicOf('protocols'),
  users: topicOf('users'),
  assets: topicOf('assets'),
  market: 'defi.market',
} as const;

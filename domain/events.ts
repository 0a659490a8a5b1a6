/**
 * The events on the bus: the contract between the sync worker (producer of change events),
 * the market ingest (producer of price events) and the gateway (consumer, for subscriptions).
 */

import type { RowDoc } from './rows.ts';

/** Re-exported: the documents events carry. */
export type { RowDoc };

/** One change of a captured row, on its table's topic, keyed by the row's primary key. */
export interface ChangeEvent {
  readonly table: string;
  readonly operation: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly key: string;
  /** The change sequence: per row, the order of commits. A consumer drops repeats by it. */
  readonly sequence: string;
  readonly transactionId: string;
  readonly commitTime: string;
  readonly before: RowDoc | null;
  readonly after: RowDoc | null;
}

/** The values of `column` in the row before and after the change, without repeats (a row may move between users). */
export function changedValues(event: ChangeEvent, column: string): string[] {
  const out = new Set<string>();
  for (const doc of [event.before, event.after]) {
    const value = doc?.[column];
    if (typeof value === 'string') out.add(value);
  }
  return [...out];
}

/** A new latest price, on the market topic, keyed by the asset id. */
export interface PriceEvent {
  readonly assetId: string;
  readonly price: string;
  readonly change24h: string | null;
  /** Time of the tick, ISO-8601. */
  readonly ts: string;
}

/**
 * An event as a subscriber receives it, with its position: an opaque token saying exactly how
 * far into the topic's retained log the subscriber has been served (per partition, the next
 * offset). A client that reconnects with the position of the last event it saw is served the
 * rest of the log from there: no gap, no duplicate.
 */
export interface Delivered<E> {
  readonly event: E;
  readonly position: string;
}

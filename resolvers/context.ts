/** The per-request context: loaders are built here, per request, never at module scope. */
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { ChangeEvent, Delivered, PriceEvent } from '../domain/events.ts';
import type { Loaders } from './loaders.ts';

/** Live event streams for subscriptions (implemented by the gateway's event hub). */
export interface EventStreams {
  /** `after`: the position of the last event the client saw; the stream resumes from there. */
  portfolio(userId: string, after?: string): AsyncIterableIterator<Delivered<ChangeEvent>>;
  transactions(userId: string, after?: string): AsyncIterableIterator<Delivered<ChangeEvent>>;
  prices(assetIds: readonly string[]): AsyncIterableIterator<Delivered<PriceEvent>>;
}

export interface Context {
  readonly requestId: string;
  readonly config: Config;
  readonly tiers: Tiers;
  /** Per request; for a subscription, renewed before each event so no data is served stale. */
  readonly loaders: Loaders;
  /** Present on WebSocket connections. */
  readonly events?: EventStreams;
  readonly logger: Logger;
  /** Whether the request carried the configured admin token. */
  readonly admin: boolean;
}

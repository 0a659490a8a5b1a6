/**
 * The per-request context, built by the gateway's one request pipeline for HTTP and WebSocket
 * alike: loaders are built per request, never at module scope.
 */
import type { ChangeEvent, Delivered, PriceEvent } from '../domain/events.ts';
import type { TableSpec } from '../domain/tables.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { ErrorReporter } from '../lib/metrics.ts';
import type { Viewer } from '../lib/viewer.ts';
import type { CacheStats } from '../schema/generated/resolvers-types.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { Loaders } from './loaders.ts';

/** Live event streams for subscriptions (implemented by the gateway's event hub). */
export interface EventStreams {
  /** `after`: the position of the last event the client saw; the stream resumes from there. */
  portfolio(userId: string, after?: string): AsyncIterableIterator<Delivered<ChangeEvent>>;
  transactions(userId: string, after?: string): AsyncIterableIterator<Delivered<ChangeEvent>>;
  prices(assetIds: readonly string[]): AsyncIterableIterator<Delivered<PriceEvent>>;
}

/** The response cache as resolvers see it (implemented by the gateway, per request). */
export interface CacheHandle {
  /** Records that the response read this entity (see domain/cache-tags.ts): its change evicts the response. */
  tag(tag: string): void;
  /** Evicts every cached response that read any of these entities; writes await it before returning. */
  invalidate(tags: readonly string[]): Promise<void>;
  /** Records the change sequence a write produced: the response's consistency token. */
  wrote(sequence: string): void;
  /** Statistics of the whole cache (Query.cacheStats). */
  stats(): Promise<CacheStats>;
  /** Admin: evicts what read any of `tags`, or everything; returns how many answers were removed. */
  purge(tags?: readonly string[]): Promise<number>;
}

/** Everything a resolver may use. */
export interface Context {
  readonly requestId: string;
  readonly config: Config;
  readonly tiers: Tiers;
  /** The captured tables (the operator's selection from the registry). */
  readonly tables: readonly TableSpec[];
  /** Per request; for a subscription, renewed before each event so no data is served stale. */
  readonly loaders: Loaders;
  readonly cache: CacheHandle;
  /** Long operations are queued here and run by a sync worker. */
  readonly jobs: JobQueue;
  /** Present on WebSocket connections. */
  readonly events?: EventStreams;
  readonly logger: Logger;
  /** Errors answered with a fallback are reported here (logged and counted). */
  readonly report: ErrorReporter;
  /** Who is asking (authorization has already checked the operation against it). */
  readonly viewer: Viewer;
}

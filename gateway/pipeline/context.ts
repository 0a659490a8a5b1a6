/**
 * The per-request context, built in one place for HTTP and WebSocket: loaders are created
 * here, per request (or per event for subscriptions), never at module scope.
 */
import type { TableSpec } from '../../domain/tables.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Config } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ErrorReporter } from '../../lib/metrics.ts';
import type { Viewer } from '../../lib/viewer.ts';
import type { CacheHandle, Context, EventStreams } from '../../resolvers/context.ts';
import type { BatchObserver } from '../../resolvers/batch.ts';
import { createLoaders, type Loaders } from '../../resolvers/loaders.ts';
import type { Tiers } from '../../stores/tiers.ts';

/** What a transport knows of one request. */
export interface ContextArgs {
  readonly requestId: string;
  readonly viewer: Viewer;
  /** The response cache's handle; `storing` and `tag` when the answer may be stored. */
  readonly cache: CacheHandle & { readonly storing?: boolean };
  /** WebSocket only: live event streams. */
  readonly events?: EventStreams;
  /** WebSocket subscriptions: the loaders of the current event, renewed per event. */
  readonly loaders?: () => Loaders;
}

/** Creates the factory of contexts over the process's tiers. */
export function createContextFactory(options: {
  config: Config;
  tiers: Tiers;
  tables: readonly TableSpec[];
  jobs: JobQueue;
  logger: Logger;
  report: ErrorReporter;
  onBatch?: BatchObserver;
}) {
  const { config, tiers, report, onBatch } = options;
  const loadersFor = (cache: ContextArgs['cache']) =>
    // Tags only matter to a response that may be stored.
    createLoaders({
      tiers,
      batching: config.gateway.batching,
      report,
      onBatch,
      tag: cache.storing ? cache.tag : undefined,
    });
  return (args: ContextArgs): Context => {
    let loaders: Loaders | undefined;
    return {
      requestId: args.requestId,
      config,
      tiers,
      tables: options.tables,
      cache: args.cache,
      jobs: options.jobs,
      events: args.events,
      logger: options.logger,
      report,
      viewer: args.viewer,
      get loaders() {
        if (args.loaders) return args.loaders();
        return (loaders ??= loadersFor(args.cache));
      },
    };
  };
}

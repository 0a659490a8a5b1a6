/**
 * GraphQL subscriptions over graphql-ws on the same port and path as queries. Each operation
 * gets its own context, whose loaders are those of the current event: nested fields of a
 * payload (a holding's asset, the portfolio) are batched per event across all its
 * subscribers, and never served stale from an earlier event.
 * Keep-alive pings come from graphql-ws (every 12 s); unsubscribing or closing the socket
 * ends the operation's stream, which unregisters it from the hub at once.
 */
import type { GraphQLFormattedError, GraphQLError, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type http from 'node:http';
import { WebSocketServer } from 'ws';
import type { Config } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import type { CacheHandle } from '../../resolvers/context.ts';
import { createLoaders, type Context, type EventStreams, type Loaders } from '../../resolvers/index.ts';
import type { Tiers } from '../../stores/tiers.ts';
import type { EventHub } from './hub.ts';

/** Points the context's loaders at the event's before handing it on. */
function renewing<T extends object>(
  source: AsyncIterableIterator<T>,
  renew: (event: T) => void,
): AsyncIterableIterator<T> {
  return {
    async next() {
      const result = await source.next();
      if (!result.done) renew(result.value);
      return result;
    },
    return: () => source.return?.() ?? Promise.resolve({ value: undefined, done: true }),
    throw: (error) => source.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export function attachSubscriptions(options: {
  server: http.Server;
  schema: GraphQLSchema;
  hub: EventHub;
  tiers: Tiers;
  config: Config;
  logger: Logger;
  /** A cache handle per operation: a mutation sent over the socket evicts like one over HTTP. */
  cache: () => CacheHandle;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}): { close(): Promise<void> } {
  const { hub, tiers, config, logger } = options;
  const capacity = config.gateway.subscriptionQueueSize;
  const wss = new WebSocketServer({ server: options.server, path: config.gateway.graphqlPath });

  // Loaders per event, shared by every subscription that receives it (the hub hands them the
  // same object): a portfolio update fanned out to 1,000 subscribers resolves its nested
  // fields in one batch, not 1,000. Weakly held: they go with the event.
  const eventLoaders = new WeakMap<object, Loaders>();
  const loadersFor = (event: object): Loaders => {
    let loaders = eventLoaders.get(event);
    if (!loaders) eventLoaders.set(event, (loaders = createLoaders({ tiers, batching: config.gateway.batching })));
    return loaders;
  };

  const contextFor = (requestId: string): Context => {
    // Built only when a query or mutation sent over the socket needs them: a subscription's
    // fields are resolved with the loaders of each event.
    let loaders: Loaders | undefined;
    const renew = (event: object) => (loaders = loadersFor(event));
    const events: EventStreams = {
      portfolio: (userId, after) =>
        renewing(
          hub.stream({
            topic: 'portfolio',
            keys: [userId],
            capacity,
            after,
            policy: { kind: 'coalesce', keyOf: (d) => d.event.key },
          }),
          renew,
        ),
      transactions: (userId, after) =>
        renewing(
          hub.stream({ topic: 'transactions', keys: [userId], capacity, after, policy: { kind: 'close' } }),
          renew,
        ),
      prices: (assetIds) =>
        renewing(
          hub.stream({
            topic: 'market',
            keys: assetIds,
            capacity,
            policy: { kind: 'coalesce', keyOf: (d) => d.event.assetId },
          }),
          renew,
        ),
    };
    return {
      requestId,
      config,
      tiers,
      logger,
      admin: false,
      events,
      cache: options.cache(),
      get loaders() {
        return (loaders ??= createLoaders({ tiers, batching: config.gateway.batching }));
      },
    };
  };

  const disposable = useServer(
    {
      schema: options.schema,
      context: (_ctx, id) => contextFor(`ws:${id}`),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!('errors' in result) || !result.errors) return result;
        return {
          ...result,
          errors: result.errors.map((e) => options.formatError((e as GraphQLError).toJSON?.() ?? e, e)),
        };
      },
    },
    wss,
  );
  wss.on('error', (error) => logger.warn('websocket server error', { error }));

  return {
    /** Closes every socket (1001 Going away) and the WebSocket server itself (graphql-ws's dispose does both). */
    async close() {
      await disposable.dispose();
    },
  };
}

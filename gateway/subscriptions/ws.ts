/**
 * GraphQL subscriptions over graphql-ws on the same port and path as queries. Each operation
 * gets its own context; its loaders are renewed before every event, so nested fields of a
 * payload (a holding's asset, the portfolio) are batched per event and never served stale.
 * Keep-alive pings come from graphql-ws (every 12 s); unsubscribing or closing the socket
 * ends the operation's stream, which unregisters it from the hub at once.
 */
import type { GraphQLFormattedError, GraphQLError, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type http from 'node:http';
import { WebSocketServer } from 'ws';
import type { Config } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { createLoaders, type Context, type EventStreams } from '../../resolvers/index.ts';
import type { Tiers } from '../../stores/tiers.ts';
import type { EventHub } from './hub.ts';

/** Renews the context's loaders before handing each event on. */
function renewing<T>(source: AsyncIterableIterator<T>, renew: () => void): AsyncIterableIterator<T> {
  return {
    async next() {
      const result = await source.next();
      if (!result.done) renew();
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
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}): { close(): Promise<void> } {
  const { hub, tiers, config, logger } = options;
  const capacity = config.gateway.subscriptionQueueSize;
  const wss = new WebSocketServer({ server: options.server, path: config.gateway.graphqlPath });

  const contextFor = (requestId: string): Context => {
    let loaders = createLoaders({ tiers, batching: config.gateway.batching });
    const renew = () => (loaders = createLoaders({ tiers, batching: config.gateway.batching }));
    const events: EventStreams = {
      portfolio: (userId, after) =>
        renewing(hub.stream({ topic: 'portfolio', keys: [userId], capacity, after, policy: { kind: 'coalesce', keyOf: (d) => d.event.key } }), renew),
      transactions: (userId, after) => renewing(hub.stream({ topic: 'transactions', keys: [userId], capacity, after, policy: { kind: 'close' } }), renew),
      prices: (assetIds) => renewing(hub.stream({ topic: 'market', keys: assetIds, capacity, policy: { kind: 'coalesce', keyOf: (d) => d.event.assetId } }), renew),
    };
    return {
      requestId,
      config,
      tiers,
      logger,
      admin: false,
      events,
      get loaders() {
        return loaders;
      },
    };
  };

  const disposable = useServer(
    {
      schema: options.schema,
      context: (_ctx, id) => contextFor(`ws:${id}`),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!('errors' in result) || !result.errors) return result;
        return { ...result, errors: result.errors.map((e) => options.formatError((e as GraphQLError).toJSON?.() ?? e, e)) };
      },
    },
    wss,
  );
  wss.on('error', (error) => logger.warn('websocket server error', { error }));

  return {
    async close() {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

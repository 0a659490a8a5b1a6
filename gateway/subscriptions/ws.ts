/**
 * GraphQL over WebSocket (graphql-ws) on the GraphQL path, through the same request pipeline
 * as HTTP: the same authentication (the `authorization` field of the connectionInit payload),
 * rate limits, query limits, authorization and error formatting.
 *
 * - A bad token at connectionInit closes the socket with 4401; so does a token's expiry later.
 *   A socket without a token may subscribe to public data; an operation it may not run is
 *   refused with a coded error for that operation (the socket stays).
 * - Connections per signed-in user (per gateway instance) and subscriptions per connection are
 *   bounded; past the bound a connection is closed with 4429, a subscription refused.
 * - Each subscription's payload fields are resolved with the loaders of the current event,
 *   shared by every subscriber of that event: a portfolio update fanned out to 1,000
 *   subscribers resolves its nested fields in one batch, not 1,000, and never stale.
 * Keep-alive pings come from graphql-ws (every 12 s); unsubscribing or closing the socket
 * ends the operation's stream, which unregisters it from the hub at once.
 */
import { GraphQLError, subscribe, type ExecutionArgs, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../../lib/config.ts';
import { AppError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { runInScope } from '../../lib/request-scope.ts';
import { inSpan } from '../../lib/tracing.ts';
import { ANONYMOUS, type Viewer } from '../../lib/viewer.ts';
import type { CacheHandle, Context, EventStreams } from '../../resolvers/context.ts';
import type { Loaders } from '../../resolvers/loaders.ts';
import type { RateLimiter } from '../../stores/rate-limiter.ts';
import type { ActiveUsers } from '../auth/active-users.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { connectionAuthorization } from '../auth/connection-authorization.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ContextArgs } from '../pipeline/context.ts';
import type { Executor } from '../pipeline/executor.ts';
import { isRefusal, type Pipeline } from '../pipeline/pipeline.ts';
import type { EventHub } from './hub.ts';

/** The longest delay a Node timer keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Close codes (graphql-ws reserves 4400-4499 for such application errors). */
const UNAUTHORIZED = 4401;
const TOO_MANY = 4429;

/** What we keep per socket, beside graphql-ws's own `extra` (socket, request). */
type Connection = {
  viewer?: Viewer;
  id?: number;
  subscriptions?: number;
  expiry?: NodeJS.Timeout;
} & Record<PropertyKey, unknown>;

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

/** Serves graphql-ws on `server`; `close()` ends every socket with 1001 (Going away). */
export function attachSubscriptions(options: {
  server: http.Server;
  schema: GraphQLSchema;
  config: Config;
  pipeline: Pipeline;
  executor: Executor;
  hub: EventHub;
  authenticator: Authenticator;
  activeUsers: ActiveUsers;
  rateLimiter: RateLimiter;
  contextFor: (args: ContextArgs) => Context;
  /** A cache handle per operation: a mutation sent over the socket evicts like one over HTTP. */
  cache: () => CacheHandle;
  createLoaders: () => Loaders;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  metrics: GatewayMetrics;
  logger: Logger;
}): { close(): Promise<void> } {
  const { hub, config, pipeline, metrics } = options;
  const logger = options.logger.child('ws');
  const capacity = config.gateway.subscriptionQueueSize;
  const wss = new WebSocketServer({
    server: options.server,
    path: config.gateway.graphqlPath,
    maxPayload: config.gateway.maxBodyBytes,
  });
  const connectionsBySubject = new Map<string, number>();
  let nextConnection = 0;

  // Loaders per event, shared by every subscription that receives it (the hub hands them the
  // same object). Weakly held: they go with the event.
  const eventLoaders = new WeakMap<object, Loaders>();
  const loadersFor = (event: object): Loaders => {
    let loaders = eventLoaders.get(event);
    if (!loaders) eventLoaders.set(event, (loaders = options.createLoaders()));
    return loaders;
  };

  /** graphql-ws errors are sent as they are: send them formatted, as HTTP does. */
  const formatted = (errors: readonly GraphQLError[]) =>
    errors.map((e) => {
      const f = options.formatError(e.toJSON(), e);
      return new GraphQLError(f.message, { extensions: f.extensions });
    });

  const refuse = (error: AppError) =>
    formatted([
      new GraphQLError(error.message, { originalError: error, extensions: { ...error.details, code: error.code } }),
    ]);

  function contextFor(connection: Connection, operationId: string): Context {
    let loaders: Loaders | undefined;
    const renew = (event: object) => (loaders = loadersFor(event));
    const events: EventStreams = {
      portfolio: (userId, after) =>
        renewing(
          hub.stream({
            topic: 'portfolio_holdings',
            keys: [userId],
            capacity,
            after,
            policy: { kind: 'coalesce', keyOf: (d) => d.event.key },
          }),
          renew,
        ),
      transactions: (userId, after) =>
        renewing(
          hub.stream({ topic: 'transaction_history', keys: [userId], capacity, after, policy: { kind: 'close' } }),
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
    return options.contextFor({
      requestId: `ws:${connection.id}:${operationId}`,
      viewer: connection.viewer ?? ANONYMOUS,
      cache: options.cache(),
      events,
      // A query or mutation over the socket gets its own loaders; a subscription, each event's.
      loaders: () => (loaders ??= options.createLoaders()),
    });
  }

  const disposable = useServer<Record<string, unknown> | undefined, Connection>(
    {
      schema: options.schema,
      async onConnect(ctx) {
        const connection = ctx.extra;
        connection.id = ++nextConnection;
        try {
          const viewer = await options.authenticator.authenticate(connectionAuthorization(ctx.connectionParams));
          if (viewer.kind === 'user' && !(await options.activeUsers.exists(viewer.userId))) {
            throw new AppError({ code: 'UNAUTHENTICATED', message: "The token's user no longer exists" });
          }
          connection.viewer = viewer;
        } catch (error) {
          metrics.rejections.inc({ kind: 'unauthenticated' });
          connection.socket.close(
            UNAUTHORIZED,
            error instanceof AppError ? error.message.slice(0, 120) : 'Unauthorized',
          );
          return false;
        }
        const viewer = connection.viewer;
        if (viewer.kind === 'user') {
          const open = (connectionsBySubject.get(viewer.userId) ?? 0) + 1;
          if (open > config.rateLimit.maxConnectionsPerSubject) {
            metrics.rejections.inc({ kind: 'connections' });
            connection.socket.close(
              TOO_MANY,
              `At most ${config.rateLimit.maxConnectionsPerSubject} connections per user`,
            );
            return false;
          }
          connectionsBySubject.set(viewer.userId, open);
          // Subscriptions must not outlive the token that authorized them.
          const closeAtExpiry = () => {
            const msLeft = viewer.expiresAt * 1000 - Date.now();
            if (msLeft <= 0) return connection.socket.close(UNAUTHORIZED, 'Token expired');
            // Node fires a timer of more than 2^31 - 1 ms (24.8 days) at once: wait in steps.
            connection.expiry = setTimeout(closeAtExpiry, Math.min(msLeft, MAX_TIMER_MS));
            connection.expiry.unref();
          };
          closeAtExpiry();
        }
        return true;
      },
      onClose(ctx) {
        const connection = ctx.extra;
        clearTimeout(connection.expiry);
        const viewer = connection.viewer;
        if (viewer?.kind === 'user' && ctx.acknowledged) {
          const open = (connectionsBySubject.get(viewer.userId) ?? 1) - 1;
          if (open <= 0) connectionsBySubject.delete(viewer.userId);
          else connectionsBySubject.set(viewer.userId, open);
        }
      },
      async onSubscribe(ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> {
        const connection = ctx.extra;
        const viewer = connection.viewer ?? ANONYMOUS;
        // The socket outlives the check at ConnectionInit: a user deleted since then is refused
        // at the next operation, as over HTTP (a Map lookup while the answer is cached).
        if (viewer.kind === 'user' && !(await options.activeUsers.exists(viewer.userId))) {
          metrics.rejections.inc({ kind: 'unauthenticated' });
          connection.socket.close(UNAUTHORIZED, "The token's user no longer exists");
          return refuse(new AppError({ code: 'UNAUTHENTICATED', message: "The token's user no longer exists" }));
        }
        if (config.rateLimit.enabled) {
          const [subject, ip] = await Promise.all([
            viewer.kind === 'user' ? options.rateLimiter.consume('subject', viewer.userId) : undefined,
            options.rateLimiter.consume('ip', connection.request.socket.remoteAddress ?? 'unknown'),
          ]);
          const refused = [subject, ip].find((r) => r && !r.allowed);
          if (refused) {
            metrics.rejections.inc({ kind: 'rate_limit' });
            const retryAfterSec = Math.max(1, Math.ceil(refused.retryAfterMs / 1000));
            return refuse(
              new AppError({
                code: 'RATE_LIMITED',
                message: `Too many operations: retry in ${retryAfterSec} s`,
                details: { retryAfterSec },
              }),
            );
          }
        }
        if ((connection.subscriptions ?? 0) >= config.rateLimit.maxSubscriptionsPerConnection) {
          metrics.rejections.inc({ kind: 'subscriptions' });
          return refuse(
            new AppError({
              code: 'RATE_LIMITED',
              message: `At most ${config.rateLimit.maxSubscriptionsPerConnection} operations per connection at a time`,
            }),
          );
        }
        const prepared = await runInScope({ requestId: `ws:${connection.id}:${id}` }, () =>
          pipeline.prepare(payload, viewer),
        );
        if (isRefusal(prepared)) {
          metrics.rejections.inc({ kind: String(prepared.errors[0]?.extensions['code'] ?? 'invalid') });
          return runInScope({ requestId: `ws:${connection.id}:${id}` }, () => formatted(prepared.errors));
        }
        connection.subscriptions = (connection.subscriptions ?? 0) + 1;
        return {
          schema: options.schema,
          document: prepared.document,
          operationName: prepared.operationName,
          variableValues: { ...prepared.variables },
          contextValue: contextFor(connection, id),
          // Carried to `execute` below: the compiled-code cache key.
          rootValue: { documentKey: prepared.documentKey },
        };
      },
      onComplete(ctx) {
        ctx.extra.subscriptions = Math.max(0, (ctx.extra.subscriptions ?? 1) - 1);
      },
      execute: (args) =>
        runInScope({ requestId: (args.contextValue as Context).requestId }, () =>
          inSpan(`graphql ${args.operationName ?? 'anonymous'}`, { 'graphql.transport': 'websocket' }, () =>
            options.executor.execute({
              document: args.document,
              operationName: args.operationName,
              variables: args.variableValues,
              context: args.contextValue,
              documentKey: (args.rootValue as { documentKey: string }).documentKey,
            }),
          ),
        ),
      subscribe: (args) =>
        runInScope({ requestId: (args.contextValue as Context).requestId }, () =>
          subscribe({ ...args, rootValue: undefined }),
        ),
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

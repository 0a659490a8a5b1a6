/**
 * The gateway app: one HTTP server serving GraphQL (Apollo behind the response cache), GraphQL
 * over WebSocket (graphql-ws) on the same path, GraphiQL, health, readiness and metrics. Both
 * transports go through one request pipeline (pipeline/): authentication, rate limits, query
 * limits, authorization, context, execution and error formatting are built once.
 * Built by `createGateway(...)` and run with `{ start, stop }`.
 *
 * Every change event the gateway receives (it consumes them all, for subscriptions) evicts the
 * cached responses that read what changed; then its sequence counts as applied for requests
 * waiting on a consistency token.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tagsOfPrice } from '../domain/cache-tags.ts';
import { selectTables, tagsOfChange } from '../domain/tables.ts';
import { createJobQueue } from '../jobs/queue.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { ErrorReporter, Metrics } from '../lib/metrics.ts';
import { createLoaders } from '../resolvers/loaders.ts';
import { resolvers } from '../resolvers/index.ts';
import { loadTypeDefs } from '../schema/index.ts';
import { checkReadiness } from '../stores/readiness.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { RateLimiter } from '../stores/rate-limiter.ts';
import { createApollo } from './apollo.ts';
import { createActiveUsers } from './auth/active-users.ts';
import type { Authenticator } from './auth/authenticator.ts';
import { withAuthorization } from './authorization/authorize.ts';
import { createConsistencyGate } from './cache/consistency.ts';
import { createPolicyReader } from './cache/policy.ts';
import { createResponseCache } from './cache/response-cache.ts';
import { loadGraphiql, type GraphiqlOptions } from './graphiql.ts';
import { createGraphqlHandler } from './http/graphql-handler.ts';
import { send } from './http/respond.ts';
import { createRouter, GRAPHIQL_ASSET_PREFIX } from './http/router.ts';
import { createQueryLimits } from './limits/index.ts';
import { createGatewayMetrics } from './metrics.ts';
import { createContextFactory } from './pipeline/context.ts';
import { validationRules } from './pipeline/documents.ts';
import { createFormatError } from './pipeline/errors.ts';
import { createExecutor } from './pipeline/executor.ts';
import { loadManifest, createPersistedQueries } from './pipeline/persisted.ts';
import { createPipeline } from './pipeline/pipeline.ts';
import { createEventHub } from './subscriptions/hub.ts';
import { attachSubscriptions } from './subscriptions/ws.ts';

/** While stopping: how often connections that went idle are closed, and when the rest are cut. */
const DRAIN_SWEEP_MS = 50;
const DRAIN_DEADLINE_MS = 10_000;

/** A running gateway. */
export interface Gateway {
  start(): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

/** What the gateway is built from. */
export interface GatewayOptions {
  readonly config: Config;
  readonly tiers: Tiers;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly report: ErrorReporter;
  readonly authenticator: Authenticator;
  readonly rateLimiter: RateLimiter;
  /** What GraphiQL preloads (examples, a development token); none: its defaults. */
  readonly graphiql?: Pick<GraphiqlOptions, 'examples' | 'defaultHeaders'>;
}

/** Builds the gateway: nothing listens or connects until `start()`. */
export function createGateway(options: GatewayOptions): Gateway {
  const { config, tiers, report } = options;
  const logger = options.logger.child('gateway');
  const tables = selectTables(config.cdc.tables);
  const schema = withAuthorization(makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as never }));
  const limits = createQueryLimits(config.limits);
  const formatError = createFormatError(logger);
  const metrics = createGatewayMetrics(options.metrics);
  const executor = createExecutor({ schema, mode: config.gateway.executor });
  const persisted = createPersistedQueries({
    mode: config.gateway.persistedQueries,
    store: tiers.cache,
    manifest: config.gateway.persistedManifest ? loadManifest(config.gateway.persistedManifest) : undefined,
    report,
  });
  const pipeline = createPipeline({ schema, limits, introspection: config.gateway.introspection, persisted });
  const apollo = createApollo({
    executor,
    validationRules: validationRules({ limits, introspection: config.gateway.introspection }),
    maxTokens: config.limits.maxTokens,
    introspection: config.gateway.introspection,
    formatError,
  });
  const cache = createResponseCache({
    store: tiers.cache,
    policies: createPolicyReader(schema),
    enabled: config.cache.enabled,
    maxEntryBytes: config.cache.maxEntryBytes,
    logger,
  });
  const gate = createConsistencyGate({ postgres: tiers.postgres });
  const activeUsers = createActiveUsers({ db: tiers.postgres });
  const hub = createEventHub({
    bus: tiers.bus,
    tables,
    logger,
    onEvent: (e) => {
      if (e.topic === 'market') return void cache.evict(tagsOfPrice(e.event), 'event');
      if (e.event.table === 'users') activeUsers.forget(e.event.key);
      void cache.evict(tagsOfChange(e.event), 'event').then(() => gate.observe(e.event.sequence));
    },
  });
  const contextFor = createContextFactory({
    config,
    tiers,
    tables,
    jobs: createJobQueue({ db: tiers.postgres }),
    logger,
    report,
    onBatch: metrics.loaderBatch,
  });
  const graphql = createGraphqlHandler({
    config,
    apollo,
    pipeline,
    cache,
    gate,
    authenticator: options.authenticator,
    activeUsers,
    rateLimiter: options.rateLimiter,
    contextFor: ({ requestId, viewer, tracker }) => contextFor({ requestId, viewer, cache: tracker }),
    formatError,
    metrics,
    logger,
  });
  metrics.collectFrom({
    cache: async () => {
      const s = await cache.stats();
      return {
        entries: s.entries,
        bytes: s.totalBytes,
        hits: s.hits,
        misses: s.misses,
        stores: s.stores,
        bypassed: s.bypassed,
        coalesced: s.coalesced,
        raced: s.raced,
        errors: s.errors,
        evictions_event: s.evictions.event,
        evictions_mutation: s.evictions.mutation,
        evictions_expired: s.evictions.expired,
        evictions_purge: s.evictions.purge,
      };
    },
    subscriptions: () => hub.size,
    busLag: () => hub.lag(),
  });
  const graphiql = config.gateway.graphiql
    ? loadGraphiql({
        endpointPath: config.gateway.graphqlPath,
        assetPrefix: GRAPHIQL_ASSET_PREFIX,
        ...options.graphiql,
      })
    : undefined;
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), { 'cache-control': 'no-store' });
  const readiness = async (res: http.ServerResponse) => {
    const r = await checkReadiness(tiers);
    json(res, r.ready ? 200 : 503, {
      status: r.ready ? 'ready' : 'unavailable',
      tiers: r.tiers,
      subscriptions: hub.size,
    });
  };
  const server = http.createServer(
    { maxHeaderSize: config.gateway.maxHeaderBytes, requestTimeout: 60_000, headersTimeout: 20_000 },
    createRouter({
      graphqlPath: config.gateway.graphqlPath,
      graphql,
      graphiql,
      corsOrigins: config.gateway.corsOrigins,
      logger,
      routes: {
        '/healthz': async (_req, res) => json(res, 200, { status: 'ok' }),
        '/readyz': async (_req, res) => readiness(res),
        // The name this endpoint had before /readyz (kept: scripts and tests use it).
        '/health': async (_req, res) => readiness(res),
        '/metrics': async (_req, res) => {
          send(res, 200, options.metrics.registry.contentType, await options.metrics.registry.metrics());
        },
      },
    }),
  );
  server.keepAliveTimeout = 65_000;
  let draining = false;
  // First of the request listeners, so the header is set before any answer starts.
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (draining) res.setHeader('connection', 'close');
  });
  const subscriptions = attachSubscriptions({
    server,
    schema,
    config,
    pipeline,
    executor,
    hub,
    authenticator: options.authenticator,
    activeUsers,
    rateLimiter: options.rateLimiter,
    contextFor,
    cache: () => cache.tracker(),
    createLoaders: () =>
      createLoaders({ tiers, batching: config.gateway.batching, report, onBatch: metrics.loaderBatch }),
    formatError,
    metrics,
    logger,
  });

  let stopping: Promise<void> | undefined;
  return {
    async start() {
      await apollo.start();
      await hub.start();
      cache.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const url = `http://${config.host}:${port}${config.gateway.graphqlPath}`;
      logger.info('gateway listening', { url, tiers: tiers.describe() });
      return { url, port };
    },
    stop() {
      // Idempotent: a second call waits for the first.
      stopping ??= shutdown();
      return stopping;
    },
  };

  async function shutdown(): Promise<void> {
    // WebSocket clients first (1001 Going away), while the server they hang off still runs;
    // then stop accepting and drain HTTP: every answer from now on says `Connection: close`, and
    // keep-alive connections are closed as soon as they go idle (a client sending steadily on
    // one would otherwise keep it, and this stop, alive); whatever is still open at the
    // deadline is cut.
    draining = true;
    await subscriptions.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const sweep = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
    const deadline = setTimeout(() => {
      logger.warn('connections still open at the drain deadline: closed', { deadlineMs: DRAIN_DEADLINE_MS });
      server.closeAllConnections();
    }, DRAIN_DEADLINE_MS);
    try {
      await closed;
    } finally {
      clearInterval(sweep);
      clearTimeout(deadline);
    }
    await hub.stop();
    cache.stop();
    await apollo.stop();
  }
}

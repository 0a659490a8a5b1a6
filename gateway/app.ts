/**
 * The gateway app: one HTTP server serving GraphQL (Apollo, through its
 * executeHTTPGraphQLRequest integration API) behind the response cache, subscriptions over
 * graphql-ws on the same path, GraphiQL and health. Built by `createGateway(config)` and run
 * with `{ start, stop }`.
 *
 * Every change event the gateway receives (it consumes them all, for subscriptions) evicts the
 * cached responses that read what changed; then its sequence counts as applied for requests
 * waiting on a consistency token.
 */
import { HeaderMap, type ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { tagsOfChange, tagsOfPrice } from '../domain/cache-tags.ts';
import { createLoaders, resolvers, type Context } from '../resolvers/index.ts';
import { loadTypeDefs } from '../schema/index.ts';
import type { Tiers } from '../stores/tiers.ts';
import { createApollo } from './apollo.ts';
import { createConsistencyGate } from './cache/consistency.ts';
import { createPolicyReader } from './cache/policy.ts';
import {
  createResponseCache,
  type CachePlan,
  type CacheRequest,
  type ExecutionResult,
  type RequestTracker,
} from './cache/response-cache.ts';
import { loadGraphiql } from './graphiql.ts';
import { createFormatError } from './plugins/errors.ts';
import { createEventHub } from './subscriptions/hub.ts';
import { attachSubscriptions } from './subscriptions/ws.ts';

/** Largest request body accepted (a batch of 10,000 ticks fits). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const ASSET_PREFIX = '/graphiql';

export interface Gateway {
  start(): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

export function createGateway(options: { config: Config; tiers: Tiers; logger: Logger }): Gateway {
  const { config, tiers } = options;
  const logger = options.logger.child('gateway');
  const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as never });
  const apollo = createApollo({ schema, logger, maxDepth: config.gateway.maxDepth, executor: config.gateway.executor });
  const cache = createResponseCache({
    store: tiers.cache,
    policies: createPolicyReader(schema),
    enabled: config.cache.enabled,
    maxEntryBytes: config.cache.maxEntryBytes,
    logger,
  });
  const gate = createConsistencyGate({ postgres: tiers.postgres });
  const hub = createEventHub({
    bus: tiers.bus,
    logger,
    onEvent: ({ topic, event }) => {
      if (topic === 'market') void cache.evict(tagsOfPrice(event), 'event');
      else void cache.evict(tagsOfChange(event), 'event').then(() => gate.observe(event.sequence));
    },
  });
  const graphiql = config.gateway.graphiql
    ? loadGraphiql({ endpointPath: config.gateway.graphqlPath, assetPrefix: ASSET_PREFIX })
    : undefined;
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error) => {
      logger.error('request failed', { error });
      if (!res.headersSent)
        send(
          res,
          500,
          'application/json',
          JSON.stringify({
            errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
          }),
        );
    });
  });
  server.keepAliveTimeout = 65_000;
  const subscriptions = attachSubscriptions({
    server,
    schema,
    hub,
    tiers,
    config,
    logger,
    cache: cache.tracker,
    formatError: createFormatError(logger),
  });

  const context = (requestId: string, adminToken: string | undefined, tracker: RequestTracker): Context => ({
    requestId,
    admin: config.adminToken !== undefined && adminToken !== undefined && safeEqual(adminToken, config.adminToken),
    config,
    tiers,
    logger,
    cache: tracker,
    // Tags only matter to a response that may be stored.
    loaders: createLoaders({
      tiers,
      batching: config.gateway.batching,
      tag: tracker.storing ? tracker.tag : undefined,
    }),
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    // Every response carries the request id (the client's, or a fresh one) for log correlation.
    const clientId = header(req, 'x-request-id');
    const requestId = (clientId && /^[\w.:-]{1,128}$/.test(clientId) && clientId) || randomUUID();
    res.setHeader('x-request-id', requestId);
    if (url.pathname === config.gateway.graphqlPath) {
      if (req.method === 'GET' && graphiql && !url.search && (req.headers.accept ?? '').includes('text/html')) {
        return send(res, 200, 'text/html; charset=utf-8', graphiql.html);
      }
      return graphql(apollo, req, res, url, requestId);
    }
    if (graphiql && req.method === 'GET' && url.pathname.startsWith(`${ASSET_PREFIX}/`)) {
      const asset = graphiql.asset(url.pathname.slice(ASSET_PREFIX.length + 1));
      if (asset) return send(res, 200, asset.type, asset.body, { 'cache-control': 'public, max-age=86400' });
    }
    if (url.pathname === '/health') {
      return send(
        res,
        200,
        'application/json',
        JSON.stringify({ status: 'ok', tiers: tiers.describe(), subscriptions: hub.size }),
      );
    }
    send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
  }

  async function graphql(
    server: ApolloServer<Context>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    requestId: string,
  ): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req);
      // The rest of the body is unread: close the connection so the next request is not parsed from it.
      if (raw === undefined) {
        return send(
          res,
          413,
          'application/json',
          JSON.stringify({ errors: [{ message: 'Request body too large', extensions: { code: 'BAD_REQUEST' } }] }),
          { connection: 'close' },
        );
      }
      try {
        body = raw.length ? JSON.parse(raw) : undefined;
      } catch {
        return send(
          res,
          400,
          'application/json',
          JSON.stringify({
            errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
          }),
        );
      }
    }
    const token = header(req, 'x-consistency-token');
    if (token !== undefined && !/^\d{1,19}$/.test(token)) {
      return send(
        res,
        400,
        'application/json',
        JSON.stringify({
          errors: [
            {
              message: 'x-consistency-token must be the token of a mutation response (extensions.consistency.token)',
              extensions: { code: 'INVALID_ARGUMENT', field: 'x-consistency-token' },
            },
          ],
        }),
      );
    }
    const consistency =
      token === undefined ? undefined : { token, ...(await gate.waitFor(token, config.cache.consistencyWaitMs)) };
    const request =
      req.method === 'POST' && (req.headers['content-type'] ?? '').startsWith('application/json')
        ? cacheableBody(body)
        : undefined;
    const plan =
      request &&
      cache.plan({
        ...request,
        // No sign-in exists yet: the credentials stand for the viewer, so PRIVATE responses are
        // never shared between two of them.
        viewer: `${header(req, 'authorization') ?? ''}\u0000${header(req, 'x-admin-token') ?? ''}`,
        bypass: /no-cache|no-store/.test(header(req, 'cache-control') ?? '') || header(req, 'pragma') === 'no-cache',
        fresh: consistency !== undefined,
      });
    if (plan) {
      const hit = await cache.lookup(plan);
      if (hit) {
        return send(res, 200, 'application/json; charset=utf-8', hit.body, {
          'x-cache': 'HIT',
          'x-cache-policy': policyHeader(plan),
          age: String(Math.floor((Date.now() - hit.storedAt) / 1000)),
        });
      }
    }
    const execute = async (tracker: RequestTracker): Promise<ExecutionResult> => {
      tracker.consistency = consistency;
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers))
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      const response = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
        context: async () => context(requestId, header(req, 'x-admin-token'), tracker),
      });
      const out: Record<string, string> = {};
      for (const [key, value] of response.headers) out[key] = value;
      let text: string;
      if (response.body.kind === 'complete') text = response.body.string;
      else {
        // Incremental delivery is not enabled; should a response stream anyway, it is sent whole.
        text = '';
        for await (const chunk of response.body.asyncIterator) text += chunk;
      }
      return { status: response.status ?? 200, headers: out, body: text };
    };
    const result = plan ? await cache.fill(plan, execute) : await execute(cache.tracker());
    res.writeHead(
      result.status,
      plan
        ? {
            ...result.headers,
            'x-cache': plan.id === undefined ? 'BYPASS' : 'MISS',
            'x-cache-policy': policyHeader(plan),
          }
        : result.headers,
    );
    res.end(result.body);
  }

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
    // then stop accepting, let in-flight requests finish, and close idle keep-alive sockets.
    await subscriptions.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    await hub.stop();
    cache.stop();
    await apollo.stop();
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** The policy the schema gave the response, for debugging: `max-age=60, private`. */
function policyHeader(plan: CachePlan): string {
  return `max-age=${Math.floor(plan.maxAgeMs / 1000)}, ${plan.scope.toLowerCase()}`;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The parts of a single-operation JSON body the cache keys on; undefined for anything else (batches, no query text). */
function cacheableBody(
  body: unknown,
): Pick<CacheRequest, 'query' | 'operationName' | 'variables' | 'extensions'> | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b['query'] !== 'string') return undefined;
  const isObject = (v: unknown): v is Record<string, unknown> | null | undefined =>
    v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v));
  const { query, operationName, variables, extensions } = b;
  // Anything malformed goes to Apollo, which explains the error; it must never match a cached entry.
  if (!isObject(variables) || !isObject(extensions) || (operationName != null && typeof operationName !== 'string'))
    return undefined;
  return { query, operationName, variables, extensions };
}

/** Reads the body as UTF-8; undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Constant-time comparison, so the admin token cannot be guessed byte by byte from timings. */
function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

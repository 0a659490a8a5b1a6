/**
 * GraphQL over HTTP: a request is authenticated, rate-limited and prepared by the one request
 * pipeline (checks shared with WebSocket), then answered from the response cache or executed
 * by Apollo Server (through its executeHTTPGraphQLRequest integration API, with our executor),
 * within the request timeout.
 *
 * Only JSON bodies are accepted (`application/json`, `application/graphql-response+json`), one
 * operation per request (no batches). Every refusal is a 4xx with a coded error.
 */
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type http from 'node:http';
import type { Config } from '../../lib/config.ts';
import { AppError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { inSpan } from '../../lib/tracing.ts';
import { ANONYMOUS, type Viewer } from '../../lib/viewer.ts';
import type { Context } from '../../resolvers/context.ts';
import type { RateLimiter } from '../../stores/rate-limiter.ts';
import type { ActiveUsers } from '../auth/active-users.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { ConsistencyGate } from '../cache/consistency.ts';
import type { ResponseCache, CachePlan, ExecutionResult, RequestTracker } from '../cache/response-cache.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { isRefusal, type GraphQLRequest, type Pipeline, type PreparedRequest } from '../pipeline/pipeline.ts';
import { clientIp, header, readBody, send, sendErrors } from './respond.ts';

const JSON_TYPES = /^application\/(json|graphql-response\+json)\s*(;|$)/i;
const MAX_TOKEN = 9223372036854775807n;

/** Everything the handler composes. */
export interface GraphqlHandlerOptions {
  readonly config: Config;
  readonly apollo: ApolloServer<Context>;
  readonly pipeline: Pipeline;
  readonly cache: ResponseCache;
  readonly gate: ConsistencyGate;
  readonly authenticator: Authenticator;
  readonly activeUsers: ActiveUsers;
  readonly rateLimiter: RateLimiter;
  readonly contextFor: (args: { requestId: string; viewer: Viewer; tracker: RequestTracker }) => Context;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

/** The cache key's viewer part: the verified subject and role (two roles never share a private entry). */
const viewerKey = (viewer: Viewer) => (viewer.kind === 'user' ? `${viewer.userId}:${viewer.role}` : 'anonymous');

/** The policy the schema gave the response, for debugging: `max-age=60, private`. */
const policyHeader = (plan: CachePlan) => `max-age=${Math.floor(plan.maxAgeMs / 1000)}, ${plan.scope.toLowerCase()}`;

/** Creates the handler of the GraphQL path. */
export function createGraphqlHandler(options: GraphqlHandlerOptions) {
  const { config, pipeline, cache, gate, formatError, metrics } = options;
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));
  const appError = (error: AppError) => formatError({ message: error.message }, error);

  /** A request as GraphQL sees it, from a JSON body or the query string of a GET. */
  function requestOf(req: http.IncomingMessage, url: URL, body: unknown): GraphQLRequest | string {
    if (req.method === 'GET') {
      const json = (name: string) => {
        const value = url.searchParams.get(name);
        if (value === null) return undefined;
        try {
          return JSON.parse(value) as unknown;
        } catch {
          return Symbol.for('invalid');
        }
      };
      const variables = json('variables');
      const extensions = json('extensions');
      if (variables === Symbol.for('invalid') || extensions === Symbol.for('invalid'))
        return 'variables and extensions must be JSON';
      body = {
        query: url.searchParams.get('query') ?? undefined,
        operationName: url.searchParams.get('operationName') ?? undefined,
        variables,
        extensions,
      };
    }
    if (Array.isArray(body)) return 'Batched requests are not supported: send one operation per request';
    if (typeof body !== 'object' || body === null)
      return 'The body must be a JSON object { query, operationName?, variables?, extensions? }';
    const b = body as Record<string, unknown>;
    const isObject = (v: unknown) => v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v));
    if (!isObject(b['variables'])) return 'variables must be an object';
    if (!isObject(b['extensions'])) return 'extensions must be an object';
    if (b['query'] !== undefined && typeof b['query'] !== 'string') return 'query must be a string';
    if (b['operationName'] != null && typeof b['operationName'] !== 'string') return 'operationName must be a string';
    return b as GraphQLRequest;
  }

  async function authenticate(req: http.IncomingMessage): Promise<Viewer> {
    const viewer = await options.authenticator.authenticate(header(req, 'authorization'));
    if (viewer.kind === 'user' && !(await options.activeUsers.exists(viewer.userId))) {
      throw new AppError({ code: 'UNAUTHENTICATED', message: "The token's user no longer exists" });
    }
    return viewer;
  }

  /** Refuses past the rate limits: per signed-in user, and per client address. */
  async function rateLimited(req: http.IncomingMessage, res: http.ServerResponse, viewer: Viewer): Promise<boolean> {
    if (!config.rateLimit.enabled) return false;
    const [subject, ip] = await Promise.all([
      viewer.kind === 'user' ? options.rateLimiter.consume('subject', viewer.userId) : undefined,
      options.rateLimiter.consume('ip', clientIp(req)),
    ]);
    const refused = [subject, ip].find((r) => r && !r.allowed);
    if (!refused) return false;
    metrics.rejections.inc({ kind: 'rate_limit' });
    const retryAfter = Math.max(1, Math.ceil(refused.retryAfterMs / 1000));
    sendErrors(
      res,
      429,
      [
        appError(
          new AppError({
            code: 'RATE_LIMITED',
            message: `Too many requests: retry in ${retryAfter} s`,
            details: { retryAfterSec: retryAfter },
          }),
        ),
      ],
      { 'retry-after': String(retryAfter) },
    );
    return true;
  }

  return async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    requestId: string,
  ): Promise<void> {
    const started = performance.now();
    if (req.method !== 'POST' && req.method !== 'GET') {
      return sendErrors(res, 405, [badRequest('Use POST (or GET for queries)')], { allow: 'GET, POST, OPTIONS' });
    }
    if (req.method === 'POST' && !JSON_TYPES.test(header(req, 'content-type') ?? '')) {
      return sendErrors(res, 415, [badRequest('Send the request as application/json')], { connection: 'close' });
    }
    // Who is asking and whether they may, from the headers alone: a refused client costs no
    // buffering or JSON parsing of its body (up to maxBodyBytes); Node discards the unread body
    // once the answer is sent, and the connection stays usable.
    let viewer: Viewer = ANONYMOUS;
    try {
      viewer = await authenticate(req);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      metrics.rejections.inc({ kind: 'unauthenticated' });
      const status = error.code === 'UNAUTHENTICATED' ? 401 : 503;
      return sendErrors(
        res,
        status,
        [appError(error)],
        status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {},
      );
    }
    if (await rateLimited(req, res, viewer)) return;

    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, config.gateway.maxBodyBytes);
      // The rest of the body is unread: close the connection so the next request is not parsed from it.
      if (raw === undefined)
        return sendErrors(res, 413, [badRequest('Request body too large')], { connection: 'close' });
      try {
        body = raw.length ? JSON.parse(raw) : undefined;
      } catch {
        return sendErrors(res, 400, [badRequest('Request body is not valid JSON')]);
      }
    }
    const request = requestOf(req, url, body);
    if (typeof request === 'string') return sendErrors(res, 400, [badRequest(request)]);

    const token = header(req, 'x-consistency-token');
    if (token !== undefined && (!/^\d{1,19}$/.test(token) || BigInt(token) > MAX_TOKEN || BigInt(token) === 0n)) {
      return sendErrors(res, 400, [
        appError(
          new AppError({
            code: 'INVALID_ARGUMENT',
            message: 'x-consistency-token must be the token of a mutation response (extensions.consistency.token)',
            details: { field: 'x-consistency-token' },
          }),
        ),
      ]);
    }

    const prepared = await pipeline.prepare(request, viewer);
    if (isRefusal(prepared)) {
      metrics.rejections.inc({ kind: String(prepared.errors[0]?.extensions['code'] ?? 'invalid') });
      return sendErrors(res, prepared.status, format(prepared.errors));
    }
    // Checked after authorization, so a refusal says the same as for any other operation.
    // Over HTTP a subscription's root field would run as a query's (its resolver has no value
    // to give: an internal error); it is served over WebSocket on this path.
    if (prepared.operation.operation === 'subscription') {
      metrics.rejections.inc({ kind: 'transport' });
      return sendErrors(res, 400, [badRequest('Subscriptions are served over WebSocket (graphql-ws) on this path')]);
    }
    // GraphQL over HTTP: a GET runs queries only. Apollo would refuse a mutation, but it is
    // handed every request as a POST.
    if (req.method === 'GET' && prepared.operation.operation !== 'query') {
      metrics.rejections.inc({ kind: 'transport' });
      return sendErrors(res, 405, [badRequest('Mutations must be sent with POST')], { allow: 'POST' });
    }
    const operationLabel = prepared.operationName ?? prepared.operation.name?.value ?? 'anonymous';
    // One span per operation: the tier calls below are its children (lib/tracing.ts).
    await inSpan(
      `graphql ${prepared.operation.operation} ${operationLabel}`,
      { 'graphql.operation.name': operationLabel, 'graphql.operation.type': prepared.operation.operation },
      () => respond({ req, res, request, prepared, token, viewer, requestId, started, operationLabel }),
    );
  };

  /** Answers a prepared request: from the cache, or by executing it (within the request timeout). */
  async function respond(args: {
    req: http.IncomingMessage;
    res: http.ServerResponse;
    request: GraphQLRequest;
    prepared: PreparedRequest;
    token: string | undefined;
    viewer: Viewer;
    requestId: string;
    started: number;
    operationLabel: string;
  }): Promise<void> {
    const { req, res, request, prepared, token, viewer, requestId, started, operationLabel } = args;
    const consistency =
      token === undefined
        ? undefined
        : { token, ...(await gate.waitFor(BigInt(token), config.cache.consistencyWaitMs)) };
    const plan =
      req.method === 'POST' && prepared.operation.operation === 'query'
        ? cache.plan({
            query: prepared.query,
            prepared: { key: prepared.documentKey, document: prepared.document },
            operationName: prepared.operationName,
            variables: prepared.variables,
            extensions: request.extensions ?? undefined,
            viewer: viewerKey(viewer),
            bypass:
              /no-cache|no-store/.test(header(req, 'cache-control') ?? '') || header(req, 'pragma') === 'no-cache',
            fresh: consistency !== undefined,
          })
        : undefined;
    if (plan) {
      const hit = await cache.lookup(plan);
      if (hit) {
        metrics.observe(operationLabel, 'cached', started);
        return send(res, 200, 'application/json; charset=utf-8', hit.body, {
          'x-cache': 'HIT',
          'x-cache-policy': policyHeader(plan),
          age: String(Math.floor((Date.now() - hit.storedAt) / 1000)),
        });
      }
    }
    let outcome: 'ok' | 'error' = 'ok';
    const execute = async (tracker: RequestTracker): Promise<ExecutionResult> => {
      tracker.consistency = consistency;
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      // Apollo runs the operation the pipeline resolved (an APQ hash is already its text).
      const { persistedQuery: _apq, ...extensions } = (request.extensions ?? {}) as Record<string, unknown>;
      const response = await options.apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: {
          method: 'POST',
          headers,
          search: '',
          body: {
            query: prepared.query,
            ...(prepared.operationName !== undefined ? { operationName: prepared.operationName } : {}),
            variables: prepared.variables,
            extensions,
          },
        },
        context: async () => options.contextFor({ requestId, viewer, tracker }),
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
      if (tracker.errors) outcome = 'error';
      return { status: response.status ?? 200, headers: out, body: text };
    };
    const run = plan ? cache.fill(plan, execute) : execute(cache.tracker());
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), config.gateway.requestTimeoutMs)),
    );
    const result = await Promise.race([run, timedOut]).finally(() => clearTimeout(timer));
    if (result === 'timeout') {
      // The execution goes on (tier calls have their own timeouts) but the client is answered now.
      run.catch(() => {});
      metrics.observe(operationLabel, 'timeout', started);
      return sendErrors(res, 504, [
        appError(
          new AppError({
            code: 'TIMEOUT',
            message: `The request took longer than ${config.gateway.requestTimeoutMs} ms`,
            retriable: true,
          }),
        ),
      ]);
    }
    metrics.observe(operationLabel, result.status === 200 ? outcome : 'error', started);
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

  function badRequest(message: string): GraphQLFormattedError {
    return formatError(
      { message, extensions: { code: 'BAD_REQUEST' } },
      { message, extensions: { code: 'BAD_REQUEST' } },
    );
  }
}

/**
 * The HTTP router: which handler answers which path. Every response carries a request id (the
 * client's `x-request-id` when it is sane, or a fresh one), and everything a request does runs
 * in its request scope, so each log line and error it causes carries that id.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Logger } from '../../lib/logger.ts';
import { runInScope } from '../../lib/request-scope.ts';
import type { GraphiqlAssets } from '../graphiql.ts';
import { createCors } from './cors.ts';
import { header, send, sendErrors } from './respond.ts';

/** A handler of one path. */
export type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  requestId: string,
) => Promise<void>;

/** Where GraphiQL's static assets are served. */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql';

/** Creates the request listener of the gateway's HTTP server. */
export function createRouter(options: {
  graphqlPath: string;
  graphql: Handler;
  graphiql: GraphiqlAssets | undefined;
  /** Extra routes by exact path (health, readiness, metrics). */
  routes: Readonly<Record<string, Handler>>;
  corsOrigins: readonly string[];
  logger: Logger;
}): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { graphiql, logger } = options;
  const cors = createCors({ origins: options.corsOrigins });

  async function route(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<void> {
    res.setHeader('x-request-id', requestId);
    if (cors.handle(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname === options.graphqlPath) {
      if (req.method === 'GET' && graphiql && !url.search && (req.headers.accept ?? '').includes('text/html')) {
        // The page may hold a development token: never stored by a cache.
        return send(res, 200, 'text/html; charset=utf-8', graphiql.html, { 'cache-control': 'no-store' });
      }
      return options.graphql(req, res, url, requestId);
    }
    if (graphiql && req.method === 'GET' && url.pathname.startsWith(`${GRAPHIQL_ASSET_PREFIX}/`)) {
      const asset = graphiql.asset(url.pathname.slice(GRAPHIQL_ASSET_PREFIX.length + 1));
      if (asset) return send(res, 200, asset.type, asset.body, { 'cache-control': 'public, max-age=86400' });
    }
    const handler = options.routes[url.pathname];
    if (handler && (req.method === 'GET' || req.method === 'HEAD')) return handler(req, res, url, requestId);
    send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
  }

  return (req, res) => {
    const clientId = header(req, 'x-request-id');
    const requestId = (clientId && /^[\w.:-]{1,128}$/.test(clientId) && clientId) || randomUUID();
    void runInScope({ requestId }, () =>
      route(req, res, requestId).catch((error: unknown) => {
        logger.error('request failed', { error });
        if (!res.headersSent) {
          sendErrors(res, 500, [
            { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } },
          ]);
        } else res.destroy();
      }),
    );
  };
}

/**
 * CORS from a configured list of origins: a browser on a listed origin may call the API
 * (credentials in the Authorization header, not cookies); any other origin gets no CORS
 * headers, so the browser refuses to let its page read the answer. Preflights are answered
 * here, before anything else runs.
 */
import type http from 'node:http';

const ALLOWED_HEADERS =
  'content-type, authorization, x-request-id, x-consistency-token, apollo-require-preflight, cache-control';

/** Creates the CORS step: `handle` answers a preflight (true) or adds headers to a normal response. */
export function createCors(options: { origins: readonly string[] }) {
  const allowed = new Set(options.origins);
  return {
    /** Sets CORS headers for an allowed origin; answers an OPTIONS preflight entirely. Returns true when it answered. */
    handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
      const origin = req.headers.origin;
      const permitted = typeof origin === 'string' && allowed.has(origin);
      if (permitted) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('vary', 'Origin');
        res.setHeader('access-control-expose-headers', 'x-request-id, x-cache, x-cache-policy, retry-after');
      }
      if (req.method !== 'OPTIONS') return false;
      if (permitted) {
        res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
        res.setHeader('access-control-max-age', '600');
      }
      res.writeHead(204, { 'content-length': '0' });
      res.end();
      return true;
    },
  };
}

/** Small helpers of the HTTP edge: writing responses, reading bodies and headers. */
import type http from 'node:http';
import type { GraphQLFormattedError } from 'graphql';

/** Writes a whole response. */
export function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** Writes a GraphQL error response (`{ errors }`) with `status`. */
export function sendErrors(
  res: http.ServerResponse,
  status: number,
  errors: readonly GraphQLFormattedError[],
  extra: Record<string, string> = {},
): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify({ errors }), extra);
}

/** A header as one string (absent or repeated: undefined). */
export function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Reads the body as UTF-8; undefined when it exceeds `maxBytes` (the rest is left unread). */
export async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The client's address, for per-IP rate limits (the socket's; a proxy in front should be configured to be trusted explicitly). */
export function clientIp(req: http.IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

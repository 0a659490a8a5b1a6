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

/**
 * Reads the body as UTF-8; undefined when it exceeds `maxBytes` (the rest is left unread).
 * Stream events, not `for await`: the async iterator costs more than the read itself for the
 * small bodies nearly every request has.
 */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        return resolve(undefined);
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    // The client went away before the end of its body.
    const onClose = () => onError(new Error('request aborted before its body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The client's address, for per-IP rate limits (the socket's; a proxy in front should be configured to be trusted explicitly). */
export function clientIp(req: http.IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

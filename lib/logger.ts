/**
 * Structured, namespaced logging: one JSON line per event on stderr, by pino. Every line of a
 * request carries its `requestId` (and `traceId` when tracing is on), taken from the request
 * scope; secrets never reach a line: keys such as `authorization`, `token` or `password` are
 * redacted by path (pino), and credentials inside values (a connection string's password, a
 * bearer token in a message) are scrubbed. Components receive a logger (never import a global
 * one), so tests can silence or capture it.
 */
import pino from 'pino';
import { currentScope } from './request-scope.ts';
import { currentTraceId } from './tracing.ts';

/** How much to log. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** A namespaced logger; `child` adds a namespace segment (`gateway:http`). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
}

/** Keys whose values are secrets wherever they appear (pino redaction paths, one level deep and nested). */
const SECRET_KEYS = [
  'authorization',
  'token',
  'password',
  'secret',
  'cookie',
  'apiKey',
  'jwtSecret',
  'connectionString',
];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers["${k}"]`]);

/** Credentials inside strings: `scheme://user:password@host` and `Bearer <token>`. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^@\s/]*@/gi;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*/g;

/** Replaces credentials inside a string. */
export function scrub(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:[redacted]@').replace(BEARER, '$1 [redacted]');
}

function scrubDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value instanceof Error) return serializeError(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1);
  return out;
}

/** Errors do not survive JSON: keep their name, message, code and stack (scrubbed). */
function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const cause = (error as { cause?: unknown }).cause;
  return {
    name: error.name,
    message: scrub(error.message),
    code: (error as { code?: unknown }).code,
    stack: error.stack ? scrub(error.stack) : undefined,
    ...(cause instanceof Error ? { cause: serializeError(cause) } : {}),
  };
}

/** Creates a logger writing JSON lines at or above `level` to `write` (stderr by default). */
export function createLogger(options: { level: LogLevel; namespace?: string; write?: (line: string) => void }): Logger {
  const write = options.write;
  const destination = write
    ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) }
    : pino.destination({ fd: 2, sync: true });
  const root = pino(
    {
      level: options.level,
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrubDeep(object, 0) as Record<string, unknown>,
      },
      serializers: { error: serializeError, err: serializeError },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin: () => {
        const scope = currentScope();
        const traceId = currentTraceId();
        if (!scope) return traceId ? { traceId } : {};
        return traceId ? { requestId: scope.requestId, traceId } : { requestId: scope.requestId };
      },
    },
    destination,
  );
  return wrap(root, options.namespace ?? 'app');
}

/** A child of the root per namespace (children of children would repeat the `ns` key). */
function wrap(root: pino.Logger, namespace: string): Logger {
  const logger = root.child({ ns: namespace });
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (!logger.isLevelEnabled(level)) return;
      if (fields) logger[level](fields, scrub(message));
      else logger[level](scrub(message));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (ns) => wrap(root, `${namespace}:${ns}`),
  };
}

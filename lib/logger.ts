/**
 * Structured, namespaced logging: one JSON line per event on stderr.
 * Components receive a logger (never import a global one) so tests can silence or capture it.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A namespaced logger; `child` adds a namespace segment (`gateway:http`). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
}

/** Creates a logger writing JSON lines at or above `level` to `write` (stderr by default). */
export function createLogger(options: { level: LogLevel; namespace?: string; write?: (line: string) => void }): Logger {
  const threshold = rank[options.level];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const namespace = options.namespace ?? 'app';
  const log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (rank[level] < threshold) return;
    write(
      JSON.stringify({
        time: new Date().toISOString(),
        level,
        ns: namespace,
        msg: message,
        ...serializeFields(fields),
      }),
    );
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (ns) => createLogger({ level: options.level, namespace: `${namespace}:${ns}`, write }),
  };
}

/** Errors do not survive JSON.stringify; keep their message, code and stack. */
function serializeFields(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack }
        : value;
  }
  return out;
}

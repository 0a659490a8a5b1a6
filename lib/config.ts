/**
 * Configuration, parsed and validated once at startup.
 *
 * Resolution order (postgres.js's rule): explicit overrides, then the environment, then
 * defaults. Only entry points (`bin/`) pass `process.env` in; everything below receives
 * the typed `Config`. A bad value fails fast with a message naming the key and the value.
 * A tier whose URL is absent runs on its embedded implementation (see stores/tiers.ts).
 */
import path from 'node:path';
import { AppError } from './errors.ts';
import type { LogLevel } from './logger.ts';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** Where embedded tiers (PGlite, chDB) keep their data; `:memory:` keeps nothing. */
  readonly dataDir: string;
  readonly postgres: { readonly url: string | undefined; readonly poolMax: number };
  readonly clickhouse: { readonly url: string | undefined; readonly database: string };
  readonly redis: { readonly url: string | undefined; readonly keyPrefix: string };
  readonly vector: { readonly url: string | undefined; readonly collection: string; readonly dimensions: number };
  readonly kafka: { readonly brokers: readonly string[] | undefined; readonly clientId: string; readonly topicPrefix: string };
  readonly gateway: {
    /** DataLoader batching; switched off only to measure what it buys (bench/). */
    readonly batching: boolean;
    /** graphql-jit (compiled operations) or graphql-js's interpreter; the same answers either way. */
    readonly executor: 'jit' | 'graphql-js';
    /** Serve GraphiQL on GET of the GraphQL path. */
    readonly graphiql: boolean;
    readonly graphqlPath: string;
    /** Largest `first` a connection accepts. */
    readonly maxPageSize: number;
    /** Deepest selection accepted, against abusive nesting of `similar`. */
    readonly maxDepth: number;
  };
  /** Load deterministic demo data into empty tiers at start. */
  readonly demoData: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Deep-partial overrides, for tests and embedding. */
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K] };

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Builds the validated config from an environment and optional overrides. */
export function loadConfig(env: Env, overrides: ConfigOverrides = {}): Config {
  const read = reader(env);
  const base: Config = {
    host: read.string('HOST', '127.0.0.1'),
    port: read.int('PORT', 4000, { min: 0, max: 65_535 }),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    dataDir: read.string('DATA_DIR', path.resolve('.data')),
    postgres: { url: read.url('DATABASE_URL', ['postgres:', 'postgresql:']), poolMax: read.int('PG_POOL_MAX', 10, { min: 1, max: 500 }) },
    clickhouse: { url: read.url('CLICKHOUSE_URL', ['http:', 'https:']), database: read.identifier('CLICKHOUSE_DATABASE', 'default') },
    redis: { url: read.url('REDIS_URL', ['redis:', 'rediss:']), keyPrefix: read.string('REDIS_KEY_PREFIX', 'ys:') },
    vector: {
      url: read.url('QDRANT_URL', ['http:', 'https:']),
      collection: read.identifier('QDRANT_COLLECTION', 'assets'),
      dimensions: read.int('EMBEDDING_DIMENSIONS', 16, { min: 2, max: 4096 }),
    },
    kafka: {
      brokers: read.list('KAFKA_BROKERS'),
      clientId: read.string('KAFKA_CLIENT_ID', 'yieldsensei'),
      topicPrefix: read.string('KAFKA_TOPIC_PREFIX', ''),
    },
    gateway: {
      batching: read.bool('GATEWAY_BATCHING', true),
      executor: read.oneOf('GRAPHQL_EXECUTOR', ['jit', 'graphql-js'] as const, 'jit'),
      graphiql: read.bool('GRAPHIQL', true),
      graphqlPath: read.string('GRAPHQL_PATH', '/graphql'),
      maxPageSize: read.int('MAX_PAGE_SIZE', 100, { min: 1, max: 10_000 }),
      maxDepth: read.int('MAX_QUERY_DEPTH', 12, { min: 2, max: 100 }),
    },
    demoData: read.bool('DEMO_DATA', true),
  };
  return merge(base, overrides);
}

function merge(base: Config, overrides: ConfigOverrides): Config {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = current && typeof current === 'object' && !Array.isArray(current) ? { ...current, ...(value as object) } : value;
  }
  return out as unknown as Config;
}

function invalid(key: string, value: string, expected: string): AppError {
  return new AppError({ code: 'CONFIG_INVALID', message: `Invalid ${key}=${JSON.stringify(value)}: expected ${expected}` });
}

function reader(env: Env) {
  const raw = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    string: (key: string, fallback: string) => raw(key) ?? fallback,
    int(key: string, fallback: number, range: { min: number; max: number }): number {
      const value = raw(key);
      if (value === undefined) return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n < range.min || n > range.max) throw invalid(key, value, `an integer from ${range.min} to ${range.max}`);
      return n;
    },
    bool(key: string, fallback: boolean): boolean {
      const value = raw(key);
      if (value === undefined) return fallback;
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      throw invalid(key, value, 'true or false');
    },
    oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
      const value = raw(key);
      if (value === undefined) return fallback;
      if (!(allowed as readonly string[]).includes(value)) throw invalid(key, value, `one of ${allowed.join(', ')}`);
      return value as T;
    },
    url(key: string, protocols: readonly string[]): string | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        throw invalid(key, value, `a URL (${protocols.join(' or ')})`);
      }
      if (!protocols.includes(parsed.protocol)) throw invalid(key, value, `a URL starting with ${protocols.join(' or ')}//`);
      return value;
    },
    identifier(key: string, fallback: string): string {
      const value = raw(key) ?? fallback;
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value)) throw invalid(key, value, 'an identifier of letters, digits and underscores');
      return value;
    },
    list(key: string): string[] | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      const items = value.split(',').map((s) => s.trim()).filter(Boolean);
      if (items.length === 0 || items.some((item) => !/^[^\s:]+:\d+$/.test(item))) throw invalid(key, value, 'a comma-separated list of host:port');
      return items;
    },
  };
}

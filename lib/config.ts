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

/** A table captured by CDC: its key, the columns recorded in the change log, and its Kafka topic. */
export interface CaptureTable {
  readonly table: string;
  readonly keyColumn: string;
  readonly captureColumns: readonly string[];
  readonly topic: string;
}

/**
 * Captured by default: the tables the other tiers replicate (original design's CDC
 * configuration), and users and assets, whose changes evict cached answers.
 */
export const DEFAULT_CAPTURE_TABLES: readonly CaptureTable[] = [
  {
    table: 'transaction_history',
    keyColumn: 'id',
    captureColumns: [
      'id',
      'user_id',
      'asset_id',
      'protocol_id',
      'type',
      'amount',
      'value_usd',
      'tx_hash',
      'occurred_at',
    ],
    topic: 'defi.transactions',
  },
  {
    table: 'portfolio_holdings',
    keyColumn: 'id',
    captureColumns: ['id', 'user_id', 'asset_id', 'protocol_id', 'quantity', 'value_usd', 'updated_at'],
    topic: 'defi.portfolio',
  },
  {
    table: 'protocols',
    keyColumn: 'id',
    captureColumns: ['id', 'name', 'category', 'chain', 'tvl_usd'],
    topic: 'defi.protocols',
  },
  { table: 'users', keyColumn: 'id', captureColumns: ['id', 'handle', 'display_name'], topic: 'defi.users' },
  {
    table: 'assets',
    keyColumn: 'id',
    captureColumns: ['id', 'symbol', 'name', 'chain', 'decimals'],
    topic: 'defi.assets',
  },
];

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** Where embedded tiers (PGlite, chDB) keep their data; `:memory:` keeps nothing. */
  readonly dataDir: string;
  readonly postgres: { readonly url: string | undefined; readonly poolMax: number };
  readonly clickhouse: { readonly url: string | undefined; readonly database: string };
  readonly redis: {
    readonly url: string | undefined;
    readonly keyPrefix: string;
    /** A Redis command slower than this fails, and its reader falls back (uncached, ClickHouse). */
    readonly timeoutMs: number;
  };
  readonly vector: { readonly url: string | undefined; readonly collection: string; readonly dimensions: number };
  readonly kafka: {
    readonly brokers: readonly string[] | undefined;
    readonly clientId: string;
    readonly topicPrefix: string;
  };
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
    /** Events queued per subscription before its overflow policy applies. */
    readonly subscriptionQueueSize: number;
  };
  readonly cache: {
    /** The GraphQL response cache (Redis, or in process without REDIS_URL). */
    readonly enabled: boolean;
    /** Longest wait for a consistency token's change to reach every tier before answering with `mayBeStale`. */
    readonly consistencyWaitMs: number;
    /** Responses larger than this are not cached. */
    readonly maxEntryBytes: number;
  };
  /** Load deterministic demo data into empty tiers at start. */
  readonly demoData: boolean;
  readonly cdc: {
    readonly tables: readonly CaptureTable[];
    /** Changes claimed and applied per batch. */
    readonly batchSize: number;
    /** Fallback poll when no NOTIFY arrives (and the only wake-up on embedded Postgres). */
    readonly pollIntervalMs: number;
    /** Failed attempts before a change is dead-lettered. */
    readonly maxAttempts: number;
    /** First retry delay of a failed change; doubles per attempt. */
    readonly retryBaseMs: number;
    /** Processed changes older than this are pruned from cdc.change_log. */
    readonly retentionMs: number;
    /** Rows per keyset page of a backfill (forceSync). */
    readonly backfillBatchSize: number;
    /** Port of the worker's own health endpoint (`npm run worker`); 0 picks a free port. */
    readonly healthPort: number;
  };
  /** Token required in `x-admin-token` for admin operations (forceSync); unset disables them. */
  readonly adminToken: string | undefined;
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
    postgres: {
      url: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
      poolMax: read.int('PG_POOL_MAX', 10, { min: 1, max: 500 }),
    },
    clickhouse: {
      url: read.url('CLICKHOUSE_URL', ['http:', 'https:']),
      database: read.identifier('CLICKHOUSE_DATABASE', 'default'),
    },
    redis: {
      url: read.url('REDIS_URL', ['redis:', 'rediss:']),
      keyPrefix: read.string('REDIS_KEY_PREFIX', 'ys:'),
      timeoutMs: read.int('REDIS_TIMEOUT_MS', 100, { min: 1, max: 60_000 }),
    },
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
      subscriptionQueueSize: read.int('SUBSCRIPTION_QUEUE_SIZE', 256, { min: 1, max: 100_000 }),
    },
    cache: {
      enabled: read.bool('CACHE_ENABLED', true),
      consistencyWaitMs: read.int('CONSISTENCY_WAIT_MS', 2_000, { min: 0, max: 60_000 }),
      maxEntryBytes: read.int('CACHE_MAX_ENTRY_BYTES', 1024 * 1024, { min: 1_024, max: 64 * 1024 * 1024 }),
    },
    demoData: read.bool('DEMO_DATA', true),
    cdc: {
      tables: DEFAULT_CAPTURE_TABLES,
      batchSize: read.int('CDC_BATCH_SIZE', 500, { min: 1, max: 50_000 }),
      pollIntervalMs: read.int('CDC_POLL_INTERVAL_MS', 250, { min: 5, max: 60_000 }),
      maxAttempts: read.int('CDC_MAX_ATTEMPTS', 3, { min: 1, max: 100 }),
      retryBaseMs: read.int('CDC_RETRY_BASE_MS', 500, { min: 0, max: 3_600_000 }),
      retentionMs: read.int('CDC_RETENTION_MS', 24 * 3600 * 1000, { min: 0, max: 365 * 24 * 3600 * 1000 }),
      backfillBatchSize: read.int('BACKFILL_BATCH_SIZE', 5_000, { min: 1, max: 1_000_000 }),
      healthPort: read.int('WORKER_HEALTH_PORT', 4001, { min: 0, max: 65_535 }),
    },
    adminToken: read.optional('ADMIN_TOKEN'),
  };
  const config = merge(base, overrides);
  validateCaptureTables(config.cdc.tables);
  return config;
}

/** Each captured table records its key and has a topic; table and column names are identifiers. */
function validateCaptureTables(tables: readonly CaptureTable[]): void {
  const ident = /^[a-z_][a-z0-9_]{0,62}$/;
  for (const t of tables) {
    const bad = (what: string) =>
      new AppError({ code: 'CONFIG_INVALID', message: `Invalid CDC table ${JSON.stringify(t.table)}: ${what}` });
    if (!ident.test(t.table)) throw bad('table name must be a lower-case identifier');
    if (!t.captureColumns.every((c) => ident.test(c))) throw bad('column names must be lower-case identifiers');
    if (!t.captureColumns.includes(t.keyColumn)) throw bad(`captureColumns must include the key column ${t.keyColumn}`);
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(t.topic))
      throw bad(`topic ${JSON.stringify(t.topic)} is not a valid Kafka topic name`);
  }
}

function merge(base: Config, overrides: ConfigOverrides): Config {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      current && typeof current === 'object' && !Array.isArray(current) ? { ...current, ...(value as object) } : value;
  }
  return out as unknown as Config;
}

function invalid(key: string, value: string, expected: string): AppError {
  return new AppError({
    code: 'CONFIG_INVALID',
    message: `Invalid ${key}=${JSON.stringify(value)}: expected ${expected}`,
  });
}

function reader(env: Env) {
  const raw = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    string: (key: string, fallback: string) => raw(key) ?? fallback,
    optional: (key: string) => raw(key),
    int(key: string, fallback: number, range: { min: number; max: number }): number {
      const value = raw(key);
      if (value === undefined) return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n < range.min || n > range.max)
        throw invalid(key, value, `an integer from ${range.min} to ${range.max}`);
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
      if (!protocols.includes(parsed.protocol))
        throw invalid(key, value, `a URL starting with ${protocols.join(' or ')}//`);
      return value;
    },
    identifier(key: string, fallback: string): string {
      const value = raw(key) ?? fallback;
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value))
        throw invalid(key, value, 'an identifier of letters, digits and underscores');
      return value;
    },
    list(key: string): string[] | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      const items = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (items.length === 0 || items.some((item) => !/^[^\s:]+:\d+$/.test(item)))
        throw invalid(key, value, 'a comma-separated list of host:port');
      return items;
    },
  };
}

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

/** Where a key for verifying tokens comes from (gateway/auth maps it to jose). */
export type AuthKeyConfig =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'jwks'; readonly url: string }
  | { readonly kind: 'publicKey'; readonly pem: string; readonly alg: 'RS256' | 'ES256' | 'EdDSA' }
  /** Embedded mode only: a development secret kept in DATA_DIR, shared with `npm run token`. */
  | { readonly kind: 'development' };

/** The validated configuration of a process. */
export interface Config {
  /** `production` switches GraphiQL and introspection off by default, and requires a configured token key. */
  readonly nodeEnv: 'production' | 'development' | 'test';
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** Where embedded tiers (PGlite, chDB) keep their data; `:memory:` keeps nothing. */
  readonly dataDir: string;
  readonly postgres: {
    readonly url: string | undefined;
    readonly poolMax: number;
    /** Longest a statement may run before Postgres cancels it (a per-tier-call timeout). */
    readonly statementTimeoutMs: number;
  };
  readonly clickhouse: {
    readonly url: string | undefined;
    readonly database: string;
    /** Longest a ClickHouse request may take. */
    readonly requestTimeoutMs: number;
  };
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
    /** Serve GraphiQL on GET of the GraphQL path (off by default in production). */
    readonly graphiql: boolean;
    /** Answer introspection queries (off by default in production). */
    readonly introspection: boolean;
    readonly graphqlPath: string;
    /** Largest `first` a connection accepts. */
    readonly maxPageSize: number;
    /** Events queued per subscription before its overflow policy applies. */
    readonly subscriptionQueueSize: number;
    /** Origins allowed to call the API from a browser (CORS); empty: no cross-origin access. */
    readonly corsOrigins: readonly string[];
    /** Largest request body. */
    readonly maxBodyBytes: number;
    /** Largest request head (Node's maxHeaderSize). */
    readonly maxHeaderBytes: number;
    /** Longest a request may take before it is answered with TIMEOUT. */
    readonly requestTimeoutMs: number;
    /** Persisted operations: automatic (apq), only registered ones (allowlist), or none (off). */
    readonly persistedQueries: 'apq' | 'allowlist' | 'off';
    /** The allow-list manifest ({ sha256: document }), required in allowlist mode. */
    readonly persistedManifest: string | undefined;
  };
  /** Query limits (gateway/limits): each refused before execution, on HTTP and WebSocket alike. */
  readonly limits: {
    readonly maxDepth: number;
    readonly maxCost: number;
    readonly maxAliases: number;
    readonly maxRootFields: number;
    readonly maxDirectives: number;
    readonly maxTokens: number;
  };
  readonly auth: {
    readonly key: AuthKeyConfig;
    readonly issuer: string;
    readonly audience: string;
  };
  readonly rateLimit: {
    readonly enabled: boolean;
    /** Requests (HTTP) and operations (WebSocket) per window, per signed-in user. */
    readonly perSubject: number;
    /** Requests per window, per client IP address. */
    readonly perIp: number;
    readonly windowSec: number;
    readonly maxSubscriptionsPerConnection: number;
    /** Open WebSocket connections per signed-in user, per gateway instance. */
    readonly maxConnectionsPerSubject: number;
  };
  readonly cache: {
    /** The GraphQL response cache (Redis, or in process without REDIS_URL). */
    readonly enabled: boolean;
    /** Longest wait for a consistency token's change to reach every tier before answering with `mayBeStale`. */
    readonly consistencyWaitMs: number;
    /** Responses larger than this are not cached. */
    readonly maxEntryBytes: number;
  };
  /** OpenTelemetry tracing: off unless an OTLP endpoint is configured. */
  readonly tracing: { readonly otlpEndpoint: string | undefined; readonly serviceName: string };
  /** Load deterministic demo data into empty tiers at start. */
  readonly demoData: boolean;
  readonly cdc: {
    /**
     * Which of the registry's tables are captured (domain/tables.ts describes them); all of them
     * when unset. Checked against the registry at startup.
     */
    readonly tables: readonly string[] | undefined;
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
  };
  readonly worker: {
    /** Port of the worker's own health endpoint (`npm run worker`); 0 picks a free port. */
    readonly healthPort: number;
    /** How often a worker looks for queued jobs when no notification woke it. */
    readonly jobPollIntervalMs: number;
    /** How often the worker checks whether Redis or the vector index lost their data. */
    readonly hotDataCheckMs: number;
    /** Scheduled consistency validation (the original design's checkInterval); 0 switches it off. */
    readonly validateIntervalMs: number;
    /** Row-count difference, in percent, a table may show and still be valid (the original design's tolerance). */
    readonly tolerancePercent: number;
  };
}

/** An environment, as entry points pass `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Deep-partial overrides, for tests and embedding. */
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K] };

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Builds the validated config from an environment and optional overrides. */
export function loadConfig(env: Env, overrides: ConfigOverrides = {}): Config {
  const read = reader(env);
  const nodeEnv = read.oneOf('NODE_ENV', ['production', 'development', 'test'] as const, 'development');
  const production = nodeEnv === 'production';
  const base: Config = {
    nodeEnv,
    host: read.string('HOST', '127.0.0.1'),
    port: read.int('PORT', 4000, { min: 0, max: 65_535 }),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    dataDir: read.string('DATA_DIR', path.resolve('.data')),
    postgres: {
      url: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
      poolMax: read.int('PG_POOL_MAX', 10, { min: 1, max: 500 }),
      statementTimeoutMs: read.int('PG_STATEMENT_TIMEOUT_MS', 5_000, { min: 10, max: 3_600_000 }),
    },
    clickhouse: {
      url: read.url('CLICKHOUSE_URL', ['http:', 'https:']),
      database: read.identifier('CLICKHOUSE_DATABASE', 'default'),
      requestTimeoutMs: read.int('CLICKHOUSE_TIMEOUT_MS', 10_000, { min: 10, max: 3_600_000 }),
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
      graphiql: read.bool('GRAPHIQL', !production),
      introspection: read.bool('INTROSPECTION', !production),
      graphqlPath: read.string('GRAPHQL_PATH', '/graphql'),
      maxPageSize: read.int('MAX_PAGE_SIZE', 100, { min: 1, max: 10_000 }),
      subscriptionQueueSize: read.int('SUBSCRIPTION_QUEUE_SIZE', 256, { min: 1, max: 100_000 }),
      corsOrigins: read.origins('CORS_ORIGINS'),
      maxBodyBytes: read.int('MAX_BODY_BYTES', 4 * 1024 * 1024, { min: 1_024, max: 256 * 1024 * 1024 }),
      maxHeaderBytes: read.int('MAX_HEADER_BYTES', 16 * 1024, { min: 1_024, max: 1024 * 1024 }),
      requestTimeoutMs: read.int('REQUEST_TIMEOUT_MS', 15_000, { min: 100, max: 600_000 }),
      persistedQueries: read.oneOf('PERSISTED_QUERIES', ['apq', 'allowlist', 'off'] as const, 'apq'),
      persistedManifest: read.optional('PERSISTED_MANIFEST'),
    },
    limits: {
      maxDepth: read.int('MAX_QUERY_DEPTH', 12, { min: 2, max: 100 }),
      maxCost: read.int('MAX_QUERY_COST', 20_000, { min: 1, max: 100_000_000 }),
      maxAliases: read.int('MAX_ALIASES', 30, { min: 0, max: 10_000 }),
      maxRootFields: read.int('MAX_ROOT_FIELDS', 20, { min: 1, max: 10_000 }),
      maxDirectives: read.int('MAX_DIRECTIVES', 50, { min: 0, max: 10_000 }),
      maxTokens: read.int('MAX_TOKENS', 5_000, { min: 100, max: 1_000_000 }),
    },
    auth: {
      key: authKey(read, production),
      issuer: read.string('AUTH_ISSUER', 'yieldsensei-dev'),
      audience: read.string('AUTH_AUDIENCE', 'yieldsensei-api'),
    },
    rateLimit: {
      enabled: read.bool('RATE_LIMIT_ENABLED', true),
      perSubject: read.int('RATE_LIMIT_PER_SUBJECT', 3_000, { min: 1, max: 100_000_000 }),
      perIp: read.int('RATE_LIMIT_PER_IP', 6_000, { min: 1, max: 100_000_000 }),
      windowSec: read.int('RATE_LIMIT_WINDOW_SEC', 60, { min: 1, max: 86_400 }),
      maxSubscriptionsPerConnection: read.int('MAX_SUBSCRIPTIONS_PER_CONNECTION', 20, { min: 1, max: 10_000 }),
      maxConnectionsPerSubject: read.int('MAX_CONNECTIONS_PER_SUBJECT', 10, { min: 1, max: 10_000 }),
    },
    cache: {
      enabled: read.bool('CACHE_ENABLED', true),
      consistencyWaitMs: read.int('CONSISTENCY_WAIT_MS', 2_000, { min: 0, max: 60_000 }),
      maxEntryBytes: read.int('CACHE_MAX_ENTRY_BYTES', 1024 * 1024, { min: 1_024, max: 64 * 1024 * 1024 }),
    },
    tracing: {
      otlpEndpoint: read.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
      serviceName: read.string('OTEL_SERVICE_NAME', 'yieldsensei'),
    },
    demoData: read.bool('DEMO_DATA', true),
    cdc: {
      tables: read.identifiers('CDC_TABLES'),
      batchSize: read.int('CDC_BATCH_SIZE', 500, { min: 1, max: 50_000 }),
      pollIntervalMs: read.int('CDC_POLL_INTERVAL_MS', 250, { min: 5, max: 60_000 }),
      maxAttempts: read.int('CDC_MAX_ATTEMPTS', 3, { min: 1, max: 100 }),
      retryBaseMs: read.int('CDC_RETRY_BASE_MS', 500, { min: 0, max: 3_600_000 }),
      retentionMs: read.int('CDC_RETENTION_MS', 24 * 3600 * 1000, { min: 0, max: 365 * 24 * 3600 * 1000 }),
      backfillBatchSize: read.int('BACKFILL_BATCH_SIZE', 5_000, { min: 1, max: 1_000_000 }),
    },
    worker: {
      healthPort: read.int('WORKER_HEALTH_PORT', 4001, { min: 0, max: 65_535 }),
      jobPollIntervalMs: read.int('JOB_POLL_INTERVAL_MS', 1_000, { min: 10, max: 600_000 }),
      hotDataCheckMs: read.int('HOT_DATA_CHECK_MS', 5_000, { min: 100, max: 3_600_000 }),
      validateIntervalMs: read.int('VALIDATE_INTERVAL_MS', 300_000, { min: 0, max: 7 * 24 * 3600 * 1000 }),
      tolerancePercent: read.number('VALIDATE_TOLERANCE_PERCENT', 1, { min: 0, max: 100 }),
    },
  };
  return merge(base, overrides);
}

type Reader = ReturnType<typeof reader>;

/**
 * The token key: exactly one of AUTH_JWT_SECRET, AUTH_JWKS_URL, AUTH_PUBLIC_KEY (with
 * AUTH_PUBLIC_KEY_ALG). None configured is the development key in embedded mode, and refused in
 * production: a production gateway must never accept tokens signed by a key anyone can make.
 */
function authKey(read: Reader, production: boolean): AuthKeyConfig {
  const secret = read.optional('AUTH_JWT_SECRET');
  const jwks = read.url('AUTH_JWKS_URL', ['https:', 'http:']);
  const pem = read.optional('AUTH_PUBLIC_KEY');
  const given = [secret, jwks, pem].filter((v) => v !== undefined).length;
  if (given > 1) {
    throw new AppError({
      code: 'CONFIG_INVALID',
      message: 'Set only one of AUTH_JWT_SECRET, AUTH_JWKS_URL and AUTH_PUBLIC_KEY',
    });
  }
  if (secret !== undefined) {
    if (Buffer.byteLength(secret) < 32) {
      throw new AppError({
        code: 'CONFIG_INVALID',
        message: 'Invalid AUTH_JWT_SECRET: expected at least 32 bytes (value not shown)',
      });
    }
    return { kind: 'secret', secret };
  }
  if (jwks !== undefined) return { kind: 'jwks', url: jwks };
  if (pem !== undefined) {
    return {
      kind: 'publicKey',
      pem: pem.replace(/\\n/g, '\n'),
      alg: read.oneOf('AUTH_PUBLIC_KEY_ALG', ['RS256', 'ES256', 'EdDSA'] as const, 'RS256'),
    };
  }
  if (production) {
    throw new AppError({
      code: 'CONFIG_INVALID',
      message: 'NODE_ENV=production needs a token key: set AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_PUBLIC_KEY',
    });
  }
  return { kind: 'development' };
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

/** A comma-separated list, items trimmed, empty items dropped. */
const split = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

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
    number(key: string, fallback: number, range: { min: number; max: number }): number {
      const value = raw(key);
      if (value === undefined) return fallback;
      const n = Number(value);
      if (!Number.isFinite(n) || n < range.min || n > range.max) {
        throw invalid(key, value, `a number from ${range.min} to ${range.max}`);
      }
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
    origins(key: string): string[] {
      const value = raw(key);
      if (value === undefined) return [];
      const items = split(value);
      const isOrigin = (item: string) => URL.canParse(item) && new URL(item).origin === item;
      if (!items.every(isOrigin))
        throw invalid(key, value, 'a comma-separated list of origins such as https://app.example.com');
      return items;
    },
    identifiers(key: string): string[] | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      const items = split(value);
      if (items.length === 0 || items.some((item) => !/^[a-z_][a-z0-9_]{0,62}$/.test(item))) {
        throw invalid(key, value, 'a comma-separated list of lower-case table names');
      }
      return items;
    },
    list(key: string): string[] | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      const items = split(value);
      if (items.length === 0 || items.some((item) => !/^[^\s:]+:\d+$/.test(item)))
        throw invalid(key, value, 'a comma-separated list of host:port');
      return items;
    },
  };
}

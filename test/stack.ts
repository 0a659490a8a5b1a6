/**
 * A whole gateway on either tier profile, isolated per test file: its own Postgres database
 * (real) or PGlite (embedded), its own Redis key prefix, its own chDB directory, port 0.
 * Statements are counted per tier so tests can assert batching.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildGateway, buildWorker, openRuntime, type Runtime } from '../bin/runtime.ts';
import { seedDemoData } from '../demo/seed.ts';
import { issueToken } from '../gateway/auth/issue-token.ts';
import { loadConfig, type Config, type ConfigOverrides } from '../lib/config.ts';
import { createStatementCounter } from '../stores/observer.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { SyncWorker } from '../sync-worker/worker.ts';
import { services } from './services.ts';

export type Profile = 'embedded' | 'real';

/**
 * chDB keeps one data directory per process, so every stack a test file starts shares its
 * ClickHouse tables. Seeding them all as of one instant makes the second seed's ticks exact
 * copies of the first's; seeding each as of its own start time would interleave two random
 * walks once a 5-minute tick boundary passes between them, and change24h would differ.
 */
const SEED_NOW = new Date();

export const profile: Profile = process.env['TIER_PROFILE'] === 'real' ? 'real' : 'embedded';

export interface GraphQLResult<T = Record<string, any>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

/** A client of the stack's gateway, with or without a token. */
export interface Client {
  /** POSTs a GraphQL operation and returns the parsed body. */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResult<T>>;
  /** POSTs a GraphQL request body and returns status, headers and the parsed body. */
  post<T = Record<string, any>>(
    body: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; body: GraphQLResult<T> & { extensions?: Record<string, any> } }>;
  /** The Authorization header value this client sends (undefined: anonymous). */
  readonly authorization: string | undefined;
}

/** A gateway (and optionally a worker) on its own isolated tiers. */
export interface Stack extends Client {
  readonly config: Config;
  readonly tiers: Tiers;
  readonly runtime: Runtime;
  readonly url: string;
  readonly counter: ReturnType<typeof createStatementCounter>;
  /** The sync worker, when started with `worker: true`. */
  readonly worker: SyncWorker | undefined;
  /** A token for a user (by handle or id) with a role, signed with the stack's key. */
  token(user: string, role?: 'user' | 'admin', options?: { expiresInSec?: number }): Promise<string>;
  /** A client sending that user's token; `stack` itself is anonymous. */
  as(user: string, role?: 'user' | 'admin'): Promise<Client>;
  /** An admin client (the user `whale`, role admin). */
  admin(): Promise<Client>;
  /** The id of a user by handle. */
  userId(handle: string): Promise<string>;
  stop(): Promise<void>;
}

/** Creates a fresh database on the real server; returns its URL and a function dropping it. */
export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ys_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: services.postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(services.postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      const c = new pg.Client({ connectionString: services.postgresAdminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startStack(
  options: { overrides?: ConfigOverrides; seed?: boolean; worker?: boolean; env?: Record<string, string> } = {},
): Promise<Stack> {
  const database = profile === 'real' ? await createDatabase() : undefined;
  const secret = randomBytes(48).toString('base64url');
  const env: Record<string, string> = {
    PORT: '0',
    LOG_LEVEL: 'error',
    DATA_DIR: ':memory:',
    CDC_POLL_INTERVAL_MS: '20',
    AUTH_JWT_SECRET: secret,
    NODE_ENV: 'test',
    // Scheduled validations would run diffs in every test stack with a worker; tests queue their own.
    VALIDATE_INTERVAL_MS: '0',
    ...options.env,
  };
  if (profile === 'real') {
    env['DATABASE_URL'] = database!.url;
    env['REDIS_URL'] = services.redisUrl;
    env['REDIS_KEY_PREFIX'] = `ys-test-${randomBytes(4).toString('hex')}:`;
    env['KAFKA_BROKERS'] = services.kafkaBrokers.join(',');
    env['KAFKA_CLIENT_ID'] = `ys-test-${randomBytes(4).toString('hex')}`;
    // Each stack has its own topics on the shared broker.
    env['KAFKA_TOPIC_PREFIX'] = `${env['KAFKA_CLIENT_ID']}.`;
  }
  // DATA_DIR ':memory:' puts chDB in a temporary directory owned by this test process
  // (vitest runs each file in its own process) and keeps PGlite in memory.
  const config = loadConfig(env, options.overrides);
  const counter = createStatementCounter();
  // Silent by default: some tests provoke errors on purpose (a poisoned change is logged as
  // dead-lettered). TEST_LOG_LEVEL=error shows them when debugging.
  const runtime = await openRuntime({
    name: 'test',
    config,
    logLevel: (process.env['TEST_LOG_LEVEL'] as 'error' | undefined) ?? 'silent',
    observer: counter.observer,
  });
  const { tiers } = runtime;
  if (options.seed ?? true) await seedDemoData({ tiers, logger: runtime.logger, now: SEED_NOW });
  // The demo data's own changes are in the change log too; the seed already copied them.
  await tiers.postgres.query('UPDATE cdc.change_log SET processed = true, processed_at = now() WHERE NOT processed');
  const worker = options.worker ? buildWorker(runtime) : undefined;
  await worker?.start();
  const gateway = await buildGateway(runtime);
  const { url } = await gateway.start();
  counter.reset();

  const userId = async (user: string) => {
    if (/^[1-9]\d*$/.test(user)) return user;
    const [row] = await tiers.postgres.query<{ id: string }>('SELECT id::text AS id FROM users WHERE handle = $1', [
      user,
    ]);
    if (!row) throw new Error(`no user ${user}`);
    return row.id;
  };
  const token: Stack['token'] = async (user, role = 'user', tokenOptions = {}) =>
    issueToken({
      secret,
      subject: await userId(user),
      role,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      expiresInSec: tokenOptions.expiresInSec ?? 3600,
    });
  const client = (authorization: string | undefined): Client => {
    const auth: Record<string, string> = authorization ? { authorization } : {};
    return {
      authorization,
      async gql(query, variables, headers = {}) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth, ...headers },
          body: JSON.stringify({ query, variables }),
        });
        return (await res.json()) as GraphQLResult<any>;
      },
      async post(body, headers = {}) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth, ...headers },
          body: JSON.stringify(body),
        });
        return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResult<any> };
      },
    };
  };
  const clients = new Map<string, Client>();
  const as: Stack['as'] = async (user, role = 'user') => {
    const key = `${user}|${role}`;
    let c = clients.get(key);
    if (!c) clients.set(key, (c = client(`Bearer ${await token(user, role)}`)));
    return c;
  };
  return {
    ...client(undefined),
    config,
    tiers,
    runtime,
    url,
    counter,
    worker,
    token,
    as,
    admin: () => as('whale', 'admin'),
    userId,
    async stop() {
      await worker?.stop();
      await gateway.stop();
      await runtime.close();
      await database?.drop();
      if (config.redis.url) await deleteKeys(config.redis.url, config.redis.keyPrefix);
    },
  };
}

/** Polls `probe` every 25 ms until it returns something truthy; fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Removes this stack's keys from the shared Redis. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * The PostgreSQL tier: the source of truth. One interface, two implementations:
 * a `pg` Pool on a server, or PGlite (Postgres in WebAssembly) served over a loopback
 * socket by pglite-socket so that the very same `pg` code runs against it.
 */
import pg from 'pg';
import { AppError, tierUnavailable } from '../lib/errors.ts';
import { backoffDelayMs } from '../lib/retry.ts';
import { inSpan } from '../lib/tracing.ts';
import type { Logger } from '../lib/logger.ts';
import type { StatementObserver } from './observer.ts';

/** Anything that runs a parameterized statement: the pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

/** A LISTEN that outlives its connection: reopened with backoff whenever the connection is lost. */
export interface Listener {
  /** Whether the LISTEN connection is open now (health, stats). */
  readonly listening: boolean;
  /** Times the connection was lost and reopened. */
  readonly reconnects: number;
  close(): Promise<void>;
}

/** The PostgreSQL tier. */
export interface Postgres extends Queryable {
  readonly kind: 'server' | 'embedded';
  /**
   * Whether NOTIFY reaches a LISTEN-ing connection. It does on a server; pglite-socket
   * does not deliver notifications (a LISTEN-ing pg client received nothing when another
   * connection notified), so embedded consumers must poll.
   */
  readonly supportsNotify: boolean;
  /** The connection string, for tools (`migrate`). */
  readonly url: string;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * LISTENs on `channels` on a dedicated connection, calling `onNotify(channel)` per
   * notification and `onReconnect` after a lost connection was reopened (notifications sent
   * meanwhile were lost: the caller should look for work). Without NOTIFY support it listens
   * to nothing.
   */
  listen(options: {
    channels: readonly string[];
    onNotify: (channel: string) => void;
    onReconnect?: () => void;
  }): Promise<Listener>;
  /** Resolves when the server answers now (readiness); throws TIER_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// numeric and int8 stay strings (pg's default): money is never a float and ids can exceed 2^53.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => v);

function wrap(client: pg.Pool | pg.PoolClient, observer: StatementObserver): Queryable {
  return {
    async query<R extends object>(text: string, params: readonly unknown[] = []) {
      observer('postgres', text);
      return inSpan('postgres query', { 'db.system': 'postgresql', 'db.statement': text.slice(0, 500) }, async () => {
        try {
          // Unnamed statements on purpose: named (prepared) ones switch to generic plans after five
          // runs, which made the worker's claim queries 4x slower under load (bench/results/cdc.json).
          const result = await client.query<R>(text, params as unknown[]);
          return result.rows;
        } catch (error) {
          throw classify(error);
        }
      });
    },
  };
}

/** Network errors of the socket under a connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * Connection failures become TIER_UNAVAILABLE (retriable): the network codes, SQLSTATE class 08
 * (connection exception) and 57P0x (admin shutdown, crash shutdown, cannot connect now), and
 * pg's own messages for a dead connection. So does 57014 (query_canceled): the server gave up
 * on the statement, because the statement timeout (the per-call timeout) expired, typically
 * on a table a migration or an operator holds locked, or because an operator cancelled it.
 * Invalid text (a NUL byte: 22021, 22P05) is the caller's input, INVALID_ARGUMENT. Other SQL
 * errors pass through with their SQLSTATE.
 */
export function classify(error: unknown): unknown {
  const code = (error as { code?: string }).code ?? '';
  if (
    NETWORK_CODES.has(code) ||
    code.startsWith('08') ||
    /^57P0[1-3]$/.test(code) ||
    code === '57014' ||
    /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i.test(String(error))
  ) {
    return tierUnavailable('postgres', error);
  }
  if (code === '22021' || code === '22P05') {
    return new AppError({
      code: 'INVALID_ARGUMENT',
      message: 'A text argument contains a character that cannot be stored (such as a NUL byte)',
      cause: error,
    });
  }
  return error;
}

/** Keeps a checked-out client from crashing the process: a pool only listens on its idle clients. */
async function checkout(pool: pg.Pool, logger: Logger): Promise<{ client: pg.PoolClient; release(): void }> {
  const client = await pool.connect().catch((error) => Promise.reject(classify(error)));
  let broken: Error | undefined;
  const onError = (error: Error) => {
    // The statement running on it fails on its own; the client must not go back to the pool.
    broken = error;
    logger.warn('postgres connection lost while in use', { error });
  };
  client.on('error', onError);
  return {
    client,
    release() {
      client.off('error', onError);
      client.release(broken);
    },
  };
}

function fromPool(options: {
  pool: pg.Pool;
  url: string;
  kind: Postgres['kind'];
  observer: StatementObserver;
  logger: Logger;
  onClose: () => Promise<void>;
}): Postgres {
  const { pool, observer, logger } = options;
  const base = wrap(pool, observer);
  const listeners = new Set<Listener>();
  return {
    kind: options.kind,
    supportsNotify: options.kind === 'server',
    url: options.url,
    query: base.query,
    async transaction(fn) {
      const { client, release } = await checkout(pool, logger);
      const tx = wrap(client, observer);
      try {
        // BEGIN and COMMIT are not counted as statements: the observer counts what callers send.
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw classify(error);
      } finally {
        release();
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
      } catch (error) {
        throw tierUnavailable('postgres', error);
      }
    },
    async listen(listenOptions) {
      const listener =
        options.kind === 'server'
          ? await openListener({ pool, logger, ...listenOptions })
          : { listening: false, reconnects: 0, close: async () => {} };
      listeners.add(listener);
      return {
        get listening() {
          return listener.listening;
        },
        get reconnects() {
          return listener.reconnects;
        },
        async close() {
          listeners.delete(listener);
          await listener.close();
        },
      };
    },
    async close() {
      for (const listener of [...listeners]) await listener.close();
      await pool.end();
      await options.onClose();
    },
  };
}

/**
 * A LISTEN connection that reopens itself: when the server drops it (restart, terminated
 * backend, network), it is released as broken and a new one is opened with exponential
 * backoff (capped at 5 s), for as long as it is not closed.
 */
async function openListener(options: {
  pool: pg.Pool;
  logger: Logger;
  channels: readonly string[];
  onNotify: (channel: string) => void;
  onReconnect?: () => void;
}): Promise<Listener> {
  const { logger } = options;
  let current: { client: pg.PoolClient; release(): void } | undefined;
  let closed = false;
  let reconnects = 0;
  let reopening: Promise<void> | undefined;
  const policy = { maxAttempts: Number.POSITIVE_INFINITY, initialDelayMs: 200, maxDelayMs: 5_000, factor: 2 };

  const onNotification = (message: pg.Notification) => options.onNotify(message.channel);
  async function open(): Promise<void> {
    const client = await options.pool.connect().catch((error) => Promise.reject(classify(error)));
    const lost = (error?: Error) => {
      if (current?.client !== client) return;
      client.off('notification', onNotification);
      client.release(error ?? new Error('LISTEN connection ended'));
      current = undefined;
      if (closed) return;
      logger.warn('LISTEN connection lost; reopening', { error });
      reopen();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', onNotification);
    current = { client, release: () => client.release() };
    try {
      for (const channel of options.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      lost(error as Error);
      throw classify(error);
    }
  }
  function reopen(): void {
    // Not the retry helper: that one gives up after its attempts or on a non-retriable error,
    // and a worker without its LISTEN would fall back to polling for the rest of its life.
    reopening ??= (async () => {
      for (let attempt = 1; !closed; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(policy, attempt)));
        if (closed) return;
        try {
          await open();
          // Lost again already: the FATAL of a terminated backend can come in the same read as
          // the answer to the last LISTEN, so `lost` ran (and its reopen() found this loop still
          // going) before open() resolved. Not reopened: try again.
          if (current === undefined) continue;
          reconnects++;
          logger.info('LISTEN connection reopened', { channels: options.channels, reconnects, attempt });
          options.onReconnect?.();
          return;
        } catch (error) {
          if (attempt === 1 || attempt % 10 === 0)
            logger.warn('LISTEN connection not reopened yet', { error, attempt });
        }
      }
    })().finally(() => (reopening = undefined));
  }
  await open();
  return {
    get listening() {
      return current !== undefined;
    },
    get reconnects() {
      return reconnects;
    },
    async close() {
      closed = true;
      const open = current;
      current = undefined;
      if (!open) return;
      open.client.removeAllListeners('notification');
      await open.client.query('UNLISTEN *').catch(() => {});
      open.release();
    },
  };
}

/** A `pg` Pool on a PostgreSQL server. */
export function createServerPostgres(options: {
  url: string;
  poolMax: number;
  /** Postgres cancels a statement running longer (a tier call's timeout). */
  statementTimeoutMs?: number;
  observer: StatementObserver;
  logger: Logger;
}): Postgres {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    statement_timeout: options.statementTimeoutMs,
    // A connection attempt to an unreachable server fails instead of waiting for the OS.
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', (error) => options.logger.warn('idle postgres client error', { error }));
  return fromPool({
    pool,
    url: options.url,
    kind: 'server',
    observer: options.observer,
    logger: options.logger,
    onClose: async () => {},
  });
}

/**
 * PGlite in this process, served on an ephemeral loopback port, with a pool of ONE connection.
 * pglite-socket multiplexes every connection onto PGlite's single session message by message,
 * so two connections' extended-protocol sequences (Parse, Bind, Execute) can interleave and
 * bind one client's parameters to another's statement: seen here as wrong rows under
 * concurrent loaders. PGlite runs one statement at a time anyway, so one connection costs no
 * throughput.
 */
export async function createEmbeddedPostgres(options: {
  dataDir: string;
  observer: StatementObserver;
  logger: Logger;
}): Promise<Postgres> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  const db = options.dataDir === ':memory:' ? new PGlite() : new PGlite(options.dataDir);
  await db.waitReady;
  // A few spare connections for tools (psql) pointed at the printed URL.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const url = `postgresql://postgres@${server.getServerConn()}/postgres`;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', (error) => options.logger.warn('idle embedded postgres client error', { error }));
  options.logger.info('embedded postgres (PGlite) listening', { url, dataDir: options.dataDir });
  return fromPool({
    pool,
    url,
    kind: 'embedded',
    observer: options.observer,
    logger: options.logger,
    onClose: async () => {
      await server.stop();
      await db.close();
    },
  });
}

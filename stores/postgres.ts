/**
 * The PostgreSQL tier: the source of truth. One interface, two implementations:
 * a `pg` Pool on a server, or PGlite (Postgres in WebAssembly) served over a loopback
 * socket by pglite-socket so that the very same `pg` code runs against it.
 */
import pg from 'pg';
import { tierUnavailable } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { StatementObserver } from './observer.ts';

/** Anything that runs a parameterized statement: the pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface Postgres extends Queryable {
  readonly kind: 'server' | 'embedded';
  /**
   * Whether NOTIFY reaches a LISTEN-ing connection. It does on a server; pglite-socket
   * does not deliver notifications, so embedded consumers must poll (shared/FACTS.md).
   */
  readonly supportsNotify: boolean;
  /** The connection string, for tools (`migrate`) and dedicated LISTEN connections. */
  readonly url: string;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A dedicated connection, released by the caller (LISTEN, session state). */
  connect(): Promise<pg.PoolClient>;
  close(): Promise<void>;
}

// numeric and int8 stay strings (pg's default): money is never a float and ids can exceed 2^53.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => v);

function wrap(client: pg.Pool | pg.PoolClient, observer: StatementObserver): Queryable {
  return {
    async query<R extends object>(text: string, params: readonly unknown[] = []) {
      observer('postgres', text);
      try {
        // Unnamed statements on purpose: named (prepared) ones switch to generic plans after five
        // runs, which made the worker's claim queries 4x slower under load (bench/results/cdc.json).
        const result = await client.query<R>(text, params as unknown[]);
        return result.rows;
      } catch (error) {
        throw classify(error);
      }
    },
  };
}

/** Connection failures become TIER_UNAVAILABLE (retriable); SQL errors pass through with their SQLSTATE. */
function classify(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === '57P01' ||
    /Connection terminated/.test(String(error))
  ) {
    return tierUnavailable('postgres', error);
  }
  return error;
}

function fromPool(options: {
  pool: pg.Pool;
  url: string;
  kind: Postgres['kind'];
  observer: StatementObserver;
  onClose: () => Promise<void>;
}): Postgres {
  const { pool, observer } = options;
  const base = wrap(pool, observer);
  return {
    kind: options.kind,
    supportsNotify: options.kind === 'server',
    url: options.url,
    query: base.query,
    async transaction(fn) {
      const client = await pool.connect().catch((error) => Promise.reject(classify(error)));
      const tx = wrap(client, observer);
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    connect: () => pool.connect(),
    async close() {
      await pool.end();
      await options.onClose();
    },
  };
}

/** A `pg` Pool on a PostgreSQL server. */
export function createServerPostgres(options: {
  url: string;
  poolMax: number;
  observer: StatementObserver;
  logger: Logger;
}): Postgres {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolMax });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', (error) => options.logger.warn('idle postgres client error', { error }));
  return fromPool({ pool, url: options.url, kind: 'server', observer: options.observer, onClose: async () => {} });
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
    onClose: async () => {
      await server.stop();
      await db.close();
    },
  });
}

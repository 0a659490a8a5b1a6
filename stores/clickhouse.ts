/**
 * The ClickHouse tier: analytics and time series. One interface over `@clickhouse/client`;
 * only the connection differs: HTTP to a server, or chDB (ClickHouse in this process)
 * plugged in through `createChdbConnection`. chDB owns one data directory per process,
 * so the embedded tier must live in the process that runs the sync worker (`start`).
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { tierUnavailable } from '../lib/errors.ts';
import { inSpan } from '../lib/tracing.ts';
import type { StatementObserver } from './observer.ts';

/** The ClickHouse tier. */
export interface Clickhouse {
  readonly kind: 'server' | 'embedded';
  /** Runs a SELECT with `{name:Type}` parameters and returns its rows. */
  query<R extends object = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<R[]>;
  /** Inserts rows (JSONEachRow) in one statement. */
  insert(table: string, rows: readonly object[]): Promise<void>;
  /** Runs DDL or another statement that returns nothing. */
  command(sql: string, params?: Record<string, unknown>): Promise<void>;
  /** Resolves when ClickHouse answers now (readiness); throws TIER_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A Date as ClickHouse's DateTime64(3) text in UTC ("2026-11-25 12:00:00.000"), for inserts and parameters. */
export function chTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * Server errors saying that a table (or its database) is missing right now: dropped, detached
 * or renamed by a migration or a restore in progress. Our statements only name tables the
 * migrations create, so this is the tier's state, not our bug: the worker backs off and retries
 * without charging its changes (which would dead-letter them), and clients get TIER_UNAVAILABLE.
 */
const MISSING_TABLE = new Set(['UNKNOWN_TABLE', 'UNKNOWN_DATABASE', 'TABLE_IS_DROPPED']);

function wrap(client: ClickHouseClient, kind: Clickhouse['kind'], observer: StatementObserver): Clickhouse {
  const guard = <T>(statement: string, run: () => Promise<T>): Promise<T> =>
    inSpan('clickhouse query', { 'db.system': 'clickhouse', 'db.statement': statement.slice(0, 500) }, () =>
      guarded(statement, run),
    );
  const guarded = async <T>(statement: string, run: () => Promise<T>): Promise<T> => {
    observer('clickhouse', statement);
    try {
      return await run();
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      // Other server errors carry a ClickHouse code (bad SQL, bad types): those are ours, not transient.
      if (type !== undefined && !MISSING_TABLE.has(String(type))) throw error;
      throw tierUnavailable('clickhouse', error);
    }
  };
  return {
    kind,
    query: <R extends object>(sql: string, params: Record<string, unknown> = {}) =>
      guard(sql, async () => {
        const result = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
        return result.json<R>();
      }),
    insert: async (table, rows) => {
      if (rows.length === 0) return;
      await guard(`INSERT INTO ${table}`, () =>
        client.insert({ table, values: rows as object[], format: 'JSONEachRow' }),
      );
    },
    command: async (sql, params = {}) => {
      await guard(sql, () => client.command({ query: sql, query_params: params }));
    },
    ping: async () => {
      try {
        await client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json());
      } catch (error) {
        throw tierUnavailable('clickhouse', error);
      }
    },
    close: () => client.close(),
  };
}

/** A ClickHouse server over HTTP. */
export function createServerClickhouse(options: {
  url: string;
  database: string;
  requestTimeoutMs?: number;
  observer: StatementObserver;
}): Clickhouse {
  const client = createClient({
    url: options.url,
    database: options.database,
    request_timeout: options.requestTimeoutMs,
    // Decimals come back as strings only when asked; 64-bit ints likewise.
    clickhouse_settings: { output_format_json_quote_decimals: 1, output_format_json_quote_64bit_integers: 1 },
  });
  return wrap(client, 'server', options.observer);
}

/** chDB in this process; `dataDir` `:memory:` keeps nothing after exit. */
export async function createEmbeddedClickhouse(options: {
  dataDir: string;
  observer: StatementObserver;
}): Promise<Clickhouse> {
  const { createChdbConnection } = await import('chdb/connection');
  const connection = createChdbConnection({ path: options.dataDir });
  const client = createClient({
    // chDB implements @clickhouse/client-common's Connection; the two packages' copies of that type differ only nominally.
    connection: connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'],
    clickhouse_settings: { output_format_json_quote_decimals: 1, output_format_json_quote_64bit_integers: 1 },
  });
  return wrap(client, 'embedded', options.observer);
}

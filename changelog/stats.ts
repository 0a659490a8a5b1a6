/** CDC statistics from the change log: what `Query.cdcStats`, `Query.syncStatus` and the worker's health report. */
import type { Clickhouse } from '../stores/clickhouse.ts';
import type { EventBus } from '../stores/bus.ts';
import type { Postgres } from '../stores/postgres.ts';
import { replicatedTables, type TableSpec } from '../domain/tables.ts';

/** The counters reported per table and, summed, for all tables. */
export interface CdcCounts {
  readonly pending: number;
  readonly processed: number;
  /** Pending changes that failed at least once and are waiting to retry. */
  readonly failed: number;
  readonly deadLettered: number;
  /** Age of the oldest pending change: the lag behind Postgres, in milliseconds (0 when none). */
  readonly oldestPendingAgeMs: number;
  /** Changes processed per second over the last minute. */
  readonly changesPerSecond: number;
}

/** The counters of one captured table. */
export interface TableCdcStats extends CdcCounts {
  readonly table: string;
  readonly lastProcessedAt: Date | null;
}

/** The counters of every captured table, and their sum. */
export interface CdcStats extends CdcCounts {
  readonly tables: TableCdcStats[];
  readonly kafkaConnected: boolean;
  /** Which implementation the event tier runs (`server` is Kafka). */
  readonly bus: 'server' | 'embedded';
}

/** Pending, processed, failed and dead-lettered changes, lag and throughput, per table. */
export async function cdcStats(deps: { postgres: Postgres; bus: EventBus }): Promise<CdcStats> {
  const rows = await deps.postgres.query<{
    table: string;
    pending: number;
    processed: number;
    failed: number;
    dead: number;
    age_ms: number | null;
    per_sec: number;
    last: Date | null;
  }>(
    `SELECT cfg.table_name AS "table",
            count(c.id) FILTER (WHERE NOT c.processed AND NOT c.dead_lettered)::int AS pending,
            count(c.id) FILTER (WHERE c.processed)::int AS processed,
            count(c.id) FILTER (WHERE NOT c.processed AND NOT c.dead_lettered AND c.retry_count > 0)::int AS failed,
            count(c.id) FILTER (WHERE c.dead_lettered)::int AS dead,
            (extract(epoch FROM now() - min(c."timestamp") FILTER (WHERE NOT c.processed AND NOT c.dead_lettered)) * 1000)::float8 AS age_ms,
            (count(c.id) FILTER (WHERE c.processed AND c.processed_at > now() - interval '60 seconds') / 60.0)::float8 AS per_sec,
            max(c.processed_at) AS last
     FROM cdc.capture_config cfg
     LEFT JOIN cdc.change_log c ON c.table_name = cfg.table_name
     WHERE cfg.enabled
     GROUP BY cfg.table_name ORDER BY cfg.table_name`,
  );
  const tables = rows.map((r) => ({
    table: r.table,
    pending: r.pending,
    processed: r.processed,
    failed: r.failed,
    deadLettered: r.dead,
    oldestPendingAgeMs: Math.max(0, Math.round(r.age_ms ?? 0)),
    changesPerSecond: Math.round(r.per_sec * 100) / 100,
    lastProcessedAt: r.last,
  }));
  const sum = (k: 'pending' | 'processed' | 'failed' | 'deadLettered' | 'changesPerSecond') =>
    tables.reduce((n, t) => n + t[k], 0);
  return {
    tables,
    pending: sum('pending'),
    processed: sum('processed'),
    failed: sum('failed'),
    deadLettered: sum('deadLettered'),
    oldestPendingAgeMs: Math.max(0, ...tables.map((t) => t.oldestPendingAgeMs)),
    changesPerSecond: Math.round(sum('changesPerSecond') * 100) / 100,
    kafkaConnected: deps.bus.kind === 'server' && deps.bus.isConnected(),
    bus: deps.bus.kind,
  };
}

/** A replicated table and its replica: current row counts. */
export interface TableSyncStatus {
  readonly table: string;
  readonly replica: string;
  readonly postgresRows: number;
  readonly clickhouseRows: number;
  readonly pendingChanges: number;
  readonly inSync: boolean;
}

/** Row counts of each source table and its replica (current state: FINAL, tombstones excluded). */
export async function syncStatus(deps: {
  postgres: Postgres;
  clickhouse: Clickhouse;
  tables: readonly TableSpec[];
}): Promise<TableSyncStatus[]> {
  return Promise.all(
    replicatedTables(deps.tables).map(async (spec) => {
      const [[pg], [ch], [pending]] = await Promise.all([
        deps.postgres.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${spec.name}`),
        deps.clickhouse.query<{ n: string }>(
          `SELECT toString(count()) AS n FROM ${spec.replica.table} FINAL WHERE _deleted = 0`,
        ),
        deps.postgres.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM cdc.change_log WHERE table_name = $1 AND NOT processed`,
          [spec.name],
        ),
      ]);
      const postgresRows = pg?.n ?? 0;
      const clickhouseRows = Number(ch?.n ?? 0);
      const pendingChanges = pending?.n ?? 0;
      return {
        table: spec.name,
        replica: spec.replica.table,
        postgresRows,
        clickhouseRows,
        pendingChanges,
        inSync: pendingChanges === 0 && postgresRows === clickhouseRows,
      };
    }),
  );
}

/** Share of the last hour's captured changes that failed at least once (0 when none were captured). */
export async function changeErrorRate(db: Postgres): Promise<number> {
  const [row] = await db.query<{ rate: number | null }>(
    `SELECT (count(*) FILTER (WHERE retry_count > 0 OR dead_lettered))::float8 / nullif(count(*), 0) AS rate
     FROM cdc.change_log WHERE "timestamp" > now() - interval '1 hour'`,
  );
  return row?.rate ?? 0;
}

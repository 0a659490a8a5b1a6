/**
 * The two databases as the consistency checks use them: every statement counted and the
 * bytes of every result approximated, so a diff can report what it cost and tests and the
 * benchmark can check that the cost follows the differences, not the table size.
 */
import type { Clickhouse } from '../../stores/clickhouse.ts';
import type { Queryable } from '../../stores/postgres.ts';

/** Rows as both engines return them here: plain records. */
export type Row = Record<string, unknown>;

/** Statements sent and bytes received so far. */
export interface Meter {
  readonly statements: { postgres: number; clickhouse: number };
  /** Approximate bytes of the values received (text length; 8 per number, 1 per boolean or NULL). */
  bytes: number;
}

/** A Postgres and a ClickHouse that count what they were asked and what they answered. */
export interface MeteredTiers {
  readonly meter: Meter;
  postgres<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  clickhouse<R extends object = Row>(sql: string, params?: Record<string, unknown>): Promise<R[]>;
  /** Writes rows to ClickHouse (counted as a statement; nothing is received). */
  insert(table: string, rows: readonly object[]): Promise<void>;
}

/** Wraps the injected clients; the meter starts at zero. */
export function meterTiers(options: { postgres: Queryable; clickhouse: Clickhouse }): MeteredTiers {
  const meter: Meter = { statements: { postgres: 0, clickhouse: 0 }, bytes: 0 };
  return {
    meter,
    async postgres<R extends object>(sql: string, params: readonly unknown[] = []) {
      meter.statements.postgres++;
      const rows = await options.postgres.query<R>(sql, params);
      meter.bytes += approximateBytes(rows);
      return rows;
    },
    async clickhouse<R extends object>(sql: string, params: Record<string, unknown> = {}) {
      meter.statements.clickhouse++;
      const rows = await options.clickhouse.query<R>(sql, params);
      meter.bytes += approximateBytes(rows);
      return rows;
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      meter.statements.clickhouse++;
      await options.clickhouse.insert(table, rows);
    },
  };
}

/** Approximate payload of `rows`: the data itself, without a protocol's framing. */
export function approximateBytes(rows: readonly object[]): number {
  let bytes = 0;
  for (const row of rows) {
    for (const value of Object.values(row)) bytes += valueBytes(value);
  }
  return bytes;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + valueBytes(v), 0);
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof Date) return 8;
  return 1;
}

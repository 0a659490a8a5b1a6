/**
 * How a captured row becomes a row of its ClickHouse replica: shared by the sync worker's
 * ClickHouse sink, the backfill and the reconciliation, so all three write identical rows.
 */
import { chTime } from '../stores/clickhouse.ts';
import type { ReplicaSpec, TableSpec } from './tables.ts';

/** A replica row from a captured (or backfilled) record, with its version and tombstone flag. */
export function toReplicaRow(
  table: TableSpec & { replica: ReplicaSpec },
  doc: Readonly<Record<string, unknown>>,
  meta: { version: string | number; deleted: boolean },
): Record<string, unknown> {
  const row: Record<string, unknown> = { _version: meta.version, _deleted: meta.deleted ? 1 : 0 };
  for (const column of table.replica.columns) {
    const value = doc[column];
    row[column] = timeColumns(table).has(column) ? toChTime(value) : value;
  }
  return row;
}

const timeColumnsOf = new WeakMap<TableSpec, ReadonlySet<string>>();
function timeColumns(table: TableSpec): ReadonlySet<string> {
  let set = timeColumnsOf.get(table);
  if (!set)
    timeColumnsOf.set(table, (set = new Set(table.columns.filter((c) => c.kind === 'timestamp').map((c) => c.name))));
  return set;
}

/** Postgres gives a Date (backfill) or ISO text (captured JSON); ClickHouse's own text passes through. */
function toChTime(value: unknown): unknown {
  if (value instanceof Date) return chTime(value);
  if (typeof value === 'string' && value.includes('T')) return chTime(new Date(value));
  return value;
}

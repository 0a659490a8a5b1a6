/**
 * Per-key reads shared by the re-check and the reconciliation: a row's hash in each database
 * and, from the change log, whether the row has a change still in flight and the sequence of
 * its last change.
 */
import type { CanonicalEncoding, ReplicatedTable } from './canonical-encoding.ts';
import type { MeteredTiers } from './meter-tiers.ts';
import { clickhouseKeyIn } from './segment-statements.ts';

/** At most this many keys per statement: parameters and IN lists stay small. */
export const KEYS_PER_STATEMENT = 5_000;

/** What the change log says about one row. */
export interface ChangeLogState {
  /**
   * An unprocessed change exists that the worker will still apply (not dead-lettered): the
   * replica may legitimately lag behind Postgres for this key.
   */
  readonly inFlight: boolean;
  /** The sequence of the row's last change; '0' when it has none (never captured, or pruned). */
  readonly lastSeq: string;
}

/** A Postgres row's hash (null: no such row) with its change-log state, read in one snapshot. */
export interface PostgresKeyState extends ChangeLogState {
  readonly hash: string | null;
}

/**
 * The change-log part of a per-key read: `LEFT JOIN LATERAL` it after a `k(key)` relation.
 * Found through the per-row index change_log_row (table_name, row_key, seq).
 */
export function changeLogLateral(tableParam: string): string {
  return `LEFT JOIN LATERAL (
    SELECT bool_or(NOT c.processed AND NOT c.dead_lettered) AS in_flight, max(c.seq)::text AS last_seq
    FROM cdc.change_log c WHERE c.table_name = ${tableParam} AND c.row_key = k.key
  ) c ON true`;
}

/** Splits `keys` into statement-sized chunks. */
export function chunks<T>(items: readonly T[], size = KEYS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Postgres hashes and change-log states of `keys` (row and log in the same snapshot). */
export async function postgresKeyStates(
  tiers: MeteredTiers,
  args: { table: ReplicatedTable; encoding: CanonicalEncoding; keys: readonly string[] },
): Promise<Map<string, PostgresKeyState>> {
  const { table } = args;
  const key = table.key.column;
  const states = new Map<string, PostgresKeyState>();
  for (const chunk of chunks(args.keys)) {
    const rows = await tiers.postgres<{ _k: string; _h: string | null; _in_flight: boolean; _last_seq: string }>(
      `SELECT k.key AS _k, CASE WHEN t.${key} IS NULL THEN NULL ELSE ${args.encoding.postgres.digest} END AS _h,
              coalesce(c.in_flight, false) AS _in_flight, coalesce(c.last_seq, '0') AS _last_seq
       FROM unnest($1::text[]) AS k(key)
       LEFT JOIN ${table.name} t ON t.${key} = k.key::${table.key.kind}
       ${changeLogLateral('$2')}`,
      [chunk, table.name],
    );
    for (const r of rows) states.set(r._k, { hash: r._h, inFlight: r._in_flight, lastSeq: r._last_seq });
  }
  return states;
}

/** Change-log states only (the second look of the re-check). */
export async function changeLogStates(
  tiers: MeteredTiers,
  args: { table: ReplicatedTable; keys: readonly string[] },
): Promise<Map<string, ChangeLogState>> {
  const states = new Map<string, ChangeLogState>();
  for (const chunk of chunks(args.keys)) {
    const rows = await tiers.postgres<{ _k: string; _in_flight: boolean; _last_seq: string }>(
      `SELECT k.key AS _k, coalesce(c.in_flight, false) AS _in_flight, coalesce(c.last_seq, '0') AS _last_seq
       FROM unnest($1::text[]) AS k(key) ${changeLogLateral('$2')}`,
      [chunk, args.table.name],
    );
    for (const r of rows) states.set(r._k, { inFlight: r._in_flight, lastSeq: r._last_seq });
  }
  return states;
}

/** ClickHouse hashes of the live rows of `keys` (absent: no live row). */
export async function clickhouseKeyHashes(
  tiers: MeteredTiers,
  args: { table: ReplicatedTable; encoding: CanonicalEncoding; keys: readonly string[] },
): Promise<Map<string, string>> {
  const { table } = args;
  const key = table.key.column;
  const hashes = new Map<string, string>();
  for (const chunk of chunks(args.keys)) {
    const params: Record<string, unknown> = {};
    const rows = await tiers.clickhouse<{ _k: string; _h: string }>(
      `SELECT toString(${key}) AS _k, ${args.encoding.clickhouse.digest} AS _h FROM ${table.replica.table} FINAL
       WHERE _deleted = 0 AND ${clickhouseKeyIn(table.key.kind, key, chunk, params)}`,
      params,
    );
    for (const r of rows) hashes.set(r._k, r._h);
  }
  return hashes;
}

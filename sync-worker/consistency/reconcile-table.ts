/**
 * Repairs a replica at exactly the keys that differ, writing to ClickHouse only (Postgres is
 * the source of truth and is never changed). Idempotent: each key is compared again right
 * before the repair and only a key that still differs is written, so a second run (or a run
 * with stale keys) writes nothing. `dryRun` reports the same plan and writes nothing.
 *
 * Versions. The replica keeps, per key, the row with the highest `_version` (the change
 * sequence; ReplacingMergeTree). A repair must outrank the wrong row, yet lose to any change
 * the worker applies later:
 * - a row Postgres has (missing or different in ClickHouse) is written with
 *   `_version = max(L, V + 1)`: L, the sequence of the row's last change in the change log
 *   (0 if none or pruned), is what CDC itself would have written; V + 1 outranks whatever
 *   ClickHouse holds now, V being the key's highest version there, tombstones included (0 if
 *   none), e.g. the row left behind when an UPDATE bypassed the capture trigger, at version L.
 *   A later change gets a sequence above every sequence so far, so above L, and above V + 1
 *   unless the replica ran ahead of the log; only repairs make it do so, by one, and a key
 *   already equal is never repaired again. In the one tie left (V = L, the next change is
 *   L + 1) ReplacingMergeTree keeps the row inserted last: the later change.
 * - a row Postgres no longer has (extra) gets a tombstone (`_deleted = 1`) at V + 1.
 * Order of reads: ClickHouse first, then Postgres. A change committed in between is then
 * either still in flight in the Postgres read (the key is skipped: the worker will write it)
 * or already applied, with its sequence as L; read the other way round, a repair could carry
 * a stale Postgres row above a change the worker had just applied.
 */
import { toReplicaRow } from '../../domain/replica-rows.ts';
import type { TableSpec } from '../../domain/tables.ts';
import { AppError } from '../../lib/errors.ts';
import type { Clickhouse } from '../../stores/clickhouse.ts';
import type { Queryable } from '../../stores/postgres.ts';
import { canonicalEncoding, type ReplicatedTable } from './canonical-encoding.ts';
import { diffTable, type DiffTableOptions, type TableDiff } from './diff-table.ts';
import { compareKeys } from './key-space.ts';
import { changeLogLateral, chunks, clickhouseKeyHashes } from './key-states.ts';
import { meterTiers, type MeteredTiers, type Row } from './meter-tiers.ts';
import { integerOption, replicated } from './options.ts';
import { clickhouseKeyIn } from './segment-statements.ts';

/** The keys to repair, as a diff reports them. */
export interface DriftKeys {
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  readonly different: readonly string[];
}

/** Options of reconcileTable. */
export interface ReconcileTableOptions {
  readonly postgres: Queryable;
  readonly clickhouse: Clickhouse;
  readonly table: TableSpec;
  /** The keys to repair; undefined runs a diff first and repairs what it finds. */
  readonly keys?: DriftKeys;
  /** Plan only: compare and report, write nothing. */
  readonly dryRun: boolean;
  /** Keys listed per action at most (default 1,000); the counts count them all. */
  readonly maxKeys?: number;
  /** Options of the diff run when `keys` is undefined. */
  readonly diff?: Omit<DiffTableOptions, 'postgres' | 'clickhouse' | 'table'>;
}

/** What a reconciliation did (or, in a dry run, would do). */
export interface ReconcileReport {
  readonly table: string;
  readonly replica: string;
  readonly dryRun: boolean;
  /** Rows written for keys ClickHouse did not have live. */
  readonly inserted: number;
  /** Rows written over a different ClickHouse row. */
  readonly updated: number;
  /** Tombstones written for keys Postgres does not have. */
  readonly tombstoned: number;
  /** Keys that needed nothing by the time they were compared again. */
  readonly unchanged: number;
  /** Keys skipped because a change is in flight: the worker will write them. */
  readonly inFlight: number;
  /** The keys of each action (sorted, at most maxKeys each). */
  readonly keys: {
    readonly inserted: string[];
    readonly updated: string[];
    readonly tombstoned: string[];
    readonly inFlight: string[];
  };
  /** The diff that chose the keys, when none were given. */
  readonly diff: TableDiff | undefined;
  /** Statements of the reconciliation itself (the diff's are in `diff`). */
  readonly statements: number;
  readonly durationMs: number;
}

/** Repairs the replica of `table` at the given (or diffed) keys; see the file comment. */
export async function reconcileTable(options: ReconcileTableOptions): Promise<ReconcileReport> {
  const started = performance.now();
  const table = replicated(options.table);
  const maxKeys = integerOption('maxKeys', options.maxKeys ?? 1_000, 0, 1_000_000);
  const diff = options.keys
    ? undefined
    : // Every key is needed to repair them all, not the first thousand a report would list.
      await diffTable({
        maxKeys: 1_000_000,
        ...options.diff,
        postgres: options.postgres,
        clickhouse: options.clickhouse,
        table,
      });
  if (
    diff &&
    diff.missingTotal + diff.extraTotal + diff.differentTotal >
      diff.missing.length + diff.extra.length + diff.different.length
  ) {
    // The diff listed only maxKeys per category; repairing a part silently would look complete.
    throw new AppError({
      code: 'INVALID_ARGUMENT',
      message: `The diff of ${table.name} found more keys than it lists; raise diff.maxKeys above ${Math.max(diff.missingTotal, diff.extraTotal, diff.differentTotal)}`,
      details: { field: 'diff.maxKeys' },
    });
  }
  const drift = options.keys ?? diff!;
  const keys = [...new Set([...drift.missing, ...drift.extra, ...drift.different])];
  const tiers = meterTiers(options);
  const actions = {
    inserted: [] as string[],
    updated: [] as string[],
    tombstoned: [] as string[],
    inFlight: [] as string[],
  };
  let unchanged = 0;
  for (const chunk of chunks(keys)) {
    const plan = await planChunk(tiers, table, chunk);
    unchanged += plan.unchanged;
    for (const action of ['inserted', 'updated', 'tombstoned', 'inFlight'] as const)
      actions[action].push(...plan[action]);
    if (!options.dryRun) await tiers.insert(table.replica.table, plan.rows);
  }
  const listed = (list: string[]) => list.sort((a, b) => compareKeys(table.key.kind, a, b)).slice(0, maxKeys);
  return {
    table: table.name,
    replica: table.replica.table,
    dryRun: options.dryRun,
    inserted: actions.inserted.length,
    updated: actions.updated.length,
    tombstoned: actions.tombstoned.length,
    unchanged,
    inFlight: actions.inFlight.length,
    keys: {
      inserted: listed(actions.inserted),
      updated: listed(actions.updated),
      tombstoned: listed(actions.tombstoned),
      inFlight: listed(actions.inFlight),
    },
    diff,
    statements: tiers.meter.statements.postgres + tiers.meter.statements.clickhouse,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Compares one chunk of keys again and builds the rows that repair it. */
async function planChunk(tiers: MeteredTiers, table: ReplicatedTable, keys: readonly string[]) {
  const key = table.key.column;
  const encoding = canonicalEncoding({ table, alias: 't' });
  // ClickHouse first (see the file comment): every version of the key, tombstones included, and the live row's hash.
  const params: Record<string, unknown> = {};
  const versions = new Map(
    (
      await tiers.clickhouse<{ _k: string; _v: string }>(
        `SELECT toString(${key}) AS _k, toString(max(_version)) AS _v FROM ${table.replica.table}
         WHERE ${clickhouseKeyIn(table.key.kind, key, keys, params)} GROUP BY ${key}`,
        params,
      )
    ).map((r) => [r._k, BigInt(r._v)]),
  );
  const live = await clickhouseKeyHashes(tiers, { table, encoding, keys });
  const columns = table.replica.columns.map((c) => `t.${c} AS ${c}`).join(', ');
  const source = await tiers.postgres<Row & { _k: string; _h: string | null; _in_flight: boolean; _last_seq: string }>(
    `SELECT k.key AS _k, ${columns}, CASE WHEN t.${key} IS NULL THEN NULL ELSE ${encoding.postgres.digest} END AS _h,
            coalesce(c.in_flight, false) AS _in_flight, coalesce(c.last_seq, '0') AS _last_seq
     FROM unnest($1::text[]) AS k(key)
     LEFT JOIN ${table.name} t ON t.${key} = k.key::${table.key.kind}
     ${changeLogLateral('$2')}`,
    [keys, table.name],
  );
  const plan = {
    inserted: [] as string[],
    updated: [] as string[],
    tombstoned: [] as string[],
    inFlight: [] as string[],
  };
  const rows: Array<Record<string, unknown>> = [];
  let unchanged = 0;
  const gone: string[] = [];
  for (const r of source) {
    const current = versions.get(r._k) ?? 0n;
    const chHash = live.get(r._k);
    if (r._in_flight) plan.inFlight.push(r._k);
    else if (r._h === chHash || (r._h === null && chHash === undefined)) unchanged++;
    else if (r._h === null) gone.push(r._k);
    else {
      const lastSeq = BigInt(r._last_seq);
      const version = lastSeq > current + 1n ? lastSeq : current + 1n;
      rows.push(toReplicaRow(table, r, { version: String(version), deleted: false }));
      (chHash === undefined ? plan.inserted : plan.updated).push(r._k);
    }
  }
  if (gone.length > 0) {
    // A tombstone carries the live row's own values: only `_deleted` and the version change.
    const goneParams: Record<string, unknown> = {};
    const liveRows = await tiers.clickhouse<Row>(
      `SELECT * FROM ${table.replica.table} FINAL WHERE _deleted = 0 AND ${clickhouseKeyIn(table.key.kind, key, gone, goneParams)}`,
      goneParams,
    );
    for (const row of liveRows) {
      const k = String(row[key]);
      rows.push({ ...row, _version: String((versions.get(k) ?? 0n) + 1n), _deleted: 1 });
      plan.tombstoned.push(k);
    }
  }
  return { ...plan, rows, unchanged };
}

/**
 * The canonical encoding against the real engines: the same rows in a Postgres table and in
 * chDB replicas (written the two ways the system writes them: from pg's Date objects as the
 * backfill does, and from the capture trigger's JSON as the worker does) encode to identical
 * text and hash to identical checksums, for every column kind and its edge values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toReplicaRow } from '../../domain/replica-rows.ts';
import type { ColumnSpec, TableSpec } from '../../domain/tables.ts';
import { AppError } from '../../lib/errors.ts';
import { canonicalEncoding, type ReplicatedTable } from './canonical-encoding.ts';
import { diffTable } from './diff-table.ts';
import { openTestTiers, type TestTiers } from '../../test/consistency-tiers.ts';

const col = (name: string, kind: ColumnSpec['kind'], nullable = true): ColumnSpec => ({ name, kind, nullable });
const probe = (replica: string): ReplicatedTable => ({
  name: 'encoding_probe',
  key: { column: 'id', kind: 'bigint' },
  columns: [col('id', 'bigint', false), col('n', 'int'), col('t', 'text'), col('d', 'decimal'), col('ts', 'timestamp')],
  topic: 'test.probe',
  replica: { table: replica, columns: ['id', 'n', 't', 'd', 'ts'] },
  tags: () => [],
  audience: () => [],
});
const fromDates = probe('encoding_probe_dates');
const fromJson = probe('encoding_probe_json');

// Postgres literals: E'' strings so that backslashes are data.
const ROWS = [
  `(1, NULL, NULL, NULL, NULL)`,
  `(2, 0, '', 0, '1970-01-01 00:00:00+00')`,
  `(3, -2147483648, '|', '-0', '1969-12-31 23:59:59.999999+00')`,
  `(4, 2147483647, E'\\\\', '1.10', '2026-03-01 12:34:56.123999+00')`,
  `(5, 7, E'\\\\N', '-0.000000000000000001', '2026-03-01 12:34:56.1239+05:30')`,
  `(6, 8, E'a|b\\\\c', '99999999999999999999.999999999999999999', '2299-12-31 23:59:59.999+00')`,
  `(7, 9, E'漢字 é 🚀\\n\\ttab', '-99999999999999999999.999999999999999999', '1900-01-01 00:00:00.000001+00')`,
  `(8, 10, 'NULL', '0.000000000000000001', '2000-02-29 00:00:00.0005+00')`,
  `(9, 11, E'a\\\\|b', '123456789.000000000000000000', '2026-03-01 12:34:56+00')`,
  `(10, 12, E'\\\\\\\\|', '1e-18', '2026-03-01 12:34:56.999999+00')`,
];

let tiers: TestTiers;
beforeAll(async () => {
  tiers = await openTestTiers();
  const { postgres, clickhouse } = tiers;
  await postgres.query(
    `CREATE TABLE encoding_probe (id bigint PRIMARY KEY, n integer, t text, d numeric(38, 18), ts timestamptz)`,
  );
  await postgres.query(`INSERT INTO encoding_probe VALUES ${ROWS.join(', ')}`);
  for (const t of [fromDates, fromJson]) {
    await clickhouse.command(
      `CREATE TABLE ${t.replica.table} (id UInt64, n Nullable(Int32), t Nullable(String), d Nullable(Decimal(38, 18)),
         ts Nullable(DateTime64(3, 'UTC')), _version UInt64, _deleted UInt8)
       ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY id`,
    );
  }
  // As the backfill reads them: pg's own types (Date for timestamptz, strings for numeric).
  const rows = await postgres.query('SELECT * FROM encoding_probe');
  await clickhouse.insert(
    fromDates.replica.table,
    rows.map((r) => toReplicaRow(fromDates, r, { version: 1, deleted: false })),
  );
  // As the capture trigger records them (migrations/postgres/002_cdc.sql): JSON, numbers as strings.
  const docs = await postgres.query<{ doc: Record<string, unknown> }>(
    `SELECT (SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) = 'number' THEN to_jsonb(value #>> '{}') ELSE value END)
             FROM jsonb_each(to_jsonb(p))) AS doc
     FROM encoding_probe p`,
  );
  await clickhouse.insert(
    fromJson.replica.table,
    docs.map((r) => toReplicaRow(fromJson, r.doc, { version: 1, deleted: false })),
  );
});
afterAll(() => tiers?.close());

async function encodings(table: ReplicatedTable) {
  const e = canonicalEncoding({ table, alias: 't' });
  const pg = await tiers.postgres.query<{ k: string; row: string; h: string }>(
    `SELECT t.id::text AS k, ${e.postgres.row} AS row, (${e.postgres.hash64})::text AS h FROM encoding_probe t ORDER BY t.id`,
  );
  const ch = await tiers.clickhouse.query<{ k: string; row: string; h: string }>(
    `SELECT toString(id) AS k, ${e.clickhouse.row} AS row, toString(${e.clickhouse.hash64}) AS h
     FROM ${table.replica.table} FINAL WHERE _deleted = 0 ORDER BY id`,
  );
  return { pg, ch, e };
}

describe('canonical encoding', () => {
  it.each([fromDates, fromJson])('is byte-identical in both engines for every kind ($replica.table)', async (table) => {
    const { pg, ch } = await encodings(table);
    expect(pg).toHaveLength(ROWS.length);
    expect(ch).toEqual(pg);
  });

  it('encodes NULL, escapes, decimals and timestamps as documented', async () => {
    const { pg } = await encodings(fromDates);
    const row = (id: number) => pg.find((r) => r.k === String(id))!.row;
    // NULL is \N; the empty string is empty; a text \N is escaped to \\N.
    expect(row(1)).toBe('1|\\N|\\N|\\N|\\N');
    expect(row(2)).toBe('2|0||0.000000000000000000|0');
    expect(row(5)).toBe('5|7|\\\\N|-0.000000000000000001|1772348696123');
    // The separator and the escape character are escaped; -0 is plain zero; microseconds are truncated, before 1970 too.
    expect(row(3)).toBe('3|-2147483648|\\||0.000000000000000000|-1');
    expect(row(4)).toBe('4|2147483647|\\\\|1.100000000000000000|1772368496123');
    expect(row(9)).toBe('9|11|a\\\\\\|b|123456789.000000000000000000|1772368496000');
    expect(row(10)).toBe('10|12|\\\\\\\\\\||0.000000000000000001|1772368496999');
  });

  it('gives equal checksums (sums of 64-bit SHA-224 prefixes, no overflow) in both engines', async () => {
    const { pg, ch, e } = await encodings(fromDates);
    expect(ch.map((r) => r.h)).toEqual(pg.map((r) => r.h));
    const [pgSum] = await tiers.postgres.query<{ s: string }>(
      `SELECT sum(${e.postgres.hash64})::text AS s FROM encoding_probe t`,
    );
    const [chSum] = await tiers.clickhouse.query<{ s: string }>(
      `SELECT toString(sum(toInt128(${e.clickhouse.hash64}))) AS s FROM ${fromDates.replica.table} FINAL WHERE _deleted = 0`,
    );
    expect(chSum!.s).toBe(pgSum!.s);
    // Ten 64-bit terms overflow an Int64 sum unless widened: the exact sum is the check.
    expect(pgSum!.s).toBe(String(pg.reduce((sum, r) => sum + BigInt(r.h), 0n)));
  });

  it('lets a diff find a change at the 18th decimal place and nothing else', async () => {
    const clean = await diffTable({
      postgres: tiers.postgres,
      clickhouse: tiers.clickhouse,
      table: fromJson,
      segments: 4,
      leafRows: 2,
    });
    expect([clean.missingTotal, clean.extraTotal, clean.differentTotal]).toEqual([0, 0, 0]);
    expect([clean.postgresRows, clean.clickhouseRows]).toEqual([ROWS.length, ROWS.length]);
    await tiers.clickhouse.insert(fromJson.replica.table, [
      {
        id: '6',
        n: 8,
        t: 'a|b\\c',
        d: '99999999999999999999.999999999999999998',
        ts: '2299-12-31 23:59:59.999',
        _version: 2,
        _deleted: 0,
      },
    ]);
    const drift = await diffTable({
      postgres: tiers.postgres,
      clickhouse: tiers.clickhouse,
      table: fromJson,
      segments: 4,
      leafRows: 2,
    });
    expect(drift).toMatchObject({ missing: [], extra: [], different: ['6'] });
  });

  it('refuses vectors and tables without a replica, with INVALID_ARGUMENT', async () => {
    const withVector = { ...fromDates, columns: [...fromDates.columns, col('embedding', 'vector')] };
    expect(() =>
      canonicalEncoding({ table: { ...withVector, replica: { ...withVector.replica, columns: ['id', 'embedding'] } } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const noReplica: TableSpec = { ...fromDates, replica: undefined };
    await expect(
      diffTable({ postgres: tiers.postgres, clickhouse: tiers.clickhouse, table: noReplica }),
    ).rejects.toBeInstanceOf(AppError);
  });
});

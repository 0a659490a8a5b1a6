/**
 * Cross-database diff: a 1,000,000-row transaction_history in Postgres (real server) and its
 * replica in chDB, generated identically in both (deterministic functions of the id), with 10
 * injected differences. Compares, in the same run, the range-checksum diff
 * (sync-worker/consistency/diff-table.ts) with a naive full comparison that pulls every key and
 * canonical encoding from both sides in keyset pages and merges them in JS; then reconciles.
 * Usage: node bench/consistency.ts [--rows 1000000] [--runs 5]
 * Writes bench/results/consistency.json and prints a Markdown table.
 */
import pg from 'pg';
import { tableSpec } from '../domain/tables.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../migrations/migrate.ts';
import { createEmbeddedClickhouse, type Clickhouse } from '../stores/clickhouse.ts';
import { createServerPostgres, type Queryable } from '../stores/postgres.ts';
import { canonicalEncoding, type ReplicatedTable } from '../sync-worker/consistency/canonical-encoding.ts';
import { diffTable, type TableDiff } from '../sync-worker/consistency/diff-table.ts';
import { compareKeys } from '../sync-worker/consistency/key-space.ts';
import { approximateBytes } from '../sync-worker/consistency/meter-tiers.ts';
import { reconcileTable } from '../sync-worker/consistency/reconcile-table.ts';
import { machineLine, numberArg, quantile, saveResults } from './harness.ts';

const ROWS = numberArg('rows', 1_000_000);
const RUNS = numberArg('runs', 5);
const ADMIN_URL = process.env['BENCH_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const table = tableSpec('transaction_history') as ReplicatedTable;
const log = (message: string) => process.stderr.write(`${message}\n`);

const database = `ys_bench_consistency_${process.pid}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${database}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${database}`;
const logger = createLogger({ level: 'error' });
const postgres = createServerPostgres({ url: url.href, poolMax: 4, observer: () => {}, logger });
const clickhouse = await createEmbeddedClickhouse({ dataDir: ':memory:', observer: () => {} });
/** Each statement's duration, so the results say where a diff's time goes. */
const timings: Array<{ tier: 'postgres' | 'clickhouse'; ms: number; sql: string }> = [];
const timed = async <T>(tier: 'postgres' | 'clickhouse', sql: string, run: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  try {
    return await run();
  } finally {
    timings.push({ tier, ms: Math.round(performance.now() - started), sql: sql.replace(/\s+/g, ' ').slice(0, 60) });
  }
};
const timedPostgres: Queryable = { query: (sql, params) => timed('postgres', sql, () => postgres.query(sql, params)) };
const timedClickhouse: Clickhouse = {
  ...clickhouse,
  query: (sql, params) => timed('clickhouse', sql, () => clickhouse.query(sql, params)),
};

try {
  // Capture is not installed: a million captured inserts would only fill the change log.
  await migrate({ postgres, clickhouse, logger });
  const loadStarted = performance.now();
  await generate();
  const loadMs = Math.round(performance.now() - loadStarted);
  log(`loaded ${ROWS} rows in both databases in ${loadMs} ms`);

  const clean = await diffTable({ postgres, clickhouse, table });
  if (clean.missingTotal + clean.extraTotal + clean.differentTotal !== 0) {
    throw new Error(`generated data differs before injection: ${JSON.stringify(clean)}`);
  }
  const injected = await inject();
  const expected = JSON.stringify(injected);

  const diffs: TableDiff[] = [];
  const slowest: Array<{ postgresMs: number; clickhouseMs: number }> = [];
  for (let run = 0; run < RUNS; run++) {
    timings.length = 0;
    const d = await diffTable({ postgres: timedPostgres, clickhouse: timedClickhouse, table });
    // The slowest statement of each database is the first level's: the one full scan.
    const max = (tier: string) => Math.max(...timings.filter((t) => t.tier === tier).map((t) => t.ms));
    slowest.push({ postgresMs: max('postgres'), clickhouseMs: max('clickhouse') });
    if (JSON.stringify({ missing: d.missing, extra: d.extra, different: d.different }) !== expected) {
      throw new Error(`diff found ${JSON.stringify(d)}, expected ${expected}`);
    }
    diffs.push(d);
    log(
      `diff run ${run + 1}: ${d.durationMs} ms (first level: Postgres ${slowest[run]!.postgresMs} ms, ` +
        `ClickHouse ${slowest[run]!.clickhouseMs} ms), ${d.levels} levels, ${d.statements} statements, ${d.bytesMoved} bytes`,
    );
  }
  const naive = await naiveDiff();
  if (JSON.stringify({ missing: naive.missing, extra: naive.extra, different: naive.different }) !== expected) {
    throw new Error(`naive comparison found ${JSON.stringify(naive)}, expected ${expected}`);
  }
  log(`naive: ${naive.durationMs} ms`);
  const dryRun = await reconcileTable({ postgres, clickhouse, table, keys: injected, dryRun: true });
  const repair = await reconcileTable({ postgres, clickhouse, table, keys: injected, dryRun: false });
  const after = await diffTable({ postgres, clickhouse, table });
  if (after.missingTotal + after.extraTotal + after.differentTotal !== 0) throw new Error('reconciliation left drift');

  const durations = diffs.map((d) => d.durationMs).sort((a, b) => a - b);
  const median = diffs.find((d) => d.durationMs === quantile(durations, 0.5))!;
  const row = (
    method: string,
    r: { durationMs: number; rowsCompared: number; bytesMoved: number; statements: number },
  ) => ({
    method,
    durationMs: r.durationMs,
    rowsFetched: r.rowsCompared,
    bytesMoved: r.bytesMoved,
    statements: r.statements,
  });
  const results = [
    row('range checksums (median of runs)', median),
    row('naive full comparison', naive),
    { ...row('range checksums, clean table', clean), rowsFetched: clean.rowsCompared },
  ];
  saveResults('consistency', {
    rows: ROWS,
    injectedDifferences: 10,
    loadMs,
    diffRunsMs: diffs.map((d) => d.durationMs),
    firstLevelStatementMs: slowest,
    diff: { ...median, missing: median.missing, extra: median.extra, different: median.different },
    clean: {
      durationMs: clean.durationMs,
      levels: clean.levels,
      statements: clean.statements,
      bytesMoved: clean.bytesMoved,
    },
    naive,
    reconcile: {
      dryRun: {
        durationMs: dryRun.durationMs,
        inserted: dryRun.inserted,
        updated: dryRun.updated,
        tombstoned: dryRun.tombstoned,
      },
      run: {
        durationMs: repair.durationMs,
        inserted: repair.inserted,
        updated: repair.updated,
        tombstoned: repair.tombstoned,
      },
      diffAfterMs: after.durationMs,
    },
    results,
    notes: [
      "Postgres 15 server on this machine and chDB in the bench process share its 2 cores (with a Kafka broker and other engineers' test runs); the diff runs both databases' statements of a level concurrently.",
      "firstLevelStatementMs: each database's full scan (hashing every row), most of a diff's time.",
      'rowsFetched: rows compared one by one in the app; bytesMoved: approximate bytes of values fetched into the app.',
      'Both methods compare the same canonical encoding (sync-worker/consistency/canonical-encoding.ts).',
    ],
  });
  console.log(`\nConsistency diff, ${ROWS.toLocaleString('en-US')} rows, 10 differences: ${machineLine}\n`);
  console.log('| Method | Time (ms) | Rows fetched | Bytes moved | Statements |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.method} | ${r.durationMs} | ${r.rowsFetched.toLocaleString('en-US')} | ${r.bytesMoved.toLocaleString('en-US')} | ${r.statements} |`,
    );
  }
  console.log(
    `\nDiff runs: ${diffs.map((d) => d.durationMs).join(', ')} ms; ${median.levels} levels; first level ` +
      `${slowest.map((t) => `Postgres ${t.postgresMs} / ClickHouse ${t.clickhouseMs}`).join(', ')} ms. ` +
      `Reconcile of the 10 keys: ${repair.durationMs} ms (dry run ${dryRun.durationMs} ms); diff afterwards: ${after.durationMs} ms, clean.`,
  );
} finally {
  await clickhouse.close().catch(() => {});
  await postgres.close().catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}

/**
 * The same rows in both databases, each column a function of the id that both engines compute
 * exactly: decimals built from digit strings, microsecond timestamps in Postgres that the
 * replica holds truncated to the millisecond (as the sync worker writes them).
 */
async function generate(): Promise<void> {
  await postgres.query(
    `INSERT INTO users (handle, display_name) SELECT 'u' || g, 'U' || g FROM generate_series(1, 1000) g`,
  );
  await postgres.query(
    `INSERT INTO assets (id, symbol, name, chain) VALUES ('ETH', 'ETH', 'Ether', 'ethereum'), ('USDC', 'USDC', 'USD Coin', 'ethereum'),
       ('WBTC', 'WBTC', 'Wrapped Bitcoin', 'ethereum'), ('SOL', 'SOL', 'Solana', 'solana')`,
  );
  await postgres.query(
    `INSERT INTO protocols (id, name, category, chain) VALUES ('aave', 'Aave', 'lending', 'ethereum'),
       ('curve', 'Curve', 'dex', 'ethereum'), ('uniswap', 'Uniswap', 'dex', 'ethereum')`,
  );
  const pgDone = postgres.query(
    `INSERT INTO transaction_history (id, user_id, asset_id, protocol_id, type, amount, value_usd, tx_hash, occurred_at)
     OVERRIDING SYSTEM VALUE
     SELECT g, 1 + g % 1000,
            (ARRAY['ETH', 'USDC', 'WBTC', 'SOL'])[1 + g % 4],
            CASE WHEN g % 5 = 0 THEN NULL ELSE (ARRAY['aave', 'curve', 'uniswap'])[1 + g % 3] END,
            (ARRAY['DEPOSIT', 'WITHDRAW', 'SWAP', 'STAKE', 'UNSTAKE', 'BORROW', 'REPAY', 'CLAIM', 'TRANSFER'])[1 + g % 9],
            ((1 + g % 100000) || '.' || lpad(g::text, 18, '0'))::numeric,
            ((g * 7 % 1000000) || '.' || lpad((g * 13 % 1000000)::text, 6, '0'))::numeric,
            CASE WHEN g % 6 = 0 THEN NULL ELSE '0x' || md5(g::text) || md5((g + 1)::text) END,
            timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second' + (g % 1000000) * interval '1 microsecond'
     FROM generate_series(1, $1::int) g`,
    [ROWS],
  );
  const chDone = clickhouse.command(
    `INSERT INTO transactions
     SELECT g, 1 + g % 1000,
            ['ETH', 'USDC', 'WBTC', 'SOL'][1 + g % 4],
            if(g % 5 = 0, NULL, ['aave', 'curve', 'uniswap'][1 + g % 3]),
            ['DEPOSIT', 'WITHDRAW', 'SWAP', 'STAKE', 'UNSTAKE', 'BORROW', 'REPAY', 'CLAIM', 'TRANSFER'][1 + g % 9],
            toDecimal128(concat(toString(1 + g % 100000), '.', leftPad(toString(g), 18, '0')), 18),
            toDecimal128(concat(toString(g * 7 % 1000000), '.', leftPad(toString(g * 13 % 1000000), 6, '0')), 18),
            if(g % 6 = 0, NULL, concat('0x', lower(hex(MD5(toString(g)))), lower(hex(MD5(toString(g + 1)))))),
            toDateTime64('2025-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(g) + toIntervalMillisecond(intDiv(g % 1000000, 1000)),
            0, 0
     FROM (SELECT number + 1 AS g FROM numbers(${ROWS}))`,
  );
  await Promise.all([pgDone, chDone]);
  // A production table has statistics; the planner needs them to scan in parallel.
  await postgres.query('VACUUM ANALYZE transaction_history');
}

/** 10 differences of every kind, on both sides; returns what a diff must report. */
async function inject(): Promise<{ missing: string[]; extra: string[]; different: string[] }> {
  const at = (n: number) => String(Math.max(1, Math.min(ROWS, Math.floor(n))));
  const missing = [at(123_457), at(ROWS / 2 + 1), at(ROWS - 1)];
  const deleted = [at(42), at(Math.floor(ROWS * 0.777))];
  const extraInClickhouse = String(ROWS + 1);
  const pgChanged = [at(ROWS / 4), at(Math.floor(ROWS / 3))];
  const chChanged = at(ROWS * 0.6);
  // A row whose tx_hash is not NULL already (every 6th is).
  const nulled = at(Math.floor((ROWS * 0.888) / 6) * 6 + 1);
  const live = async (key: string) =>
    (await clickhouse.query<Record<string, unknown>>(`SELECT * FROM transactions FINAL WHERE id = ${key}`))[0]!;
  // ClickHouse: rows lost (tombstoned), a row Postgres never had, a changed value.
  await clickhouse.insert('transactions', [
    ...(await Promise.all(missing.map(async (k) => ({ ...(await live(k)), _version: 1, _deleted: 1 })))),
    { ...(await live(at(1))), id: extraInClickhouse, _version: 1 },
    { ...(await live(chChanged)), user_id: '999', _version: 1 },
  ]);
  // Postgres (no capture installed, so nothing reaches the replica): deletes, an 18th-decimal change, a NULL.
  await postgres.query('DELETE FROM transaction_history WHERE id = ANY($1::bigint[])', [deleted]);
  await postgres.query(
    'UPDATE transaction_history SET amount = amount + 0.000000000000000001 WHERE id = ANY($1::bigint[])',
    [pgChanged],
  );
  await postgres.query('UPDATE transaction_history SET tx_hash = NULL WHERE id = $1 AND tx_hash IS NOT NULL', [nulled]);
  const sorted = (keys: string[]) => keys.sort((a, b) => compareKeys('bigint', a, b));
  return {
    missing: sorted(missing),
    extra: sorted([...deleted, extraInClickhouse]),
    different: sorted([...pgChanged, chChanged, nulled]),
  };
}

/** Pulls every key and encoding from both sides, 100,000 rows a page, and merges them in key order. */
async function naiveDiff() {
  const started = performance.now();
  const encoding = canonicalEncoding({ table, alias: 't' });
  const page = 100_000;
  let statements = 0;
  let bytes = 0;
  let rows = 0;
  const result = { missing: [] as string[], extra: [] as string[], different: [] as string[] };
  type Entry = { k: string; e: string };
  const fetchPg = async (after: string) => {
    statements++;
    const r = await postgres.query<Entry>(
      `SELECT t.id::text AS k, ${encoding.postgres.row} AS e FROM transaction_history t WHERE t.id > $1::bigint ORDER BY t.id LIMIT ${page}`,
      [after],
    );
    bytes += approximateBytes(r);
    return r;
  };
  const fetchCh = async (after: string) => {
    statements++;
    const r = await clickhouse.query<Entry>(
      `SELECT toString(id) AS k, ${encoding.clickhouse.row} AS e FROM transactions FINAL
       WHERE _deleted = 0 AND id > {after:UInt64} ORDER BY id LIMIT ${page}`,
      { after },
    );
    bytes += approximateBytes(r);
    return r;
  };
  let pgRows = await fetchPg('0');
  let chRows = await fetchCh('0');
  let i = 0;
  let j = 0;
  for (;;) {
    if (i === pgRows.length && pgRows.length === page) [pgRows, i] = [await fetchPg(pgRows.at(-1)!.k), 0];
    if (j === chRows.length && chRows.length === page) [chRows, j] = [await fetchCh(chRows.at(-1)!.k), 0];
    const p = pgRows[i];
    const c = chRows[j];
    if (!p && !c) break;
    rows++;
    const order = !p ? 1 : !c ? -1 : compareKeys('bigint', p.k, c.k);
    if (order < 0) (result.missing.push(p!.k), i++);
    else if (order > 0) (result.extra.push(c!.k), j++);
    else {
      if (p!.e !== c!.e) result.different.push(p!.k);
      i++;
      j++;
    }
  }
  return {
    ...result,
    durationMs: Math.round(performance.now() - started),
    rowsCompared: rows,
    bytesMoved: bytes,
    statements,
  };
}

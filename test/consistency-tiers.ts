/**
 * Test-only: real tiers for the consistency tests. A fresh database on the local Postgres
 * server (its own per test file) and chDB in this process (one per process; vitest runs each
 * file in its own), both migrated, capture installed for every registry table. Never imported
 * by production code.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { backfillTable } from '../changelog/backfill.ts';
import { installCapture } from '../changelog/capture.ts';
import { replicatedTables, tableSpec, TABLES } from '../domain/tables.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../migrations/migrate.ts';
import { chTime, createEmbeddedClickhouse, type Clickhouse } from '../stores/clickhouse.ts';
import { createStatementCounter } from '../stores/observer.ts';
import { createServerPostgres, type Postgres, type Queryable } from '../stores/postgres.ts';
import { services } from './services.ts';
import type { ReplicatedTable } from '../sync-worker/consistency/canonical-encoding.ts';

/** Opened tiers and how to drop them. */
export interface TestTiers {
  readonly postgres: Postgres;
  readonly clickhouse: Clickhouse;
  readonly counter: ReturnType<typeof createStatementCounter>;
  close(): Promise<void>;
}

/**
 * Opens the tiers. `icuLocale` creates the database with that ICU collation as its default,
 * so text keys sort differently from byte order unless a statement says COLLATE "C".
 */
export async function openTestTiers(options: { icuLocale?: string } = {}): Promise<TestTiers> {
  const name = `ys_consistency_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: services.postgresAdminUrl });
  await admin.connect();
  try {
    await admin.query(
      options.icuLocale
        ? `CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale.replace(/[^A-Za-z-]/g, '')}' LOCALE 'C.UTF-8'`
        : `CREATE DATABASE ${name}`,
    );
  } finally {
    await admin.end();
  }
  const url = new URL(services.postgresAdminUrl);
  url.pathname = `/${name}`;
  const logger = createLogger({ level: 'silent' });
  const counter = createStatementCounter();
  const postgres = createServerPostgres({ url: url.href, poolMax: 8, observer: counter.observer, logger });
  const clickhouse = await createEmbeddedClickhouse({ dataDir: ':memory:', observer: counter.observer });
  await migrate({ postgres, clickhouse, logger });
  await installCapture({ postgres, tables: TABLES });
  return {
    postgres,
    clickhouse,
    counter,
    async close() {
      await clickhouse.close().catch(() => {});
      await postgres.close().catch(() => {});
      const c = new pg.Client({ connectionString: services.postgresAdminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Reference data and `transactions` generated transactions (deterministic in the id), with
 * the edge cases the encoding must survive: NULL protocols, trailing zeros, the 18th decimal
 * place, microseconds and dates before 1970. Holdings too. The change log is then marked
 * processed, as if a worker had applied it.
 */
export async function seedSource(postgres: Postgres, options: { transactions: number }): Promise<void> {
  await postgres.query(
    `INSERT INTO users (handle, display_name) SELECT 'user_' || g, 'User ' || g FROM generate_series(1, 50) g`,
  );
  await postgres.query(
    `INSERT INTO assets (id, symbol, name, chain) VALUES
       ('ETH', 'ETH', 'Ether', 'ethereum'), ('USDC', 'USDC', 'USD Coin', 'ethereum'), ('wbtc', 'WBTC', 'Wrapped | Bitcoin', 'ethereum')`,
  );
  // Mixed case and punctuation: byte order and en-US order disagree on these ids.
  await postgres.query(
    `INSERT INTO protocols (id, name, category, chain, tvl_usd) VALUES
       ('aave', 'Aave', 'lending', 'ethereum', 12345678901234567890.123456789012345678),
       ('Aave-v2', 'Aave | v2', 'lending', 'ethereum', 1.10),
       ('Balancer', 'Bal\\ancer', 'dex', 'ethereum', 0.000000000000000001),
       ('curve', '', 'dex', 'ethereum', 0),
       ('Curve.fi', 'Curve \\N', 'dex', 'ethereum', 99999999999999999999.999999999999999999),
       ('Z_x', 'Underscore', 'misc', 'ethereum', 1),
       ('0x', 'Zero X', 'dex', 'ethereum', 2),
       ('ZZZ', 'Unicode é 漢字 🚀', 'misc', 'ethereum', 3)`,
  );
  await postgres.query(
    `INSERT INTO protocols (id, name, category, chain, tvl_usd)
     SELECT 'p' || g || (ARRAY['', '-a', '.B', '_c'])[1 + g % 4], 'Protocol ' || g, 'misc', 'ethereum', g * 1.5
     FROM generate_series(1, 600) g`,
  );
  await postgres.query(
    `INSERT INTO portfolio_holdings (user_id, asset_id, protocol_id, quantity, value_usd, updated_at)
     SELECT u, a, CASE WHEN u % 3 = 0 THEN NULL ELSE 'aave' END, u * 0.000000000000000001, u * 10.5,
            timestamptz '2026-01-01 00:00:00.123456+00' + u * interval '1.000999 second'
     FROM generate_series(1, 50) u, unnest(ARRAY['ETH', 'USDC']) a`,
  );
  await postgres.query(
    `INSERT INTO transaction_history (user_id, asset_id, protocol_id, type, amount, value_usd, tx_hash, occurred_at)
     SELECT 1 + g % 50,
            (ARRAY['ETH', 'USDC', 'wbtc'])[1 + g % 3],
            CASE WHEN g % 4 = 0 THEN NULL ELSE (ARRAY['aave', 'Aave-v2', 'curve'])[1 + g % 3] END,
            (ARRAY['DEPOSIT', 'WITHDRAW', 'SWAP'])[1 + g % 3],
            g * 0.000000000000000001 + (g % 7),
            CASE WHEN g % 5 = 0 THEN -(g * 1.25) ELSE g * 1.10 END,
            CASE WHEN g % 6 = 0 THEN NULL ELSE '0x' || md5(g::text) || md5((g + 1)::text) END,
            timestamptz '1969-12-31 23:59:00.000999+00' + g * interval '7.654321 second'
     FROM generate_series(1, $1::int) g`,
    [options.transactions],
  );
  await postgres.query('UPDATE cdc.change_log SET processed = true, processed_at = now() WHERE NOT processed');
}

/** Runs `fn` in a transaction whose writes bypass triggers: no capture, no foreign-key checks. */
export async function withoutTriggers(postgres: Postgres, fn: (tx: Queryable) => Promise<void>): Promise<void> {
  await postgres.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    await fn(tx);
  });
}

/** Copies every replicated table into ClickHouse with the real backfill. */
export async function replicateAll(tiers: TestTiers): Promise<void> {
  for (const table of replicatedTables(TABLES)) {
    await backfillTable({
      postgres: tiers.postgres,
      clickhouse: tiers.clickhouse,
      table: table.name,
      batchSize: 5_000,
    });
  }
}

/** The live replica row of `key`, with its version. */
export async function replicaRow(
  clickhouse: Clickhouse,
  table: ReplicatedTable,
  key: string,
): Promise<Record<string, unknown> | undefined> {
  const [row] = await clickhouse.query<Record<string, unknown>>(
    `SELECT * FROM ${table.replica.table} FINAL WHERE _deleted = 0 AND toString(${table.key.column}) = {key:String}`,
    { key },
  );
  return row;
}

/** Overwrites a replica row as a later version (drift made on the ClickHouse side). */
export async function rewriteReplicaRow(
  clickhouse: Clickhouse,
  table: ReplicatedTable,
  key: string,
  changes: Record<string, unknown>,
): Promise<void> {
  const row = await replicaRow(clickhouse, table, key);
  if (!row) throw new Error(`no live replica row ${table.name}/${key}`);
  await clickhouse.insert(table.replica.table, [
    { ...row, ...changes, _version: String(BigInt(String(row['_version'])) + 1n) },
  ]);
}

/** The drift injected by `injectDrift`: what a diff must report, exactly. */
export interface InjectedDrift {
  readonly missing: string[];
  readonly extra: string[];
  readonly different: string[];
}

/**
 * Every kind of drift, on the transactions replica (bigint keys) and the protocols replica
 * (text keys): a row missing in ClickHouse, an extra one, a changed value, a change at the
 * 18th decimal place, a NULL for a value, a millisecond, a row deleted in Postgres but live in
 * ClickHouse, and rows inserted or changed in Postgres with the capture trigger bypassed.
 */
export async function injectDrift(tiers: TestTiers): Promise<Record<'transactions' | 'protocols', InjectedDrift>> {
  const { postgres, clickhouse } = tiers;
  const transactions = tableSpec('transaction_history') as ReplicatedTable;
  const protocols = tableSpec('protocols') as ReplicatedTable;
  // ClickHouse side.
  await rewriteReplicaRow(clickhouse, transactions, '101', { _deleted: 1 });
  await clickhouse.insert('transactions', [
    {
      id: '50000000',
      user_id: '1',
      asset_id: 'ETH',
      protocol_id: null,
      type: 'SWAP',
      amount: '1',
      value_usd: '1',
      tx_hash: null,
      occurred_at: '2026-01-01 00:00:00.000',
      _version: '1',
      _deleted: 0,
    },
  ]);
  await rewriteReplicaRow(clickhouse, transactions, '303', { user_id: '2' });
  const amount = String((await replicaRow(clickhouse, transactions, '404'))!['amount']);
  await rewriteReplicaRow(clickhouse, transactions, '404', { amount: addAtom(amount) });
  await rewriteReplicaRow(clickhouse, transactions, '606', { protocol_id: null });
  const at = String((await replicaRow(clickhouse, transactions, '707'))!['occurred_at']);
  await rewriteReplicaRow(clickhouse, transactions, '707', {
    occurred_at: chTime(new Date(Date.parse(`${at.replace(' ', 'T')}Z`) + 1)),
  });
  await rewriteReplicaRow(clickhouse, protocols, 'Aave-v2', { _deleted: 1 });
  await clickhouse.insert('protocols', [
    { id: 'zz.extra', name: 'Extra', category: 'misc', chain: 'ethereum', tvl_usd: '0', _version: '1', _deleted: 0 },
  ]);
  const tvl = String((await replicaRow(clickhouse, protocols, 'Balancer'))!['tvl_usd']);
  await rewriteReplicaRow(clickhouse, protocols, 'Balancer', { tvl_usd: addAtom(tvl) });
  // Postgres side, with the capture trigger (and foreign keys) bypassed: no change is logged.
  let inserted = '';
  await withoutTriggers(postgres, async (tx) => {
    const [row] = await tx.query<{ id: string }>(
      `INSERT INTO transaction_history (user_id, asset_id, type, amount, occurred_at)
       VALUES (3, 'ETH', 'SWAP', 5, '2026-02-02 00:00:00+00') RETURNING id::text AS id`,
    );
    inserted = row!.id;
    await tx.query('DELETE FROM transaction_history WHERE id = 202');
    await tx.query(`UPDATE transaction_history SET value_usd = value_usd + 0.000000000000000001 WHERE id = 505`);
    await tx.query(`UPDATE protocols SET name = 'x|y' WHERE id = 'curve'`);
    await tx.query(`DELETE FROM protocols WHERE id = 'Z_x'`);
  });
  return {
    transactions: {
      missing: ['101', inserted],
      extra: ['202', '50000000'],
      different: ['303', '404', '505', '606', '707'],
    },
    protocols: { missing: ['Aave-v2'], extra: ['Z_x', 'zz.extra'], different: ['Balancer', 'curve'] },
  };
}

/** A decimal(38,18) string plus one unit in the 18th place. */
function addAtom(value: string): string {
  const [whole = '0', fraction = ''] = value.split('.');
  const units = BigInt(whole + fraction.padEnd(18, '0')) + 1n;
  const text = units.toString().padStart(19, '0');
  return `${text.slice(0, -18)}.${text.slice(-18)}`;
}

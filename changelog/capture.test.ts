/** Capture is installed from the table registry at every start, without DDL when nothing changed. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { selectTables, TABLES } from '../domain/tables.ts';
import { createLogger } from '../lib/logger.ts';
import { migratePostgres } from '../migrations/migrate.ts';
import { createStatementCounter } from '../stores/observer.ts';
import { createServerPostgres, type Postgres } from '../stores/postgres.ts';
import { createDatabase } from '../test/stack.ts';
import { installCapture } from './capture.ts';

const counter = createStatementCounter();
let database: Awaited<ReturnType<typeof createDatabase>>;
let postgres: Postgres;
beforeAll(async () => {
  database = await createDatabase();
  const logger = createLogger({ level: 'silent' });
  postgres = createServerPostgres({ url: database.url, poolMax: 2, observer: counter.observer, logger });
  await migratePostgres({ postgres, logger });
});
afterAll(async () => {
  await postgres?.close();
  await database?.drop();
});

const ddl = () => counter.list('postgres').filter((s) => s.includes('CREATE OR REPLACE TRIGGER')).length;

it('creates the triggers once, skips the DDL on an unchanged restart, and applies a changed selection', async () => {
  counter.reset();
  await installCapture({ postgres, tables: TABLES });
  expect(ddl()).toBe(TABLES.length);

  counter.reset();
  await installCapture({ postgres, tables: TABLES });
  expect(ddl()).toBe(0);

  // An operator captures fewer tables (CDC_TABLES): the others stop recording changes.
  const fewer = selectTables(['transaction_history', 'portfolio_holdings']);
  counter.reset();
  await installCapture({ postgres, tables: fewer });
  expect(ddl()).toBe(2);
  const enabled = await postgres.query<{ table_name: string }>(
    `SELECT table_name FROM cdc.capture_config WHERE enabled ORDER BY table_name`,
  );
  expect(enabled.map((r) => r.table_name)).toEqual(['portfolio_holdings', 'transaction_history']);
  await postgres.query(`UPDATE protocols SET name = name`);
  await postgres.query(`INSERT INTO users (handle, display_name) VALUES ('capture_test', 'Capture Test')`);
  const [{ n } = { n: -1 }] = await postgres.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM cdc.change_log WHERE table_name = 'users'`,
  );
  expect(n).toBe(0);
});

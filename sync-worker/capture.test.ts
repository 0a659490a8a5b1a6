/** Capture is installed from the config at every start, without DDL when nothing changed. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_CAPTURE_TABLES } from '../lib/config.ts';
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

it('creates the triggers once, skips the DDL on an unchanged restart, and applies a changed config', async () => {
  counter.reset();
  await installCapture({ postgres, tables: DEFAULT_CAPTURE_TABLES });
  expect(ddl()).toBe(DEFAULT_CAPTURE_TABLES.length);

  counter.reset();
  await installCapture({ postgres, tables: DEFAULT_CAPTURE_TABLES });
  expect(ddl()).toBe(0);

  const narrower = DEFAULT_CAPTURE_TABLES.map((t) =>
    t.table === 'protocols' ? { ...t, captureColumns: ['id', 'name'] } : t,
  );
  counter.reset();
  await installCapture({ postgres, tables: narrower });
  expect(ddl()).toBe(DEFAULT_CAPTURE_TABLES.length);
  const [row] = await postgres.query<{ columns: string[] }>(
    `SELECT columns FROM cdc.capture_config WHERE table_name = 'protocols'`,
  );
  expect(row!.columns).toEqual(['id', 'name']);
});

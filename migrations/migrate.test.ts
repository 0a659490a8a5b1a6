/**
 * Migrations against a real PostgreSQL server (a throwaway database) and chDB: every file
 * runs once, a re-run is a no-op, a new file runs alone, and an edited file is refused.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { createEmbeddedClickhouse, type Clickhouse } from '../stores/clickhouse.ts';
import { createServerPostgres, type Postgres } from '../stores/postgres.ts';
import { migrate, migrateClickhouse, migratePostgres, splitStatements } from './migrate.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADMIN_URL = process.env['TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const logger = createLogger({ level: 'silent' });
const observer = () => {};

const dbName = `ys_test_migrate_${randomBytes(6).toString('hex')}`;
let postgres: Postgres;
let clickhouse: Clickhouse;
const tempDirs: string[] = [];

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  postgres = createServerPostgres({ url: url.href, poolMax: 2, observer, logger });
  clickhouse = await createEmbeddedClickhouse({ dataDir: ':memory:', observer: () => {} });
});

afterAll(async () => {
  await postgres?.close().catch(() => {});
  await clickhouse?.close().catch(() => {});
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

/** The .sql files of a migrations directory, in name order, read independently of migrate.ts. */
async function listing(tier: 'postgres' | 'clickhouse'): Promise<string[]> {
  return (await readdir(path.join(here, tier))).filter((n) => n.endsWith('.sql')).sort();
}

/** Names of the tables the files of a tier create (`CREATE TABLE [IF NOT EXISTS] [schema.]name`). */
async function createdTables(tier: 'postgres' | 'clickhouse'): Promise<string[]> {
  const names: string[] = [];
  for (const file of await listing(tier)) {
    const sql = await readFile(path.join(here, tier, file), 'utf8');
    for (const m of sql.matchAll(/^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][\w.]*)/gim))
      names.push(m[1]!);
  }
  return names;
}

const pgMigrations = () =>
  postgres.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations ORDER BY name');
const chMigrationRows = async () =>
  (await clickhouse.query<{ n: string }>('SELECT toString(count()) AS n FROM schema_migrations'))[0]!.n;

/** A copy of migrations/<tier> in a temporary directory, to add to and edit. */
async function copyOf(tier: 'postgres' | 'clickhouse'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `ys-migrate-${tier}-`));
  tempDirs.push(dir);
  await cp(path.join(here, tier), dir, { recursive: true });
  return dir;
}

/** The run is refused with CONFLICT naming the edited file. */
async function expectConflict(run: Promise<unknown>, file: string): Promise<void> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('CONFLICT');
  expect((error as AppError).message).toContain(file);
}

describe('migrate', () => {
  it('applies every file of migrations/postgres and migrations/clickhouse on an empty database', async () => {
    const result = await migrate({ postgres, clickhouse, logger });
    const expected = { postgres: await listing('postgres'), clickhouse: await listing('clickhouse') };
    expect(expected.postgres.length).toBeGreaterThan(0);
    expect(expected.clickhouse.length).toBeGreaterThan(0);
    expect(result).toEqual(expected);

    // Each tier records what ran.
    expect((await pgMigrations()).map((r) => r.name)).toEqual(expected.postgres);
    const chNames = await clickhouse.query<{ name: string }>('SELECT name FROM schema_migrations FINAL ORDER BY name');
    expect(chNames.map((r) => r.name)).toEqual(expected.clickhouse);

    // And every table the files create exists.
    const pgTables = await createdTables('postgres');
    expect(pgTables).toContain('transaction_history');
    for (const table of pgTables) {
      const [row] = await postgres.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
      expect(row!.t, table).not.toBeNull();
    }
    const chTables = await createdTables('clickhouse');
    expect(chTables).toContain('price_data_raw');
    const existing = (
      await clickhouse.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')
    ).map((r) => r.name);
    for (const table of chTables) expect(existing, table).toContain(table);
  });

  it('applies nothing on a second run and records nothing more', async () => {
    const pgBefore = await pgMigrations();
    const chBefore = await chMigrationRows();
    expect(await migrate({ postgres, clickhouse, logger })).toEqual({ postgres: [], clickhouse: [] });
    expect(await pgMigrations()).toEqual(pgBefore);
    expect(await chMigrationRows()).toBe(chBefore);
  });

  it('applies only a file added after the last run', async () => {
    const dir = await copyOf('postgres');
    await writeFile(
      path.join(dir, '900_probe.sql'),
      'CREATE TABLE migrate_probe (id integer PRIMARY KEY);\nINSERT INTO migrate_probe VALUES (1), (2);\n',
    );
    expect(await migratePostgres({ postgres, logger, dir })).toEqual(['900_probe.sql']);
    expect(await postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM migrate_probe')).toEqual([{ n: 2 }]);
    // Running the same directory again applies nothing (the INSERT would fail on its key if it ran twice).
    expect(await migratePostgres({ postgres, logger, dir })).toEqual([]);

    const chDir = await copyOf('clickhouse');
    await writeFile(
      path.join(chDir, '900_probe.sql'),
      '-- a probe table; and a comment with semicolons;\nCREATE TABLE IF NOT EXISTS migrate_probe (id UInt32) ENGINE = MergeTree ORDER BY id;\n\nINSERT INTO migrate_probe VALUES (7);\n',
    );
    expect(await migrateClickhouse({ clickhouse, logger, dir: chDir })).toEqual(['900_probe.sql']);
    expect(await clickhouse.query('SELECT id FROM migrate_probe')).toEqual([{ id: 7 }]);
    expect(await migrateClickhouse({ clickhouse, logger, dir: chDir })).toEqual([]);
  });

  it('refuses a Postgres migration edited after it ran, with CONFLICT, and applies nothing after it', async () => {
    const dir = await copyOf('postgres');
    const [first] = await listing('postgres');
    // Even a comment-only edit changes the file: migrations are append-only.
    await appendFile(path.join(dir, first!), '\n-- edited after it ran\n');
    await writeFile(path.join(dir, '999_after.sql'), 'CREATE TABLE migrate_after_conflict (id integer);\n');
    const before = await pgMigrations();

    await expectConflict(migratePostgres({ postgres, logger, dir }), first!);

    expect(await pgMigrations()).toEqual(before);
    expect(
      await postgres.query<{ t: string | null }>(`SELECT to_regclass('migrate_after_conflict')::text AS t`),
    ).toEqual([{ t: null }]);
    // The untouched directory still migrates cleanly.
    expect(await migratePostgres({ postgres, logger })).toEqual([]);
  });

  it('refuses a ClickHouse migration edited after it ran, with CONFLICT', async () => {
    const dir = await copyOf('clickhouse');
    const files = await listing('clickhouse');
    const last = files.at(-1)!;
    await appendFile(path.join(dir, last), '\n-- edited after it ran\n');
    const before = await chMigrationRows();

    await expectConflict(migrateClickhouse({ clickhouse, logger, dir }), last);
    expect(await chMigrationRows()).toBe(before);
  });
});

describe('splitStatements', () => {
  it('drops comment lines and splits on semicolons that end a line', () => {
    const sql = [
      '-- Header comment; it mentions a semicolon; twice.',
      'CREATE TABLE a (',
      '  x Int32, -- the x column',
      '  y String',
      ') ENGINE = Memory;',
      '',
      '   -- an indented comment;',
      "INSERT INTO a VALUES (1, 'semi;colon');",
      'SELECT x',
      'FROM a ;   ',
      'SELECT 2;',
    ].join('\n');
    expect(splitStatements(sql)).toEqual([
      'CREATE TABLE a (\n  x Int32, -- the x column\n  y String\n) ENGINE = Memory',
      "INSERT INTO a VALUES (1, 'semi;colon')",
      'SELECT x\nFROM a',
      'SELECT 2',
    ]);
  });

  it('takes a last statement without a semicolon or newline, and CRLF line ends', () => {
    expect(splitStatements('SELECT 1;\r\nSELECT 2;\r\n-- done\r\nSELECT 3')).toEqual([
      'SELECT 1',
      'SELECT 2',
      'SELECT 3',
    ]);
  });

  it('gives nothing for empty or comment-only SQL', () => {
    expect(splitStatements('')).toEqual([]);
    expect(splitStatements('-- nothing here;\n\n  -- still nothing;\n')).toEqual([]);
  });

  it('splits each ClickHouse migration file into statements with no comment lines left', async () => {
    for (const file of await listing('clickhouse')) {
      const sql = await readFile(path.join(here, 'clickhouse', file), 'utf8');
      const statements = splitStatements(sql);
      // One statement per CREATE in these files.
      expect(statements.length, file).toBe((sql.match(/^CREATE\b/gm) ?? []).length);
      for (const s of statements) {
        expect(s, file).toMatch(/^CREATE\b/);
        expect(
          s.split('\n').some((line) => line.trim().startsWith('--')),
          file,
        ).toBe(false);
        expect(s.endsWith(';'), file).toBe(false);
      }
    }
  });
});

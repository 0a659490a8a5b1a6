/**
 * Applies the SQL files of migrations/postgres and migrations/clickhouse in name order and
 * records each in a `schema_migrations` table of its tier, so a re-run applies only what is
 * new. A file whose content changed after it ran is refused: migrations are append-only.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Clickhouse } from '../stores/clickhouse.ts';
import type { Postgres } from '../stores/postgres.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

async function load(dir: string): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16) };
    }),
  );
}

function changed(name: string, tier: string): AppError {
  return new AppError({
    code: 'CONFLICT',
    message: `Migration ${tier}/${name} changed after it was applied; add a new file instead`,
  });
}

/** Postgres: all pending files in one transaction (all or nothing), under an advisory lock so concurrent starts do not race. */
export async function migratePostgres(options: {
  postgres: Postgres;
  logger: Logger;
  dir?: string;
}): Promise<string[]> {
  const migrations = await load(options.dir ?? path.join(here, 'postgres'));
  return options.postgres.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7355608)');
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Map(
      (await tx.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).map((r) => [
        r.name,
        r.checksum,
      ]),
    );
    const applied: string[] = [];
    for (const m of migrations) {
      const previous = done.get(m.name);
      if (previous === m.checksum) continue;
      if (previous !== undefined) throw changed(m.name, 'postgres');
      await tx.query(m.sql);
      await tx.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [m.name, m.checksum]);
      options.logger.info('applied migration', { tier: 'postgres', name: m.name });
      applied.push(m.name);
    }
    return applied;
  });
}

/** ClickHouse has no multi-statement transactions: files are written idempotently (IF NOT EXISTS) and run statement by statement. */
export async function migrateClickhouse(options: {
  clickhouse: Clickhouse;
  logger: Logger;
  dir?: string;
}): Promise<string[]> {
  const { clickhouse } = options;
  const migrations = await load(options.dir ?? path.join(here, 'clickhouse'));
  await clickhouse.command(
    `CREATE TABLE IF NOT EXISTS schema_migrations (name String, checksum String, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY name`,
  );
  const done = new Map(
    (
      await clickhouse.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations FINAL')
    ).map((r) => [r.name, r.checksum]),
  );
  const applied: string[] = [];
  for (const m of migrations) {
    const previous = done.get(m.name);
    if (previous === m.checksum) continue;
    if (previous !== undefined) throw changed(m.name, 'clickhouse');
    for (const statement of splitStatements(m.sql)) await clickhouse.command(statement);
    await clickhouse.insert('schema_migrations', [{ name: m.name, checksum: m.checksum }]);
    options.logger.info('applied migration', { tier: 'clickhouse', name: m.name });
    applied.push(m.name);
  }
  return applied;
}

/** Splits on semicolons that end a line, after removing `--` comment lines. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Both tiers, Postgres first (the source of truth). */
export async function migrate(options: {
  postgres: Postgres;
  clickhouse: Clickhouse;
  logger: Logger;
}): Promise<{ postgres: string[]; clickhouse: string[] }> {
  const postgres = await migratePostgres(options);
  const clickhouse = await migrateClickhouse(options);
  return { postgres, clickhouse };
}

/**
 * Installs capture from the typed config: writes cdc.capture_config and (re)creates one
 * AFTER ROW trigger per captured table. Idempotent; run at every startup after migrations,
 * so the database always captures what the config says.
 */
import type { CaptureTable, Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { migrate } from '../migrations/migrate.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { Postgres, Queryable } from '../stores/postgres.ts';

/** What every process does with freshly opened tiers: apply pending migrations, then install capture. */
export async function prepareTiers(options: { tiers: Tiers; config: Config; logger: Logger }): Promise<void> {
  await migrate({ postgres: options.tiers.postgres, clickhouse: options.tiers.clickhouse, logger: options.logger });
  await installCapture({ postgres: options.tiers.postgres, tables: options.config.cdc.tables });
}

export async function installCapture(options: { postgres: Postgres; tables: readonly CaptureTable[] }): Promise<void> {
  await options.postgres.transaction(async (tx) => {
    // Serialize concurrent startups (gateway and worker may boot together).
    await tx.query('SELECT pg_advisory_xact_lock(7355609)');
    // Every process start runs this; CREATE TRIGGER locks each table against writes, so skip
    // the DDL when the database already captures exactly what the config says.
    if (await isInstalled(tx, options.tables)) return;
    await tx.query('UPDATE cdc.capture_config SET enabled = false WHERE NOT (table_name = ANY($1::text[]))', [
      options.tables.map((t) => t.table),
    ]);
    for (const t of options.tables) {
      await tx.query(
        `INSERT INTO cdc.capture_config (table_name, key_column, columns, topic, enabled) VALUES ($1, $2, $3, $4, true)
         ON CONFLICT (table_name) DO UPDATE SET key_column = EXCLUDED.key_column, columns = EXCLUDED.columns, topic = EXCLUDED.topic, enabled = true`,
        [t.table, t.keyColumn, t.captureColumns, t.topic],
      );
      // Table names are validated identifiers (lib/config.ts); DDL cannot take parameters.
      await tx.query(
        `CREATE OR REPLACE TRIGGER cdc_capture AFTER INSERT OR UPDATE OR DELETE ON ${t.table} FOR EACH ROW EXECUTE FUNCTION cdc.capture()`,
      );
    }
  });
}

async function isInstalled(tx: Queryable, tables: readonly CaptureTable[]): Promise<boolean> {
  const config = await tx.query<{ table_name: string; key_column: string; columns: string[]; topic: string }>(
    'SELECT table_name, key_column, columns, topic FROM cdc.capture_config WHERE enabled',
  );
  const triggers = await tx.query<{ table_name: string }>(
    `SELECT c.relname AS table_name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = 'cdc_capture' AND NOT t.tgisinternal`,
  );
  const triggered = new Set(triggers.map((t) => t.table_name));
  const byTable = new Map(config.map((r) => [r.table_name, r]));
  return (
    config.length === tables.length &&
    tables.every((t) => {
      const row = byTable.get(t.table);
      return (
        row !== undefined &&
        triggered.has(t.table) &&
        row.key_column === t.keyColumn &&
        row.topic === t.topic &&
        row.columns.join() === t.captureColumns.join()
      );
    })
  );
}

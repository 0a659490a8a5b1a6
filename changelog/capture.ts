/**
 * Installs capture from the table registry: writes cdc.capture_config and (re)creates one
 * AFTER ROW trigger per captured table. Idempotent, and run at every startup after the
 * migrations, so the database always captures exactly the tables the config selects.
 */
import type { TableSpec } from '../domain/tables.ts';
import type { Postgres, Queryable } from '../stores/postgres.ts';

/** Makes the database capture exactly `tables`; does no DDL when it already does. */
export async function installCapture(options: { postgres: Postgres; tables: readonly TableSpec[] }): Promise<void> {
  const wanted = options.tables.map((t) => ({
    table: t.name,
    key: t.key.column,
    columns: t.columns.map((c) => c.name),
    topic: t.topic,
  }));
  await options.postgres.transaction(async (tx) => {
    // Serialize concurrent startups (gateway and worker may boot together).
    await tx.query('SELECT pg_advisory_xact_lock(7355609)');
    // CREATE TRIGGER locks each table against writes: skip the DDL when the database already
    // captures exactly what the config says (every process start runs this).
    if (await isInstalled(tx, wanted)) return;
    await tx.query('UPDATE cdc.capture_config SET enabled = false WHERE NOT (table_name = ANY($1::text[]))', [
      wanted.map((t) => t.table),
    ]);
    for (const t of wanted) {
      await tx.query(
        `INSERT INTO cdc.capture_config (table_name, key_column, columns, topic, enabled) VALUES ($1, $2, $3, $4, true)
         ON CONFLICT (table_name) DO UPDATE SET key_column = EXCLUDED.key_column, columns = EXCLUDED.columns, topic = EXCLUDED.topic, enabled = true`,
        [t.table, t.key, t.columns, t.topic],
      );
      // Table names come from the registry (identifiers); DDL cannot take parameters.
      await tx.query(
        `CREATE OR REPLACE TRIGGER cdc_capture AFTER INSERT OR UPDATE OR DELETE ON ${t.table} FOR EACH ROW EXECUTE FUNCTION cdc.capture()`,
      );
    }
  });
}

async function isInstalled(
  tx: Queryable,
  wanted: ReadonlyArray<{ table: string; key: string; columns: readonly string[]; topic: string }>,
): Promise<boolean> {
  const config = await tx.query<{ table_name: string; key_column: string; columns: string[]; topic: string }>(
    'SELECT table_name, key_column, columns, topic FROM cdc.capture_config WHERE enabled',
  );
  const triggers = await tx.query<{ table_name: string }>(
    `SELECT c.relname AS table_name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = 'cdc_capture' AND NOT t.tgisinternal`,
  );
  const triggered = new Set(triggers.map((t) => t.table_name));
  const byTable = new Map(config.map((r) => [r.table_name, r]));
  return (
    config.length === wanted.length &&
    wanted.every((t) => {
      const row = byTable.get(t.table);
      return (
        row !== undefined &&
        triggered.has(t.table) &&
        row.key_column === t.key &&
        row.topic === t.topic &&
        row.columns.join() === t.columns.join()
      );
    })
  );
}

/**
 * Installs capture from the typed config: writes cdc.capture_config and (re)creates one
 * AFTER ROW trigger per captured table. Idempotent; run at every startup after migrations,
 * so the database always captures what the config says.
 */
import type { CaptureTable } from '../lib/config.ts';
import type { Postgres } from '../stores/postgres.ts';

export async function installCapture(options: { postgres: Postgres; tables: readonly CaptureTable[] }): Promise<void> {
  await options.postgres.transaction(async (tx) => {
    // Serialize concurrent startups (gateway and worker may boot together).
    await tx.query('SELECT pg_advisory_xact_lock(7355609)');
    await tx.query('UPDATE cdc.capture_config SET enabled = false WHERE NOT (table_name = ANY($1::text[]))', [options.tables.map((t) => t.table)]);
    for (const t of options.tables) {
      await tx.query(
        `INSERT INTO cdc.capture_config (table_name, key_column, columns, topic, enabled) VALUES ($1, $2, $3, $4, true)
         ON CONFLICT (table_name) DO UPDATE SET key_column = EXCLUDED.key_column, columns = EXCLUDED.columns, topic = EXCLUDED.topic, enabled = true`,
        [t.table, t.keyColumn, t.captureColumns, t.topic],
      );
      // Table names are validated identifiers (lib/config.ts); DDL cannot take parameters.
      await tx.query(`CREATE OR REPLACE TRIGGER cdc_capture AFTER INSERT OR UPDATE OR DELETE ON ${t.table} FOR EACH ROW EXECUTE FUNCTION cdc.capture()`);
    }
  });
}

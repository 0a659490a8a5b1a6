/** What every process does with freshly opened tiers: apply pending migrations, then install capture. */
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { migrate } from '../migrations/migrate.ts';
import { selectTables } from '../domain/tables.ts';
import type { Tiers } from '../stores/tiers.ts';
import { installCapture } from './capture.ts';

/** Migrates Postgres and ClickHouse, then makes Postgres capture the configured tables. */
export async function prepareTiers(options: { tiers: Tiers; config: Config; logger: Logger }): Promise<void> {
  await migrate({ postgres: options.tiers.postgres, clickhouse: options.tiers.clickhouse, logger: options.logger });
  await installCapture({ postgres: options.tiers.postgres, tables: selectTables(options.config.cdc.tables) });
}

/** `npm run migrate`: applies pending Postgres and ClickHouse migrations, installs capture, then exits. Safe to re-run. */
import { boot } from './runtime.ts';

const { logger, tiers } = await boot('migrate');
logger.info('migrations up to date');
await tiers.close();

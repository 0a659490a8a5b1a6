/** `npm run migrate`: applies pending Postgres and ClickHouse migrations, installs capture, then exits. Safe to re-run. */
import { boot } from './runtime.ts';

const runtime = await boot('migrate');
runtime.logger.info('migrations up to date');
await runtime.close();

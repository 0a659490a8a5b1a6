/**
 * `npm start`: the gateway and the sync worker in one process, on whatever tiers are
 * configured (embedded defaults when none are). One process is required with chDB, whose
 * data directory only one process may open. Loads the demo data into empty tiers.
 */
import { seedDemoData } from '../demo/seed.ts';
import { createGateway } from '../gateway/app.ts';
import { createSyncWorker } from '../sync-worker/worker.ts';
import { boot, onShutdown } from './runtime.ts';

const { config, logger, tiers } = await boot('yieldsensei');
if (config.demoData) await seedDemoData({ tiers, logger });
const worker = createSyncWorker({ tiers, config, logger });
const gateway = createGateway({ config, tiers, logger });
await worker.start();
const { url } = await gateway.start();
process.stdout.write(
  `\nYieldSensei gateway ready.\n  GraphiQL:  ${url}  (open in a browser)\n  Health:    ${new URL('/health', url).href}\n\n`,
);
onShutdown(logger, async () => {
  await gateway.stop();
  await worker.stop();
  await tiers.close();
});

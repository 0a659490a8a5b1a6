/** `npm run worker`: the sync worker alone (production). */
import { serveWorkerHealth } from '../sync-worker/health.ts';
import { createSyncWorker } from '../sync-worker/worker.ts';
import { boot, onShutdown } from './runtime.ts';

const { config, logger, tiers } = await boot('worker');
const worker = createSyncWorker({ tiers, config, logger });
await worker.start();
const health = await serveWorkerHealth({ tiers, port: config.cdc.healthPort, host: config.host });
logger.info('worker health', { url: health.url });
onShutdown(logger, async () => {
  await health.close();
  await worker.stop();
  await tiers.close();
});

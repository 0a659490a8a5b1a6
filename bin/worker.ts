/** `npm run worker`: the sync worker alone (production). */
import { createSyncWorker } from '../sync-worker/worker.ts';
import { boot, onShutdown } from './runtime.ts';

const { logger, tiers } = await boot('worker');
const worker = createSyncWorker({ tiers, logger });
await worker.start();
onShutdown(logger, async () => {
  await worker.stop();
  await tiers.close();
});

/** `npm run worker`: the sync worker alone (production), with its health, readiness and metrics endpoint. */
import { serveWorkerHealth } from '../sync-worker/health.ts';
import { boot, buildWorker, onShutdown } from './runtime.ts';

const runtime = await boot('worker');
const worker = buildWorker(runtime);
await worker.start();
const health = await serveWorkerHealth({
  ...runtime,
  worker,
  port: runtime.config.worker.healthPort,
  host: runtime.config.host,
});
runtime.logger.info('worker health', { url: health.url });
onShutdown(runtime.logger, async () => {
  await health.close();
  await worker.stop();
  await runtime.close();
});

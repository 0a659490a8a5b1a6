/**
 * `npm start`: the gateway and the sync worker in one process, on whatever tiers are
 * configured (embedded defaults when none are). One process is required with chDB, whose
 * data directory only one process may open. Loads the demo data into empty tiers.
 */
import { seedDemoData } from '../demo/seed.ts';
import { boot, buildGateway, buildWorker, developmentToken, onShutdown } from './runtime.ts';

const runtime = await boot('yieldsensei');
if (runtime.config.demoData) await seedDemoData({ tiers: runtime.tiers, logger: runtime.logger });
const worker = buildWorker(runtime);
const gateway = await buildGateway(runtime);
await worker.start();
const { url } = await gateway.start();
const token = await developmentToken(runtime, 'demo');
process.stdout.write(
  `\nYieldSensei gateway ready.\n  GraphiQL:  ${url}  (open in a browser; the demo user's token is prefilled)\n` +
    `  Ready:     ${new URL('/readyz', url).href}\n  Metrics:   ${new URL('/metrics', url).href}\n` +
    (token ? `  Token of the demo user (Authorization: Bearer <token>):\n    ${token}\n` : '') +
    '\n',
);
onShutdown(runtime.logger, async () => {
  await gateway.stop();
  await worker.stop();
  await runtime.close();
});

/** `npm run gateway`: the gateway alone, for production where ClickHouse is a server and the worker runs apart. */
import { createGateway } from '../gateway/app.ts';
import { boot, onShutdown } from './runtime.ts';

const { config, logger, tiers } = await boot('gateway');
const gateway = createGateway({ config, tiers, logger });
const { url } = await gateway.start();
process.stdout.write(`gateway listening on ${url}\n`);
onShutdown(logger, async () => {
  await gateway.stop();
  await tiers.close();
});

/** `npm run gateway`: the gateway alone, for production where ClickHouse is a server and the worker runs apart. */
import { boot, buildGateway, onShutdown } from './runtime.ts';

const runtime = await boot('gateway');
const gateway = await buildGateway(runtime);
const { url } = await gateway.start();
process.stdout.write(`gateway listening on ${url}\n`);
onShutdown(runtime.logger, async () => {
  await gateway.stop();
  await runtime.close();
});

/** The worker's own health endpoint: `GET /health` answers the CDC statistics as JSON (503 when degraded). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tiers } from '../stores/tiers.ts';
import { cdcStats } from './stats.ts';

export async function serveWorkerHealth(options: {
  tiers: Tiers;
  port: number;
  host: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    if (req.url !== '/health') return void res.writeHead(404).end();
    try {
      const stats = await cdcStats(options.tiers);
      // Degraded: dead letters wait for an operator, or Kafka is configured but unreachable.
      const degraded = stats.deadLettered > 0 || (stats.bus === 'server' && !stats.kafkaConnected);
      res
        .writeHead(degraded ? 503 : 200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: degraded ? 'degraded' : 'ok', ...stats }));
    } catch (error) {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'down', error: String(error) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}/health`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

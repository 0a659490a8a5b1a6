/**
 * The worker's own endpoints (`npm run worker`):
 *   /healthz   the process is up
 *   /readyz    every tier answers (per-tier status and latency); 503 while one is down
 *   /health    readiness plus CDC statistics and the worker's status (503 when degraded:
 *              a tier down, dead letters waiting, or Kafka configured and unreachable)
 *   /metrics   Prometheus text
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cdcStats } from '../changelog/stats.ts';
import { createJobQueue } from '../jobs/queue.ts';
import type { Metrics } from '../lib/metrics.ts';
import { checkReadiness } from '../stores/readiness.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { SyncWorker } from './worker.ts';

/** Serves the endpoints on `host:port` (0: any free port). */
export async function serveWorkerHealth(options: {
  tiers: Tiers;
  worker: SyncWorker;
  metrics: Metrics;
  port: number;
  host: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res
      .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify(body));
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === '/healthz') return json(res, 200, { status: 'ok' });
      if (req.url === '/readyz') {
        const r = await checkReadiness(options.tiers);
        return json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'unavailable', tiers: r.tiers });
      }
      if (req.url === '/health') {
        const readiness = await checkReadiness(options.tiers);
        const stats = await cdcStats(options.tiers).catch(() => undefined);
        const validation = await createJobQueue({ db: options.tiers.postgres })
          .latestFinished('VALIDATE')
          .catch(() => null);
        const verdict = validation?.result as { isValid?: boolean } | null | undefined;
        const consistency = validation
          ? {
              jobId: validation.id,
              status: validation.status,
              isValid: verdict?.isValid ?? null,
              checkedAt: validation.finishedAt,
            }
          : null;
        const degraded =
          !readiness.ready ||
          !stats ||
          stats.deadLettered > 0 ||
          (stats.bus === 'server' && !stats.kafkaConnected) ||
          consistency?.isValid === false;
        return json(res, degraded ? 503 : 200, {
          status: degraded ? 'degraded' : 'ok',
          worker: options.worker.status(),
          tiers: readiness.tiers,
          consistency,
          ...stats,
        });
      }
      if (req.url === '/metrics') {
        const body = await options.metrics.registry.metrics();
        return void res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(body);
      }
      res.writeHead(404).end();
    } catch (error) {
      json(res, 503, { status: 'down', error: String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}/health`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

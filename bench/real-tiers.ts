/**
 * Real tiers for a benchmark: a fresh Postgres database on the local server, its own Redis
 * key prefix and Kafka topic prefix, chDB in a temporary directory; migrated, capture
 * installed. `close()` drops all of it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildGateway, buildWorker, developmentToken, openRuntime, type Runtime } from '../bin/runtime.ts';
import { seedDemoData } from '../demo/seed.ts';
import { loadConfig, type Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Tiers } from '../stores/tiers.ts';

const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The token key of benchmark deployments (never a production secret). */
export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';

export async function openBenchTiers(options: {
  name: string;
  env?: Record<string, string>;
}): Promise<{ config: Config; tiers: Tiers; logger: Logger; runtime: Runtime; close(): Promise<void> }> {
  const db = `ys_bench_${options.name}_${process.pid}`;
  const tag = `ys-bench-${options.name}-${randomBytes(3).toString('hex')}`;
  const chdbDir = mkdtempSync(path.join(os.tmpdir(), 'ys-bench-chdb-'));
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const config = loadConfig({
    PORT: '0',
    DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${db}`,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `${tag}:`,
    KAFKA_BROKERS: '127.0.0.1:9092',
    KAFKA_CLIENT_ID: tag,
    KAFKA_TOPIC_PREFIX: `${tag}.`,
    DATA_DIR: chdbDir,
    LOG_LEVEL: 'error',
    // A benchmark's load comes from one address; the rate limits are measured by their own rows.
    RATE_LIMIT_ENABLED: 'false',
    VALIDATE_INTERVAL_MS: '0',
    // Tokens signed with a fixed secret, so the load generator can sign its own.
    AUTH_JWT_SECRET: BENCH_SECRET,
    ...options.env,
  });
  const runtime = await openRuntime({ name: `bench-${options.name}`, config });
  const { tiers, logger } = runtime;
  return {
    config,
    tiers,
    logger,
    runtime,
    async close() {
      await runtime.close();
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
      rmSync(chdbDir, { recursive: true, force: true });
    },
  };
}

/**
 * Real tiers with the demo data, the sync worker (caught up) and a gateway: the setting of the
 * end-to-end benchmarks. Also names the demo user and its first holding, which they change.
 */
export async function openBenchStack(options: { name: string; env?: Record<string, string> }) {
  const bench = await openBenchTiers(options);
  const { tiers, logger, runtime } = bench;
  await seedDemoData({ tiers, logger });
  const worker = buildWorker(runtime);
  await worker.start();
  await worker.drain();
  const gateway = await buildGateway(runtime);
  const { url } = await gateway.start();
  const demoToken = (await developmentToken(runtime, 'demo'))!;
  const adminToken = (await developmentToken(runtime, 'whale', 'admin'))!;
  const [user] = await tiers.postgres.query<{ id: string }>(`SELECT id::text AS id FROM users WHERE handle = 'demo'`);
  const [holding] = await tiers.postgres.query<{ id: string }>(
    `SELECT id::text AS id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id LIMIT 1`,
    [user!.id],
  );
  return {
    ...bench,
    url,
    demoToken,
    adminToken,
    demoUserId: user!.id,
    demoHoldingId: holding!.id,
    async close() {
      await gateway.stop();
      await worker.stop();
      await bench.close();
    },
  };
}

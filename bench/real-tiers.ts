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
import { seedDemoData } from '../demo/seed.ts';
import { createGateway } from '../gateway/app.ts';
import { loadConfig, type Config } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { createTiers, type Tiers } from '../stores/tiers.ts';
import { prepareTiers } from '../sync-worker/capture.ts';
import { createSyncWorker } from '../sync-worker/worker.ts';

const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function openBenchTiers(options: {
  name: string;
  env?: Record<string, string>;
}): Promise<{ config: Config; tiers: Tiers; logger: Logger; close(): Promise<void> }> {
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
    ...options.env,
  });
  const logger = createLogger({ level: 'error' });
  const tiers = await createTiers({ config, logger });
  await prepareTiers({ tiers, config, logger });
  return {
    config,
    tiers,
    logger,
    async close() {
      await tiers.close();
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
  const { config, tiers, logger } = bench;
  await seedDemoData({ tiers, logger });
  const worker = createSyncWorker({ tiers, config, logger });
  await worker.start();
  await worker.drain();
  const gateway = createGateway({ config, tiers, logger });
  const { url } = await gateway.start();
  const [user] = await tiers.postgres.query<{ id: string }>(`SELECT id::text AS id FROM users WHERE handle = 'demo'`);
  const [holding] = await tiers.postgres.query<{ id: string }>(
    `SELECT id::text AS id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id LIMIT 1`,
    [user!.id],
  );
  return {
    ...bench,
    url,
    demoUserId: user!.id,
    demoHoldingId: holding!.id,
    async close() {
      await gateway.stop();
      await worker.stop();
      await bench.close();
    },
  };
}

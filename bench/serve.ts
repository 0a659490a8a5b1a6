/**
 * A gateway for the benchmark, in its own process so the load generator does not share its
 * event loop. Profile from BENCH_PROFILE (embedded | real); prints one JSON line with its URL.
 */
import pg from 'pg';
import { buildGateway, developmentToken, openRuntime } from '../bin/runtime.ts';
import { seedDemoData } from '../demo/seed.ts';
import { loadConfig } from '../lib/config.ts';
import { serveUntilSigterm } from './harness.ts';
import { BENCH_SECRET } from './real-tiers.ts';

const profile = process.env['BENCH_PROFILE'] ?? 'embedded';
const env: Record<string, string | undefined> = {
  PORT: '0',
  DATA_DIR: ':memory:',
  LOG_LEVEL: 'error',
  AUTH_JWT_SECRET: BENCH_SECRET,
  RATE_LIMIT_ENABLED: 'false',
  ...process.env,
};
if (profile === 'real') {
  const db = `ys_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  env['DATABASE_URL'] = `postgresql://postgres@127.0.0.1:5432/${db}`;
  env['REDIS_URL'] = 'redis://127.0.0.1:6379';
  env['REDIS_KEY_PREFIX'] = `ys-bench-${process.pid}:`;
}
const config = loadConfig(env);
const runtime = await openRuntime({ name: 'bench', config });
const { tiers, logger } = runtime;
await seedDemoData({ tiers, logger });
const gateway = await buildGateway(runtime);
const { url } = await gateway.start();
const [whale] = await tiers.postgres.query<{ id: string }>(`SELECT id::text AS id FROM users WHERE handle = 'whale'`);
const token = await developmentToken(runtime, 'whale');
serveUntilSigterm({ url, whaleId: whale!.id, token }, async () => {
  await gateway.stop();
  await runtime.close();
  if (config.postgres.url) {
    const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${new URL(config.postgres.url).pathname.slice(1)} WITH (FORCE)`);
    await admin.end();
  }
});

// BENCH_CPU_PROFILE=<file>: profile this process for 5 s, starting 3 s after it is ready (during load).
const profileFile = process.env['BENCH_CPU_PROFILE'];
if (profileFile) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  setTimeout(async () => {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    setTimeout(async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
    }, 5_000);
  }, 3_000);
}

/**
 * Kills a worker process (SIGKILL) in the middle of a batch: after a second worker finishes,
 * nothing is lost and nothing is doubled in ClickHouse or on the Kafka topics.
 * Real-only: it needs a Postgres server that several processes share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { installCapture } from '../../changelog/capture.ts';
import { TABLES } from '../../domain/tables.ts';
import { createLogger } from '../../lib/logger.ts';
import { migratePostgres } from '../../migrations/migrate.ts';
import { createKafkaBus } from '../../stores/kafka-bus.ts';
import { createServerPostgres, type Postgres } from '../../stores/postgres.ts';
import { services } from '../services.ts';
import { createDatabase, deleteKeys } from '../stack.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const node = process.execPath;
const chdbDir = mkdtempSync(path.join(os.tmpdir(), 'ys-crash-chdb-'));
const prefix = `ys-crash-${randomBytes(4).toString('hex')}`;
let postgres: Postgres;
let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let env: Record<string, string>;
let userId: string;

beforeAll(async () => {
  database = await createDatabase();
  const url = new URL(database.url);
  env = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: url.href,
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: `${prefix}:`,
    KAFKA_BROKERS: services.kafkaBrokers.join(','),
    KAFKA_CLIENT_ID: prefix,
    KAFKA_TOPIC_PREFIX: `${prefix}.`,
    DATA_DIR: chdbDir,
    CDC_BATCH_SIZE: '100',
    CDC_POLL_INTERVAL_MS: '20',
    LOG_LEVEL: 'error',
  };
  const logger = createLogger({ level: 'silent' });
  postgres = createServerPostgres({ url: url.href, poolMax: 4, observer: () => {}, logger });
  await migratePostgres({ postgres, logger });
  // Fixtures first, so that the change log holds only the changes under test.
  await postgres.query(`INSERT INTO assets (id, symbol, name, chain) VALUES ('ETH', 'ETH', 'Ether', 'ethereum')`);
  [{ id: userId }] = (await postgres.query<{ id: string }>(
    `INSERT INTO users (handle, display_name) VALUES ('crash', 'Crash') RETURNING id::text AS id`,
  )) as [{ id: string }];
  await installCapture({ postgres, tables: TABLES });
  env['CRASH_USER_ID'] = userId;
});

afterAll(async () => {
  await postgres?.close();
  await database?.drop();
  await deleteKeys(services.redisUrl, `${prefix}:`);
  rmSync(chdbDir, { recursive: true, force: true });
});

function run(mode: 'finish'): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(node, [path.join(here, '../fixtures/worker-process.ts')], {
    env: { ...env, MODE: mode },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      if (buffer.includes('\n')) resolve(buffer.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before reporting`)));
  });
  return { child, firstLine };
}

const processedCount = async () =>
  (await postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM cdc.change_log WHERE processed'))[0]!.n;

it('loses nothing and doubles nothing when a worker is killed mid-batch', async () => {
  // 3,000 inserts, then 20 holdings updated 10 times each: 3,220 changes, several per row.
  await postgres.query(
    `INSERT INTO transaction_history (user_id, asset_id, type, amount, occurred_at)
     SELECT $1, 'ETH', 'SWAP', (g || '.5')::numeric, now() - g * interval '1 second' FROM generate_series(1, 3000) g`,
    [userId],
  );
  await postgres.query(
    `INSERT INTO portfolio_holdings (user_id, asset_id, protocol_id, quantity) SELECT $1, 'ETH', NULL, 0 FROM generate_series(1, 1)`,
    [userId],
  );
  for (let round = 1; round <= 10; round++) {
    await postgres.query(`UPDATE portfolio_holdings SET quantity = $2 WHERE user_id = $1`, [userId, String(round)]);
  }
  const [{ total }] = (await postgres.query<{ total: number }>(
    'SELECT count(*)::int AS total FROM cdc.change_log',
  )) as [{ total: number }];

  // Kafka: a consumer reading the run's topics from the beginning counts distinct sequences.
  const logger = createLogger({ level: 'silent' });
  const bus = await createKafkaBus({
    brokers: services.kafkaBrokers,
    clientId: `${prefix}-check`,
    topicPrefix: `${prefix}.`,
    observer: () => {},
    logger,
    report: (component, error) => {
      throw new Error(`${component}: ${String(error)}`);
    },
  });
  const sequences = new Set<string>();
  let events = 0;
  const sub = await bus.subscribe({
    topics: ['defi.transactions', 'defi.portfolio'],
    fromBeginning: true,
    onMessages: async (messages) => {
      for (const m of messages) {
        events++;
        sequences.add(JSON.parse(m.value).sequence);
      }
    },
  });

  // The first worker SIGKILLs itself inside its third batch: after the sinks took it, before the commit.
  const first = spawn(node, [path.join(here, '../fixtures/worker-process.ts')], {
    env: { ...env, MODE: 'run', CRASH_AFTER_BATCHES: '3' },
    stdio: 'ignore',
  });
  const signal = await new Promise((r) => first.once('exit', (_code, sig) => r(sig)));
  expect(signal).toBe('SIGKILL');
  // Two batches of 100 committed; the third was applied to ClickHouse but its claim rolled back.
  expect(await processedCount()).toBe(200);

  const finish = run('finish');
  const report = JSON.parse(await finish.firstLine);
  await new Promise((r) => finish.child.once('exit', r));
  expect(report.before.transactions.n).toBe('300');
  expect(report.drained.processed).toBe(total - 200);

  // Nothing lost: every change processed, and the replicas equal Postgres exactly.
  expect(await processedCount()).toBe(total);
  const [pgTx] = await postgres.query<{ n: string; sum: string }>(
    `SELECT count(*)::text AS n, sum(amount)::text AS sum FROM transaction_history WHERE user_id = $1`,
    [userId],
  );
  expect(report.after.transactions.n).toBe(pgTx!.n);
  expect(report.after.transactions.ids).toBe(pgTx!.n);
  expect(Number(report.after.transactions.sum)).toBe(Number(pgTx!.sum));
  expect(report.after.holdings.map((h: { quantity: string }) => h.quantity)).toEqual(['10']);
  // Nothing doubled: one activity row per holding change (1 insert + 10 updates).
  expect(report.after.activity).toBe('11');

  // Kafka: every change published at least once; repeats (from the killed batch) share a sequence.
  const deadline = Date.now() + 30_000;
  while (sequences.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(sequences.size).toBe(total);
  expect(events).toBeGreaterThanOrEqual(total);
  await sub.stop();
  await bus.close();
});

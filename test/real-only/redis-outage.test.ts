/**
 * Redis fails under a running gateway: killed, and hung (SIGSTOP). Queries keep being
 * answered, uncached and without errors; a write made while Redis was down cannot leave a
 * stale cached answer behind when Redis comes back with its data (append-only file); and
 * caching resumes by itself.
 * Real-only: it runs its own redis-server so the shared one stays up for other test files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, until, type Stack } from '../stack.ts';

const PORTFOLIO = `query($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { id quantity asset { id latestPrice } } } }`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'ys-redis-outage-'));
let port: number;
let redis: ChildProcess | undefined;
let stack: Stack;
let demo: string;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function startRedis(): Promise<void> {
  // Every write on disk before it is acknowledged: a killed Redis comes back with all its data.
  redis = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ],
    {
      stdio: 'ignore',
    },
  );
  const spawnFailed = new Promise<never>((_, reject) =>
    redis!.once('error', (error) =>
      reject(new Error(`this test runs its own redis-server, which must be on PATH: ${error.message}`)),
    ),
  );
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => 50,
    maxRetriesPerRequest: null,
  });
  client.on('error', () => {});
  try {
    await Promise.race([
      client
        .connect()
        .catch(() => {})
        .then(() => client.ping()),
      spawnFailed,
    ]);
  } finally {
    client.disconnect();
  }
}

async function stopRedis(): Promise<void> {
  const exited = new Promise((r) => redis!.once('exit', r));
  redis!.kill('SIGKILL');
  await exited;
  redis = undefined;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  stack = await startStack({ overrides: { redis: { url: `redis://127.0.0.1:${port}` } } });
  demo = (
    await stack.tiers.postgres.query<{ id: string }>(`SELECT id::text AS id FROM users WHERE handle = 'demo'`)
  )[0]!.id;
});

afterAll(async () => {
  if (redis) redis.kill('SIGCONT');
  await stack?.stop().catch(() => {});
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const ask = async (headers: Record<string, string> = {}) =>
  (await stack.as('demo')).post({ query: PORTFOLIO, variables: { u: demo } }, headers);

it('answers uncached while Redis is down or hung, and caches again when it is back', async () => {
  const cached = await ask();
  expect((await ask()).headers.get('x-cache')).toBe('HIT');

  await stopRedis();
  for (let i = 0; i < 3; i++) {
    const res = await ask();
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.headers.get('x-cache')).not.toBe('HIT');
    // Prices come from ClickHouse now; the answer is the same.
    expect(res.body.data).toEqual(cached.body.data);
  }
  expect((await (await stack.admin()).gql(`{ cacheStats { available errors } }`)).data!.cacheStats).toMatchObject({
    available: false,
  });

  await startRedis();
  await until('caching to resume', async () => (await ask()).headers.get('x-cache') === 'HIT', 30_000);

  // Hung: commands time out instead of failing at once.
  redis!.kill('SIGSTOP');
  try {
    const res = await ask();
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual(cached.body.data);
  } finally {
    redis!.kill('SIGCONT');
  }
  await until('caching to resume', async () => (await ask()).headers.get('x-cache') === 'HIT', 30_000);
});

it('never serves an answer that a write made while Redis was down should have evicted', async () => {
  const holding = (await ask()).body.data!.portfolio.holdings[0];
  expect((await ask()).headers.get('x-cache')).toBe('HIT');

  await stopRedis();
  // The write commits in Postgres; its eviction cannot reach Redis.
  const write = await (
    await stack.as('demo')
  ).gql(`mutation($i: UpdateHoldingInput!) { updateHolding(input: $i) { quantity } }`, {
    i: { userId: demo, assetId: holding.asset.id, quantity: '777' },
  });
  expect(write.errors).toBeUndefined();
  const quantityOf = (res: Awaited<ReturnType<typeof ask>>) =>
    res.body.data!.portfolio.holdings.find((h: { id: string }) => h.id === holding.id).quantity;
  expect(quantityOf(await ask())).toBe('777');

  // Redis comes back from its append-only file, the old answer still stored: it must not be served.
  await startRedis();
  for (let i = 0; i < 5; i++) expect(quantityOf(await ask())).toBe('777');
  await until('caching to resume', async () => {
    const res = await ask();
    return res.headers.get('x-cache') === 'HIT' && quantityOf(res) === '777';
  });
});

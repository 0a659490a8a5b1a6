/**
 * Redis fails under a running gateway: killed, and hung (SIGSTOP). Queries keep being
 * answered, uncached and without errors; a write made while Redis was down cannot leave a
 * stale cached answer behind when Redis comes back with its data (append-only file); and
 * caching resumes by itself.
 * Real-only: it runs its own redis-server so the shared one stays up for other test files.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startThrowawayRedis, type ThrowawayRedis } from '../faults/redis.ts';
import { startStack, until, type Stack } from '../stack.ts';

const PORTFOLIO = `query($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { id quantity asset { id latestPrice } } } }`;

/** Every write on disk before it is acknowledged: a killed Redis comes back with all its data. */
let redis: ThrowawayRedis;
let stack: Stack;
let demo: string;

beforeAll(async () => {
  redis = await startThrowawayRedis({ appendOnly: true });
  stack = await startStack({ overrides: { redis: { url: redis.url } } });
  demo = (
    await stack.tiers.postgres.query<{ id: string }>(`SELECT id::text AS id FROM users WHERE handle = 'demo'`)
  )[0]!.id;
});

afterAll(async () => {
  // Answering again whatever a failed test left it in, so the stack's stop can delete its keys.
  try {
    redis?.resume();
  } catch {
    await redis?.start().catch(() => {});
  }
  await stack?.stop().catch(() => {});
  await redis?.destroy();
});

const ask = async (headers: Record<string, string> = {}) =>
  (await stack.as('demo')).post({ query: PORTFOLIO, variables: { u: demo } }, headers);

it('answers uncached while Redis is down or hung, and caches again when it is back', async () => {
  const cached = await ask();
  expect((await ask()).headers.get('x-cache')).toBe('HIT');

  await redis.kill();
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

  await redis.start();
  await until('caching to resume', async () => (await ask()).headers.get('x-cache') === 'HIT', 30_000);

  // Hung: commands time out instead of failing at once.
  redis.pause();
  try {
    const res = await ask();
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual(cached.body.data);
  } finally {
    redis.resume();
  }
  await until('caching to resume', async () => (await ask()).headers.get('x-cache') === 'HIT', 30_000);
});

it('never serves an answer that a write made while Redis was down should have evicted', async () => {
  const holding = (await ask()).body.data!.portfolio.holdings[0];
  expect((await ask()).headers.get('x-cache')).toBe('HIT');

  await redis.kill();
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
  await redis.start();
  for (let i = 0; i < 5; i++) expect(quantityOf(await ask())).toBe('777');
  await until('caching to resume', async () => {
    const res = await ask();
    return res.headers.get('x-cache') === 'HIT' && quantityOf(res) === '777';
  });
});

/**
 * Redis faults under a gateway and a sync worker at work, on a throwaway redis-server without
 * persistence (test/faults/redis.ts): hung (SIGSTOP), killed, and started again EMPTY.
 *
 * Redis is a cache for every reader (response cache, latest prices, rate-limit counters), so
 * clients must see no error at all: answers are computed uncached, prices come from
 * ClickHouse. When Redis is back empty, the worker notices that its sentinel key is gone and
 * rebuilds every latest price from ClickHouse (hot-data keeper), and caching resumes.
 * (redis-outage.test.ts covers the append-only case: a restarted Redis that kept stale entries.)
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { attempt, startLoad, tally, UNLIMITED_RATE, type Probe } from '../faults/load.ts';
import { watchProcessErrors } from '../faults/process-errors.ts';
import { startThrowawayRedis, type ThrowawayRedis } from '../faults/redis.ts';
import { startStack, until, type Client, type Stack } from '../stack.ts';

const PORTFOLIO = `query($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { id quantity asset { id latestPrice } } } }`;
const ASSETS = `{ eth: asset(id: "ETH") { id name latestPrice change24h } sol: asset(id: "SOL") { id name latestPrice } }`;
const HOT_DATA_CHECK_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const processErrors = watchProcessErrors();
let redis: ThrowawayRedis;
/** A raw client (no key prefix) to look at what the stack stored. */
let raw: Redis;
let stack: Stack;
/** A request of the stack's client, headers included. */
type Request = () => ReturnType<Client['post']>;
let readPortfolio: Request;
let readAssets: Request;

beforeAll(async () => {
  redis = await startThrowawayRedis();
  stack = await startStack({
    worker: true,
    overrides: { redis: { url: redis.url } },
    env: { ...UNLIMITED_RATE, HOT_DATA_CHECK_MS: String(HOT_DATA_CHECK_MS) },
  });
  expect(stack.config.redis.url).toBe(redis.url);
  raw = new Redis(redis.url, { retryStrategy: () => 100, maxRetriesPerRequest: 1 });
  raw.on('error', () => {});
  const demo = await stack.as('demo');
  const demoId = await stack.userId('demo');
  readPortfolio = () => demo.post({ query: PORTFOLIO, variables: { u: demoId } });
  readAssets = () => stack.post({ query: ASSETS });
});

afterAll(async () => {
  processErrors.dispose();
  raw?.disconnect();
  await stack?.stop();
  await redis?.destroy();
});

/** The gateway's /readyz: status and per-tier health. */
const readiness = async () => {
  const res = await fetch(new URL('/readyz', stack.url));
  return { status: res.status, body: (await res.json()) as { tiers: Record<string, { status: string }> } };
};
const priceKeys = async () => (await raw.keys(`${stack.config.redis.keyPrefix}price:*`)).length;
const cached = async (probe: Request) => (await probe()).headers.get('x-cache') === 'HIT';

it('answers every query while Redis hangs, dies and comes back empty; prices are rebuilt and caching resumes', async () => {
  const worker = stack.worker!;
  const portfolio = (await readPortfolio()).body.data;
  const assets = (await readAssets()).body.data;
  await until('answers cached', async () => (await cached(readPortfolio)) && (await cached(readAssets)));
  await until('the first hot-data check', () => worker.status().hotData.lastCheckAt !== null);
  const prices = await priceKeys();
  expect(prices).toBeGreaterThan(0);
  const rebuildsBefore = worker.status().hotData.redisRebuilds;

  // Answers are compared with those before the faults: nothing changes meanwhile.
  const same: Probe = async () => {
    const [a, b] = await Promise.all([readPortfolio(), readAssets()]);
    const equal =
      JSON.stringify(a.body.data) === JSON.stringify(portfolio) &&
      JSON.stringify(b.body.data) === JSON.stringify(assets);
    return {
      status: Math.max(a.status, b.status),
      body: { data: equal ? {} : null, errors: [...(a.body.errors ?? []), ...(b.body.errors ?? [])] },
    };
  };
  const load = startLoad({ probe: same, concurrency: 3 });
  onTestFinished(async () => {
    await load.stop();
    // Redis running and answering, whatever failed: the stack's stop deletes its keys there.
    try {
      redis.resume();
    } catch {
      await redis.start().catch(() => {});
    }
  });
  await sleep(500);

  redis.pause();
  const paused = performance.now();
  await sleep(2_000);
  redis.resume();
  const hung = tally(load.outcomes.filter((o) => o.at > paused));
  await sleep(500);

  await redis.kill();
  const killed = performance.now();
  await sleep(1_000);
  // Not ready while a configured tier is down (an orchestrator routes around it), with the tier named.
  const whileDown = await readiness();
  await sleep(1_000);
  const down = tally(load.outcomes.filter((o) => o.at > killed));
  await redis.start();
  const started = performance.now();
  expect(await priceKeys()).toBe(0);
  // Ready again by itself, without a restart.
  const readyAgain = await until('ready again', async () => {
    const r = await readiness();
    return r.status === 200 && r;
  });

  await until('the worker to rebuild the latest prices', () => worker.status().hotData.redisRebuilds > rebuildsBefore);
  const rebuilt = performance.now();
  await until('every price back in Redis', async () => (await priceKeys()) >= prices);
  await until('caching to resume', async () => (await cached(readPortfolio)) && (await cached(readAssets)), 30_000);
  const caching = performance.now();
  const total = await load.stop();
  console.info('redis hung, killed, restarted empty', {
    requests: total,
    whileHung: hung,
    whileDown: down,
    pricesRebuiltAfterStartMs: Math.round(rebuilt - started),
    cachingAgainAfterStartMs: Math.round(caching - started),
    priceKeys: { before: prices, after: await priceKeys() },
    hotData: worker.status().hotData,
  });

  expect(processErrors.errors).toEqual([]);
  // Not one error, and the same answers throughout.
  expect(total.byCode).toEqual({});
  expect(total.ok).toBe(total.total);
  expect(hung.total).toBeGreaterThan(0);
  expect(down.total).toBeGreaterThan(0);
  expect(whileDown.status).toBe(503);
  expect(whileDown.body.tiers['redis']!.status).toBe('down');
  expect(whileDown.body.tiers['postgres']!.status).toBe('up');
  expect(readyAgain.body.tiers['redis']!.status).toBe('up');
  expect((await attempt(same)).ok).toBe(true);
});

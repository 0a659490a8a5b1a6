/**
 * Batching proven by counting statements per tier: a 50-holding portfolio asking for asset,
 * latestPrice, change24h and similar(k) costs a constant number of statements per tier,
 * never one per holding; with batching switched off, it costs one per holding.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../stack.ts';

const PORTFOLIO = `query($u: ID!) {
  portfolio(userId: $u) {
    totalValueUsd
    holdings {
      quantity valueUsd
      protocol { id name }
      asset { id symbol name chain latestPrice change24h similar(k: 3) { score asset { id symbol latestPrice } } }
    }
  }
}`;

/** These tests count what the resolvers ask of each tier: the response cache must not answer for them. */
const NO_CACHE = { 'cache-control': 'no-cache' };

let batched: Stack;
let whaleId: string;
beforeAll(async () => {
  batched = await startStack();
  whaleId = (await batched.gql(`{ user(handle: "whale") { id } }`)).data!.user.id;
});
afterAll(() => batched?.stop());

describe('DataLoader batching', () => {
  it('answers a 50-holding portfolio with one statement per tier per level', async () => {
    batched.counter.reset();
    const res = await batched.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
    expect(res.errors).toBeUndefined();
    expect(res.data!.portfolio.holdings).toHaveLength(50);
    // Level 1: holdings joined with user, assets and protocols (one statement). Level 3: the
    // similar assets' rows, which the portfolio did not already prime (at most one more).
    expect(batched.counter.count('postgres')).toBeLessThanOrEqual(2);
    // Prices of the held assets, then prices of their similar assets: one MGET per level.
    expect(batched.counter.count('redis')).toBeLessThanOrEqual(2);
    expect(batched.counter.count('vector')).toBe(1);
    // Every price is hot in Redis: ClickHouse is not asked at all.
    expect(batched.counter.count('clickhouse')).toBe(0);
  });

  it('falls back to ClickHouse for cold prices in one statement for all of them', async () => {
    const ids = (await batched.tiers.postgres.query<{ id: string }>('SELECT id FROM assets')).map(
      (a) => `price:${a.id}`,
    );
    await batched.tiers.hot.del(ids);
    batched.counter.reset();
    const res = await batched.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
    expect(res.errors).toBeUndefined();
    expect(batched.counter.count('clickhouse')).toBeLessThanOrEqual(2);
    expect(res.data!.portfolio.holdings.every((h: any) => h.asset.latestPrice !== null)).toBe(true);
    // The fallback wrote the prices back: the next request is served from Redis alone.
    batched.counter.reset();
    await batched.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
    expect(batched.counter.count('clickhouse')).toBe(0);
  });

  it('costs one statement per holding when batching is switched off, with the same answer', async () => {
    const unbatched = await startStack({ overrides: { gateway: { batching: false } } });
    try {
      const expected = await batched.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
      unbatched.counter.reset();
      const res = await unbatched.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
      expect(res.data).toEqual(expected.data);
      expect(unbatched.counter.count('postgres')).toBeGreaterThanOrEqual(50);
      expect(unbatched.counter.count('vector')).toBeGreaterThanOrEqual(40);
    } finally {
      await unbatched.stop();
    }
  });

  it('gives the same answer through graphql-js as through graphql-jit', async () => {
    const interpreted = await startStack({ overrides: { gateway: { executor: 'graphql-js' } } });
    try {
      const expected = await batched.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
      expect((await interpreted.gql(PORTFOLIO, { u: whaleId }, NO_CACHE)).data).toEqual(expected.data);
      const bad = await interpreted.gql(`{ portfolio(userId: "x") { totalValueUsd } }`);
      expect(bad.errors![0]!.extensions!['code']).toBe('INVALID_ID');
    } finally {
      await interpreted.stop();
    }
  });
});

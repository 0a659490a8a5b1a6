/**
 * Batching proven by counting statements per tier: a 50-holding portfolio asking for asset,
 * latestPrice, change24h and similar(k) costs a fixed number of statements per tier, never one
 * per holding; with batching switched off, it costs one per holding. Each operation's SQL is
 * kept as a reviewed snapshot (__snapshots__), so a change to what the gateway sends shows up
 * in review.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Client, type Stack } from '../stack.ts';

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

/** A statement as the snapshot keeps it: one line, parameters as sent. */
const normalized = (statements: readonly string[]) => statements.map((s) => s.replace(/\s+/g, ' ').trim());

let batched: Stack;
let whale: Client;
let whaleId: string;
beforeAll(async () => {
  batched = await startStack();
  whale = await batched.as('whale');
  whaleId = await batched.userId('whale');
  // The first request of a token checks that its user exists (then remembered): not counted below.
  await whale.gql(`{ asset(id: "ETH") { id } }`, {}, NO_CACHE);
});
afterAll(() => batched?.stop());

describe('DataLoader batching', () => {
  it('answers a 50-holding portfolio with one statement per tier per level', async () => {
    batched.counter.reset();
    const res = await whale.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
    expect(res.errors).toBeUndefined();
    expect(res.data!.portfolio.holdings).toHaveLength(50);
    // Holdings joined with user, assets and protocols: one statement, which primes every asset
    // the similar-assets level asks for (the whale holds all 40 assets).
    expect(normalized(batched.counter.list('postgres'))).toMatchSnapshot('postgres');
    expect(batched.counter.count('postgres')).toBe(1);
    // Prices of the held assets; the similar assets' prices are the same keys, already loaded.
    expect(batched.counter.list('redis')).toEqual(['MGET']);
    expect(batched.counter.list('vector')).toEqual(['searchBatch']);
    // Every price is hot in Redis: ClickHouse is not asked at all.
    expect(batched.counter.count('clickhouse')).toBe(0);
  });

  it('falls back to ClickHouse for cold prices in one statement for all of them', async () => {
    const ids = (await batched.tiers.postgres.query<{ id: string }>('SELECT id FROM assets')).map(
      (a) => `price:${a.id}`,
    );
    await batched.tiers.hot.del(ids);
    batched.counter.reset();
    const res = await whale.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
    expect(res.errors).toBeUndefined();
    expect(normalized(batched.counter.list('clickhouse'))).toMatchSnapshot('clickhouse');
    expect(batched.counter.count('clickhouse')).toBe(1);
    // The read, then the write-back of what ClickHouse computed.
    expect(batched.counter.list('redis')).toEqual(['MGET', 'MSET']);
    expect(res.data!.portfolio.holdings.every((h: any) => h.asset.latestPrice !== null)).toBe(true);
    // The fallback wrote the prices back: the next request is served from Redis alone.
    batched.counter.reset();
    await whale.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
    expect(batched.counter.count('clickhouse')).toBe(0);
  });

  it('pages transactions of several users in one statement', async () => {
    const admin = await batched.admin();
    await admin.gql(`{ asset(id: "ETH") { id } }`, {}, NO_CACHE);
    const ids = await batched.tiers.postgres.query<{ id: string }>(
      `SELECT id::text AS id FROM users ORDER BY id LIMIT 3`,
    );
    batched.counter.reset();
    const query = `query { ${ids.map((u, i) => `t${i}: transactions(userId: "${u.id}", first: 5) { edges { node { id asset { symbol } } } }`).join(' ')} }`;
    const res = await admin.gql(query, {}, NO_CACHE);
    expect(res.errors).toBeUndefined();
    expect(normalized(batched.counter.list('postgres'))).toMatchSnapshot('transactions');
    expect(batched.counter.count('postgres')).toBe(2); // the pages, then the assets they name
  });

  it('costs one statement per holding when batching is switched off, with the same answer', async () => {
    const unbatched = await startStack({ overrides: { gateway: { batching: false } } });
    try {
      const expected = await whale.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
      const unbatchedWhale = await unbatched.as('whale');
      await unbatchedWhale.gql(`{ asset(id: "ETH") { id } }`, {}, NO_CACHE);
      unbatched.counter.reset();
      const res = await unbatchedWhale.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
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
      const expected = await whale.gql(PORTFOLIO, { u: whaleId }, NO_CACHE);
      const interpretedWhale = await interpreted.as('whale');
      expect((await interpretedWhale.gql(PORTFOLIO, { u: whaleId }, NO_CACHE)).data).toEqual(expected.data);
      const bad = await interpretedWhale.gql(
        `{ portfolio(userId: "${whaleId}") { totalValueUsd } x: asset(id: "no;pe") { id } }`,
      );
      expect(bad.errors![0]!.extensions!['code']).toBe('INVALID_ID');
    } finally {
      await interpreted.stop();
    }
  });
});

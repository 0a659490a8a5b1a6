/**
 * The vector tier failing mid-request: similar assets are null with a retriable coded error,
 * and everything else of a portfolio is served. No Qdrant server runs here, so the outage is a
 * stand-in: the index's search is replaced by one failing as the Qdrant client's would
 * (TIER_UNAVAILABLE), then restored.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tierUnavailable } from '../../lib/errors.ts';
import { startStack, type Client, type Stack } from '../stack.ts';

let stack: Stack;
let demo: Client;
beforeAll(async () => {
  stack = await startStack();
  demo = await stack.as('demo');
});
afterAll(() => stack?.stop());

const PORTFOLIO = `query($u: ID!) {
  portfolio(userId: $u) { totalValueUsd holdings { quantity asset { symbol similar(k: 2) { asset { symbol } } } } }
}`;

it('answers a portfolio without similar assets while the vector index is down, and with them once it is back', async () => {
  const variables = { u: await stack.userId('demo') };
  const fresh = { 'cache-control': 'no-cache' };
  const healthy = await demo.gql(PORTFOLIO, variables, fresh);
  expect(healthy.errors).toBeUndefined();
  const holdings = healthy.data!.portfolio.holdings as Array<{ asset: { symbol: string; similar: unknown[] } }>;
  expect(holdings.length).toBeGreaterThan(0);

  const search = stack.tiers.vector.searchBatch;
  stack.tiers.vector.searchBatch = async () => {
    throw tierUnavailable('vector', new Error('connect ECONNREFUSED (stand-in outage)'));
  };
  try {
    const down = await demo.gql(PORTFOLIO, variables, fresh);
    expect(down.data!.portfolio.totalValueUsd).toBe(healthy.data!.portfolio.totalValueUsd);
    expect(down.data!.portfolio.holdings).toEqual(
      holdings.map((h) => ({ ...h, asset: { ...h.asset, similar: null } })),
    );
    expect(down.errors!.length).toBe(holdings.length);
    for (const error of down.errors!) {
      expect(error.extensions?.['code']).toBe('TIER_UNAVAILABLE');
      expect(error.path?.at(-1)).toBe('similar');
    }
  } finally {
    stack.tiers.vector.searchBatch = search;
  }
  expect(await demo.gql(PORTFOLIO, variables, fresh)).toEqual(healthy);
});

/**
 * The first run on embedded defaults (`npm start` with nothing configured): PGlite, chDB, and
 * in-process hot store, cache, vector index and bus. The integration tests run once, against
 * the real services; the stores' contract tests prove each embedded implementation behaves
 * like its server; this file proves they work together, end to end, as a first user sees them.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { profile, startStack, until, type Stack } from '../stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: true });
});
afterAll(() => stack?.stop());

it('runs on embedded tiers only', async () => {
  expect(profile).toBe('embedded');
  const ready = (await (await fetch(new URL('/readyz', stack.url))).json()) as {
    tiers: Record<string, { kind: string; status: string }>;
  };
  for (const tier of Object.values(ready.tiers)) expect(tier).toMatchObject({ kind: 'embedded', status: 'up' });
});

it('answers the demo portfolio, caches it, and shows a write to its owner at once', async () => {
  const demo = await stack.as('demo');
  const id = await stack.userId('demo');
  const q = `query($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { id quantity asset { symbol latestPrice similar(k: 2) { asset { symbol } } } } } }`;
  const first = await demo.post({ query: q, variables: { u: id } });
  expect(first.body.errors).toBeUndefined();
  expect(first.body.data!.portfolio.holdings).toHaveLength(24);
  expect((await demo.post({ query: q, variables: { u: id } })).headers.get('x-cache')).toBe('HIT');
  const holding = first.body.data!.portfolio.holdings[0];
  const write = await demo.gql(`mutation($i: UpdateHoldingInput!) { updateHolding(input: $i) { quantity } }`, {
    i: { userId: id, assetId: holding.asset.symbol, quantity: '42.5' },
  });
  expect(write.errors).toBeUndefined();
  const after = await demo.post({ query: q, variables: { u: id } });
  expect(after.body.data!.portfolio.holdings.find((h: { id: string }) => h.id === holding.id).quantity).toBe('42.5');
});

it('delivers a plain-SQL change to a subscriber over the in-process bus', async () => {
  const id = await stack.userId('demo');
  const token = await stack.token('demo');
  const client = createClient({
    url: stack.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const events: unknown[] = [];
  const unsubscribe = client.subscribe(
    {
      query: `subscription($u: ID!) { portfolioUpdated(userId: $u) { operation holding { quantity } } }`,
      variables: { u: id },
    },
    { next: (v) => void events.push(v.data), error: () => {}, complete: () => {} },
  );
  try {
    await until(
      'subscribed',
      async () =>
        ((await (await fetch(new URL('/readyz', stack.url))).json()) as { subscriptions: number }).subscriptions === 1,
    );
    await stack.tiers.postgres.query(
      `UPDATE portfolio_holdings SET quantity = '7.25' WHERE id = (SELECT id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id LIMIT 1)`,
      [id],
    );
    await until('the event', () => events.length > 0);
    expect(events[0]).toEqual({ portfolioUpdated: { operation: 'UPDATE', holding: { quantity: '7.25' } } });
  } finally {
    unsubscribe();
    await client.dispose();
  }
});

it('runs a job on the embedded worker', async () => {
  const admin = await stack.admin();
  const queued = await admin.gql(`mutation { forceSync(table: "protocols") { id } }`);
  const id = queued.data!.forceSync.id;
  const job = await until('the job', async () => {
    const res = await admin.gql(`query($id: ID!) { job(id: $id) { status result { ... on SyncResult { copied } } } }`, {
      id,
    });
    return res.data?.job?.status === 'SUCCEEDED' && res.data.job;
  });
  expect(job.result.copied).toBe(12);
});

/**
 * Live subscriptions over graphql-ws, fed by the bus that the sync worker publishes to: rows
 * changed with plain SQL reach subscribed clients with nested fields resolved; every gateway
 * instance serves its own clients; a client that stops reading does not hold up others.
 */
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildGateway } from '../../bin/runtime.ts';
import { startStack, until, type Stack } from '../stack.ts';

let stack: Stack;
let userId: string;
let otherUserId: string;
const clients: Client[] = [];

beforeAll(async () => {
  stack = await startStack({ worker: true });
  const users = await stack.tiers.postgres.query<{ id: string; handle: string }>(
    `SELECT id::text AS id, handle FROM users WHERE handle IN ('user03', 'user04') ORDER BY handle`,
  );
  userId = users[0]!.id;
  otherUserId = users[1]!.id;
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await stack?.stop();
});

const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

/** A graphql-ws client signed in as `user` (id or handle; default: the subscriptions' user), or anonymous with null. */
function client(url = stack.url, user: string | null = userId): Client {
  // Non-lazy clients report connection errors to onNonLazyError (console.error by default); gateways closing at the end of a test are expected.
  const c = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    connectionParams: async () => (user ? { authorization: `Bearer ${await stack.token(user)}` } : {}),
  });
  clients.push(c);
  return c;
}

/** Subscribes and collects payloads; resolves `ready` after the server acknowledged (first ping round trip). */
function collect<T = any>(c: Client, query: string, variables: Record<string, unknown>) {
  const events: T[] = [];
  const errors: unknown[] = [];
  const unsubscribe = c.subscribe<T>(
    { query, variables },
    {
      next: (v) => (v.errors ? errors.push(v.errors) : events.push(v.data as T)),
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  return { events, errors, unsubscribe };
}

/** A short pause, to observe that nothing more arrives. */
const settle = () => new Promise((r) => setTimeout(r, 300));

/** Waits until the gateway at `url` has exactly `n` subscriptions open (its /health counts them). */
async function subscribed(n: number, url = stack.url): Promise<void> {
  const health = new URL('/health', url).href;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const body = (await (await fetch(health)).json()) as { subscriptions: number };
    if (body.subscriptions === n) return;
    if (Date.now() > deadline)
      throw new Error(`expected ${n} open subscriptions, the gateway has ${body.subscriptions}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const PORTFOLIO_SUB = `subscription($u: ID!, $after: String) { portfolioUpdated(userId: $u, after: $after) { position sequence operation holdingId holding { quantity asset { symbol latestPrice } } portfolio { totalValueUsd holdings { id } } } }`;

describe('portfolioUpdated', () => {
  it('delivers a plain-SQL update of portfolio_holdings with nested fields resolved', async () => {
    const sub = collect(client(), PORTFOLIO_SUB, { u: userId });
    const other = collect(client(stack.url, otherUserId), PORTFOLIO_SUB, { u: otherUserId });
    await subscribed(2);
    const [h] = await stack.tiers.postgres.query<{ id: string; asset_id: string }>(
      `SELECT id::text AS id, asset_id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id LIMIT 1`,
      [userId],
    );
    await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = '777.25' WHERE id = $1`, [h!.id]);
    await until('the update event', () => sub.events.length > 0);
    const event = (sub.events[0] as any).portfolioUpdated;
    expect(event.operation).toBe('UPDATE');
    expect(event.holdingId).toBe(h!.id);
    expect(event.holding.quantity).toBe('777.25');
    expect(event.holding.asset.symbol).toBe(h!.asset_id);
    expect(event.portfolio.holdings.map((x: { id: string }) => x.id)).toContain(h!.id);
    expect(BigInt(event.sequence)).toBeGreaterThan(0n);
    expect(typeof event.position).toBe('string');
    // The other user's subscriber receives nothing of it.
    await settle();
    expect(other.events).toEqual([]);
    sub.unsubscribe();
    other.unsubscribe();
  });

  it('reaches one client on each of two gateway instances, once each', async () => {
    const second = await buildGateway(stack.runtime);
    const { url } = await second.start();
    try {
      const a = collect(client(), PORTFOLIO_SUB, { u: userId });
      const b = collect(client(url), PORTFOLIO_SUB, { u: userId });
      await subscribed(1);
      await subscribed(1, url);
      const [h] = await stack.tiers.postgres.query<{ id: string }>(
        `SELECT id::text AS id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id DESC LIMIT 1`,
        [userId],
      );
      await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = quantity + 1 WHERE id = $1`, [h!.id]);
      await until('both clients', () => a.events.length > 0 && b.events.length > 0).catch((e) => {
        throw new Error(`${e.message}: a=${JSON.stringify(a)} b=${JSON.stringify(b)}`);
      });
      await settle();
      expect(a.events).toHaveLength(1);
      expect(b.events).toHaveLength(1);
      expect(a.events[0]).toEqual(b.events[0]);
      a.unsubscribe();
      b.unsubscribe();
    } finally {
      await second.stop();
    }
  });

  it("refuses another user's portfolio (FORBIDDEN), an anonymous one (UNAUTHENTICATED), a bad token (socket closed 4401)", async () => {
    const forbidden = collect(client(), PORTFOLIO_SUB, { u: otherUserId });
    await until('the error', () => forbidden.errors.length > 0);
    expect(JSON.stringify(forbidden.errors[0])).toContain('FORBIDDEN');
    const anonymous = collect(client(stack.url, null), PORTFOLIO_SUB, { u: userId });
    await until('the error', () => anonymous.errors.length > 0);
    expect(JSON.stringify(anonymous.errors[0])).toContain('UNAUTHENTICATED');
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      const socket = new WebSocket(wsUrl(stack.url), 'graphql-transport-ws');
      socket.once('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer not.a.token' } })),
      );
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/token/i);
  });

  it('closes a connection whose token expires (4401)', async () => {
    const token = await stack.token(userId, 'user', { expiresInSec: 1 });
    const closed = await new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl(stack.url), 'graphql-transport-ws');
      socket.once('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
      );
      socket.once('close', (code) => resolve(code));
    });
    expect(closed).toBe(4401);
  });
});

describe('resume', () => {
  it('replays exactly the changes missed while disconnected, in order, then live ones', async () => {
    const holdings = await stack.tiers.postgres.query<{ id: string }>(
      `SELECT id::text AS id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id`,
      [userId],
    );
    const c1 = client();
    const first = collect(c1, PORTFOLIO_SUB, { u: userId });
    await subscribed(1);
    await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = '1000' WHERE id = $1`, [
      holdings[0]!.id,
    ]);
    await until('the first event', () => first.events.length === 1);
    const seen = (first.events[0] as any).portfolioUpdated;
    first.unsubscribe();
    await c1.dispose();

    // Ten changes commit while the client is away, spread over several holdings (and so partitions).
    const quantities = Array.from({ length: 10 }, (_, i) => `${2000 + i}`);
    for (let i = 0; i < 10; i++) {
      await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = $2 WHERE id = $1`, [
        holdings[i % holdings.length]!.id,
        quantities[i],
      ]);
    }
    const [{ max }] = (await stack.tiers.postgres.query<{ max: string }>(
      `SELECT max(seq)::text AS max FROM cdc.change_log`,
    )) as [{ max: string }];
    // Wait until the worker has published them all (processed), so they are in the log.
    for (let i = 0; i < 200; i++) {
      const [{ n }] = (await stack.tiers.postgres.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cdc.change_log WHERE NOT processed AND seq <= $1`,
        [max],
      )) as [{ n: number }];
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }

    const resumed = collect(client(), PORTFOLIO_SUB, { u: userId, after: seen.position });
    await until('ten replayed events', () => resumed.events.length >= 10);
    const replayed = resumed.events.map((e: any) => e.portfolioUpdated);
    expect(replayed.map((e: any) => e.holding.quantity)).toEqual(quantities);
    const sequences = replayed.map((e: any) => BigInt(e.sequence));
    expect([...sequences].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequences);
    expect(sequences.every((s: bigint) => s > BigInt(seen.sequence))).toBe(true);

    // Then live: one more change arrives after the replay, and nothing else.
    await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = '3000' WHERE id = $1`, [
      holdings[0]!.id,
    ]);
    await until('the live event', () => resumed.events.length >= 11);
    await settle();
    expect(resumed.events).toHaveLength(11);
    expect((resumed.events[10] as any).portfolioUpdated.holding.quantity).toBe('3000');
    resumed.unsubscribe();
  });

  it('refuses a forged position with INVALID_ARGUMENT', async () => {
    const sub = collect(client(), PORTFOLIO_SUB, { u: userId, after: 'not-a-position' });
    await until('the error', () => sub.errors.length > 0);
    expect(JSON.stringify(sub.errors[0])).toContain('INVALID_ARGUMENT');
  });
});

describe('transactionRecorded', () => {
  it('delivers a transaction recorded through the gateway', async () => {
    const sub = collect(
      client(),
      `subscription($u: ID!) { transactionRecorded(userId: $u) { position operation transaction { id amount asset { symbol } } } }`,
      { u: userId },
    );
    await subscribed(1);
    const res = await (
      await stack.as(userId)
    ).gql(
      `mutation($u: ID!) { recordTransaction(input: { userId: $u, assetId: "DAI", type: DEPOSIT, amount: "12.5" }) { id } }`,
      { u: userId },
    );
    const id = res.data!.recordTransaction.id;
    await until('the transaction event', () => sub.events.length > 0);
    expect((sub.events[0] as any).transactionRecorded).toMatchObject({
      operation: 'INSERT',
      transaction: { id, amount: '12.5', asset: { symbol: 'DAI' } },
    });
    sub.unsubscribe();
  });
});

describe('priceUpdated', () => {
  it('delivers ingested ticks, and a client that stops reading does not hold up another', async () => {
    const query = `subscription { priceUpdated(assetIds: ["UNI"]) { price asset { id symbol } timestamp } }`;
    // The slow client speaks the protocol, subscribes, then stops reading its socket.
    const slow = new WebSocket(wsUrl(stack.url), 'graphql-transport-ws');
    await new Promise((r) => slow.once('open', r));
    slow.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((r) => slow.once('message', r));
    slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    await subscribed(1);
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();

    // Prices are public: an anonymous client may subscribe.
    const fast = collect(client(stack.url, null), query, {});
    await subscribed(2);
    const prices = Array.from({ length: 40 }, (_, i) => `${(7 + i / 100).toFixed(2)}`);
    const admin = await stack.admin();
    for (const price of prices) {
      const r = await admin.gql(
        `mutation($p: Decimal!) { ingestPrices(ticks: [{ assetId: "UNI", price: $p }]) { accepted } }`,
        { p: price },
      );
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    }
    await until('every price on the fast client', () => fast.events.length >= prices.length);
    expect(fast.events.map((e: any) => e.priceUpdated.price)).toEqual(prices.map((p) => p.replace(/\.?0+$/, '')));
    expect((fast.events[0] as any).priceUpdated.asset.symbol).toBe('UNI');
    fast.unsubscribe();
    slow.terminate();
  });
});

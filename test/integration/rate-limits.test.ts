/**
 * Rate limits and connection bounds. The budgets live in Redis, so every gateway instance
 * shares them: a second instance here has its own rate limiter, its own Redis connection,
 * on the stack's Redis and key prefix, and the 11th request of a user is refused whichever
 * instance it reaches. HTTP requests and WebSocket operations draw on the same budget.
 * Subscriptions per connection and connections per user (per instance) are bounded too.
 *
 * Each test calls from its own loopback address (127.0.0.x): the per-IP budget is keyed by the
 * client's address, and the tests must not spend each other's.
 *
 * On the embedded profile the limiter is in process: the sharing between two instances is
 * only asserted on the real one (Redis).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../bin/runtime.ts';
import type { Gateway } from '../../gateway/app.ts';
import { createServerRateLimiter, type RateLimiter } from '../../stores/rate-limiter.ts';
import { noopObserver } from '../../stores/observer.ts';
import { rawSocket } from '../raw-socket.ts';
import { profile, startStack, until, type Stack } from '../stack.ts';

const PER_SUBJECT = 10;
const PER_IP = 1000;

let stack: Stack;
/** The stack's gateway, and a second instance (real profile: its own limiter on the same Redis). */
let instances: string[];
let second: { gateway: Gateway; limiter: RateLimiter } | undefined;

beforeAll(async () => {
  stack = await startStack({
    env: {
      RATE_LIMIT_PER_SUBJECT: String(PER_SUBJECT),
      RATE_LIMIT_PER_IP: String(PER_IP),
      RATE_LIMIT_WINDOW_SEC: '60',
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '3',
      MAX_CONNECTIONS_PER_SUBJECT: '2',
      // A Redis command slower than this falls back to the instance's own in-memory insurance
      // limiter, which is not shared: on a loaded machine 100 ms (the default) is not enough
      // to keep every count in Redis.
      REDIS_TIMEOUT_MS: '2000',
    },
  });
  instances = [stack.url];
  if (profile === 'real') {
    const { config } = stack;
    const limiter = await createServerRateLimiter({
      ...config.redis,
      url: config.redis.url!,
      budgets: {
        subject: { points: config.rateLimit.perSubject, durationSec: config.rateLimit.windowSec },
        ip: { points: config.rateLimit.perIp, durationSec: config.rateLimit.windowSec },
      },
      observer: noopObserver,
    });
    const gateway = await buildGateway({ ...stack.runtime, tiers: { ...stack.runtime.tiers, rateLimiter: limiter } });
    instances.push((await gateway.start()).url);
    second = { gateway, limiter };
  }
});
afterAll(async () => {
  await second?.gateway.stop();
  await second?.limiter.close();
  await stack?.stop();
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** POSTs a query to `url` from the loopback address `from`, with an optional Authorization. */
function post(url: string, from: string, authorization?: string, query = '{ __typename }'): Promise<Reply> {
  const body = JSON.stringify({ query });
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        localAddress: from,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(authorization ? { authorization } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Checks a refusal by the rate limiter. */
function expectRateLimited(reply: Reply, label: string): void {
  expect(reply.status, label).toBe(429);
  const retryAfter = Number(reply.headers['retry-after']);
  expect(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
    `${label}: retry-after ${retryAfter}`,
  ).toBe(true);
  expect(reply.body.data, label).toBeUndefined();
  expect(reply.body.errors[0].extensions, label).toMatchObject({ code: 'RATE_LIMITED', retryAfterSec: retryAfter });
}

/** A graphql-transport-ws socket from loopback address `from`: acknowledged, or closed with a code. */
const connect = (url: string, from: string, authorization?: string) =>
  rawSocket(url, { localAddress: from, payload: authorization ? { authorization } : {} });

/** How many subscriptions the gateway at `url` holds (its /health counts them). */
async function openSubscriptions(url: string): Promise<number> {
  return ((await (await fetch(new URL('/health', url))).json()) as { subscriptions: number }).subscriptions;
}

describe('the budget per signed-in user', () => {
  it(`passes ${PER_SUBJECT} requests spread over the instances and refuses the next on any of them (429, retry-after)`, async () => {
    const authorization = `Bearer ${await stack.token('user07')}`;
    const from = '127.0.0.2';
    const perInstance = instances.map(() => 0);
    for (let i = 0; i < PER_SUBJECT; i++) {
      const reply = await post(instances[i % instances.length]!, from, authorization);
      perInstance[i % instances.length]!++;
      expect(reply.status, `request ${i + 1}`).toBe(200);
      expect(reply.body).toEqual({ data: { __typename: 'Query' } });
    }
    // One budget, not one per instance: each instance alone has seen half of it.
    if (profile === 'real') expect(perInstance).toEqual([PER_SUBJECT / 2, PER_SUBJECT / 2]);
    for (const url of instances) expectRateLimited(await post(url, from, authorization), `the next on ${url}`);
    // Another user from the same address has a budget of their own.
    const other = await post(instances.at(-1)!, from, `Bearer ${await stack.token('user08')}`);
    expect(other.status).toBe(200);
  });

  it('counts WebSocket operations against the same budget as HTTP requests', async () => {
    const authorization = `Bearer ${await stack.token('user09')}`;
    const from = '127.0.0.3';
    const httpShare = 4;
    for (let i = 0; i < httpShare; i++) expect((await post(instances[0]!, from, authorization)).status).toBe(200);
    // The rest of the budget over a socket on the other instance (the same one on the embedded profile).
    const ws = connect(instances.at(-1)!, from, authorization);
    try {
      expect(await ws.outcome).toBe('ack');
      for (let i = httpShare; i < PER_SUBJECT; i++) {
        const id = ws.send('{ __typename }');
        expect(await ws.end(id), `operation ${i + 1}`).toBe('complete');
        expect(ws.messages.find((m) => m.id === id && m.type === 'next')?.payload).toEqual({
          data: { __typename: 'Query' },
        });
      }
      const refused = await ws.end(ws.send('{ __typename }'));
      expect(refused).not.toBe('complete');
      expect((refused as any[])[0].extensions.code).toBe('RATE_LIMITED');
      expect((refused as any[])[0].extensions.retryAfterSec).toBeGreaterThanOrEqual(1);
      // The refusal ends that operation only; the socket stays, and HTTP is refused as well.
      expect(ws.socket.readyState).toBe(WebSocket.OPEN);
      expectRateLimited(await post(instances[0]!, from, authorization), 'HTTP after the socket spent the budget');
    } finally {
      ws.socket.close();
    }
  });
});

describe('the budget per client address', () => {
  it(`passes ${PER_IP} anonymous requests from one address, over the instances, and refuses the next`, async () => {
    const from = '127.0.0.4';
    let sent = 0;
    const statuses = new Map<number, number>();
    // Ten at a time: the budget is counted atomically in Redis however the requests interleave.
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (sent < PER_IP) {
          const url = instances[sent++ % instances.length]!;
          const { status } = await post(url, from);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 200: PER_IP });
    for (const url of instances) expectRateLimited(await post(url, from), `anonymous, the next on ${url}`);
    // A signed-in user calling from that address is refused too: both budgets apply.
    const user = await post(instances[0]!, from, `Bearer ${await stack.token('user10')}`);
    expectRateLimited(user, 'a signed-in user from the exhausted address');
    // Another address is not affected.
    expect((await post(instances[0]!, '127.0.0.5')).status).toBe(200);
  });
});

describe('WebSocket bounds', () => {
  const PRICES = 'subscription($ids: [ID!]!) { priceUpdated(assetIds: $ids) { price } }';

  it('refuses a fourth operation on a connection while three subscriptions run (MAX_SUBSCRIPTIONS_PER_CONNECTION=3)', async () => {
    const url = instances[0]!;
    const ws = connect(url, '127.0.0.6');
    try {
      expect(await ws.outcome).toBe('ack');
      const before = await openSubscriptions(url);
      const ids = ['ETH', 'BTC', 'SOL'].map((asset) => ws.send(PRICES, { ids: [asset] }));
      await until('three subscriptions held', async () => (await openSubscriptions(url)) === before + 3);
      const refused = await ws.end(ws.send(PRICES, { ids: ['ETH'] }));
      expect(refused).not.toBe('complete');
      expect((refused as any[])[0].extensions.code).toBe('RATE_LIMITED');
      expect((refused as any[])[0].message).toMatch(/At most 3 operations per connection/);
      expect(await openSubscriptions(url)).toBe(before + 3);
      // Completing one frees its place.
      ws.socket.send(JSON.stringify({ id: ids[0], type: 'complete' }));
      await until('the subscription released', async () => (await openSubscriptions(url)) === before + 2);
      ws.send(PRICES, { ids: ['ETH'] });
      await until('a new subscription held', async () => (await openSubscriptions(url)) === before + 3);
      expect(ws.messages.filter((m) => m.type === 'error')).toHaveLength(1);
    } finally {
      ws.socket.close();
    }
    await until('every subscription released', async () => (await openSubscriptions(url)) === 0);
  });

  it('closes a third connection of one user with 4429 (MAX_CONNECTIONS_PER_SUBJECT=2), and frees the place on close', async () => {
    const authorization = `Bearer ${await stack.token('user11')}`;
    const url = instances[0]!;
    const from = '127.0.0.7';
    const first = connect(url, from, authorization);
    const secondSocket = connect(url, from, authorization);
    expect(await first.outcome).toBe('ack');
    expect(await secondSocket.outcome).toBe('ack');
    const third = connect(url, from, authorization);
    expect(await third.outcome).toEqual({ code: 4429, reason: 'At most 2 connections per user' });
    // The open ones are untouched.
    expect(first.socket.readyState).toBe(WebSocket.OPEN);
    expect(secondSocket.socket.readyState).toBe(WebSocket.OPEN);
    // An anonymous connection is not that user's.
    const anonymous = connect(url, from);
    expect(await anonymous.outcome).toBe('ack');
    anonymous.socket.close();
    first.socket.close();
    await first.closed;
    const again = await until('a place freed', async () => {
      const attempt = connect(url, from, authorization);
      const outcome = await attempt.outcome;
      if (outcome === 'ack') return attempt;
      return false;
    });
    again.socket.close();
    secondSocket.socket.close();
  });

  it.runIf(profile === 'real')(
    'bounds connections per instance: a third on the other instance is accepted',
    async () => {
      const authorization = `Bearer ${await stack.token('user12')}`;
      const from = '127.0.0.8';
      const onFirst = [connect(instances[0]!, from, authorization), connect(instances[0]!, from, authorization)];
      for (const c of onFirst) expect(await c.outcome).toBe('ack');
      const onSecond = connect(instances[1]!, from, authorization);
      expect(await onSecond.outcome).toBe('ack');
      for (const c of [...onFirst, onSecond]) c.socket.close();
    },
  );
});

/**
 * Bearer tokens the gateway must refuse, over HTTP (401 with `www-authenticate`, nothing run)
 * and in a graphql-ws ConnectionInit (the socket closed with 4401): a forged signature, `alg:
 * none`, another HMAC algorithm, expired, not yet valid, wrong issuer or audience, a subject that
 * is not a user id, an unknown role, no expiry, and the token of a user deleted after it was
 * issued (refused within seconds, once the deletion reaches the gateway through CDC). Without a
 * token a socket connects anonymously: public subscriptions only.
 */
import { SignJWT, type JWTPayload } from 'jose';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawSocket } from '../raw-socket.ts';
import { startStack, until, type Stack } from '../stack.ts';

let stack: Stack;
let secret: string;
let userId: string;

beforeAll(async () => {
  // The worker carries the deletion of a user row to the gateway (CDC), which forgets the user.
  stack = await startStack({ worker: true });
  const key = stack.config.auth.key;
  if (key.kind !== 'secret') throw new Error('the test stack signs tokens with AUTH_JWT_SECRET');
  secret = key.secret;
  userId = await stack.userId('user03');
});
afterAll(() => stack?.stop());

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Claims the gateway accepts, for user03; each case changes one thing. */
function validClaims(): JWTPayload & { role: string } {
  return {
    sub: userId,
    role: 'user',
    iss: stack.config.auth.issuer,
    aud: stack.config.auth.audience,
    iat: now(),
    exp: now() + 3600,
  };
}

/** Signs `claims` with HMAC (`secret` by default: the gateway's). */
function sign(claims: JWTPayload, options: { key?: string; alg?: 'HS256' | 'HS384' | 'HS512' } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(options.key ?? secret));
}

/** Each token the gateway must refuse, and the reason it gives (`extensions.reason`). */
const BAD_TOKENS: ReadonlyArray<{ name: string; reason: string; token: () => Promise<string> }> = [
  {
    name: 'a forged signature (another secret)',
    reason: 'signature',
    token: () => sign(validClaims(), { key: randomBytes(48).toString('base64url') }),
  },
  {
    name: 'alg: none, no signature',
    reason: 'algorithm',
    token: async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(validClaims())}.`,
  },
  {
    name: 'alg: none, with the signature of a valid token',
    reason: 'algorithm',
    token: async () => {
      const signature = (await sign(validClaims())).split('.')[2];
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(validClaims())}.${signature}`;
    },
  },
  {
    name: 'HS512 with the right secret (only HS256 is accepted)',
    reason: 'algorithm',
    token: () => sign(validClaims(), { alg: 'HS512' }),
  },
  {
    name: 'expired an hour ago',
    reason: 'expired',
    token: () => sign({ ...validClaims(), iat: now() - 7200, exp: now() - 3600 }),
  },
  {
    name: 'not valid for another hour',
    reason: 'not-yet-valid',
    token: () => sign({ ...validClaims(), nbf: now() + 3600 }),
  },
  { name: 'another issuer', reason: 'issuer', token: () => sign({ ...validClaims(), iss: 'someone-else' }) },
  { name: 'another audience', reason: 'audience', token: () => sign({ ...validClaims(), aud: 'another-api' }) },
  { name: 'a subject that is not a user id', reason: 'subject', token: () => sign({ ...validClaims(), sub: 'root' }) },
  { name: 'a negative subject', reason: 'subject', token: () => sign({ ...validClaims(), sub: '-1' }) },
  { name: 'an unknown role', reason: 'role', token: () => sign({ ...validClaims(), role: 'superuser' }) },
  {
    name: 'no expiry',
    reason: 'claims',
    token: () => {
      const { exp: _exp, ...claims } = validClaims();
      return sign(claims);
    },
  },
  { name: 'garbage', reason: 'malformed', token: async () => 'not.a.token!' },
];

/** POSTs a query with `authorization`. */
async function post(authorization: string, query = '{ asset(id: "ETH") { id } }') {
  const res = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** Opens a graphql-transport-ws socket and sends ConnectionInit with `payload` (omitted when undefined). */
const connect = (payload?: Record<string, unknown>) => rawSocket(stack.url, { payload });

/** How many subscriptions the gateway holds (its /health counts them). */
async function openSubscriptions(): Promise<number> {
  return ((await (await fetch(new URL('/health', stack.url))).json()) as { subscriptions: number }).subscriptions;
}

describe('tokens the gateway refuses', () => {
  it.each(BAD_TOKENS)('$name: HTTP 401 with www-authenticate, and nothing runs', async ({ token, reason }) => {
    const res = await post(`Bearer ${await token()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
    // Even a public query is refused: a client that meant to sign in is never served as anonymous.
  });

  it.each(BAD_TOKENS)('$name: the socket is closed with 4401 at ConnectionInit', async ({ token }) => {
    const { outcome, messages } = connect({ authorization: `Bearer ${await token()}` });
    const result = await outcome;
    expect(result).toMatchObject({ code: 4401 });
    expect(messages.filter((m) => m.type === 'connection_ack')).toEqual([]);
  });

  it('refuses an Authorization header that is not a Bearer token, over HTTP and WebSocket', async () => {
    const valid = await stack.token('user03');
    for (const value of [`Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer', `Token ${valid}`, valid]) {
      const res = await post(value);
      expect(res.status, value).toBe(401);
      expect(res.body.errors[0].extensions.code, value).toBe('UNAUTHENTICATED');
    }
    // In ConnectionInit, an `authorization` that is not a string is refused, not treated as absent.
    expect(await connect({ authorization: 42 }).outcome).toMatchObject({ code: 4401 });
    expect(await connect({ authorization: `Token ${valid}` }).outcome).toMatchObject({ code: 4401 });
  });

  it('refuses, within seconds, the valid token of a user deleted with plain SQL, over HTTP and WebSocket', async () => {
    const [doomed] = await stack.tiers.postgres.query<{ id: string }>(
      `INSERT INTO users (handle, display_name) VALUES ('doomed', 'Doomed') RETURNING id::text AS id`,
    );
    const token = await stack.token(doomed!.id, 'user', { expiresInSec: 3600 });
    const query = `query($id: ID) { user(id: $id) { id handle } }`;
    const ask = () =>
      fetch(stack.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables: { id: doomed!.id } }),
      });
    // The user exists: served, and the gateway now remembers that it exists (for 60 s unless told).
    expect(await (await ask()).json()).toEqual({ data: { user: { id: doomed!.id, handle: 'doomed' } } });
    // A socket opened before the deletion, to be refused at its next operation.
    const before = connect({ authorization: `Bearer ${token}` });
    expect(await before.outcome).toBe('ack');

    await stack.tiers.postgres.query('DELETE FROM users WHERE id = $1', [doomed!.id]);
    const deletedAt = Date.now();
    const refused = await until(
      'the token of the deleted user refused',
      async () => {
        const res = await ask();
        return res.status === 401 && { res, body: (await res.json()) as any };
      },
      8_000,
    );
    const tookMs = Date.now() - deletedAt;
    expect(refused.res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.body.data).toBeUndefined();
    expect(tookMs).toBeLessThan(8_000);
    expect(await connect({ authorization: `Bearer ${token}` }).outcome).toMatchObject({ code: 4401 });
    before.socket.send(
      JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ asset(id: "ETH") { id } }' } }),
    );
    const stillOpen = new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000).unref());
    expect(await Promise.race([before.closed, stillOpen])).toEqual({
      code: 4401,
      reason: "The token's user no longer exists",
    });
    expect(before.messages.filter((m) => m.type === 'next')).toEqual([]);
  });
});

describe('a socket without a token', () => {
  it.each([
    ['no payload', undefined],
    ['a payload without authorization', {}],
  ] as const)(
    'with %s connects anonymously: public priceUpdated yes, portfolioUpdated UNAUTHENTICATED',
    async (_name, payload) => {
      const { socket, messages, outcome } = connect(payload);
      try {
        expect(await outcome).toBe('ack');
        const before = await openSubscriptions();
        socket.send(
          JSON.stringify({
            id: 'prices',
            type: 'subscribe',
            payload: { query: 'subscription { priceUpdated(assetIds: ["ETH"]) { price } }' },
          }),
        );
        await until('the price subscription held', async () => (await openSubscriptions()) === before + 1);
        socket.send(
          JSON.stringify({
            id: 'portfolio',
            type: 'subscribe',
            payload: {
              query: 'subscription($u: ID!) { portfolioUpdated(userId: $u) { holdingId } }',
              variables: { u: userId },
            },
          }),
        );
        const error = await until('the refusal', () =>
          messages.find((m) => m.id === 'portfolio' && m.type === 'error'),
        );
        expect(error.payload).toHaveLength(1);
        expect(error.payload[0].extensions.code).toBe('UNAUTHENTICATED');
        expect(messages.filter((m) => m.id === 'prices' && m.type === 'error')).toEqual([]);
        // The refusal ended that operation only: the socket and the price subscription remain.
        expect(socket.readyState).toBe(WebSocket.OPEN);
        expect(await openSubscriptions()).toBe(before + 1);
      } finally {
        socket.close();
      }
      await until('the subscription released', async () => (await openSubscriptions()) === 0);
    },
  );
});

describe('a long-lived token', () => {
  it('keeps its socket open for longer than a Node timer can wait (a 30-day token, as `npm run token` gives)', async () => {
    const token = await stack.token('demo', 'user', { expiresInSec: 30 * 24 * 3600 });
    const ws = connect({ authorization: `Bearer ${token}` });
    try {
      expect(await ws.outcome).toBe('ack');
      // A timer of more than 2^31 - 1 ms fires at once: the socket used to close with 4401 here.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(ws.socket.readyState).toBe(WebSocket.OPEN);
      expect(await ws.end(ws.send('{ __typename }'))).toBe('complete');
    } finally {
      ws.socket.close();
    }
  });
});

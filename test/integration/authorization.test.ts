/**
 * The authorization table (gateway/authorization/rules.ts) as clients meet it. One test walks
 * every root field of Query, Mutation and Subscription found by introspection, so a field added
 * without a rule fails here; for each it builds a minimal valid operation from the introspected
 * arguments and return type and runs it as anonymous, the owner of the data, another user and
 * an admin, over HTTP and, for subscriptions, over WebSocket too. The expected outcome of each
 * is derived from RULES, and checked against an explicit table for the fields where a wrong
 * rule would hurt most. Then: denials say nothing about the data, Query.user by handle, nested
 * fields of another user, and a response-cache hit authorized like a miss.
 */
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RULES } from '../../gateway/authorization/rules.ts';
import { startStack, until, type Client, type Stack } from '../stack.ts';

type Role = 'anonymous' | 'owner' | 'other' | 'admin';
type Outcome = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN';
const ROLES: readonly Role[] = ['anonymous', 'owner', 'other', 'admin'];
const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;
/** A user id no user has. */
const MISSING_ID = '987654321';

let stack: Stack;
let ownerId: string;
let otherId: string;
let clients: Record<Role, Client>;
let schema: GraphQLSchema;

beforeAll(async () => {
  stack = await startStack();
  [ownerId, otherId] = await Promise.all([stack.userId('user05'), stack.userId('user06')]);
  clients = {
    anonymous: stack,
    owner: await stack.as('user05'),
    other: await stack.as('user06'),
    // The whale, with the admin role: not the owner of the data the operations name.
    admin: await stack.admin(),
  };
  const introspection = await stack.gql<IntrospectionQuery>(getIntrospectionQuery());
  expect(introspection.errors).toBeUndefined();
  schema = buildClientSchema(introspection.data!);
});
afterAll(() => stack?.stop());

/** The outcome RULES gives `role` for the root field `key` ("Query.portfolio"). */
function expectedOutcome(key: string, role: Role): Outcome {
  const rule = RULES[key];
  if (!rule) throw new Error(`${key} has no rule in gateway/authorization/rules.ts`);
  if (rule.kind === 'public') return 'ok';
  if (role === 'anonymous') return 'UNAUTHENTICATED';
  if (rule.kind === 'admin') return role === 'admin' ? 'ok' : 'FORBIDDEN';
  if (rule.kind === 'ownParent') throw new Error(`${key}: ownParent is a rule for fields of User, not root fields`);
  if (role === 'owner') return 'ok';
  // An admin may read any user's data (support), never change it.
  const adminMayRead = rule.kind === 'self' || rule.adminMayRead;
  if (role === 'admin' && adminMayRead && !key.startsWith('Mutation.')) return 'ok';
  return 'FORBIDDEN';
}

/**
 * Written out by hand for the fields where a wrong rule would hurt most: derivation from RULES
 * must agree with it, so a change of the table that opens one of these fails here.
 */
const EXPLICIT: Readonly<Record<string, Readonly<Record<Role, Outcome>>>> = {
  'Query.user': { anonymous: 'UNAUTHENTICATED', owner: 'ok', other: 'FORBIDDEN', admin: 'ok' },
  'Query.portfolio': { anonymous: 'UNAUTHENTICATED', owner: 'ok', other: 'FORBIDDEN', admin: 'ok' },
  'Query.transactions': { anonymous: 'UNAUTHENTICATED', owner: 'ok', other: 'FORBIDDEN', admin: 'ok' },
  'Mutation.updateHolding': { anonymous: 'UNAUTHENTICATED', owner: 'ok', other: 'FORBIDDEN', admin: 'FORBIDDEN' },
  'Mutation.recordTransaction': { anonymous: 'UNAUTHENTICATED', owner: 'ok', other: 'FORBIDDEN', admin: 'FORBIDDEN' },
  'Subscription.portfolioUpdated': { anonymous: 'UNAUTHENTICATED', owner: 'ok', other: 'FORBIDDEN', admin: 'ok' },
  'Subscription.transactionRecorded': { anonymous: 'UNAUTHENTICATED', owner: 'ok', other: 'FORBIDDEN', admin: 'ok' },
  'Subscription.priceUpdated': { anonymous: 'ok', owner: 'ok', other: 'ok', admin: 'ok' },
  'Query.similarAssets': { anonymous: 'ok', owner: 'ok', other: 'ok', admin: 'ok' },
  'Mutation.ingestPrices': { anonymous: 'UNAUTHENTICATED', owner: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'ok' },
  'Mutation.purgeCache': { anonymous: 'UNAUTHENTICATED', owner: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'ok' },
  'Query.cacheStats': { anonymous: 'UNAUTHENTICATED', owner: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'ok' },
};

/** Argument values by `Type.field.argument` or `InputType.field`, then by name; `subject` is the user the operation names. */
function sensibleValue(path: string, name: string, subject: string): unknown {
  const byPath: Record<string, unknown> = { 'Query.asset.id': 'ETH', 'Query.protocol.id': 'aave-v3' };
  const byName: Record<string, unknown> = {
    userId: subject,
    id: subject,
    assetId: 'ETH',
    protocolId: 'aave-v3',
    assetIds: ['ETH'],
    table: 'protocols',
    tags: ['Asset:ETH'],
    ticks: [{ assetId: 'ETH', price: '3000.5' }],
  };
  return path in byPath ? byPath[path] : byName[name];
}

/** A value of `type`: a sensible one by name, else one built from the type (input objects from their required fields). */
function valueFor(type: GraphQLInputType, name: string, path: string, subject: string): unknown {
  if (isNonNullType(type)) return valueFor(type.ofType, name, path, subject);
  const sensible = sensibleValue(path, name, subject);
  if (sensible !== undefined) return sensible;
  if (isListType(type)) return [valueFor(type.ofType, name, path, subject)];
  if (isInputObjectType(type)) {
    const required = Object.values(type.getFields()).filter(
      (f) =>
        (isNonNullType(f.type) && f.defaultValue === undefined) || sensibleValue('', f.name, subject) !== undefined,
    );
    return Object.fromEntries(
      required.map((f) => [f.name, valueFor(f.type, f.name, `${type.name}.${f.name}`, subject)]),
    );
  }
  if (isEnumType(type)) return type.getValues()[0]!.value;
  const scalars: Record<string, unknown> = {
    ID: '1',
    String: 'x',
    Int: 1,
    Float: 1,
    Boolean: true,
    Decimal: '1',
    DateTime: new Date().toISOString(),
  };
  if (type.name in scalars) return scalars[type.name];
  throw new Error(`no value for ${path} of type ${type.name}: add one to sensibleValue`);
}

/** `{ __typename <first scalar field> }` of an object type; nothing for a leaf. */
function selectionFor(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named)) return '{ __typename }';
  const scalar = Object.values(named.getFields()).find(
    (f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)),
  );
  return `{ __typename${scalar ? ` ${scalar.name}` : ''} }`;
}

/**
 * A minimal valid operation on one root field: its required arguments, plus optional ones with
 * a sensible value (the user a rule looks at among them), all sent as variables.
 */
function operationFor(
  root: (typeof ROOTS)[number],
  field: GraphQLField<unknown, unknown>,
  subject: string,
): { query: string; variables: Record<string, unknown> } {
  const args = field.args.filter(
    (a) =>
      (isNonNullType(a.type) && a.defaultValue === undefined) ||
      sensibleValue(`${root}.${field.name}.${a.name}`, a.name, subject) !== undefined,
  );
  const variables = Object.fromEntries(
    args.map((a) => [a.name, valueFor(a.type, a.name, `${root}.${field.name}.${a.name}`, subject)]),
  );
  const definitions = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const call = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const query =
    `${root.toLowerCase()} Probe${definitions ? `(${definitions})` : ''} ` +
    `{ ${field.name}${call ? `(${call})` : ''} ${selectionFor(field.type)} }`;
  return { query, variables };
}

const codesOf = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  (body.errors ?? []).map((e) => e.extensions?.['code']);

/** A response without its request ids: two requests that differ in nothing else compare equal. */
const withoutRequestIds = (text: string) => text.replace(/"requestId":"[^"]*"/g, '"requestId":"-"');

/** POSTs a request as `role` and returns status and raw body. */
async function postAs(role: Role, body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const authorization = clients[role].authorization;
  const res = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** A graphql-transport-ws socket, acknowledged, with the messages it received. */
async function openSocket(role: Role): Promise<{ socket: WebSocket; messages: any[] }> {
  const socket = new WebSocket(stack.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      const authorization = clients[role].authorization;
      socket.send(JSON.stringify({ type: 'connection_init', payload: authorization ? { authorization } : {} }));
    });
    socket.once('close', (code) => reject(new Error(`socket closed with ${code} before the ack`)));
    socket.on('message', () => messages.some((m) => m.type === 'connection_ack') && resolve());
  });
  return { socket, messages };
}

/** How many subscriptions the gateway has open (its /health counts them). */
async function openSubscriptions(): Promise<number> {
  const res = await fetch(new URL('/health', stack.url));
  return ((await res.json()) as { subscriptions: number }).subscriptions;
}

/**
 * Subscribes as `role`: the coded error the gateway answered with, or 'ok' once the gateway
 * holds the subscription (it is then completed again).
 */
async function subscribeAs(role: Role, operation: { query: string; variables: Record<string, unknown> }) {
  const { socket, messages } = await openSocket(role);
  try {
    const before = await openSubscriptions();
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: operation }));
    const outcome = await until('a refusal or the subscription', async () => {
      const error = messages.find((m) => m.id === '1' && m.type === 'error');
      if (error) return { outcome: error.payload[0]?.extensions?.code as string, payload: error.payload };
      return (await openSubscriptions()) > before && { outcome: 'ok', payload: undefined };
    });
    socket.send(JSON.stringify({ id: '1', type: 'complete' }));
    await until('the subscription ended', async () => (await openSubscriptions()) === before);
    return outcome;
  } finally {
    socket.close();
  }
}

describe('the authorization table, walked from introspection', () => {
  it('gives every root field, for anonymous, owner, other user and admin, what RULES says, over HTTP and WebSocket', async () => {
    const fields = ROOTS.flatMap((root) => {
      const type = schema.getType(root);
      return type && isObjectType(type) ? Object.values(type.getFields()).map((field) => ({ root, field })) : [];
    });
    const keys = fields.map(({ root, field }) => `${root}.${field.name}`);
    // Every root field has a rule, and every rule for a root type names a field that exists.
    expect(keys.filter((k) => !RULES[k])).toEqual([]);
    expect(Object.keys(RULES).filter((k) => /^(Query|Mutation|Subscription)\./.test(k) && !keys.includes(k))).toEqual(
      [],
    );
    for (const [key, outcomes] of Object.entries(EXPLICIT)) {
      expect(keys, key).toContain(key);
      for (const role of ROLES)
        expect(`${key} as ${role}: ${expectedOutcome(key, role)}`).toBe(`${key} as ${role}: ${outcomes[role]}`);
    }

    const failures: string[] = [];
    for (const { root, field } of fields) {
      const key = `${root}.${field.name}`;
      const operation = operationFor(root, field, ownerId);
      for (const role of ROLES) {
        const expected = expectedOutcome(key, role);
        const { status, text } = await postAs(role, operation);
        const body = JSON.parse(text) as { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> };
        const codes = codesOf(body);
        const seen = `${key} as ${role} over HTTP: ${status} ${text.slice(0, 300)}`;
        if (expected === 'ok') {
          // Queries and mutations run to the end without any error; a subscription over HTTP is
          // refused for its transport (400 BAD_REQUEST), after authorization.
          const clean =
            root === 'Subscription'
              ? status === 400 && codes.join() === 'BAD_REQUEST'
              : status === 200 && codes.length === 0;
          if (!clean)
            failures.push(`expected ${root === 'Subscription' ? 'the transport refusal' : 'a clean answer'}; ${seen}`);
        } else {
          const status401or403 = expected === 'UNAUTHENTICATED' ? 401 : 403;
          if (status !== status401or403 || codes[0] !== expected || body.data !== undefined)
            failures.push(`expected ${status401or403} ${expected} and no data; ${seen}`);
        }
        if (root === 'Subscription') {
          const { outcome, payload } = await subscribeAs(role, operation);
          if (outcome !== expected)
            failures.push(
              `${key} as ${role} over WebSocket: expected ${expected}, got ${outcome} ${JSON.stringify(payload)}`,
            );
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('what a denial tells', () => {
  it("answers another user's id and an id no user has alike, byte for byte but the request id", async () => {
    const guarded = ROOTS.flatMap((root) => {
      const type = schema.getType(root);
      if (!type || !isObjectType(type)) return [];
      return Object.values(type.getFields())
        .filter((f) => ['owner', 'self'].includes(RULES[`${root}.${f.name}`]!.kind))
        .map((field) => ({ root, field }));
    });
    expect(guarded.length).toBeGreaterThanOrEqual(7);
    for (const { root, field } of guarded) {
      const key = `${root}.${field.name}`;
      for (const role of ROLES.filter((r) => expectedOutcome(key, r) !== 'ok')) {
        // As seen by `role`: the data of a user who is not them (the owner) and of nobody.
        const real = await postAs(role, operationFor(root, field, ownerId));
        const missing = await postAs(role, operationFor(root, field, MISSING_ID));
        expect(real.status, `${key} as ${role}`).toBeGreaterThanOrEqual(401);
        expect({ status: missing.status, body: withoutRequestIds(missing.text) }, `${key} as ${role}`).toEqual({
          status: real.status,
          body: withoutRequestIds(real.text),
        });
        if (root === 'Subscription') {
          const overSocket = await subscribeAs(role, operationFor(root, field, ownerId));
          const overSocketMissing = await subscribeAs(role, operationFor(root, field, MISSING_ID));
          expect(overSocket.outcome).not.toBe('ok');
          expect(withoutRequestIds(JSON.stringify(overSocketMissing.payload))).toBe(
            withoutRequestIds(JSON.stringify(overSocket.payload)),
          );
        }
      }
    }
  });

  it("answers user(handle:) of another user and of a handle nobody has alike; one's own handle works", async () => {
    const byHandle = (handle: string) =>
      postAs('owner', { query: `query($h: String) { user(handle: $h) { id handle } }`, variables: { h: handle } });
    const another = await byHandle('user06');
    const nobody = await byHandle('nobody_at_all');
    expect(another.status).toBe(nobody.status);
    expect(withoutRequestIds(another.text)).toBe(withoutRequestIds(nobody.text));
    const body = JSON.parse(another.text);
    expect(codesOf(body)).toEqual(['FORBIDDEN']);
    expect(body.data).toEqual({ user: null });
    expect(another.text).not.toContain('"handle"');
    const own = JSON.parse((await byHandle('user05')).text);
    expect(own).toEqual({ data: { user: { id: ownerId, handle: 'user05' } } });
    // An admin finds anyone (support), and gets null for nobody.
    const admin = JSON.parse((await postAs('admin', { query: `{ user(handle: "user06") { id } }` })).text);
    expect(admin).toEqual({ data: { user: { id: otherId } } });
  });

  it("refuses another user's nested portfolio, transactions and activity, by handle or by id", async () => {
    const nested = `{ portfolio { totalValueUsd holdings { id } } transactions { edges { node { id } } } activity { sequence } }`;
    const byHandle = await postAs('owner', { query: `{ user(handle: "user06") ${nested} }` });
    expect(codesOf(JSON.parse(byHandle.text))).toContain('FORBIDDEN');
    expect(JSON.parse(byHandle.text).data).toEqual({ user: null });
    const byId = await postAs('owner', {
      query: `query($id: ID) { user(id: $id) ${nested} }`,
      variables: { id: otherId },
    });
    expect(byId.status).toBe(403);
    expect(JSON.parse(byId.text).data).toBeUndefined();
    // Reaching the other user through one's own data is impossible too: a portfolio's user is its owner.
    const own = await postAs('owner', {
      query: `query($u: ID!) { portfolio(userId: $u) { user { id portfolio { userId } } } }`,
      variables: { u: ownerId },
    });
    expect(JSON.parse(own.text)).toEqual({
      data: { portfolio: { user: { id: ownerId, portfolio: { userId: ownerId } } } },
    });
  });
});

describe('the transport', () => {
  it("runs no mutation sent with GET (405), not even an admin's, and no subscription over HTTP (400)", async () => {
    const url = new URL(stack.url);
    url.searchParams.set('query', 'mutation { purgeCache }');
    const get = await fetch(url, {
      headers: { authorization: clients.admin.authorization!, 'apollo-require-preflight': 'true' },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const body = (await get.json()) as any;
    expect(body.data).toBeUndefined();
    expect(codesOf(body)).toEqual(['BAD_REQUEST']);
    // A GET query still runs.
    url.searchParams.set('query', '{ asset(id: "ETH") { id } }');
    const query = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(await query.json()).toEqual({ data: { asset: { id: 'ETH' } } });
    const subscription = await postAs('anonymous', {
      query: 'subscription { priceUpdated(assetIds: ["ETH"]) { price } }',
    });
    expect(subscription.status).toBe(400);
    expect(JSON.parse(subscription.text).errors[0].message).toMatch(/WebSocket/);
  });
});

describe('the response cache', () => {
  it('authorizes a hit like a miss: the owner caches a private answer, nobody else gets it', async () => {
    const request = {
      query: `query Mine($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { id quantity } } }`,
      variables: { u: ownerId },
    };
    const headers = (role: Role) => ({
      'content-type': 'application/json',
      ...(clients[role].authorization ? { authorization: clients[role].authorization! } : {}),
    });
    const send = (role: Role) =>
      fetch(stack.url, { method: 'POST', headers: headers(role), body: JSON.stringify(request) });
    const first = await send('owner');
    expect(first.headers.get('x-cache')).toBe('MISS');
    const cachedText = await first.text();
    const hit = await send('owner');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(await hit.text()).toBe(cachedText);

    const intruder = await send('other');
    expect(intruder.status).toBe(403);
    expect(intruder.headers.get('x-cache')).toBeNull();
    const refused = (await intruder.json()) as any;
    expect(refused.data).toBeUndefined();
    expect(codesOf(refused)).toEqual(['FORBIDDEN']);
    const anonymous = await send('anonymous');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-cache')).toBeNull();
    expect(codesOf((await anonymous.json()) as any)).toEqual(['UNAUTHENTICATED']);
    // The entry is still there: the refusals were not misses of an evicted entry.
    const again = await send('owner');
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(await again.text()).toBe(cachedText);
  });
});

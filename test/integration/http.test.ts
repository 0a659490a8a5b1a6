/**
 * The HTTP edge around GraphQL: the GraphiQL page and its assets (served offline, from this
 * origin only), health, malformed requests, unknown paths and request ids.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profile, startStack, type Stack } from '../stack.ts';

let stack: Stack;
let origin: string;
const ALLOWED_ORIGIN = 'https://app.example.com';
beforeAll(async () => {
  stack = await startStack({ env: { CORS_ORIGINS: ALLOWED_ORIGIN } });
  origin = new URL(stack.url).origin;
});
afterAll(() => stack?.stop());

describe('GraphiQL', () => {
  it('serves the page for a browser GET of the GraphQL path, with every asset from this origin', async () => {
    const res = await fetch(stack.url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<div id="graphiql">/);
    expect(html).toContain('GraphiQL.createFetcher');
    // The page points GraphiQL at this endpoint's path.
    expect(html).toContain(JSON.stringify(new URL(stack.url).pathname));

    // Nothing is loaded from another origin: no absolute or protocol-relative URL anywhere.
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/["'(=]\s*\/\//);

    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']([^"']*)["']/gi)].map((m) => m[1]!);
    const links = [...html.matchAll(/<link\b[^>]*\bhref\s*=\s*["']([^"']*)["']/gi)].map((m) => m[1]!);
    // React, ReactDOM and GraphiQL itself, and GraphiQL's stylesheet.
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    expect(links.length).toBeGreaterThanOrEqual(1);
    for (const ref of [...scripts, ...links]) {
      expect(ref).toMatch(/^\/[^/]/);
      const url = new URL(ref, stack.url);
      expect(url.origin).toBe(origin);
      const asset = await fetch(url);
      expect(asset.status, ref).toBe(200);
      expect(asset.headers.get('content-type'), ref).toMatch(scripts.includes(ref) ? /javascript/ : /text\/css/);
      const body = await asset.arrayBuffer();
      expect(body.byteLength, ref).toBeGreaterThan(1024);
    }
  });

  it('answers a GET of the GraphQL path as GraphQL when no HTML is asked for', async () => {
    const url = new URL(stack.url);
    url.searchParams.set('query', '{ asset(id: "ETH") { symbol } }');
    const res = await fetch(url, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { asset: { symbol: 'ETH' } } });
  });

  it('does not serve files outside the GraphiQL asset list', async () => {
    for (const path of [
      '/graphiql/package.json',
      '/graphiql/../package.json',
      '/graphiql/%2e%2e/package.json',
      '/graphiql/',
    ]) {
      const res = await fetch(origin + path);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('"dependencies"');
    }
  });
});

describe('health and readiness', () => {
  it('/healthz says the process is up; /readyz reports every tier, its implementation and latency', async () => {
    expect(await (await fetch(`${origin}/healthz`)).json()).toEqual({ status: 'ok' });
    const res = await fetch(`${origin}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as {
      status: string;
      tiers: Record<string, { status: string; kind: string; latencyMs: number }>;
    };
    expect(body.status).toBe('ready');
    // ClickHouse is chDB and the vector index is in-process in both profiles (no servers here).
    const expected =
      profile === 'real'
        ? { postgres: 'server', clickhouse: 'embedded', redis: 'server', vector: 'embedded', kafka: 'server' }
        : { postgres: 'embedded', clickhouse: 'embedded', redis: 'embedded', vector: 'embedded', kafka: 'embedded' };
    expect(Object.fromEntries(Object.entries(body.tiers).map(([k, v]) => [k, v.kind]))).toEqual(expected);
    for (const tier of Object.values(body.tiers)) {
      expect(tier.status).toBe('up');
      expect(tier.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('HTTP hygiene', () => {
  it('accepts only JSON bodies: application/xml is 415, never parsed as JSON', async () => {
    for (const type of ['application/xml', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(stack.url, {
        method: 'POST',
        headers: { 'content-type': type },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(res.status, type).toBe(415);
      expect(((await res.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
    }
    const ok = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(ok.status).toBe(200);
  });

  it('answers CORS preflights for configured origins only', async () => {
    const preflight = (o: string) =>
      fetch(stack.url, {
        method: 'OPTIONS',
        headers: {
          origin: o,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const other = await preflight('https://evil.example');
    expect(other.status).toBe(204);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(stack.url, {
      method: 'POST',
      headers: { origin: ALLOWED_ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(simple.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
  });

  it('refuses batched requests and headers beyond the size limit', async () => {
    const batch = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as any).errors[0].message).toMatch(/Batched/);
    const big = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-padding': 'x'.repeat(32 * 1024) },
      body: JSON.stringify({ query: '{ __typename }' }),
    }).catch(() => undefined);
    expect(big?.status ?? 431).toBe(431);
  });
});

describe('malformed and unknown requests', () => {
  it.each([
    ['a truncated object', '{"query": "{ asset(id: \\"ETH\\") { id } }"'],
    ['plain text', 'query { asset(id: "ETH") { id } }'],
    ['a trailing comma', '{"query": "{ __typename }",}'],
  ])('a POST with %s as JSON gives 400 BAD_REQUEST', async (_name, body) => {
    const res = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    const json = (await res.json()) as any;
    expect(json.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(json.errors[0].message.length).toBeGreaterThan(5);
    expect(json.data).toBeUndefined();
  });

  it.each([['/nope'], ['/graphql/extra'], ['/graphiql/nope.js'], ['/readyz/x']])('GET %s gives 404', async (path) => {
    const res = await fetch(origin + path);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found' });
  });
});

describe('request ids', () => {
  const post = (headers: Record<string, string>) =>
    fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ asset(id: "ETH") { id } }' }),
    });

  it('echoes the x-request-id the client sent', async () => {
    const id = `test-${Math.random().toString(36).slice(2)}`;
    const res = await post({ 'x-request-id': id });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(id);
    expect(((await res.json()) as any).data.asset.id).toBe('ETH');
  });

  it('gives each request without one a fresh id', async () => {
    const [a, b] = await Promise.all([post({}), post({})]);
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{32,36}$/i);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('carries the id on a GraphQL error response too', async () => {
    const res = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'err-1' },
      body: JSON.stringify({ query: '{ asset(id: "no;pe") { id } }' }),
    });
    expect(res.headers.get('x-request-id')).toBe('err-1');
    const json = (await res.json()) as any;
    expect(json.errors[0].extensions.code).toBe('INVALID_ID');
    // The error carries it too, so a client's report can be matched to the gateway's log.
    expect(json.errors[0].extensions.requestId).toBe('err-1');
  });
});

describe('oversized bodies', () => {
  it('answers 413 with a code and closes the connection, so the unread rest is never parsed as a request', async () => {
    const body = JSON.stringify({ query: '{ __typename }', padding: 'x'.repeat(5 * 1024 * 1024) });
    const res = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(
      'BAD_REQUEST',
    );
    // The server still answers the next request promptly.
    const next = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await next.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('refusals from the headers', () => {
  it('refuses a bad token sent with a large body, and keeps the connection for the next request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const post = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; reused: boolean; body: string }>((resolve, reject) => {
        const req = http.request(
          stack.url,
          { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      const big = JSON.stringify({ query: '{ __typename }', padding: 'x'.repeat(1024 * 1024) });
      const refused = await post({ authorization: 'Bearer not-a-token' }, big);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      const next = await post({}, JSON.stringify({ query: '{ __typename }' }));
      expect([next.status, next.reused, JSON.parse(next.body).data]).toEqual([200, true, { __typename: 'Query' }]);
    } finally {
      agent.destroy();
    }
  });
});

describe('introspection', () => {
  it("answers GraphiQL's introspection query despite the depth limit", async () => {
    const { getIntrospectionQuery } = await import('graphql');
    const res = await stack.gql(getIntrospectionQuery());
    expect(res.errors).toBeUndefined();
    expect(res.data!.__schema.queryType.name).toBe('Query');
    const abusive = `{ __schema { types { ${'fields { type { '.repeat(10)} name ${'} } '.repeat(10)} } } }`;
    expect((await stack.gql(abusive)).errors![0]!.extensions!['code']).toBe('QUERY_TOO_DEEP');
  });
});

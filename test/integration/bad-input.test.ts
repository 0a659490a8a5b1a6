/**
 * Bad input gets a GraphQL error with a code in `extensions`, and nothing is written.
 * Injection strings go through every argument and come back as errors or empty answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Client, type Stack } from '../stack.ts';

let stack: Stack;
/** An admin reads anyone's data, so malformed ids reach the resolvers (a user would be FORBIDDEN first). */
let admin: Client;
/** The demo user writes its own data. */
let demo: Client;
let demoId: string;
beforeAll(async () => {
  stack = await startStack();
  [admin, demo, demoId] = await Promise.all([stack.admin(), stack.as('demo'), stack.userId('demo')]);
});
afterAll(() => stack?.stop());

async function counts() {
  const [pg] = await stack.tiers.postgres.query<{ tx: number; h: number; u: number; a: number }>(
    `SELECT (SELECT count(*)::int FROM transaction_history) AS tx, (SELECT count(*)::int FROM portfolio_holdings) AS h,
            (SELECT count(*)::int FROM users) AS u, (SELECT count(*)::int FROM assets) AS a`,
  );
  const [ch] = await stack.tiers.clickhouse.query<{ n: string }>('SELECT toString(count()) AS n FROM price_data_raw');
  return { ...pg, ticks: ch!.n };
}

const code = (res: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  res.errors?.[0]?.extensions?.['code'];

describe('bad input', () => {
  it.each([
    ['malformed user id', `{ portfolio(userId: "abc") { totalValueUsd } }`, 'INVALID_ID'],
    ['malformed asset id', `{ marketData(assetId: "ETH;--", interval: DAY) { bucket } }`, 'INVALID_ID'],
    ['negative first', `{ transactions(userId: "1", first: -1) { edges { cursor } } }`, 'INVALID_ARGUMENT'],
    [
      'first above the page limit',
      `{ transactions(userId: "1", first: 101) { edges { cursor } } }`,
      'INVALID_ARGUMENT',
    ],
    [
      'forged cursor',
      `{ transactions(userId: "1", after: "bm90LWEtY3Vyc29y") { edges { cursor } } }`,
      'INVALID_ARGUMENT',
    ],
    ['wrong embedding length', `{ similarAssets(embedding: [1, 2, 3]) { score } }`, 'INVALID_ARGUMENT'],
    ['both assetId and embedding', `{ similarAssets(assetId: "ETH", embedding: [1]) { score } }`, 'INVALID_ARGUMENT'],
    ['k out of range', `{ similarAssets(assetId: "ETH", k: 0) { score } }`, 'INVALID_ARGUMENT'],
    [
      'inverted time range',
      `{ marketData(assetId: "ETH", interval: HOUR, from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z") { bucket } }`,
      'INVALID_ARGUMENT',
    ],
    [
      'too many minute candles',
      `{ marketData(assetId: "ETH", interval: MINUTE, from: "2020-01-01T00:00:00Z") { bucket } }`,
      'INVALID_ARGUMENT',
    ],
    [
      'malformed date',
      `{ marketData(assetId: "ETH", interval: HOUR, from: "yesterday") { bucket } }`,
      'INVALID_ARGUMENT',
    ],
    [
      'over-deep query',
      `{ similarAssets(assetId: "ETH") { asset { similar { asset { similar { asset { similar { asset { similar { asset { similar { asset { similar { asset { id } } } } } } } } } } } } } } }`,
      'QUERY_TOO_DEEP',
    ],
  ])('%s gives %s', async (_name, query, expected) => {
    const res = await admin.gql(query);
    expect(code(res)).toBe(expected);
    expect(res.errors![0]!.message.length).toBeGreaterThan(10);
  });

  it.each([
    [
      'a non-decimal amount',
      `mutation { recordTransaction(input: { userId: "@DEMO@", assetId: "ETH", type: SWAP, amount: "1e5" }) { id } }`,
      'INVALID_DECIMAL',
    ],
    [
      'a float amount variable',
      {
        query: `mutation($a: Decimal!) { recordTransaction(input: { userId: "@DEMO@", assetId: "ETH", type: SWAP, amount: $a }) { id } }`,
        variables: { a: 0.1 },
      },
      'INVALID_DECIMAL',
    ],
    [
      'a zero amount',
      `mutation { recordTransaction(input: { userId: "@DEMO@", assetId: "ETH", type: SWAP, amount: "0" }) { id } }`,
      'INVALID_DECIMAL',
    ],
    [
      'a bad tx hash',
      `mutation { recordTransaction(input: { userId: "@DEMO@", assetId: "ETH", type: SWAP, amount: "1", txHash: "0xzz" }) { id } }`,
      'INVALID_ARGUMENT',
    ],
    [
      'an unknown asset',
      `mutation { recordTransaction(input: { userId: "@DEMO@", assetId: "NOPE", type: SWAP, amount: "1" }) { id } }`,
      'NOT_FOUND',
    ],
    [
      'an unknown protocol',
      `mutation { recordTransaction(input: { userId: "@DEMO@", assetId: "ETH", protocolId: "nope", type: SWAP, amount: "1" }) { id } }`,
      'NOT_FOUND',
    ],
    [
      'a negative quantity',
      `mutation { updateHolding(input: { userId: "@DEMO@", assetId: "ETH", quantity: "-1" }) { id } }`,
      'INVALID_DECIMAL',
    ],
    [
      'an unknown asset holding',
      `mutation { updateHolding(input: { userId: "@DEMO@", assetId: "NOPE", quantity: "1" }) { id } }`,
      'NOT_FOUND',
    ],
    [
      'one bad tick among good ones',
      `mutation { ingestPrices(ticks: [{ assetId: "ETH", price: "3000" }, { assetId: "ETH", price: "-1" }]) { accepted } }`,
      'INVALID_DECIMAL',
    ],
    [
      'a tick for an unknown asset',
      `mutation { ingestPrices(ticks: [{ assetId: "ETH", price: "3000" }, { assetId: "NOPE", price: "1" }]) { accepted } }`,
      'NOT_FOUND',
    ],
    ['no ticks', `mutation { ingestPrices(ticks: []) { accepted } }`, 'INVALID_ARGUMENT'],
  ])('a mutation with %s gives %s and writes nothing', async (_name, op, expected) => {
    const before = await counts();
    const withDemo = (q: string) => q.replaceAll('@DEMO@', demoId);
    const client = /ingestPrices/.test(typeof op === 'string' ? op : op.query) ? admin : demo;
    const res =
      typeof op === 'string' ? await client.gql(withDemo(op)) : await client.gql(withDemo(op.query), op.variables);
    expect(code(res)).toBe(expected);
    expect(await counts()).toEqual(before);
  });
});

describe('injection strings', () => {
  const payloads = [
    `1' OR '1'='1`,
    `1; DROP TABLE users; --`,
    `ETH') UNION SELECT * FROM users --`,
    `\\'; SELECT 1 --`,
    `{id:String}`,
    `$1`,
  ];

  it('are rejected or answered as unknown ids in every argument, and nothing changes', async () => {
    const before = await counts();
    for (const p of payloads) {
      const v = { p };
      const results = await Promise.all([
        admin.gql(`query($p: ID) { user(id: $p) { id } }`, v),
        admin.gql(`query($p: String) { user(handle: $p) { id } }`, v),
        admin.gql(`query($p: ID!) { portfolio(userId: $p) { totalValueUsd } }`, v),
        admin.gql(`query($p: ID!) { transactions(userId: $p) { edges { cursor } } }`, v),
        admin.gql(`query($p: String) { transactions(userId: "1", after: $p) { edges { cursor } } }`, v),
        admin.gql(`query($p: ID!) { marketData(assetId: $p, interval: DAY) { bucket } }`, v),
        admin.gql(`query($p: ID!) { similarAssets(assetId: $p) { score } }`, v),
        admin.gql(`query($p: ID!) { protocolAnalytics(protocolId: $p) { totalVolumeUsd } }`, v),
        admin.gql(`query($p: ID!) { asset(id: $p) { id } protocol(id: $p) { id } }`, v),
        demo.gql(
          `mutation($p: ID!) { recordTransaction(input: { userId: "${demoId}", assetId: $p, type: SWAP, amount: "1" }) { id } }`,
          v,
        ),
        demo.gql(
          `mutation($p: ID) { updateHolding(input: { userId: "${demoId}", assetId: "ETH", protocolId: $p, quantity: "1" }) { id } }`,
          v,
        ),
        admin.gql(`mutation($p: ID!) { ingestPrices(ticks: [{ assetId: $p, price: "1" }]) { accepted } }`, v),
        demo.gql(
          `mutation($p: String) { recordTransaction(input: { userId: "${demoId}", assetId: "ETH", type: SWAP, amount: "1", txHash: $p }) { id } }`,
          v,
        ),
      ]);
      for (const res of results) {
        // Either a coded client error, or a null/empty answer: never data from elsewhere, never a 500.
        if (res.errors)
          expect([
            'INVALID_ID',
            'INVALID_ARGUMENT',
            'NOT_FOUND',
            'GRAPHQL_VALIDATION_FAILED',
            'BAD_USER_INPUT',
          ]).toContain(code(res));
        else expect(JSON.stringify(res.data)).toMatch(/null|\[\]/);
      }
    }
    expect(await counts()).toEqual(before);
  });
});

describe('bad requests that used to be answered with 500 (issue 8)', () => {
  const code = (res: { body: { errors?: Array<{ extensions?: Record<string, unknown> }> } }) =>
    res.body.errors?.[0]?.extensions?.['code'];

  it('an unknown operationName is a 400 OPERATION_RESOLUTION_FAILURE', async () => {
    const res = await admin.post({ query: `query A { asset(id: "ETH") { id } }`, operationName: 'B' });
    expect(res.status).toBe(400);
    expect(code(res)).toBe('OPERATION_RESOLUTION_FAILURE');
  });

  it('an operationName of 1 MB is a 400 whose message does not echo it', async () => {
    const name = 'x'.repeat(1024 * 1024);
    const res = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: admin.authorization! },
      body: JSON.stringify({ query: `{ asset(id: "ETH") { id } }`, operationName: name }),
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(2_000);
    expect(JSON.parse(text).errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it('an argument of 1 MB is refused with a message cut short', async () => {
    const res = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `query($id: ID!) { asset(id: $id) { id } }`,
        variables: { id: 'E'.repeat(1024 * 1024) },
      }),
    });
    const text = await res.text();
    expect(text.length).toBeLessThan(2_000);
    expect(JSON.parse(text).errors[0].extensions.code).toBe('INVALID_ID');
  });

  it('a consistency token beyond the bigint range is a 400 INVALID_ARGUMENT', async () => {
    for (const token of ['9999999999999999999', '0', '-1', 'abc']) {
      const res = await demo.post({ query: `{ asset(id: "ETH") { id } }` }, { 'x-consistency-token': token });
      expect(res.status, token).toBe(400);
      expect(code(res), token).toBe('INVALID_ARGUMENT');
    }
  });

  it('a NUL byte in a String argument is INVALID_ARGUMENT naming it, literal or variable, and writes nothing', async () => {
    const before = await counts();
    const literal = await admin.gql(`{ user(handle: "de\\u0000mo") { id } }`);
    expect(literal.errors![0]!.extensions!['code']).toBe('INVALID_ARGUMENT');
    expect(literal.errors![0]!.extensions!['field']).toBe('handle');
    const variable = await admin.gql(`query($h: String) { user(handle: $h) { id } }`, { h: 'de\u0000mo' });
    expect(variable.errors![0]!.extensions!['code']).toBe('INVALID_ARGUMENT');
    expect(variable.errors![0]!.extensions!['field']).toBe('$h');
    const write = await demo.gql(`mutation($i: RecordTransactionInput!) { recordTransaction(input: $i) { id } }`, {
      i: { userId: demoId, assetId: 'ETH', type: 'SWAP', amount: '1', txHash: '0x\u0000' },
    });
    expect(write.errors![0]!.extensions!['code']).toBe('INVALID_ARGUMENT');
    expect(await counts()).toEqual(before);
  });

  it('an Int variable given "NaN" is BAD_USER_INPUT naming the variable, not an internal error', async () => {
    const res = await admin.post({
      query: `query($n: Int) { transactions(userId: "1", first: $n) { edges { cursor } } }`,
      variables: { n: 'NaN' },
    });
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toContain('$n');
  });
});

/**
 * Bad input gets a GraphQL error with a code in `extensions`, and nothing is written.
 * Injection strings go through every argument and come back as errors or empty answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
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
      `{ transactions(userId: "1", first: 100000) { edges { cursor } } }`,
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
      'GRAPHQL_VALIDATION_FAILED',
    ],
  ])('%s gives %s', async (_name, query, expected) => {
    const res = await stack.gql(query);
    expect(code(res)).toBe(expected);
    expect(res.errors![0]!.message.length).toBeGreaterThan(10);
  });

  it.each([
    [
      'a non-decimal amount',
      `mutation { recordTransaction(input: { userId: "1", assetId: "ETH", type: SWAP, amount: "1e5" }) { id } }`,
      'INVALID_DECIMAL',
    ],
    [
      'a float amount variable',
      {
        query: `mutation($a: Decimal!) { recordTransaction(input: { userId: "1", assetId: "ETH", type: SWAP, amount: $a }) { id } }`,
        variables: { a: 0.1 },
      },
      'INVALID_DECIMAL',
    ],
    [
      'a zero amount',
      `mutation { recordTransaction(input: { userId: "1", assetId: "ETH", type: SWAP, amount: "0" }) { id } }`,
      'INVALID_DECIMAL',
    ],
    [
      'a bad tx hash',
      `mutation { recordTransaction(input: { userId: "1", assetId: "ETH", type: SWAP, amount: "1", txHash: "0xzz" }) { id } }`,
      'INVALID_ARGUMENT',
    ],
    [
      'an unknown user',
      `mutation { recordTransaction(input: { userId: "987654321", assetId: "ETH", type: SWAP, amount: "1" }) { id } }`,
      'NOT_FOUND',
    ],
    [
      'an unknown protocol',
      `mutation { recordTransaction(input: { userId: "1", assetId: "ETH", protocolId: "nope", type: SWAP, amount: "1" }) { id } }`,
      'NOT_FOUND',
    ],
    [
      'a negative quantity',
      `mutation { updateHolding(input: { userId: "1", assetId: "ETH", quantity: "-1" }) { id } }`,
      'INVALID_DECIMAL',
    ],
    [
      'an unknown asset holding',
      `mutation { updateHolding(input: { userId: "1", assetId: "NOPE", quantity: "1" }) { id } }`,
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
    const res = typeof op === 'string' ? await stack.gql(op) : await stack.gql(op.query, op.variables);
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
        stack.gql(`query($p: ID) { user(id: $p) { id } }`, v),
        stack.gql(`query($p: String) { user(handle: $p) { id } }`, v),
        stack.gql(`query($p: ID!) { portfolio(userId: $p) { totalValueUsd } }`, v),
        stack.gql(`query($p: ID!) { transactions(userId: $p) { edges { cursor } } }`, v),
        stack.gql(`query($p: String) { transactions(userId: "1", after: $p) { edges { cursor } } }`, v),
        stack.gql(`query($p: ID!) { marketData(assetId: $p, interval: DAY) { bucket } }`, v),
        stack.gql(`query($p: ID!) { similarAssets(assetId: $p) { score } }`, v),
        stack.gql(`query($p: ID!) { protocolAnalytics(protocolId: $p) { totalVolumeUsd } }`, v),
        stack.gql(`query($p: ID!) { asset(id: $p) { id } protocol(id: $p) { id } }`, v),
        stack.gql(
          `mutation($p: ID!) { recordTransaction(input: { userId: "1", assetId: $p, type: SWAP, amount: "1" }) { id } }`,
          v,
        ),
        stack.gql(
          `mutation($p: ID) { updateHolding(input: { userId: "1", assetId: "ETH", protocolId: $p, quantity: "1" }) { id } }`,
          v,
        ),
        stack.gql(`mutation($p: ID!) { ingestPrices(ticks: [{ assetId: $p, price: "1" }]) { accepted } }`, v),
        stack.gql(
          `mutation($p: String) { recordTransaction(input: { userId: "1", assetId: "ETH", type: SWAP, amount: "1", txHash: $p }) { id } }`,
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

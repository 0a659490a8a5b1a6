/**
 * The response cache as a client sees it: hits and misses, the policy the schema gives each
 * operation, per-viewer isolation of private data, eviction of exactly the responses a change
 * touched (plain SQL through the sync worker, price ticks from the market feed, mutations),
 * read-your-writes with a consistency token, bypass, and one execution for concurrent misses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestTicks, parseTicks } from '../../domain/market.ts';
import { startStack, until, type Client, type Stack } from '../stack.ts';

const PORTFOLIO = `query Portfolio($u: ID!) {
  portfolio(userId: $u) {
    totalValueUsd
    holdings { id quantity valueUsd asset { id symbol latestPrice change24h } protocol { id name } }
  }
}`;
const ASSET_NAME = `query($id: ID!) { asset(id: $id) { id name chain } }`;
const ASSET_PRICE = `query($id: ID!) { asset(id: $id) { id latestPrice } }`;

let stack: Stack;
let demo: string;
let whale: string;
/** Clients with tokens: an admin reads everything (the default below), users their own data. */
let admin: Client;
let demoUser: Client;
let whaleUser: Client;
beforeAll(async () => {
  stack = await startStack({ worker: true, overrides: { cache: { consistencyWaitMs: 1_000 } } });
  [demo, whale] = await Promise.all([stack.userId('demo'), stack.userId('whale')]);
  [admin, demoUser, whaleUser] = await Promise.all([stack.admin(), stack.as('demo'), stack.as('whale')]);
});
afterAll(() => stack?.stop());

/** Asks as the admin unless `headers` carry another authorization. */
const ask = (
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  extensions?: Record<string, unknown>,
) =>
  stack.post(
    { query, variables, ...(extensions ? { extensions } : {}) },
    { authorization: admin.authorization!, ...headers },
  );
const as = (client: Client) => ({ authorization: client.authorization! });

/** Asks until the answer is a miss (the cached one was evicted); returns it. */
const evicted = (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) =>
  until('eviction', async () => {
    const res = await ask(query, variables, headers);
    return res.headers.get('x-cache') === 'MISS' && res;
  });

describe('response cache', () => {
  it('serves the second identical query from the cache, byte for byte', async () => {
    const first = await ask(PORTFOLIO, { u: demo }, as(demoUser));
    expect(first.body.errors).toBeUndefined();
    expect(first.headers.get('x-cache')).toBe('MISS');
    const second = await ask(PORTFOLIO, { u: demo }, as(demoUser));
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);
    const stats = (
      await admin.gql(`{ cacheStats { entries totalBytes averageEntryBytes hits misses hitRate stores } }`)
    ).data!.cacheStats;
    expect(stats.hits).toBeGreaterThanOrEqual(1);
    expect(stats.misses).toBeGreaterThanOrEqual(1);
    expect(stats.entries).toBeGreaterThanOrEqual(1);
    expect(stats.averageEntryBytes).toBeGreaterThan(JSON.stringify(first.body).length / 2);
    expect(stats.hitRate).toBeGreaterThan(0);
  });

  it('takes max-age and scope from the schema: the shortest max-age touched, private when any field is', async () => {
    expect((await ask(ASSET_NAME, { id: 'ETH' })).headers.get('x-cache-policy')).toBe('max-age=300, public');
    expect((await ask(ASSET_PRICE, { id: 'ETH' })).headers.get('x-cache-policy')).toBe('max-age=60, public');
    expect((await ask(PORTFOLIO, { u: demo })).headers.get('x-cache-policy')).toBe('max-age=60, private');
    expect((await ask(`{ similarAssets(assetId: "ETH", k: 2) { score } }`)).headers.get('x-cache-policy')).toBe(
      'max-age=3600, public',
    );
    // Operational data has no hint: never cached.
    const stats = await ask(`{ cdcStats { pending } }`);
    expect(stats.headers.get('x-cache')).toBeNull();
    expect((await ask(`{ cdcStats { pending } }`)).headers.get('x-cache')).toBeNull();
  });

  it('expires a response after its max-age (a client may ask for a shorter one, as cacheTTL)', async () => {
    const q = `query($id: ID!) { protocol(id: $id) { id name } }`;
    expect((await ask(q, { id: 'aave-v3' }, {}, { cacheTTL: 1 })).headers.get('x-cache')).toBe('MISS');
    const hit = await ask(q, { id: 'aave-v3' }, {}, { cacheTTL: 1 });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('x-cache-policy')).toBe('max-age=1, public');
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await ask(q, { id: 'aave-v3' }, {}, { cacheTTL: 1 })).headers.get('x-cache')).toBe('MISS');
  });

  it('never serves one viewer private data cached for another, and authorizes a hit like a miss', async () => {
    // A user no other test asks about, so nothing of it is cached yet.
    const [u7, u7User] = await Promise.all([stack.userId('user07'), stack.as('user07')]);
    const owner = await ask(PORTFOLIO, { u: u7 }, as(u7User));
    expect(owner.headers.get('x-cache')).toBe('MISS');
    expect((await ask(PORTFOLIO, { u: u7 }, as(u7User))).headers.get('x-cache')).toBe('HIT');
    // The same query by an admin (support) is its own entry: keyed by the verified subject and role.
    const support = await ask(PORTFOLIO, { u: u7 });
    expect(support.headers.get('x-cache')).toBe('MISS');
    expect(support.body.data).toEqual(owner.body.data);
    // Another user asking the very query that is cached is refused before the cache is read.
    const intruder = await ask(PORTFOLIO, { u: u7 }, as(whaleUser));
    expect(intruder.status).toBe(403);
    expect(intruder.headers.get('x-cache')).toBeNull();
    expect(intruder.body.data).toBeUndefined();
    expect(intruder.body.errors![0]!.extensions!['code']).toBe('FORBIDDEN');
    const anonymous = await stack.post({ query: PORTFOLIO, variables: { u: u7 } });
    expect(anonymous.status).toBe(401);
    // Another user's portfolio is another entry.
    const other = await ask(PORTFOLIO, { u: whale }, as(whaleUser));
    expect(other.headers.get('x-cache')).toBe('MISS');
    expect(other.body.data!.portfolio.holdings).toHaveLength(50);
    const [{ n = 0 } = {}] = await stack.tiers.postgres.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM portfolio_holdings WHERE user_id = $1',
      [u7],
    );
    expect(owner.body.data!.portfolio.holdings).toHaveLength(n);
    // Public data is shared between viewers, signed in or not.
    await ask(ASSET_NAME, { id: 'SOL' }, as(demoUser));
    expect((await ask(ASSET_NAME, { id: 'SOL' }, as(whaleUser))).headers.get('x-cache')).toBe('HIT');
    expect((await stack.post({ query: ASSET_NAME, variables: { id: 'SOL' } })).headers.get('x-cache')).toBe('HIT');
  });

  it('evicts exactly the responses a plain-SQL change touched, through the sync worker', async () => {
    const [holding] = await stack.tiers.postgres.query<{ id: string; quantity: string }>(
      `SELECT id::text AS id, quantity::text AS quantity FROM portfolio_holdings WHERE user_id = $1 ORDER BY id LIMIT 1`,
      [demo],
    );
    // Three cached responses: demo's portfolio, whale's portfolio, an asset.
    for (const [q, v] of [
      [PORTFOLIO, { u: demo }],
      [PORTFOLIO, { u: whale }],
      [ASSET_NAME, { id: 'ETH' }],
    ] as const) {
      await ask(q, v);
      expect((await ask(q, v)).headers.get('x-cache')).toBe('HIT');
    }
    await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = quantity + 1 WHERE id = $1`, [
      holding!.id,
    ]);
    const fresh = await evicted(PORTFOLIO, { u: demo });
    const changed = fresh.body.data!.portfolio.holdings.find((h: { id: string }) => h.id === holding!.id);
    expect(Number(changed.quantity)).toBeCloseTo(Number(holding!.quantity) + 1, 6);
    // Nobody else's responses were touched.
    expect((await ask(PORTFOLIO, { u: whale })).headers.get('x-cache')).toBe('HIT');
    expect((await ask(ASSET_NAME, { id: 'ETH' })).headers.get('x-cache')).toBe('HIT');
    const stats = (await admin.gql(`{ cacheStats { evictions { event } } }`)).data!.cacheStats;
    expect(stats.evictions.event).toBeGreaterThanOrEqual(1);
  });

  it('evicts a protocol, a transaction history and protocol analytics when their rows change in Postgres', async () => {
    const PROTOCOL = `query($id: ID!) { protocol(id: $id) { id name } }`;
    const HISTORY = `query($u: ID!) { transactions(userId: $u, first: 5) { edges { node { id amount } } } }`;
    const ANALYTICS = `query($p: ID!) { protocolAnalytics(protocolId: $p) { transactionCount } }`;
    const cases = [
      [PROTOCOL, { id: 'yearn' }],
      [PROTOCOL, { id: 'lido' }],
      [HISTORY, { u: demo }],
      [ANALYTICS, { p: 'uniswap-v3' }],
    ] as const;
    for (const [q, v] of cases) {
      await ask(q, v);
      expect((await ask(q, v)).headers.get('x-cache')).toBe('HIT');
    }
    const count = (await ask(ANALYTICS, { p: 'uniswap-v3' })).body.data!.protocolAnalytics.transactionCount as number;
    await stack.tiers.postgres.query(`UPDATE protocols SET name = 'Yearn v3' WHERE id = 'yearn'`);
    await stack.tiers.postgres.query(
      `INSERT INTO transaction_history (user_id, asset_id, protocol_id, type, amount, value_usd) VALUES ($1, 'UNI', 'uniswap-v3', 'SWAP', '3', '30')`,
      [demo],
    );
    expect((await evicted(PROTOCOL, { id: 'yearn' })).body.data!.protocol.name).toBe('Yearn v3');
    expect((await evicted(HISTORY, { u: demo })).body.data!.transactions.edges[0].node.amount).toBe('3');
    expect((await evicted(ANALYTICS, { p: 'uniswap-v3' })).body.data!.protocolAnalytics.transactionCount).toBe(
      count + 1,
    );
    expect((await ask(PROTOCOL, { id: 'lido' })).headers.get('x-cache')).toBe('HIT');
  });

  it('evicts answers about an asset or a user renamed in Postgres, including portfolios that show them', async () => {
    const USER = `query($h: String!) { user(handle: $h) { id displayName } }`;
    const NAMES = `query($u: ID!) { portfolio(userId: $u) { holdings { asset { id name } } } }`;
    const cases = [
      [ASSET_NAME, { id: 'AAVE' }],
      [ASSET_NAME, { id: 'UNI' }],
      [USER, { h: 'user05' }],
      [USER, { h: 'user06' }],
      [NAMES, { u: whale }],
    ] as const;
    for (const [q, v] of cases) {
      await ask(q, v);
      expect((await ask(q, v)).headers.get('x-cache')).toBe('HIT');
    }
    await stack.tiers.postgres.query(`UPDATE assets SET name = 'Aave Token' WHERE id = 'AAVE'`);
    await stack.tiers.postgres.query(`UPDATE users SET display_name = 'Five' WHERE handle = 'user05'`);
    expect((await evicted(ASSET_NAME, { id: 'AAVE' })).body.data!.asset.name).toBe('Aave Token');
    expect((await evicted(USER, { h: 'user05' })).body.data!.user.displayName).toBe('Five');
    const names = (await evicted(NAMES, { u: whale })).body.data!.portfolio.holdings.map(
      (h: { asset: { id: string; name: string } }) => h.asset,
    );
    expect(names).toContainEqual({ id: 'AAVE', name: 'Aave Token' });
    expect((await ask(ASSET_NAME, { id: 'UNI' })).headers.get('x-cache')).toBe('HIT');
    expect((await ask(USER, { h: 'user06' })).headers.get('x-cache')).toBe('HIT');
  });

  it('evicts only the responses that read the price of an asset that ticked', async () => {
    for (const id of ['ETH', 'WBTC']) {
      await ask(ASSET_PRICE, { id });
      expect((await ask(ASSET_PRICE, { id })).headers.get('x-cache')).toBe('HIT');
    }
    await ask(ASSET_NAME, { id: 'ETH' });
    // A tick from the market feed (not through this gateway): its event on the bus evicts.
    await ingestTicks(stack.tiers, parseTicks([{ assetId: 'ETH', price: '4321.5' }]), stack.runtime.report);
    const fresh = await evicted(ASSET_PRICE, { id: 'ETH' });
    expect(fresh.body.data!.asset.latestPrice).toBe('4321.5');
    expect((await ask(ASSET_PRICE, { id: 'WBTC' })).headers.get('x-cache')).toBe('HIT');
    expect((await ask(ASSET_NAME, { id: 'ETH' })).headers.get('x-cache')).toBe('HIT');
  });

  it('lets a client read its own write at once: a mutation evicts before it returns', async () => {
    const before = await ask(PORTFOLIO, { u: demo }, as(demoUser));
    expect((await ask(PORTFOLIO, { u: demo }, as(demoUser))).headers.get('x-cache')).toBe('HIT');
    const asset = before.body.data!.portfolio.holdings[1].asset.id as string;
    const write = await ask(
      `mutation($i: UpdateHoldingInput!) { updateHolding(input: $i) { id quantity } }`,
      {
        i: {
          userId: demo,
          assetId: asset,
          protocolId: before.body.data!.portfolio.holdings[1].protocol?.id ?? null,
          quantity: '123.456',
        },
      },
      as(demoUser),
    );
    expect(write.body.errors).toBeUndefined();
    expect(write.body.extensions?.['consistency']?.token).toMatch(/^\d+$/);
    const after = await ask(PORTFOLIO, { u: demo }, as(demoUser));
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(
      after.body.data!.portfolio.holdings.find((h: { id: string }) => h.id === write.body.data!.updateHolding.id)
        .quantity,
    ).toBe('123.456');
  });

  it('answers a request carrying a consistency token only once ClickHouse has the write', async () => {
    const analytics = `query($p: ID!) { protocolAnalytics(protocolId: $p) { transactionCount totalVolumeUsd } }`;
    const before = (await ask(analytics, { p: 'curve' })).body.data!.protocolAnalytics;
    const write = await ask(
      `mutation($i: RecordTransactionInput!) { recordTransaction(input: $i) { id } }`,
      {
        i: { userId: demo, assetId: 'USDC', protocolId: 'curve', type: 'SWAP', amount: '250' },
      },
      as(demoUser),
    );
    const token = write.body.extensions!['consistency'].token as string;
    // The analytics come from ClickHouse's replica of transaction_history, which the worker fills.
    const after = await ask(analytics, { p: 'curve' }, { 'x-consistency-token': token });
    expect(after.body.extensions!['consistency']).toMatchObject({ token, mayBeStale: false });
    expect(after.body.data!.protocolAnalytics.transactionCount).toBe(before.transactionCount + 1);
    expect(after.headers.get('x-cache')).toBe('BYPASS');
  });

  it('flags the answer as possibly stale when the token is not applied in time, and refuses a malformed token', async () => {
    const res = await ask(ASSET_NAME, { id: 'ETH' }, { 'x-consistency-token': '999999999999' });
    expect(res.body.data!.asset.name).toBe('Ether');
    expect(res.body.extensions!['consistency']).toMatchObject({ token: '999999999999', mayBeStale: true });
    expect(res.body.extensions!['consistency'].waitedMs).toBeGreaterThanOrEqual(900);
    const bad = await ask(ASSET_NAME, { id: 'ETH' }, { 'x-consistency-token': 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors![0]!.extensions!['code']).toBe('INVALID_ARGUMENT');
  });

  it('bypasses the cache on request, without reading or storing', async () => {
    const q = `query($id: ID!) { asset(id: $id) { id symbol } }`;
    expect((await ask(q, { id: 'LINK' }, { 'cache-control': 'no-cache' })).headers.get('x-cache')).toBe('BYPASS');
    expect((await ask(q, { id: 'LINK' }, {}, { cache: false })).headers.get('x-cache')).toBe('BYPASS');
    expect((await ask(q, { id: 'LINK' })).headers.get('x-cache')).toBe('MISS');
    expect((await ask(q, { id: 'LINK' }, { 'cache-control': 'no-cache' })).headers.get('x-cache')).toBe('BYPASS');
  });

  it('runs identical concurrent misses once', async () => {
    const { id: user } = (
      await stack.tiers.postgres.query<{ id: string }>(`SELECT id::text AS id FROM users WHERE handle = 'user03'`)
    )[0]!;
    stack.counter.reset();
    const answers = await Promise.all(Array.from({ length: 20 }, () => ask(PORTFOLIO, { u: user })));
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(answers[0]!.body.data!.portfolio.holdings.length).toBeGreaterThan(0);
    // One execution: the holdings statement ran once, not once per request.
    const holdingStatements = stack.counter
      .list('postgres')
      .filter((s) => s.includes('FROM users u') && s.includes('portfolio_holdings'));
    expect(holdingStatements).toHaveLength(1);
  });

  it('lets an admin purge answers by entity tag or all of them, and nobody else', async () => {
    const PURGE = `mutation($t: [String!]) { purgeCache(tags: $t) }`;
    for (const id of ['MKR', 'CRV']) {
      await ask(ASSET_NAME, { id });
      expect((await ask(ASSET_NAME, { id })).headers.get('x-cache')).toBe('HIT');
    }
    const denied = await ask(PURGE, { t: ['Asset:MKR'] }, as(demoUser));
    expect(denied.body.errors![0]!.extensions!['code']).toBe('FORBIDDEN');
    expect((await ask(ASSET_NAME, { id: 'MKR' })).headers.get('x-cache')).toBe('HIT');
    expect((await ask(PURGE, { t: ['not a tag'] })).body.errors![0]!.extensions!['code']).toBe('INVALID_ARGUMENT');

    expect((await ask(PURGE, { t: ['Asset:MKR'] })).body.data!.purgeCache).toBeGreaterThanOrEqual(1);
    expect((await ask(ASSET_NAME, { id: 'MKR' })).headers.get('x-cache')).toBe('MISS');
    expect((await ask(ASSET_NAME, { id: 'CRV' })).headers.get('x-cache')).toBe('HIT');

    expect((await ask(PURGE, {})).body.data!.purgeCache).toBeGreaterThanOrEqual(2);
    const stats = (await admin.gql(`{ cacheStats { entries evictions { purge } } }`)).data!.cacheStats;
    expect(stats.entries).toBe(0);
    expect(stats.evictions.purge).toBeGreaterThanOrEqual(3);
    expect((await ask(ASSET_NAME, { id: 'CRV' })).headers.get('x-cache')).toBe('MISS');
  });

  it('does not cache responses with errors', async () => {
    const q = `query($u: ID!) { portfolio(userId: $u) { totalValueUsd } }`;
    expect((await ask(q, { u: 'not-a-number' })).body.errors![0]!.extensions!['code']).toBe('INVALID_ID');
    const again = await ask(q, { u: 'not-a-number' });
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(again.body.errors![0]!.extensions!['code']).toBe('INVALID_ID');
  });

  it('stays out of the way when switched off (CACHE_ENABLED=false)', async () => {
    const off = await startStack({ overrides: { cache: { enabled: false } } });
    try {
      const first = await off.post({ query: ASSET_NAME, variables: { id: 'ETH' } });
      off.counter.reset();
      const second = await off.post({ query: ASSET_NAME, variables: { id: 'ETH' } });
      expect(second.headers.get('x-cache')).toBeNull();
      expect(second.body).toEqual(first.body);
      expect(off.counter.count('postgres')).toBe(1);
      expect(off.counter.count('cache')).toBe(0);
    } finally {
      await off.stop();
    }
  });
});

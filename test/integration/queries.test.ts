/**
 * The public query API, checked against the tiers themselves as oracles: what the gateway
 * answers must equal what Postgres, ClickHouse and the vector index hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoEmbedding } from '../../demo/seed.ts';
import { startStack, type Client, type Stack } from '../stack.ts';

let stack: Stack;
/** The demo user, the whale, and an admin: private data is read as its owner. */
let demo: Client;
let whale: Client;
let admin: Client;
beforeAll(async () => {
  stack = await startStack();
  [demo, whale, admin] = await Promise.all([stack.as('demo'), stack.as('whale'), stack.admin()]);
});
afterAll(() => stack?.stop());

/** Exact sum of decimal strings, written independently of lib/decimal.ts. */
function exactSum(values: string[]): bigint {
  return values.reduce((acc, v) => {
    const [i = '0', f = ''] = v.replace('-', '').split('.');
    const units = BigInt(i) * 10n ** 18n + BigInt(f.padEnd(18, '0'));
    return acc + (v.startsWith('-') ? -units : units);
  }, 0n);
}
const units = (v: string) => exactSum([v]);

describe('users', () => {
  it('finds the demo user by handle and by id, with at least 20 holdings', async () => {
    const byHandle = await demo.gql(`{ user(handle: "demo") { id handle displayName portfolio { holdings { id } } } }`);
    expect(byHandle.errors).toBeUndefined();
    const user = byHandle.data!.user;
    expect(user.handle).toBe('demo');
    expect(user.portfolio.holdings.length).toBeGreaterThanOrEqual(20);
    const byId = await demo.gql(`query($id: ID) { user(id: $id) { handle } }`, { id: user.id });
    expect(byId.data!.user.handle).toBe('demo');
  });

  it('gives an admin null for unknown users, and an error when both or neither of id and handle are given', async () => {
    const unknown = await admin.gql(
      `{ a: user(id: "987654321") { id } b: user(handle: "nobody_here") { id } c: portfolio(userId: "987654321") { totalValueUsd } }`,
    );
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data).toEqual({ a: null, b: null, c: null });
    const both = await admin.gql(`{ user(id: "1", handle: "demo") { id } }`);
    expect(both.errors![0]!.extensions!.code).toBe('INVALID_ARGUMENT');
    const neither = await admin.gql(`{ user { id } }`);
    expect(neither.errors![0]!.extensions!.code).toBe('INVALID_ARGUMENT');
  });
});

describe('portfolio', () => {
  it('values every holding from Postgres and sums them exactly', async () => {
    const { data } = await whale.gql(
      `{ user(handle: "whale") { id portfolio { totalValueUsd holdings { id quantity valueUsd asset { id } protocol { id } } } } }`,
    );
    const portfolio = data!.user.portfolio;
    const rows = await stack.tiers.postgres.query<{
      id: string;
      quantity: string;
      value_usd: string;
      protocol_id: string | null;
    }>(
      'SELECT h.id::text AS id, h.quantity::text AS quantity, h.value_usd::text AS value_usd, h.protocol_id FROM portfolio_holdings h WHERE h.user_id = $1 ORDER BY h.id',
      [data!.user.id],
    );
    expect(portfolio.holdings).toHaveLength(50);
    expect(portfolio.holdings.map((h: any) => h.id)).toEqual(rows.map((r) => r.id));
    portfolio.holdings.forEach((h: any, i: number) => {
      expect(units(h.quantity)).toBe(units(rows[i]!.quantity));
      expect(units(h.valueUsd)).toBe(units(rows[i]!.value_usd));
      expect(h.protocol?.id ?? null).toBe(rows[i]!.protocol_id);
    });
    expect(typeof portfolio.totalValueUsd).toBe('string');
    expect(units(portfolio.totalValueUsd)).toBe(exactSum(rows.map((r) => r.value_usd)));
  });

  it('reports latest price and 24h change matching the ClickHouse ticks', async () => {
    const { data } = await demo.gql(
      `{ user(handle: "demo") { portfolio { holdings { asset { id latestPrice change24h } } } } }`,
    );
    const assets = data!.user.portfolio.holdings.map((h: any) => h.asset);
    const ticks = await stack.tiers.clickhouse.query<{ asset_id: string; last: string; prev: string }>(
      `SELECT asset_id, toString(argMax(price, ts)) AS last,
              toString(argMaxIf(price, ts, ts <= (SELECT max(ts) FROM price_data_raw) - INTERVAL 24 HOUR)) AS prev
       FROM price_data_raw GROUP BY asset_id`,
    );
    for (const asset of assets) {
      const tick = ticks.find((t) => t.asset_id === asset.id)!;
      expect(units(asset.latestPrice)).toBe(units(tick.last));
      const expected = ((Number(tick.last) - Number(tick.prev)) / Number(tick.prev)) * 100;
      expect(Number(asset.change24h)).toBeCloseTo(expected, 4);
    }
  });
});

describe('transactions', () => {
  it('pages through a user history newest first with no gap and no duplicate', async () => {
    const user = (await demo.gql(`{ user(handle: "demo") { id } }`)).data!.user;
    const expected = await stack.tiers.postgres.query<{ id: string }>(
      'SELECT t.id::text AS id FROM transaction_history t WHERE t.user_id = $1 ORDER BY t.occurred_at DESC, t.id DESC',
      [user.id],
    );
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res: any = await demo.gql(
        `query($u: ID!, $a: String) { transactions(userId: $u, first: 7, after: $a) { edges { cursor node { id asset { symbol } } } pageInfo { hasNextPage endCursor } } }`,
        { u: user.id, a: after },
      );
      const conn = res.data.transactions;
      seen.push(...conn.edges.map((e: any) => e.node.id));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected.map((r) => r.id));
  });

  it('skips no row sharing a millisecond: 150 rows of one statement and 20 rows 0.5 ms apart, in pages of 7 and 100', async () => {
    const [{ id: userId }] = (await stack.tiers.postgres.query<{ id: string }>(
      `INSERT INTO users (handle, display_name) VALUES ('same_ms', 'Same ms') RETURNING id::text AS id`,
    )) as [{ id: string }];
    // Plain SQL, as any program writes: one statement's rows share now(), to the microsecond.
    await stack.tiers.postgres.query(
      `INSERT INTO transaction_history (user_id, asset_id, type, amount)
       SELECT $1, 'ETH', 'DEPOSIT', 1 FROM generate_series(1, 150)`,
      [userId],
    );
    await stack.tiers.postgres.query(
      `INSERT INTO transaction_history (user_id, asset_id, type, amount, occurred_at)
       SELECT $1, 'ETH', 'SWAP', 1, now() - g * interval '500 microseconds' FROM generate_series(1, 20) g`,
      [userId],
    );
    const expected = (
      await stack.tiers.postgres.query<{ id: string }>(
        'SELECT id::text AS id FROM transaction_history WHERE user_id = $1 ORDER BY occurred_at DESC, id DESC',
        [userId],
      )
    ).map((r) => r.id);
    expect(expected).toHaveLength(170);
    for (const first of [7, 100]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 50; page++) {
        const res: any = await admin.gql(
          `query($u: ID!, $f: Int, $a: String) { transactions(userId: $u, first: $f, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
          { u: userId, f: first, a: after },
        );
        const conn = res.data.transactions;
        seen.push(...conn.edges.map((e: any) => e.node.id));
        if (!conn.pageInfo.hasNextPage) break;
        after = conn.pageInfo.endCursor;
      }
      expect(seen, `pages of ${first}`).toEqual(expected);
    }
  });

  it('gives an admin an empty connection for an unknown user', async () => {
    const res = await admin.gql(
      `{ transactions(userId: "987654321") { edges { cursor } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(res.data!.transactions).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});

describe('market data', () => {
  it('returns hourly candles equal to an aggregation of the raw ticks', async () => {
    const res = await stack.gql(
      `{ marketData(assetId: "ETH", interval: HOUR) { bucket open high low close volume trades } }`,
    );
    const candles = res.data!.marketData;
    expect(candles.length).toBeGreaterThanOrEqual(23);
    const sample = candles[5];
    const [raw] = await stack.tiers.clickhouse.query<{
      open: string;
      high: string;
      low: string;
      close: string;
      n: string;
    }>(
      `SELECT toString(argMin(price, ts)) AS open, toString(max(price)) AS high, toString(min(price)) AS low, toString(argMax(price, ts)) AS close, toString(count()) AS n
       FROM price_data_raw WHERE asset_id = 'ETH' AND toStartOfHour(ts) = parseDateTime64BestEffort({b:String})`,
      { b: sample.bucket },
    );
    expect([sample.open, sample.high, sample.low, sample.close].map(units)).toEqual(
      [raw!.open, raw!.high, raw!.low, raw!.close].map(units),
    );
    expect(sample.trades).toBe(Number(raw!.n));
  });

  it('gives an empty list for an unknown asset', async () => {
    const res = await stack.gql(`{ marketData(assetId: "NOPE", interval: DAY) { bucket } }`);
    expect(res.data!.marketData).toEqual([]);
  });
});

describe('similar assets', () => {
  it('finds nearest assets by id (excluding itself) and by embedding', async () => {
    const byId = await stack.gql(`{ similarAssets(assetId: "USDC", k: 3) { score asset { id } } }`);
    const ids = byId.data!.similarAssets.map((s: any) => s.asset.id);
    expect(ids).toHaveLength(3);
    expect(ids).not.toContain('USDC');
    // The demo embeddings cluster by category: USDC's neighbours are stablecoins.
    for (const id of ids) expect(['USDT', 'DAI', 'FRAX', 'LUSD']).toContain(id);
    const scores = byId.data!.similarAssets.map((s: any) => s.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);

    const embedding = demoEmbedding('LINK', stack.tiers.vector.dimensions);
    const byVector = await stack.gql(
      `query($e: [Float!]) { similarAssets(embedding: $e, k: 2) { score asset { id symbol } } }`,
      { e: embedding },
    );
    expect(byVector.data!.similarAssets[0].asset.id).toBe('LINK');
    expect(byVector.data!.similarAssets[0].score).toBeCloseTo(1, 6);
  });
});

describe('protocol analytics', () => {
  it('joins Postgres metadata with ClickHouse volume and TVL series', async () => {
    const res = await stack.gql(
      `{ protocolAnalytics(protocolId: "aave-v3") { protocol { name category tvlUsd } totalVolumeUsd transactionCount volume { day volumeUsd transactions } tvl { ts tvlUsd } } }`,
    );
    const a = res.data!.protocolAnalytics;
    expect(a.protocol.name).toBe('Aave v3');
    const [pgTotals] = await stack.tiers.postgres.query<{ total: string; n: number }>(
      `SELECT coalesce(sum(value_usd), 0)::text AS total, count(*)::int AS n FROM transaction_history WHERE protocol_id = 'aave-v3' AND occurred_at >= now() - interval '30 days'`,
    );
    expect(units(a.totalVolumeUsd)).toBe(units(pgTotals!.total));
    expect(a.transactionCount).toBe(pgTotals!.n);
    expect(a.tvl.length).toBeGreaterThan(24 * 29);
    expect(
      (await stack.gql(`{ protocolAnalytics(protocolId: "nope") { totalVolumeUsd } }`)).data!.protocolAnalytics,
    ).toBeNull();
  });
});

describe('analytics from the ClickHouse replicas', () => {
  it("counts a protocol's holders and the value of their positions from the holdings replica", async () => {
    const res = await stack.gql(`{ protocolAnalytics(protocolId: "aave-v3") { holders positionsValueUsd } }`);
    const [pg] = await stack.tiers.postgres.query<{ holders: number; value: string }>(
      `SELECT count(DISTINCT user_id)::int AS holders, coalesce(sum(value_usd), 0)::text AS value FROM portfolio_holdings WHERE protocol_id = 'aave-v3'`,
    );
    expect(res.data!.protocolAnalytics.holders).toBe(pg!.holders);
    expect(units(res.data!.protocolAnalytics.positionsValueUsd)).toBe(units(pg!.value));
  });

  it('ranks protocols by 30-day volume, optionally within a category', async () => {
    const res = await stack.gql(
      `{ all: protocolRankings(first: 12) { rank volumeUsd transactions protocol { id category } } dex: protocolRankings(category: "dex") { protocol { id category } } }`,
    );
    const expected = await stack.tiers.postgres.query<{ id: string; volume: string; n: number }>(
      `SELECT protocol_id AS id, sum(value_usd)::text AS volume, count(*)::int AS n FROM transaction_history
       WHERE protocol_id IS NOT NULL AND occurred_at >= now() - interval '30 days' GROUP BY protocol_id ORDER BY sum(value_usd) DESC, protocol_id`,
    );
    const all = res.data!.all;
    expect(all.map((r: any) => r.protocol.id)).toEqual(expected.map((e) => e.id));
    expect(all.map((r: any) => r.rank)).toEqual(expected.map((_, i) => i + 1));
    all.forEach((r: any, i: number) => {
      expect(units(r.volumeUsd)).toBe(units(expected[i]!.volume));
      expect(r.transactions).toBe(expected[i]!.n);
    });
    const dex = res.data!.dex.map((r: any) => r.protocol);
    expect(dex.length).toBeGreaterThan(0);
    for (const p of dex) expect(p.category).toBe('dex');
    expect(dex.map((p: any) => p.id)).toEqual(
      all.filter((r: any) => r.protocol.category === 'dex').map((r: any) => r.protocol.id),
    );
  });
});

/**
 * Deterministic demo data: the same ids, quantities and prices on every machine (a fixed
 * PRNG seed; timestamps are relative to the seed time). Loaded only into an empty database.
 * The user `demo` holds 24 assets; the user `whale` holds 50 positions (the benchmark's portfolio).
 */
import { writeDailyMetrics } from '../domain/market.ts';
import { computePriceStats, storeHotPrices } from '../domain/prices.ts';
import { formatDecimal, multiplyDecimals } from '../lib/decimal.ts';
import type { Logger } from '../lib/logger.ts';
import { backfillTable } from '../changelog/backfill.ts';
import { chTime } from '../stores/clickhouse.ts';
import type { Tiers } from '../stores/tiers.ts';

/** mulberry32: a tiny deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Category = 'major' | 'stable' | 'defi' | 'lst' | 'l2' | 'meme';
/** [id, name, chain, category, starting price in USD cents] */
const ASSETS: ReadonlyArray<readonly [string, string, string, Category, number]> = [
  ['ETH', 'Ether', 'ethereum', 'major', 320_000],
  ['WBTC', 'Wrapped Bitcoin', 'ethereum', 'major', 9_500_000],
  ['SOL', 'Solana', 'solana', 'major', 18_000],
  ['BNB', 'BNB', 'bsc', 'major', 60_000],
  ['AVAX', 'Avalanche', 'avalanche', 'major', 3_500],
  ['ATOM', 'Cosmos', 'cosmos', 'major', 900],
  ['NEAR', 'NEAR Protocol', 'near', 'major', 500],
  ['USDC', 'USD Coin', 'ethereum', 'stable', 100],
  ['USDT', 'Tether', 'ethereum', 'stable', 100],
  ['DAI', 'Dai', 'ethereum', 'stable', 100],
  ['FRAX', 'Frax', 'ethereum', 'stable', 100],
  ['LUSD', 'Liquity USD', 'ethereum', 'stable', 100],
  ['UNI', 'Uniswap', 'ethereum', 'defi', 1_000],
  ['AAVE', 'Aave', 'ethereum', 'defi', 17_000],
  ['MKR', 'Maker', 'ethereum', 'defi', 180_000],
  ['COMP', 'Compound', 'ethereum', 'defi', 5_500],
  ['CRV', 'Curve DAO', 'ethereum', 'defi', 45],
  ['LDO', 'Lido DAO', 'ethereum', 'defi', 180],
  ['SNX', 'Synthetix', 'ethereum', 'defi', 250],
  ['SUSHI', 'SushiSwap', 'ethereum', 'defi', 110],
  ['BAL', 'Balancer', 'ethereum', 'defi', 300],
  ['YFI', 'yearn.finance', 'ethereum', 'defi', 700_000],
  ['LINK', 'Chainlink', 'ethereum', 'defi', 1_500],
  ['GMX', 'GMX', 'arbitrum', 'defi', 2_800],
  ['PENDLE', 'Pendle', 'ethereum', 'defi', 450],
  ['DYDX', 'dYdX', 'ethereum', 'defi', 190],
  ['STETH', 'Lido Staked Ether', 'ethereum', 'lst', 319_000],
  ['RETH', 'Rocket Pool Ether', 'ethereum', 'lst', 350_000],
  ['CBETH', 'Coinbase Wrapped Staked Ether', 'ethereum', 'lst', 340_000],
  ['WSTETH', 'Wrapped stETH', 'ethereum', 'lst', 375_000],
  ['ARB', 'Arbitrum', 'arbitrum', 'l2', 110],
  ['OP', 'Optimism', 'optimism', 'l2', 230],
  ['MATIC', 'Polygon', 'polygon', 'l2', 70],
  ['IMX', 'Immutable', 'ethereum', 'l2', 200],
  ['STRK', 'Starknet', 'starknet', 'l2', 60],
  ['DOGE', 'Dogecoin', 'dogecoin', 'meme', 15],
  ['SHIB', 'Shiba Inu', 'ethereum', 'meme', 1],
  ['PEPE', 'Pepe', 'ethereum', 'meme', 1],
  ['WIF', 'dogwifhat', 'solana', 'meme', 250],
  ['BONK', 'Bonk', 'solana', 'meme', 1],
];

/** [id, name, category, chain, TVL in USD millions] */
const PROTOCOLS: ReadonlyArray<readonly [string, string, string, string, number]> = [
  ['uniswap-v3', 'Uniswap v3', 'dex', 'ethereum', 4_200],
  ['aave-v3', 'Aave v3', 'lending', 'ethereum', 11_000],
  ['compound-v3', 'Compound v3', 'lending', 'ethereum', 2_100],
  ['curve', 'Curve', 'dex', 'ethereum', 2_300],
  ['lido', 'Lido', 'liquid-staking', 'ethereum', 28_000],
  ['makerdao', 'MakerDAO', 'cdp', 'ethereum', 6_500],
  ['balancer', 'Balancer', 'dex', 'ethereum', 900],
  ['convex', 'Convex', 'yield', 'ethereum', 1_600],
  ['gmx', 'GMX', 'derivatives', 'arbitrum', 500],
  ['pendle', 'Pendle', 'yield', 'ethereum', 4_500],
  ['yearn', 'Yearn', 'yield', 'ethereum', 300],
  ['rocket-pool', 'Rocket Pool', 'liquid-staking', 'ethereum', 3_000],
];

const CATEGORY_AXIS: Record<Category, number> = { major: 0, stable: 1, defi: 2, lst: 3, l2: 4, meme: 5 };
const TX_TYPES = ['DEPOSIT', 'WITHDRAW', 'SWAP', 'STAKE', 'UNSTAKE', 'BORROW', 'REPAY', 'CLAIM', 'TRANSFER'] as const;
const TICK_MS = 5 * 60 * 1000;
const WEEK_MS = 7 * 24 * 3600 * 1000;
const PRICE_UNITS = 100_000_000; // prices are walked in integer units of 1e-8 USD

/** Deterministic embedding: the asset's category axis plus seeded noise, so similar assets cluster. */
export function demoEmbedding(assetId: string, dimensions: number): number[] {
  const entry = ASSETS.find((a) => a[0] === assetId);
  let seed = 0;
  for (const ch of assetId) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  const random = prng(seed);
  const vector = Array.from({ length: dimensions }, () => random() * 0.6 - 0.3);
  if (entry) vector[CATEGORY_AXIS[entry[3]] % dimensions]! += 2;
  return vector;
}

function unitsToDecimal(units: number): string {
  return formatDecimal((BigInt(units) * 10n ** 18n) / BigInt(PRICE_UNITS));
}

/** Loads the demo data set into empty tiers; returns false (and writes nothing) if users already exist. */
export async function seedDemoData(options: {
  tiers: Tiers;
  logger: Logger;
  now?: Date;
  users?: number;
}): Promise<boolean> {
  const { tiers, logger } = options;
  const [{ n = 0 } = {}] = await tiers.postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  if (n > 0) {
    // Data directories from before embeddings lived in Postgres: give their assets the demo ones.
    await ensureEmbeddings(tiers);
    return false;
  }
  const started = Date.now();
  const random = prng(20261125);
  const end = Math.floor((options.now ?? new Date()).getTime() / TICK_MS) * TICK_MS;
  const userCount = options.users ?? 48;

  // Price ticks: a random walk per asset over the last week, in integer units.
  const ticks: Array<{ asset_id: string; ts: string; price: string; volume: string }> = [];
  const lastPrice = new Map<string, string>();
  for (const [id, , , category, cents] of ASSETS) {
    let units = cents * (PRICE_UNITS / 100);
    const volatility = category === 'stable' ? 0.0004 : category === 'meme' ? 0.02 : 0.006;
    for (let t = end - WEEK_MS; t <= end; t += TICK_MS) {
      const step = Math.round(units * volatility * (random() * 2 - 1));
      units =
        category === 'stable'
          ? Math.round(PRICE_UNITS + (units + step - PRICE_UNITS) * 0.9)
          : Math.max(1, units + step);
      ticks.push({
        asset_id: id,
        ts: chTime(new Date(t)),
        price: unitsToDecimal(units),
        volume: String(Math.round(random() * 1_000_000)),
      });
    }
    lastPrice.set(id, unitsToDecimal(units));
  }

  await tiers.postgres.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO assets (id, symbol, name, chain) SELECT * FROM unnest($1::text[], $1::text[], $2::text[], $3::text[])`,
      [ASSETS.map((a) => a[0]), ASSETS.map((a) => a[1]), ASSETS.map((a) => a[2])],
    );
    await tx.query(
      `INSERT INTO protocols (id, name, category, chain, website, tvl_usd) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[])`,
      [
        PROTOCOLS.map((p) => p[0]),
        PROTOCOLS.map((p) => p[1]),
        PROTOCOLS.map((p) => p[2]),
        PROTOCOLS.map((p) => p[3]),
        PROTOCOLS.map((p) => `https://${p[0]}.example`),
        PROTOCOLS.map((p) => String(p[4] * 1_000_000)),
      ],
    );
    const handles = [
      'demo',
      'whale',
      ...Array.from({ length: userCount - 2 }, (_, i) => `user${String(i + 1).padStart(2, '0')}`),
    ];
    await tx.query(`INSERT INTO users (handle, display_name) SELECT h, initcap(h) FROM unnest($1::text[]) AS h`, [
      handles,
    ]);
    const users = await tx.query<{ id: string; handle: string }>(
      'SELECT id::text AS id, handle FROM users ORDER BY id',
    );

    const holdings: Array<[string, string, string | null, string, string]> = [];
    const position = (userId: string, assetId: string, protocolId: string | null) => {
      const quantity = formatDecimal(BigInt(Math.round(random() * 1e6)) * 10n ** 14n + 10n ** 16n); // 0.01 .. 100
      holdings.push([userId, assetId, protocolId, quantity, multiplyDecimals(quantity, lastPrice.get(assetId)!)]);
    };
    for (const user of users) {
      if (user.handle === 'demo')
        ASSETS.slice(0, 24).forEach((a, i) =>
          position(user.id, a[0], i % 3 === 0 ? null : PROTOCOLS[i % PROTOCOLS.length]![0]),
        );
      else if (user.handle === 'whale')
        (ASSETS.slice(0, 50).forEach((a) => position(user.id, a[0], null)),
          ASSETS.slice(0, 10).forEach((a, i) => position(user.id, a[0], PROTOCOLS[i]![0])));
      else {
        const count = 3 + Math.floor(random() * 10);
        const start = Math.floor(random() * ASSETS.length);
        for (let i = 0; i < count; i++)
          position(
            user.id,
            ASSETS[(start + i) % ASSETS.length]![0],
            random() < 0.5 ? null : PROTOCOLS[Math.floor(random() * PROTOCOLS.length)]![0],
          );
      }
    }
    await tx.query(
      `INSERT INTO portfolio_holdings (user_id, asset_id, protocol_id, quantity, value_usd) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::numeric[], $5::numeric[])`,
      [0, 1, 2, 3, 4].map((c) => holdings.map((h) => h[c])),
    );

    const txs: Array<[string, string, string | null, string, string, string, string, string]> = [];
    for (const user of users) {
      const count = user.handle === 'demo' || user.handle === 'whale' ? 120 : 10 + Math.floor(random() * 30);
      for (let i = 0; i < count; i++) {
        const asset = ASSETS[Math.floor(random() * ASSETS.length)]!;
        const amount = formatDecimal(BigInt(Math.round(random() * 1e6)) * 10n ** 14n + 10n ** 15n);
        const hash = '0x' + Array.from({ length: 64 }, () => Math.floor(random() * 16).toString(16)).join('');
        const at = new Date(end - Math.floor(random() * WEEK_MS)).toISOString();
        txs.push([
          user.id,
          asset[0],
          random() < 0.2 ? null : PROTOCOLS[Math.floor(random() * PROTOCOLS.length)]![0],
          TX_TYPES[Math.floor(random() * TX_TYPES.length)]!,
          amount,
          multiplyDecimals(amount, lastPrice.get(asset[0])!),
          hash,
          at,
        ]);
      }
    }
    await tx.query(
      `INSERT INTO transaction_history (user_id, asset_id, protocol_id, type, amount, value_usd, tx_hash, occurred_at)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], $7::text[], $8::timestamptz[])`,
      [0, 1, 2, 3, 4, 5, 6, 7].map((c) => txs.map((t) => t[c])),
    );
  });

  await tiers.clickhouse.insert('price_data_raw', ticks);
  const tvl: Array<{ protocol_id: string; ts: string; tvl_usd: string }> = [];
  for (const [id, , , , millions] of PROTOCOLS) {
    let units = millions * 1_000_000;
    for (let t = end - 30 * 24 * 3600 * 1000; t <= end; t += 3600 * 1000) {
      units = Math.max(1, Math.round(units * (1 + (random() * 2 - 1) * 0.01)));
      tvl.push({ protocol_id: id, ts: chTime(new Date(t)), tvl_usd: String(units) });
    }
  }
  await tiers.clickhouse.insert('protocol_tvl', tvl);
  for (const table of ['protocols', 'portfolio_holdings', 'transaction_history']) {
    await backfillTable({ postgres: tiers.postgres, clickhouse: tiers.clickhouse, table, batchSize: 5_000 });
  }
  await storeHotPrices(
    tiers.hot,
    await computePriceStats(
      tiers.clickhouse,
      ASSETS.map((a) => a[0]),
    ),
  );
  const days = Array.from({ length: 8 }, (_, i) => new Date(end - i * 24 * 3600 * 1000).toISOString().slice(0, 10));
  await writeDailyMetrics(
    tiers,
    ASSETS.map((a) => a[0]),
    days,
  );
  await ensureEmbeddings(tiers);
  logger.info('demo data loaded', {
    users: userCount,
    assets: ASSETS.length,
    protocols: PROTOCOLS.length,
    ticks: ticks.length,
    ms: Date.now() - started,
  });
  return true;
}

/**
 * The demo embeddings of assets that have none, into Postgres (their source of truth) and the
 * vector index (the seed writes every projection directly, as it backfills the replicas; the
 * worker keeps them in step from then on, and rebuilds an index that lost them).
 */
async function ensureEmbeddings(tiers: Tiers): Promise<void> {
  const missing = await tiers.postgres.query<{ id: string }>(
    'SELECT a.id FROM assets a LEFT JOIN asset_embeddings e ON e.asset_id = a.id WHERE e.asset_id IS NULL ORDER BY a.id',
  );
  if (missing.length === 0) return;
  const points = missing.map((a) => ({ id: a.id, vector: demoEmbedding(a.id, tiers.vector.dimensions) }));
  await tiers.postgres.query(
    `INSERT INTO asset_embeddings (asset_id, embedding)
     SELECT id, string_to_array(v, ',')::float8[] FROM unnest($1::text[], $2::text[]) AS t(id, v)`,
    [points.map((p) => p.id), points.map((p) => p.vector.join(','))],
  );
  await tiers.vector.upsert(points);
}

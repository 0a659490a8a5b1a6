/**
 * Should the uncached portfolio be served from a Redis projection of the holdings (a hash per
 * user, kept by the sync worker) instead of Postgres? Measured side by side in one run on the
 * real servers, for the whale's 50 holdings, 20 concurrent readers, each path as the gateway
 * would have to run it:
 *   A  Postgres: the one statement the portfolio loader sends today (holdings joined with the
 *      user, assets and protocols: every field the query needs);
 *   B  Redis hash (HGETALL, JSON per holding) + Postgres for the assets and protocols the
 *      holdings name (the GraphQL fields need them; the hash holds only the holding rows);
 *   C  Redis hash alone: the floor of B, were assets and protocols also kept hot.
 * The answer decides whether the worker keeps writing `portfolio:{user}` on the path that
 * blocks publishing (README, "Projections and their readers").
 * Usage: node bench/projections.ts [--seconds 5 --concurrency 20]. Writes bench/results/projections.json.
 */
import { Redis } from 'ioredis';
import { seedDemoData } from '../demo/seed.ts';
import { columns } from '../domain/rows.ts';
import { machineLine, numberArg, quantile, saveResults } from './harness.ts';
import { openBenchTiers } from './real-tiers.ts';

const seconds = numberArg('seconds', 5);
const concurrency = numberArg('concurrency', 20);
const { tiers, logger, config, close } = await openBenchTiers({ name: 'projections' });
await seedDemoData({ tiers, logger });
const [{ id: whale }] = (await tiers.postgres.query<{ id: string }>(
  `SELECT id::text AS id FROM users WHERE handle = 'whale'`,
)) as [{ id: string }];
const redis = new Redis(config.redis.url!, { keyPrefix: config.redis.keyPrefix });
const hashKey = `portfolio:${whale}`;

// The projection as the worker kept it before: holding id -> the captured row as JSON.
const holdings = await tiers.postgres.query<Record<string, unknown>>(
  `SELECT id::text AS id, user_id::text AS user_id, asset_id, protocol_id, quantity::text AS quantity, value_usd::text AS value_usd, updated_at FROM portfolio_holdings WHERE user_id = $1`,
  [whale],
);
await redis.hset(hashKey, Object.fromEntries(holdings.map((h) => [String(h['id']), JSON.stringify(h)])));

const JOINED = `SELECT u.id::text AS u_id, u.handle AS u_handle, u.display_name AS u_name, u.created_at AS u_created,
  h.id::text AS h_id, h.asset_id AS h_asset, h.protocol_id AS h_protocol, h.quantity::text AS h_quantity,
  h.value_usd::text AS h_value, h.updated_at AS h_updated,
  a.symbol AS a_symbol, a.name AS a_name, a.chain AS a_chain, a.decimals AS a_decimals,
  p.name AS p_name, p.category AS p_category, p.chain AS p_chain, p.website AS p_website, p.tvl_usd::text AS p_tvl
  FROM users u LEFT JOIN portfolio_holdings h ON h.user_id = u.id LEFT JOIN assets a ON a.id = h.asset_id
  LEFT JOIN protocols p ON p.id = h.protocol_id WHERE u.id = ANY($1::bigint[]) ORDER BY u.id, h.id`;

const paths: Record<string, () => Promise<number>> = {
  'A Postgres join (today)': async () => (await tiers.postgres.query(JOINED, [[whale]])).length,
  'B Redis hash + Postgres assets/protocols': async () => {
    const hash = await redis.hgetall(hashKey);
    const rows = Object.values(hash).map((v) => JSON.parse(v) as { asset_id: string; protocol_id: string | null });
    const assets = [...new Set(rows.map((r) => r.asset_id))];
    const protocols = [...new Set(rows.map((r) => r.protocol_id).filter((p): p is string => p !== null))];
    const [a, p] = await Promise.all([
      tiers.postgres.query(`SELECT ${columns.asset('a')} FROM assets a WHERE a.id = ANY($1::text[])`, [assets]),
      tiers.postgres.query(`SELECT ${columns.protocol('p')} FROM protocols p WHERE p.id = ANY($1::text[])`, [
        protocols,
      ]),
    ]);
    return rows.length + a.length + p.length;
  },
  'C Redis hash alone (floor of B)': async () => Object.keys(await redis.hgetall(hashKey)).length,
};

async function measure(run: () => Promise<number>) {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await run();
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    perSec: Math.round(latencies.length / seconds),
    p50Ms: Math.round(quantile(latencies, 0.5) * 100) / 100,
    p99Ms: Math.round(quantile(latencies, 0.99) * 100) / 100,
  };
}

const rows = [];
for (const [name, run] of Object.entries(paths)) {
  for (let i = 0; i < 200; i++) await run(); // warm-up
  rows.push({ path: name, ...(await measure(run)) });
}
redis.disconnect();
await close();

saveResults('projections', { seconds, concurrency, rows });
process.stdout.write(
  `\nMachine: ${machineLine}; ${concurrency} concurrent readers, ${seconds} s per path, one run\n\n`,
);
process.stdout.write("| read path for the whale's 50 holdings | reads/s | p50 ms | p99 ms |\n|---|---:|---:|---:|\n");
for (const r of rows) process.stdout.write(`| ${r.path} | ${r.perSec} | ${r.p50Ms} | ${r.p99Ms} |\n`);

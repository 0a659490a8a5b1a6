/**
 * Market data ingest: validated ticks land in ClickHouse `price_data_raw` in one insert
 * (materialized views keep the candles), the day aggregates are written back to Postgres,
 * the latest prices are refreshed in Redis, and one event per asset goes to the market topic. Used by Mutation.ingestPrices and the ingest CLI.
 */
import { badInput } from '../lib/errors.ts';
import { formatDecimal, parseDecimal } from '../lib/decimal.ts';
import { parseSlugId } from '../lib/ids.ts';
import { chTime } from '../stores/clickhouse.ts';
import type { Tiers } from '../stores/tiers.ts';
import { computePriceStats, storeHotPrices, type PriceStats } from './prices.ts';
import type { PriceEvent } from './events.ts';
import { MARKET_TOPIC } from './topics.ts';
import type { ErrorReporter } from '../lib/metrics.ts';

/** A price tick as a client sends it (unvalidated). */
export interface TickInput {
  readonly assetId: unknown;
  readonly price: unknown;
  readonly volume?: unknown;
  readonly timestamp?: unknown;
}

/** A validated price tick. */
export interface Tick {
  readonly assetId: string;
  readonly price: string;
  readonly volume: string;
  readonly ts: Date;
}

const MAX_FUTURE_MS = 3_600_000;
const EARLIEST_TICK_MS = Date.UTC(2000, 0, 1);

/** Most ticks one call accepts; larger feeds go through the batch ingest command. */
export const MAX_TICKS_PER_CALL = 10_000;

/** Validates every tick before anything is written: one bad tick rejects the whole call. */
export function parseTicks(input: readonly TickInput[], now = new Date()): Tick[] {
  if (input.length === 0) throw badInput('INVALID_ARGUMENT', 'ticks must not be empty', { field: 'ticks' });
  if (input.length > MAX_TICKS_PER_CALL)
    throw badInput('INVALID_ARGUMENT', `at most ${MAX_TICKS_PER_CALL} ticks per call, got ${input.length}`, {
      field: 'ticks',
    });
  return input.map((tick, i) => {
    const field = `ticks[${i}]`;
    const price = parseDecimal(tick.price, `${field}.price`);
    if (price <= 0n) throw badInput('INVALID_DECIMAL', `${field}.price must be positive`, { field: `${field}.price` });
    const volume =
      tick.volume === undefined || tick.volume === null ? 0n : parseDecimal(tick.volume, `${field}.volume`);
    if (volume < 0n)
      throw badInput('INVALID_DECIMAL', `${field}.volume must not be negative`, { field: `${field}.volume` });
    const ts =
      tick.timestamp instanceof Date
        ? tick.timestamp
        : tick.timestamp === undefined || tick.timestamp === null
          ? now
          : new Date(String(tick.timestamp));
    if (Number.isNaN(ts.getTime()))
      throw badInput('INVALID_ARGUMENT', `${field}.timestamp is not a valid time`, { field: `${field}.timestamp` });
    // A far-future tick would stay the latest price for ever; a small clock skew is tolerated.
    if (ts.getTime() > now.getTime() + MAX_FUTURE_MS || ts.getTime() < EARLIEST_TICK_MS) {
      throw badInput('INVALID_ARGUMENT', `${field}.timestamp must be between 2000-01-01 and one hour from now`, {
        field: `${field}.timestamp`,
      });
    }
    return {
      assetId: parseSlugId(tick.assetId, `${field}.assetId`),
      price: formatDecimal(price),
      volume: formatDecimal(volume),
      ts,
    };
  });
}

/** Writes validated ticks to every tier that needs them; returns the refreshed latest prices. */
export async function ingestTicks(
  tiers: Tiers,
  ticks: readonly Tick[],
  report: ErrorReporter,
): Promise<Map<string, PriceStats>> {
  const assetIds = [...new Set(ticks.map((t) => t.assetId))];
  const known = await tiers.postgres.query<{ id: string }>('SELECT id FROM assets WHERE id = ANY($1::text[])', [
    assetIds,
  ]);
  const unknown = assetIds.filter((id) => !known.some((k) => k.id === id));
  if (unknown.length > 0)
    throw badInput('NOT_FOUND', `Unknown asset ids: ${unknown.join(', ')}`, { assetIds: unknown });

  await tiers.clickhouse.insert(
    'price_data_raw',
    ticks.map((t) => ({ asset_id: t.assetId, ts: chTime(t.ts), price: t.price, volume: t.volume })),
  );
  const stats = await computePriceStats(tiers.clickhouse, assetIds);
  // Redis holds a cache of ClickHouse: if it is down, readers fall back to ClickHouse.
  await storeHotPrices(tiers.hot, stats).catch((error: unknown) => report('market.hot-prices', error));
  // Live prices first; the day aggregates for Postgres follow (subscribers need not wait for them).
  await tiers.bus.publish(
    MARKET_TOPIC,
    [...stats].map(([assetId, s]) => ({ key: assetId, value: JSON.stringify({ assetId, ...s } satisfies PriceEvent) })),
  );
  const days = [...new Set(ticks.map((t) => t.ts.toISOString().slice(0, 10)))];
  await writeDailyMetrics(tiers, assetIds, days);
  return stats;
}

/**
 * Copies the day candles of the given assets and days from ClickHouse into Postgres
 * `asset_daily_metrics` (one read, one upsert): ClickHouse computes, Postgres can join.
 */
export async function writeDailyMetrics(
  tiers: Pick<Tiers, 'clickhouse' | 'postgres'>,
  assetIds: readonly string[],
  days: readonly string[],
): Promise<number> {
  if (assetIds.length === 0 || days.length === 0) return 0;
  const rows = await tiers.clickhouse.query<{
    asset_id: string;
    day: string;
    open: string;
    high: string;
    low: string;
    close: string;
    volume: string;
    trades: string;
  }>(
    `SELECT asset_id, toString(toDate(bucket)) AS day, toString(argMinMerge(open)) AS open, toString(max(high)) AS high, toString(min(low)) AS low,
            toString(argMaxMerge(close)) AS close, toString(sum(volume)) AS volume, toString(sum(trades)) AS trades
     FROM candles_1d
     WHERE asset_id IN {assetIds:Array(String)} AND toDate(bucket) IN {days:Array(Date)}
     GROUP BY asset_id, bucket`,
    { assetIds: [...assetIds], days: [...days] },
  );
  if (rows.length === 0) return 0;
  const column = (k: keyof (typeof rows)[number]) => rows.map((r) => r[k]);
  await tiers.postgres.query(
    `INSERT INTO asset_daily_metrics (asset_id, day, open, high, low, close, volume, trades)
     SELECT * FROM unnest($1::text[], $2::date[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[], $8::bigint[])
     ON CONFLICT (asset_id, day) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
       volume = EXCLUDED.volume, trades = EXCLUDED.trades, updated_at = now()`,
    [
      column('asset_id'),
      column('day'),
      column('open'),
      column('high'),
      column('low'),
      column('close'),
      column('volume'),
      column('trades'),
    ],
  );
  return rows.length;
}

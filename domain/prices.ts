/**
 * Latest prices: hot in Redis (`price:{assetId}`), computed from ClickHouse ticks when
 * missing. Shared by the gateway (Asset.latestPrice, mutations) and the market-data flow.
 */
import { formatDecimal, parseDecimal } from '../lib/decimal.ts';
import type { Clickhouse } from '../stores/clickhouse.ts';
import type { HotStore } from '../stores/hot.ts';
import type { ErrorReporter } from '../lib/metrics.ts';

/** An asset's latest price and 24 h change, as kept hot. */
export interface PriceStats {
  readonly price: string;
  /** Percent change over 24 h, 6 places; null without a tick 24 h ago. */
  readonly change24h: string | null;
  /** Time of the latest tick, ISO-8601. */
  readonly ts: string;
}

/** The hot-data key of an asset's latest price. */
export const priceKey = (assetId: string) => `price:${assetId}`;

/** How long a hot price lives without a refresh; the ClickHouse fallback covers expiry. */
export const HOT_PRICE_TTL_MS = 6 * 60 * 60 * 1000;

/** (last - previous) / previous x 100, exact to 6 places, on decimal strings. */
export function percentChange(last: string, previous: string): string | null {
  const prev = parseDecimal(previous);
  if (prev === 0n) return null;
  const diff = parseDecimal(last) - prev;
  // Scale to 18 places, then round half away from zero to 6 places.
  const scaled = (diff * 100n * 10n ** 18n) / prev;
  const step = 10n ** 12n;
  const rounded = (scaled >= 0n ? scaled + step / 2n : scaled - step / 2n) / step;
  return formatDecimal(rounded * step);
}

/** One ClickHouse statement for any number of assets: latest price and the price 24 h earlier. */
export async function computePriceStats(
  clickhouse: Clickhouse,
  assetIds: readonly string[],
): Promise<Map<string, PriceStats>> {
  if (assetIds.length === 0) return new Map();
  const rows = await clickhouse.query<{
    asset_id: string;
    last: string;
    prev: string;
    has_prev: number | string;
    ts_ms: string;
  }>(
    `SELECT asset_id,
            toString(argMax(price, ts)) AS last,
            toString(argMaxIf(price, ts, ts <= latest - INTERVAL 24 HOUR)) AS prev,
            countIf(ts <= latest - INTERVAL 24 HOUR) > 0 AS has_prev,
            toString(toUnixTimestamp64Milli(max(ts))) AS ts_ms
     FROM price_data_raw
     INNER JOIN (SELECT asset_id, max(ts) AS latest FROM price_data_raw WHERE asset_id IN {ids:Array(String)} GROUP BY asset_id) AS l USING asset_id
     WHERE asset_id IN {ids:Array(String)} AND ts >= latest - INTERVAL 25 HOUR
     GROUP BY asset_id`,
    { ids: [...assetIds] },
  );
  return new Map(
    rows.map((r) => [
      r.asset_id,
      {
        price: formatDecimal(parseDecimal(r.last)),
        change24h: Number(r.has_prev) ? percentChange(r.last, r.prev) : null,
        ts: new Date(Number(r.ts_ms)).toISOString(),
      },
    ]),
  );
}

/**
 * Reads hot prices; missing ones are computed in ClickHouse and written back to Redis.
 * Redis is a cache here: when it fails, every price comes from ClickHouse and nothing is written back.
 */
export async function loadPriceStats(
  deps: { hot: HotStore; clickhouse: Clickhouse; report: ErrorReporter },
  assetIds: readonly string[],
): Promise<Map<string, PriceStats>> {
  const result = new Map<string, PriceStats>();
  let hotUp = true;
  const values = await deps.hot.mget(assetIds.map(priceKey)).catch((error: unknown) => {
    deps.report('prices.read', error);
    hotUp = false;
    return assetIds.map(() => null);
  });
  const missing: string[] = [];
  values.forEach((value, i) => {
    const id = assetIds[i]!;
    if (value === null) missing.push(id);
    else result.set(id, JSON.parse(value) as PriceStats);
  });
  if (missing.length > 0) {
    const computed = await computePriceStats(deps.clickhouse, missing);
    // Only where no newer price arrived meanwhile: an ingest may have written one after our read.
    if (hotUp) {
      await storeHotPrices(deps.hot, computed, { onlyIfAbsent: true }).catch((error: unknown) =>
        deps.report('prices.refill', error),
      );
    }
    for (const [id, stats] of computed) result.set(id, stats);
  }
  return result;
}

/**
 * Writes price stats to Redis in one round trip. `onlyIfAbsent` (SET NX) is for refills computed
 * from an earlier read: they must never overwrite a price an ingest wrote since.
 */
export async function storeHotPrices(
  hot: HotStore,
  stats: ReadonlyMap<string, PriceStats>,
  options: { onlyIfAbsent?: boolean } = {},
): Promise<void> {
  await hot.mset(
    [...stats].map(([id, s]) => ({
      key: priceKey(id),
      value: JSON.stringify(s),
      ttlMs: HOT_PRICE_TTL_MS,
      onlyIfAbsent: options.onlyIfAbsent,
    })),
  );
}

/**
 * The latest prices in Redis (hot data) checked against what ClickHouse computes from the
 * ticks. An absent price is not an error (readers compute it on a miss and the worker rebuilds
 * a Redis that lost its data); a price older than ClickHouse's newest tick is stale. A tick
 * ingested while the check runs is not drift: each stale candidate is read again from Redis
 * after ClickHouse answered, and only a price still older than ClickHouse's is reported.
 */
import { computePriceStats, priceKey, storeHotPrices, type PriceStats } from '../../domain/prices.ts';
import type { Clickhouse } from '../../stores/clickhouse.ts';
import type { HotStore } from '../../stores/hot.ts';
import type { Queryable } from '../../stores/postgres.ts';

/** What the check found. */
export interface HotDataCheck {
  readonly isValid: boolean;
  readonly checked: number;
  readonly absent: readonly string[];
  readonly stale: readonly string[];
}

const read = async (hot: HotStore, ids: readonly string[]) =>
  (await hot.mget(ids.map(priceKey))).map((v) => (v === null ? null : (JSON.parse(v) as PriceStats)));

/** Whether `hot` is older than or different from `truth` for the same latest tick. */
const isStale = (hot: PriceStats, truth: PriceStats) =>
  hot.ts < truth.ts || (hot.ts === truth.ts && hot.price !== truth.price);

/** Checks every asset's hot price; `repair` rewrites stale ones from ClickHouse. */
export async function validateHotData(deps: {
  postgres: Queryable;
  clickhouse: Clickhouse;
  hot: HotStore;
  repair?: boolean;
}): Promise<HotDataCheck> {
  const ids = (await deps.postgres.query<{ id: string }>('SELECT id FROM assets ORDER BY id')).map((r) => r.id);
  const truth = await computePriceStats(deps.clickhouse, ids);
  const first = await read(deps.hot, ids);
  const absent: string[] = [];
  const candidates: string[] = [];
  ids.forEach((id, i) => {
    const hot = first[i];
    const expected = truth.get(id);
    if (!expected) return;
    if (!hot) absent.push(id);
    else if (isStale(hot, expected)) candidates.push(id);
  });
  const again = await read(deps.hot, candidates);
  const stale = candidates.filter((id, i) => {
    const hot = again[i];
    return hot !== null && hot !== undefined && isStale(hot, truth.get(id)!);
  });
  if (deps.repair && stale.length > 0) {
    await storeHotPrices(deps.hot, new Map(stale.map((id) => [id, truth.get(id)!])));
  }
  return { isValid: stale.length === 0, checked: ids.length, absent, stale };
}

/** ClickHouse statements of the analytics fields; every value is a `{name:Type}` parameter. */
import { chTime, type Clickhouse } from '../../stores/clickhouse.ts';

export type IntervalName = 'MINUTE' | 'HOUR' | 'DAY';

const CANDLE_TABLE: Record<IntervalName, string> = { MINUTE: 'candles_1m', HOUR: 'candles_1h', DAY: 'candles_1d' };

export interface CandleRow {
  readonly bucket: Date;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  readonly trades: number;
}

/** Candles from the materialized views' AggregatingMergeTree tables, merged at read time. */
export async function queryCandles(
  clickhouse: Clickhouse,
  args: { assetId: string; interval: IntervalName; from: Date; to: Date },
): Promise<CandleRow[]> {
  const rows = await clickhouse.query<{
    bucket_ms: string;
    open: string;
    high: string;
    low: string;
    close: string;
    volume: string;
    trades: string;
  }>(
    `SELECT toString(toUnixTimestamp(bucket) * 1000) AS bucket_ms,
            toString(argMinMerge(open)) AS open, toString(max(high)) AS high, toString(min(low)) AS low,
            toString(argMaxMerge(close)) AS close, toString(sum(volume)) AS volume, toString(sum(trades)) AS trades
     FROM ${CANDLE_TABLE[args.interval]}
     WHERE asset_id = {assetId:String} AND bucket >= {from:DateTime64(3, 'UTC')} AND bucket < {to:DateTime64(3, 'UTC')}
     GROUP BY bucket ORDER BY bucket`,
    { assetId: args.assetId, from: chTime(args.from), to: chTime(args.to) },
  );
  return rows.map((r) => ({ ...r, bucket: new Date(Number(r.bucket_ms)), trades: Number(r.trades) }));
}

export interface VolumeRow {
  readonly day: Date;
  readonly volumeUsd: string;
  readonly transactions: number;
}

/** Daily volume of many protocols from the transaction replica (FINAL: the current version of each row). */
export async function queryProtocolVolume(
  clickhouse: Clickhouse,
  args: { protocolIds: readonly string[]; since: Date },
): Promise<Map<string, VolumeRow[]>> {
  const rows = await clickhouse.query<{ protocol_id: string; day_ms: string; volume: string; n: string }>(
    `SELECT protocol_id, toString(toUnixTimestamp(toStartOfDay(occurred_at)) * 1000) AS day_ms, toString(sum(value_usd)) AS volume, toString(count()) AS n
     FROM transactions FINAL
     WHERE protocol_id IN {protocolIds:Array(String)} AND _deleted = 0 AND occurred_at >= {since:DateTime64(3, 'UTC')}
     GROUP BY protocol_id, day_ms ORDER BY protocol_id, day_ms`,
    { protocolIds: [...args.protocolIds], since: chTime(args.since) },
  );
  return group(args.protocolIds, rows, (r) => ({
    day: new Date(Number(r.day_ms)),
    volumeUsd: r.volume,
    transactions: Number(r.n),
  }));
}

export interface TvlRow {
  readonly ts: Date;
  readonly tvlUsd: string;
}

/** TVL samples of many protocols. */
export async function queryProtocolTvl(
  clickhouse: Clickhouse,
  args: { protocolIds: readonly string[]; since: Date },
): Promise<Map<string, TvlRow[]>> {
  const rows = await clickhouse.query<{ protocol_id: string; ts_ms: string; tvl: string }>(
    `SELECT protocol_id, toString(toUnixTimestamp64Milli(ts)) AS ts_ms, toString(tvl_usd) AS tvl
     FROM protocol_tvl WHERE protocol_id IN {protocolIds:Array(String)} AND ts >= {since:DateTime64(3, 'UTC')} ORDER BY protocol_id, ts`,
    { protocolIds: [...args.protocolIds], since: chTime(args.since) },
  );
  return group(args.protocolIds, rows, (r) => ({ ts: new Date(Number(r.ts_ms)), tvlUsd: r.tvl }));
}

function group<R extends { protocol_id: string }, T>(
  ids: readonly string[],
  rows: readonly R[],
  map: (row: R) => T,
): Map<string, T[]> {
  const out = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) out.get(row.protocol_id)?.push(map(row));
  return out;
}

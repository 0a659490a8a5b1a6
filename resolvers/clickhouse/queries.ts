/** ClickHouse statements of the analytics fields; every value is a `{name:Type}` parameter. */
import { chTime, type Clickhouse } from '../../stores/clickhouse.ts';

/** Candle intervals. */
export type IntervalName = 'MINUTE' | 'HOUR' | 'DAY';

const CANDLE_TABLE: Record<IntervalName, string> = { MINUTE: 'candles_1m', HOUR: 'candles_1h', DAY: 'candles_1d' };

/** One OHLCV candle. */
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

/** One day of a protocol's volume. */
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

/** One TVL sample of a protocol. */
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

/** One entry of a user's activity feed. */
export interface ActivityRow {
  readonly sequence: string;
  readonly action: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly assetId: string;
  readonly protocolId: string | null;
  readonly quantity: string | null;
  readonly valueUsd: string | null;
  readonly at: Date;
}

/** The latest activity of many users in one statement (`LIMIT n BY user_id`). */
export async function queryActivity(
  clickhouse: Clickhouse,
  args: { userIds: readonly string[]; limit: number },
): Promise<Map<string, ActivityRow[]>> {
  const rows = await clickhouse.query<{
    uid: string;
    seq: string;
    action: ActivityRow['action'];
    asset_id: string;
    protocol_id: string | null;
    quantity: string | null;
    value_usd: string | null;
    ts_ms: string;
  }>(
    `SELECT toString(user_id) AS uid, toString(change_seq) AS seq, action, asset_id, protocol_id,
            if(isNull(quantity), NULL, toString(quantity)) AS quantity, if(isNull(value_usd), NULL, toString(value_usd)) AS value_usd,
            toString(toUnixTimestamp64Milli(ts)) AS ts_ms
     FROM user_activity FINAL
     WHERE user_id IN arrayMap(x -> toUInt64(x), {userIds:Array(String)})
     ORDER BY user_id, change_seq DESC
     LIMIT {limit:UInt32} BY user_id`,
    { userIds: [...args.userIds], limit: args.limit },
  );
  const out = new Map<string, ActivityRow[]>(args.userIds.map((id) => [id, []]));
  for (const r of rows) {
    out.get(r.uid)?.push({
      sequence: r.seq,
      action: r.action,
      assetId: r.asset_id,
      protocolId: r.protocol_id,
      quantity: r.quantity,
      valueUsd: r.value_usd,
      at: new Date(Number(r.ts_ms)),
    });
  }
  return out;
}

/** Holders and value of the positions in a protocol. */
export interface PositionsRow {
  readonly holders: number;
  readonly valueUsd: string;
}

/** Positions of many protocols from the holdings replica (current rows: FINAL, no tombstones). */
export async function queryPositions(
  clickhouse: Clickhouse,
  args: { protocolIds: readonly string[] },
): Promise<Map<string, PositionsRow>> {
  const rows = await clickhouse.query<{ protocol_id: string; holders: string; value: string }>(
    `SELECT assumeNotNull(protocol_id) AS protocol_id, toString(uniqExact(user_id)) AS holders, toString(sum(value_usd)) AS value
     FROM portfolio_holdings FINAL
     WHERE protocol_id IN {protocolIds:Array(String)} AND _deleted = 0
     GROUP BY protocol_id`,
    { protocolIds: [...args.protocolIds] },
  );
  return new Map(rows.map((r) => [r.protocol_id, { holders: Number(r.holders), valueUsd: r.value }]));
}

/** One ranked protocol. */
export interface RankingRow {
  readonly protocolId: string;
  readonly volumeUsd: string;
  readonly transactions: number;
}

/**
 * Protocols by volume since `since`, joining the transaction replica with the protocol
 * replica in ClickHouse (the category filter reads the replica, not Postgres).
 */
export async function queryRankings(
  clickhouse: Clickhouse,
  args: { category: string | null; limit: number; since: Date },
): Promise<RankingRow[]> {
  const rows = await clickhouse.query<{ id: string; volume: string; n: string }>(
    `SELECT p.id AS id, toString(sum(t.value_usd)) AS volume, toString(count()) AS n
     FROM (SELECT protocol_id, value_usd FROM transactions FINAL
           WHERE _deleted = 0 AND protocol_id IS NOT NULL AND occurred_at >= {since:DateTime64(3, 'UTC')}) AS t
     INNER JOIN (SELECT id, category FROM protocols FINAL WHERE _deleted = 0) AS p ON p.id = assumeNotNull(t.protocol_id)
     WHERE {category:Nullable(String)} IS NULL OR p.category = {category:Nullable(String)}
     GROUP BY p.id
     ORDER BY sum(t.value_usd) DESC, p.id
     LIMIT {limit:UInt32}`,
    { category: args.category, limit: args.limit, since: chTime(args.since) },
  );
  return rows.map((r) => ({ protocolId: r.id, volumeUsd: r.volume, transactions: Number(r.n) }));
}

-- Raw price ticks; candles are kept by materialized views, never computed in JavaScript.
CREATE TABLE IF NOT EXISTS price_data_raw (
  asset_id LowCardinality(String),
  ts       DateTime64(3, 'UTC'),
  price    Decimal(38, 18),
  volume   Decimal(38, 18)
) ENGINE = MergeTree ORDER BY (asset_id, ts);

CREATE TABLE IF NOT EXISTS candles_1m (
  asset_id LowCardinality(String),
  bucket   DateTime('UTC'),
  open     AggregateFunction(argMin, Decimal(38, 18), DateTime64(3, 'UTC')),
  high     SimpleAggregateFunction(max, Decimal(38, 18)),
  low      SimpleAggregateFunction(min, Decimal(38, 18)),
  close    AggregateFunction(argMax, Decimal(38, 18), DateTime64(3, 'UTC')),
  -- Summed volume can exceed Decimal(38,18), whose sums wrap silently: 76 digits do not.
  volume   SimpleAggregateFunction(sum, Decimal(76, 18)),
  trades   SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree ORDER BY (asset_id, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS candles_1m_mv TO candles_1m AS
SELECT asset_id, toStartOfMinute(ts) AS bucket,
       argMinState(price, ts) AS open, max(price) AS high, min(price) AS low,
       argMaxState(price, ts) AS close, sum(toDecimal256(volume, 18)) AS volume, count() AS trades
FROM price_data_raw GROUP BY asset_id, bucket;

CREATE TABLE IF NOT EXISTS candles_1h AS candles_1m ENGINE = AggregatingMergeTree ORDER BY (asset_id, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS candles_1h_mv TO candles_1h AS
SELECT asset_id, toStartOfHour(ts) AS bucket,
       argMinState(price, ts) AS open, max(price) AS high, min(price) AS low,
       argMaxState(price, ts) AS close, sum(toDecimal256(volume, 18)) AS volume, count() AS trades
FROM price_data_raw GROUP BY asset_id, bucket;

CREATE TABLE IF NOT EXISTS candles_1d AS candles_1m ENGINE = AggregatingMergeTree ORDER BY (asset_id, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS candles_1d_mv TO candles_1d AS
SELECT asset_id, toStartOfDay(ts) AS bucket,
       argMinState(price, ts) AS open, max(price) AS high, min(price) AS low,
       argMaxState(price, ts) AS close, sum(toDecimal256(volume, 18)) AS volume, count() AS trades
FROM price_data_raw GROUP BY asset_id, bucket;

-- Protocol TVL samples (market data feed), for Query.protocolAnalytics.
CREATE TABLE IF NOT EXISTS protocol_tvl (
  protocol_id LowCardinality(String),
  ts          DateTime64(3, 'UTC'),
  tvl_usd     Decimal(38, 18)
) ENGINE = MergeTree ORDER BY (protocol_id, ts);

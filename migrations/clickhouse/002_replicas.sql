-- Replicas of Postgres rows, written by the sync worker. ReplacingMergeTree keyed by the row's
-- key with the change sequence as version converges whatever the order or repetition of
-- delivery: the highest `_version` wins, and a delete is a row with `_deleted = 1` (a tombstone).
-- Readers use FINAL (or argMax) and filter `_deleted = 0`.
CREATE TABLE IF NOT EXISTS transactions (
  id          UInt64,
  user_id     UInt64,
  asset_id    LowCardinality(String),
  protocol_id Nullable(String),
  type        LowCardinality(String),
  amount      Decimal(38, 18),
  value_usd   Decimal(38, 18),
  tx_hash     Nullable(String),
  occurred_at DateTime64(3, 'UTC'),
  _version    UInt64,
  _deleted    UInt8
) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY id;

CREATE TABLE IF NOT EXISTS portfolio_holdings (
  id          UInt64,
  user_id     UInt64,
  asset_id    LowCardinality(String),
  protocol_id Nullable(String),
  quantity    Decimal(38, 18),
  value_usd   Decimal(38, 18),
  updated_at  DateTime64(3, 'UTC'),
  _version    UInt64,
  _deleted    UInt8
) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY id;

CREATE TABLE IF NOT EXISTS protocols (
  id          String,
  name        String,
  category    LowCardinality(String),
  chain       LowCardinality(String),
  tvl_usd     Decimal(38, 18),
  _version    UInt64,
  _deleted    UInt8
) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY id;

-- Append-only log of portfolio changes (the original design's user activity record).
-- `change_seq` makes a redelivered change recognizable: ReplacingMergeTree on it drops repeats.
CREATE TABLE IF NOT EXISTS user_activity (
  change_seq  UInt64,
  user_id     UInt64,
  action      LowCardinality(String),
  asset_id    LowCardinality(String),
  protocol_id Nullable(String),
  quantity    Nullable(Decimal(38, 18)),
  value_usd   Nullable(Decimal(38, 18)),
  ts          DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree ORDER BY (user_id, change_seq);

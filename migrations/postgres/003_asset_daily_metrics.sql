-- Daily per-asset market aggregates written back from ClickHouse (the original design's
-- "PostgreSQL receives aggregated metrics"), so transactional queries can join them.
CREATE TABLE asset_daily_metrics (
  asset_id    text NOT NULL REFERENCES assets (id),
  day         date NOT NULL,
  open        numeric(38, 18) NOT NULL,
  high        numeric(38, 18) NOT NULL,
  low         numeric(38, 18) NOT NULL,
  close       numeric(38, 18) NOT NULL,
  -- Summed volume may exceed 20 integer digits (ClickHouse keeps it as Decimal(76,18)).
  volume      numeric NOT NULL,
  trades      bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (asset_id, day)
);

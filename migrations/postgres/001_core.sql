-- Source-of-truth tables. Money is numeric(38,18): exact, and the same scale as ClickHouse's Decimal(38,18).
CREATE TABLE users (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  handle       text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9_]{2,32}$'),
  display_name text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assets (
  id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  symbol     text NOT NULL,
  name       text NOT NULL,
  chain      text NOT NULL,
  decimals   integer NOT NULL DEFAULT 18 CHECK (decimals BETWEEN 0 AND 36),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE protocols (
  id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  name       text NOT NULL,
  category   text NOT NULL,
  chain      text NOT NULL,
  website    text,
  tvl_usd    numeric(38, 18) NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE portfolio_holdings (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  asset_id    text NOT NULL REFERENCES assets (id),
  protocol_id text REFERENCES protocols (id),
  quantity    numeric(38, 18) NOT NULL CHECK (quantity >= 0),
  value_usd   numeric(38, 18) NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  -- One position per user, asset and protocol; a wallet position has no protocol.
  CONSTRAINT portfolio_holdings_position UNIQUE NULLS NOT DISTINCT (user_id, asset_id, protocol_id)
);
CREATE INDEX portfolio_holdings_user ON portfolio_holdings (user_id, id);

CREATE TABLE transaction_history (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  asset_id    text NOT NULL REFERENCES assets (id),
  protocol_id text REFERENCES protocols (id),
  type        text NOT NULL CHECK (type IN ('DEPOSIT', 'WITHDRAW', 'SWAP', 'STAKE', 'UNSTAKE', 'BORROW', 'REPAY', 'CLAIM', 'TRANSFER')),
  amount      numeric(38, 18) NOT NULL CHECK (amount > 0),
  value_usd   numeric(38, 18) NOT NULL DEFAULT 0,
  tx_hash     text CHECK (tx_hash ~ '^0x[0-9a-f]{64}$'),
  occurred_at timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination of a user's history, newest first (Query.transactions).
CREATE INDEX transaction_history_user_time ON transaction_history (user_id, occurred_at DESC, id DESC);
CREATE INDEX transaction_history_protocol ON transaction_history (protocol_id, occurred_at);

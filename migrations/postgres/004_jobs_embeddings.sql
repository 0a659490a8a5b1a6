-- Long-running operations (backfill, consistency validation, reconciliation) are jobs: a
-- request enqueues one, a sync worker claims and runs it, and its progress and result stay
-- here as the history of runs. A GraphQL request never does the work itself.
CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE ops.jobs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('BACKFILL', 'VALIDATE', 'RECONCILE')),
  params        jsonb NOT NULL DEFAULT '{}',
  status        text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
  progress      double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  result        jsonb,
  error         text,
  -- Who asked: a user id, 'schedule' (the worker's periodic validation) or 'cli'.
  requested_by  text NOT NULL,
  worker_id     text,
  -- A running job's worker touches this while it works; a stale one is re-queued (its worker died).
  heartbeat_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz
);
CREATE INDEX jobs_queued ON ops.jobs (id) WHERE status = 'QUEUED';
CREATE INDEX jobs_recent ON ops.jobs (created_at DESC);

-- Asset embeddings: Postgres is their source of truth like every other row; the vector index
-- (Qdrant) is a projection the sync worker maintains from their captured changes, so it can be
-- validated against them and rebuilt from them.
CREATE TABLE asset_embeddings (
  asset_id   text PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
  embedding  double precision[] NOT NULL CHECK (cardinality(embedding) > 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

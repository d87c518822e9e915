-- Async predictions: the durable queue that workers on every node claim from.
CREATE TABLE model_predictions (
    id              TEXT PRIMARY KEY NOT NULL,
    model_api_id    TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    upstream_url    TEXT NOT NULL,
    input           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    result          TEXT,
    errors          TEXT NOT NULL DEFAULT '[]',
    token_name      TEXT,
    created_at      INTEGER NOT NULL,
    deadline_at     INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    finished_at     INTEGER
);
-- Only unfinished predictions are looked for by the claimers.
CREATE INDEX model_predictions_due ON model_predictions (next_attempt_at)
    WHERE status IN ('queued', 'running');

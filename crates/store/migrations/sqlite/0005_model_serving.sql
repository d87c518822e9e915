ALTER TABLE model_apis ADD COLUMN active_version INTEGER;

CREATE TABLE model_api_versions (
    model_api_id TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    upstream_url TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (model_api_id, number)
);

-- Access tokens: hashed for verification, sealed (AES-256-GCM) so owners and editors can reveal.
CREATE TABLE model_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    model_api_id TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    sealed       BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX model_tokens_live_name ON model_tokens (model_api_id, name) WHERE revoked_at IS NULL;

CREATE TABLE model_invocations (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    model_api_id TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    version      INTEGER,
    status       INTEGER NOT NULL,
    latency_ms   INTEGER NOT NULL,
    token_name   TEXT
);
CREATE INDEX model_invocations_by_api ON model_invocations (model_api_id, seq);

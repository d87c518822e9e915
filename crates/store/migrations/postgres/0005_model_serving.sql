ALTER TABLE model_apis ADD COLUMN active_version BIGINT;

CREATE TABLE model_api_versions (
    model_api_id TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    number       BIGINT NOT NULL,
    upstream_url TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (model_api_id, number)
);

-- Access tokens: hashed for verification, sealed (AES-256-GCM) so owners and editors can reveal.
CREATE TABLE model_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    model_api_id TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    sealed       BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX model_tokens_live_name ON model_tokens (model_api_id, name) WHERE revoked_at IS NULL;

CREATE TABLE model_invocations (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_api_id TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    version      BIGINT,
    status       BIGINT NOT NULL,
    latency_ms   BIGINT NOT NULL,
    token_name   TEXT
);
CREATE INDEX model_invocations_by_api ON model_invocations (model_api_id, seq);

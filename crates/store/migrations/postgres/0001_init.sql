-- Principals: users and service accounts share names and ids.
CREATE TABLE principals (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('user', 'service_account')),
    user_name     TEXT NOT NULL UNIQUE,
    email         TEXT UNIQUE,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    roles         TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    created_by    TEXT
);

-- Credentials: PATs, service-account tokens and API keys. Only the keyed hash of a secret.
CREATE TABLE credentials (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('pat', 'sa_token', 'api_key')),
    principal_id   TEXT NOT NULL REFERENCES principals (id),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    token_hash     BYTEA NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    lifetime_secs  BIGINT,
    expires_at     BIGINT,
    revoked_at     BIGINT,
    revoked_reason TEXT,
    replaced_by    TEXT,
    last_used_at   BIGINT,
    last_used_ip   TEXT
);

-- A name stays taken until the token is deleted, except by a token rotated away.
CREATE UNIQUE INDEX credentials_live_name ON credentials (principal_id, kind, name)
    WHERE replaced_by IS NULL;
CREATE INDEX credentials_by_principal ON credentials (principal_id, kind);

CREATE TABLE audit_log (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    at              BIGINT NOT NULL,
    actor_id        TEXT,
    actor_name      TEXT,
    actor_ip        TEXT,
    credential_id   TEXT,
    credential_name TEXT,
    action          TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT,
    target_name     TEXT,
    details         TEXT NOT NULL DEFAULT 'null'
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Listings at a million rows (issue 19): every filter and sort order of a listing is served by
-- an index, so that a page costs a page whatever the size of the table.

-- Credentials, newest first (ties by id): all of them, a principal's, the revoked and the live.
-- The partial indexes carry the columns their filters read, so that counts read only them.
DROP INDEX credentials_by_principal;
CREATE INDEX credentials_by_principal ON credentials (principal_id, kind, created_at, id);
CREATE INDEX credentials_by_created ON credentials (kind, created_at, id);
CREATE INDEX credentials_revoked_by_created ON credentials (kind, created_at, id, revoked_at)
    WHERE revoked_at IS NOT NULL;
CREATE INDEX credentials_live_by_created ON credentials (kind, created_at, id, expires_at, revoked_at)
    WHERE revoked_at IS NULL;
-- Expired and ExpiringSoon list by expiry, a range of this index.
CREATE INDEX credentials_live_by_expiry ON credentials (kind, expires_at, id, revoked_at)
    WHERE revoked_at IS NULL;

-- Searches of three characters or more match anywhere in a name (trigram GIN indexes);
-- searches of one or two match the start of a name (pattern-ops B-trees, whatever the
-- database's collation).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX credentials_name_trgm ON credentials USING gin (name gin_trgm_ops);
CREATE INDEX credentials_name_prefix ON credentials (name text_pattern_ops);
CREATE INDEX principals_user_name_trgm ON principals USING gin (user_name gin_trgm_ops);
CREATE INDEX principals_email_trgm ON principals USING gin (lower(coalesce(email, '')) gin_trgm_ops);
CREATE INDEX principals_first_name_trgm ON principals USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX principals_last_name_trgm ON principals USING gin (lower(last_name) gin_trgm_ops);
CREATE INDEX principals_user_name_prefix ON principals (user_name text_pattern_ops);

-- Users or service accounts by name.
CREATE INDEX principals_by_kind ON principals (kind, user_name, id);

-- The audit log, newest first by time then by order of writing, for each filter.
DROP INDEX audit_log_at;
CREATE INDEX audit_log_by_time ON audit_log (at, seq);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_name, at, seq);
CREATE INDEX audit_log_by_actor_id ON audit_log (actor_id, at, seq);
CREATE INDEX audit_log_by_target_id ON audit_log (target_id, at, seq);
CREATE INDEX audit_log_by_target_name ON audit_log (lower(target_name), at, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, at, seq);

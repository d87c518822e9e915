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
-- Searches of one or two characters match the start of a name.
CREATE INDEX credentials_by_name ON credentials (name);

-- Searches of three characters or more match anywhere in a name: FTS5 trigram indexes kept in
-- step with their tables by triggers (external content, joined by rowid).
CREATE VIRTUAL TABLE credentials_name_fts USING fts5 (
    name, content = 'credentials', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO credentials_name_fts (credentials_name_fts) VALUES ('rebuild');
CREATE TRIGGER credentials_name_fts_insert AFTER INSERT ON credentials BEGIN
    INSERT INTO credentials_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;
CREATE TRIGGER credentials_name_fts_delete AFTER DELETE ON credentials BEGIN
    INSERT INTO credentials_name_fts (credentials_name_fts, rowid, name)
        VALUES ('delete', old.rowid, old.name);
END;
CREATE TRIGGER credentials_name_fts_update AFTER UPDATE OF name ON credentials BEGIN
    INSERT INTO credentials_name_fts (credentials_name_fts, rowid, name)
        VALUES ('delete', old.rowid, old.name);
    INSERT INTO credentials_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;

CREATE VIRTUAL TABLE principals_fts USING fts5 (
    user_name, email, first_name, last_name,
    content = 'principals', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO principals_fts (principals_fts) VALUES ('rebuild');
CREATE TRIGGER principals_fts_insert AFTER INSERT ON principals BEGIN
    INSERT INTO principals_fts (rowid, user_name, email, first_name, last_name)
        VALUES (new.rowid, new.user_name, new.email, new.first_name, new.last_name);
END;
CREATE TRIGGER principals_fts_delete AFTER DELETE ON principals BEGIN
    INSERT INTO principals_fts (principals_fts, rowid, user_name, email, first_name, last_name)
        VALUES ('delete', old.rowid, old.user_name, old.email, old.first_name, old.last_name);
END;
CREATE TRIGGER principals_fts_update
    AFTER UPDATE OF user_name, email, first_name, last_name ON principals BEGIN
    INSERT INTO principals_fts (principals_fts, rowid, user_name, email, first_name, last_name)
        VALUES ('delete', old.rowid, old.user_name, old.email, old.first_name, old.last_name);
    INSERT INTO principals_fts (rowid, user_name, email, first_name, last_name)
        VALUES (new.rowid, new.user_name, new.email, new.first_name, new.last_name);
END;

-- Users or service accounts by name.
CREATE INDEX principals_by_kind ON principals (kind, user_name, id);

-- The audit log, newest first by time then by order of writing (every index ends with the
-- rowid, which is seq), for each filter.
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_name, at);
CREATE INDEX audit_log_by_actor_id ON audit_log (actor_id, at);
CREATE INDEX audit_log_by_target_id ON audit_log (target_id, at);
CREATE INDEX audit_log_by_target_name ON audit_log (lower(target_name), at);
CREATE INDEX audit_log_by_action ON audit_log (action, at);

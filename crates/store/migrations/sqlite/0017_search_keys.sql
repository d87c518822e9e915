-- Stable keys for the FTS5 search indexes (issue 19). The trigram tables of 0009 and 0015 were
-- external-content tables joined by `rowid`, but `credentials`, `principals` and `model_apis`
-- have a TEXT primary key, so their rowid is not an INTEGER PRIMARY KEY: SQLite documents that
-- VACUUM may renumber such rowids, and a `.dump` restored into a new file (the sqlite3 shell's
-- backup) or a rebuilt table does renumber them wherever rows were deleted. Every search would
-- then find other rows' entries. Each table now carries `search_key`, an integer that never
-- changes once given (a plain column: VACUUM, dumps and table rebuilds keep it), unique, and the
-- FTS rows are keyed on it (`content_rowid`). Existing rows take their current rowid; a new row
-- takes the largest key plus one, given by its insert trigger before it is indexed. The indexes
-- are rebuilt from the tables, so an upgraded database and a fresh one end the same.

DROP TRIGGER credentials_name_fts_insert;
DROP TRIGGER credentials_name_fts_delete;
DROP TRIGGER credentials_name_fts_update;
DROP TABLE credentials_name_fts;
DROP TRIGGER principals_fts_insert;
DROP TRIGGER principals_fts_delete;
DROP TRIGGER principals_fts_update;
DROP TABLE principals_fts;
DROP TRIGGER model_apis_fts_insert;
DROP TRIGGER model_apis_fts_delete;
DROP TRIGGER model_apis_fts_update;
DROP TABLE model_apis_fts;

-- Credentials: searched by name.
ALTER TABLE credentials ADD COLUMN search_key INTEGER;
UPDATE credentials SET search_key = rowid;
CREATE UNIQUE INDEX credentials_by_search_key ON credentials (search_key);
CREATE VIRTUAL TABLE credentials_name_fts USING fts5 (
    name, content = 'credentials', content_rowid = 'search_key', tokenize = 'trigram'
);
INSERT INTO credentials_name_fts (credentials_name_fts) VALUES ('rebuild');
CREATE TRIGGER credentials_name_fts_insert AFTER INSERT ON credentials BEGIN
    UPDATE credentials SET search_key = (SELECT coalesce(max(search_key), 0) + 1 FROM credentials)
        WHERE rowid = new.rowid AND search_key IS NULL;
    INSERT INTO credentials_name_fts (rowid, name)
        SELECT search_key, name FROM credentials WHERE rowid = new.rowid;
END;
CREATE TRIGGER credentials_name_fts_delete AFTER DELETE ON credentials BEGIN
    INSERT INTO credentials_name_fts (credentials_name_fts, rowid, name)
        VALUES ('delete', old.search_key, old.name);
END;
CREATE TRIGGER credentials_name_fts_update AFTER UPDATE OF name ON credentials BEGIN
    INSERT INTO credentials_name_fts (credentials_name_fts, rowid, name)
        VALUES ('delete', old.search_key, old.name);
    INSERT INTO credentials_name_fts (rowid, name) VALUES (new.search_key, new.name);
END;

-- Principals: searched by user name, email, first and last name.
ALTER TABLE principals ADD COLUMN search_key INTEGER;
UPDATE principals SET search_key = rowid;
CREATE UNIQUE INDEX principals_by_search_key ON principals (search_key);
CREATE VIRTUAL TABLE principals_fts USING fts5 (
    user_name, email, first_name, last_name,
    content = 'principals', content_rowid = 'search_key', tokenize = 'trigram'
);
INSERT INTO principals_fts (principals_fts) VALUES ('rebuild');
CREATE TRIGGER principals_fts_insert AFTER INSERT ON principals BEGIN
    UPDATE principals SET search_key = (SELECT coalesce(max(search_key), 0) + 1 FROM principals)
        WHERE rowid = new.rowid AND search_key IS NULL;
    INSERT INTO principals_fts (rowid, user_name, email, first_name, last_name)
        SELECT search_key, user_name, email, first_name, last_name FROM principals
        WHERE rowid = new.rowid;
END;
CREATE TRIGGER principals_fts_delete AFTER DELETE ON principals BEGIN
    INSERT INTO principals_fts (principals_fts, rowid, user_name, email, first_name, last_name)
        VALUES ('delete', old.search_key, old.user_name, old.email, old.first_name, old.last_name);
END;
CREATE TRIGGER principals_fts_update
    AFTER UPDATE OF user_name, email, first_name, last_name ON principals BEGIN
    INSERT INTO principals_fts (principals_fts, rowid, user_name, email, first_name, last_name)
        VALUES ('delete', old.search_key, old.user_name, old.email, old.first_name, old.last_name);
    INSERT INTO principals_fts (rowid, user_name, email, first_name, last_name)
        VALUES (new.search_key, new.user_name, new.email, new.first_name, new.last_name);
END;

-- Model APIs: searched by name and description.
ALTER TABLE model_apis ADD COLUMN search_key INTEGER;
UPDATE model_apis SET search_key = rowid;
CREATE UNIQUE INDEX model_apis_by_search_key ON model_apis (search_key);
CREATE VIRTUAL TABLE model_apis_fts USING fts5 (
    name, description, content = 'model_apis', content_rowid = 'search_key', tokenize = 'trigram'
);
INSERT INTO model_apis_fts (model_apis_fts) VALUES ('rebuild');
CREATE TRIGGER model_apis_fts_insert AFTER INSERT ON model_apis BEGIN
    UPDATE model_apis SET search_key = (SELECT coalesce(max(search_key), 0) + 1 FROM model_apis)
        WHERE rowid = new.rowid AND search_key IS NULL;
    INSERT INTO model_apis_fts (rowid, name, description)
        SELECT search_key, name, description FROM model_apis WHERE rowid = new.rowid;
END;
CREATE TRIGGER model_apis_fts_delete AFTER DELETE ON model_apis BEGIN
    INSERT INTO model_apis_fts (model_apis_fts, rowid, name, description)
        VALUES ('delete', old.search_key, old.name, old.description);
END;
CREATE TRIGGER model_apis_fts_update AFTER UPDATE OF name, description ON model_apis BEGIN
    INSERT INTO model_apis_fts (model_apis_fts, rowid, name, description)
        VALUES ('delete', old.search_key, old.name, old.description);
    INSERT INTO model_apis_fts (rowid, name, description)
        VALUES (new.search_key, new.name, new.description);
END;

-- A user's model API listing counts the public ones from this index (at most the count's cap
-- of entries), the others from the user's side (see sql/model_apis.rs).
CREATE INDEX model_apis_by_visibility ON model_apis (visibility, name, id);
-- A page's collaborators, read in one query by model API (the unique indexes of 0004 are
-- partial, so a lookup by model API alone could not use them).
CREATE INDEX model_api_collaborators_by_api ON model_api_collaborators (model_api_id, id);

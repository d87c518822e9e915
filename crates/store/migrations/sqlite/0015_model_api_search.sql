-- Model API searches at scale (issue 19): a search of three characters or more finds its
-- candidates in an FTS5 trigram index over the name and the description (external content,
-- kept in step by triggers, joined by rowid); the LIKE test on the row stays the rule.
CREATE VIRTUAL TABLE model_apis_fts USING fts5 (
    name, description, content = 'model_apis', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO model_apis_fts (model_apis_fts) VALUES ('rebuild');
CREATE TRIGGER model_apis_fts_insert AFTER INSERT ON model_apis BEGIN
    INSERT INTO model_apis_fts (rowid, name, description)
        VALUES (new.rowid, new.name, new.description);
END;
CREATE TRIGGER model_apis_fts_delete AFTER DELETE ON model_apis BEGIN
    INSERT INTO model_apis_fts (model_apis_fts, rowid, name, description)
        VALUES ('delete', old.rowid, old.name, old.description);
END;
CREATE TRIGGER model_apis_fts_update AFTER UPDATE OF name, description ON model_apis BEGIN
    INSERT INTO model_apis_fts (model_apis_fts, rowid, name, description)
        VALUES ('delete', old.rowid, old.name, old.description);
    INSERT INTO model_apis_fts (rowid, name, description)
        VALUES (new.rowid, new.name, new.description);
END;

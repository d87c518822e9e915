-- Model API listings at scale (issue 19), in step with SQLite's 0017 (whose search keys for the
-- FTS5 tables PostgreSQL does not need: its trigram indexes are on the rows themselves).
-- A user's model API listing counts the public ones from this index (at most the count's cap
-- of entries), the others from the user's side (see sql/model_apis.rs).
CREATE INDEX model_apis_by_visibility ON model_apis (visibility, name, id);
-- A page's collaborators, read in one query by model API (the unique indexes of 0004 are
-- partial, so a lookup by model API alone could not use them).
CREATE INDEX model_api_collaborators_by_api ON model_api_collaborators (model_api_id, id);

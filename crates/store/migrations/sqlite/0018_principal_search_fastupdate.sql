-- In step with PostgreSQL's 0018 (its trigram GIN indexes on principals stop deferring new
-- entries to a pending list). SQLite's FTS5 tables take each row as it is written: nothing to
-- change here. A users search on SQLite is fixed in the store instead (`+p.kind`, see
-- `SEARCH_PRINCIPAL_KIND_COLUMN` in src/sqlite.rs).
SELECT 1;

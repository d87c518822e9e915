-- Model API searches at scale (issue 19): `lower(name) LIKE '%…%' OR lower(description) LIKE
-- '%…%'` of three characters or more is a bitmap OR of these trigram indexes, not a scan.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX model_apis_name_trgm ON model_apis USING gin (lower(name) gin_trgm_ops);
CREATE INDEX model_apis_description_trgm ON model_apis USING gin (lower(description) gin_trgm_ops);

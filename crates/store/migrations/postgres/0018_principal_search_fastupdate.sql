-- User searches at scale (issue 19). The trigram GIN indexes of 0009 on principals kept
-- `fastupdate` on: new rows wait in each index's pending list, which every search reads from
-- end to end, until a VACUUM merges it. After users are added in bulk (an import, a sync) the
-- whole table can sit there: the planner then costs the four index scans above a scan of the
-- table (10,000 users: a Seq Scan of 13 ms instead of 0.3 ms) and they would be slow anyway.
-- Principals are written rarely, so their entries now go straight into the index, and what is
-- pending is merged now.
ALTER INDEX principals_user_name_trgm SET (fastupdate = off);
ALTER INDEX principals_email_trgm SET (fastupdate = off);
ALTER INDEX principals_first_name_trgm SET (fastupdate = off);
ALTER INDEX principals_last_name_trgm SET (fastupdate = off);
SELECT gin_clean_pending_list('principals_user_name_trgm'::regclass);
SELECT gin_clean_pending_list('principals_email_trgm'::regclass);
SELECT gin_clean_pending_list('principals_first_name_trgm'::regclass);
SELECT gin_clean_pending_list('principals_last_name_trgm'::regclass);

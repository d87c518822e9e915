#!/usr/bin/env python3
"""SQL-level timings of the listings that scale.sh found slow at 1,000,000 PATs (issue 19).

Runs the statements the store sends for each call (as in crates/store/src/sql/*.rs, with the
parameters bench/scale.sh uses), before and after the fixes of migrations 0015, 0017 and 0018 / the
store ("before"/"after" pairs), against a database filled by crates/store/examples/populate.rs,
and prints "label<TAB>median ms". On SQLite the FTS tables are joined by rowid before 0017 and
by `search_key` after (found from the schema). A user's count: the OR of every way to see a
model API before, the public ones then those the user reaches after. A page's collaborators:
one query per row before (timed together), one query after. The admin search's page: the
search index before, a walk of the first 200 rows of the name order after (what the store
tries first for a page of up to 250 rows; it falls back to the index when the walk finds too
few).

Usage: bench/scale_sql.py sqlite /path/to/tessera.db PATS USERS [explain]
       bench/scale_sql.py postgres postgres://.../db PATS USERS [explain]
SQLite: Python's sqlite3 module, 5 warm-ups then the median of 30 runs. PostgreSQL: psql, one
session, 5 warm-ups then the median "Execution Time" of 30 `EXPLAIN (ANALYZE, TIMING OFF)`
(server-side execution, no planning or round trip). Medians, because the shared machine's load
swings the means. With `explain`, prints each statement's plan (EXPLAIN QUERY PLAN / EXPLAIN
(ANALYZE, BUFFERS)) instead of timings.
"""
import os
import subprocess
import sys
import time

backend, url, pats, users = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
explain = len(sys.argv) > 5 and sys.argv[5] == "explain"
DAY = 86_400_000

CRED = ("c.id, c.kind, c.principal_id, c.name, c.description, c.token_hash, c.created_at, "
        "c.lifetime_secs, c.expires_at, c.revoked_at, c.revoked_reason, c.last_used_at, c.last_used_ip")
PRIN = ("p.id AS p_id, p.kind AS p_kind, p.user_name AS p_user_name, p.email AS p_email, "
        "p.first_name AS p_first_name, p.last_name AS p_last_name, p.description AS p_description, "
        "p.roles AS p_roles, p.status AS p_status, p.created_at AS p_created_at, "
        "p.created_by AS p_created_by, p.tokens_not_before AS p_tokens_not_before")
LIST = f"SELECT {CRED}, {PRIN} FROM credentials c JOIN principals p ON p.id = c.principal_id WHERE 1 = 1 AND c.kind = 'pat'"
COUNT = "SELECT count(*) FROM (SELECT 1 FROM credentials c WHERE 1 = 1 AND c.kind = 'pat'"
MODELS = ("SELECT m.id, m.name, m.project_id, m.owner_id, p.user_name AS owner_name, m.kind, m.visibility, "
          "m.access_mode, m.description, m.created_at FROM model_apis m JOIN principals p ON p.id = m.owner_id WHERE 1 = 1")


def q(sql):
    """One row of one statement, on either backend."""
    if backend == "sqlite":
        import sqlite3
        return sqlite3.connect(url).execute(sql).fetchone()
    out = subprocess.run(["psql", "-AtX", url, "-F", "\t", "-c", sql], check=True, capture_output=True, text=True)
    return tuple(out.stdout.strip().split("\t"))


now = int(time.time() * 1000)
soon = now + 7 * DAY
own = q("SELECT id FROM principals WHERE user_name = 'user00005'")[0]
lit = lambda v: "'" + v.replace("'", "''") + "'"


def cursor(sql, offset, text_key=False):
    k, t = q(f"{sql} LIMIT 1 OFFSET {offset}")
    return f"{lit(k) if text_key else k}, {lit(t)}"


expired = f"AND c.revoked_at IS NULL AND {{col}} <= {now}"
soonish = f"AND c.revoked_at IS NULL AND {{col}} > {now} AND c.expires_at <= {soon}"
exp_cur = cursor(f"SELECT c.expires_at, c.id FROM credentials c WHERE c.kind = 'pat' {expired.format(col='c.expires_at')} ORDER BY c.expires_at DESC, c.id DESC", pats // 20)
soon_cur = cursor(f"SELECT c.expires_at, c.id FROM credentials c WHERE c.kind = 'pat' {soonish.format(col='c.expires_at')} ORDER BY c.expires_at, c.id", pats // 20)
user_cur = cursor("SELECT p.user_name, p.id FROM principals p ORDER BY p.user_name, p.id", users // 2, True)
visible = (f" AND (m.visibility = 'public' OR m.owner_id = {lit(own)} OR m.id IN (SELECT model_api_id FROM model_api_collaborators WHERE user_id = {lit(own)})"
           f" OR m.id IN (SELECT c.model_api_id FROM model_api_collaborators c JOIN organization_members om ON om.organization_id = c.organization_id WHERE om.user_id = {lit(own)})"
           f" OR m.project_id IN (SELECT id FROM projects WHERE owner_id = {lit(own)}) OR m.project_id IN (SELECT project_id FROM project_collaborators WHERE user_id = {lit(own)}))")
# The store's page after 0017: `+m.visibility` on SQLite, so that the visibility index is not
# read (an OR of index reads of every public row, then a sort) instead of the name order.
visible_page = visible.replace("(m.visibility =", "(+m.visibility =") if backend == "sqlite" else visible
search = " AND (lower(m.name) LIKE '%model-00000%' ESCAPE '\\' OR lower(m.description) LIKE '%model-00000%' ESCAPE '\\')"
# The FTS rows' key: the table's rowid before migration 0017, its `search_key` after.
keyed = backend == "sqlite" and q("SELECT count(*) FROM pragma_table_info('model_apis') WHERE name = 'search_key'")[0] == 1
key = "search_key" if keyed else "rowid"
fts = f" AND m.{key} IN (SELECT rowid FROM model_apis_fts WHERE model_apis_fts MATCH '\"model-00000\"')" if backend == "sqlite" else ""
plus = "+c.expires_at" if backend == "sqlite" else "c.expires_at"
if backend == "sqlite":
    user_search = (f" AND p.{key} IN (SELECT rowid FROM principals_fts WHERE principals_fts MATCH '\"er00777\"')")
else:
    user_search = ""
user_search += (" AND (p.user_name LIKE '%er00777%' ESCAPE '\\' OR lower(coalesce(p.email, '')) LIKE '%er00777%' ESCAPE '\\'"
                " OR lower(p.first_name) LIKE '%er00777%' ESCAPE '\\' OR lower(p.last_name) LIKE '%er00777%' ESCAPE '\\')")
page = " LIMIT 50 OFFSET 0"
cap = " LIMIT 1001) counted"
# A user's count after: the public ones from their index, then the private ones the user reaches.
reached = (f" AND m.id IN (SELECT o.id FROM model_apis o WHERE o.owner_id = {lit(own)}"
           f" UNION ALL SELECT model_api_id FROM model_api_collaborators WHERE user_id = {lit(own)}"
           f" UNION ALL SELECT c.model_api_id FROM model_api_collaborators c JOIN organization_members om ON om.organization_id = c.organization_id WHERE om.user_id = {lit(own)}"
           f" UNION ALL SELECT r.id FROM model_apis r WHERE r.project_id IN (SELECT id FROM projects WHERE owner_id = {lit(own)}"
           f" UNION ALL SELECT project_id FROM project_collaborators WHERE user_id = {lit(own)}))")
visible_count = (f"SELECT count(*) FROM (SELECT 1 FROM model_apis m WHERE 1 = 1 AND m.visibility = 'public'"
                 f" UNION ALL SELECT 1 FROM model_apis m WHERE 1 = 1 AND m.visibility <> 'public'{reached}{cap}")
# The collaborators of a user's first page: one query per row before, one for the page after.
page_ids = [r for r in (q(f"SELECT group_concat(id, ',') FROM (SELECT m.id FROM model_apis m WHERE 1 = 1{visible} ORDER BY m.name, m.id{page}) x")
                        if backend == "sqlite" else
                        q(f"SELECT string_agg(id, ',') FROM (SELECT m.id FROM model_apis m WHERE 1 = 1{visible} ORDER BY m.name, m.id{page}) x"))[0].split(",")]
COLLAB = ("SELECT c.id, c.model_api_id, c.user_id, p.user_name, c.organization_id, o.name AS org_name, c.role FROM model_api_collaborators c"
          " LEFT JOIN principals p ON p.id = c.user_id LEFT JOIN organizations o ON o.id = c.organization_id")
collab_before = [f"{COLLAB} WHERE c.model_api_id = {lit(i)} ORDER BY c.id" for i in page_ids]
collab_after = f"{COLLAB} WHERE c.model_api_id IN ({', '.join(lit(i) for i in page_ids)}) ORDER BY c.model_api_id, c.id"
# The admin search's first page after: a walk of 200 rows of the name order, tested one by one.
walk = ("SELECT m.id, m.name, m.project_id, m.owner_id, p.user_name AS owner_name, m.kind, m.visibility, m.access_mode, m.description, m.created_at"
        " FROM (SELECT w.id, w.name, w.project_id, w.owner_id, w.kind, w.visibility, w.access_mode, w.description, w.created_at"
        " FROM model_apis w WHERE 1 = 1 ORDER BY w.name, w.id LIMIT 200) m JOIN principals p ON p.id = m.owner_id WHERE 1 = 1"
        f"{search} ORDER BY m.name, m.id{page}")

# The kind in a users search: SQLite walked the kind's name order probing the FTS matches row by
# row until `+` took the kind's index away (sql/principals.rs).
search_kind = "+p.kind" if backend == "sqlite" else "p.kind"
PROJECTS = ("SELECT pr.id, pr.name, pr.owner_id, p.user_name AS owner_name, pr.description, pr.visibility, "
            "pr.created_at FROM projects pr JOIN principals p ON p.id = pr.owner_id")
own_or = f"(pr.owner_id = {lit(own)} OR pr.id IN (SELECT project_id FROM project_collaborators WHERE user_id = {lit(own)}))"
own_union = (f"pr.id IN (SELECT id FROM projects WHERE owner_id = {lit(own)}"
             f" UNION SELECT project_id FROM project_collaborators WHERE user_id = {lit(own)})")
# The users search as the server ran it before on PostgreSQL: a cached statement, which the
# planner turns into a generic plan (blind to the pattern) after five runs. Its rows time
# `EXECUTE` of a statement prepared with that plan forced; after, each search is planned for its
# text (an unnamed statement), which the "users, search" rows time.
user_search_params = (" AND (p.user_name LIKE $1 ESCAPE '\\' OR lower(coalesce(p.email, '')) LIKE $1 ESCAPE '\\'"
                      " OR lower(p.first_name) LIKE $1 ESCAPE '\\' OR lower(p.last_name) LIKE $1 ESCAPE '\\')")
GENERIC = {
    "users, search, generic plan (before, PostgreSQL)":
        f"PREPARE s(text) AS SELECT {PRIN} FROM principals p WHERE 1 = 1 AND p.kind = 'user'{user_search_params}"
        f" ORDER BY p.user_name, p.id{page}; SET plan_cache_mode = force_generic_plan;",
    "users, search count, generic plan (before, PostgreSQL)":
        f"PREPARE s(text) AS SELECT count(*) FROM (SELECT 1 FROM principals p WHERE 1 = 1 AND p.kind = 'user'"
        f"{user_search_params}{cap}; SET plan_cache_mode = force_generic_plan;",
}

CALLS = [
    ("PATs Expired, first page", f"{LIST} {expired.format(col='c.expires_at')} ORDER BY c.expires_at DESC, c.id DESC{page}"),
    ("PATs Expired, deep page, before", f"{LIST} {expired.format(col='c.expires_at')} AND (c.expires_at, c.id) < ({exp_cur}) ORDER BY c.expires_at DESC, c.id DESC{page}"),
    ("PATs Expired, deep page, after", f"{LIST} {expired.format(col=plus)} AND (c.expires_at, c.id) < ({exp_cur}) ORDER BY c.expires_at DESC, c.id DESC{page}"),
    ("PATs Expired, count, before", f"{COUNT} {expired.format(col='c.expires_at')}{cap}"),
    ("PATs Expired, count, after", f"{COUNT} {expired.format(col='c.expires_at')} ORDER BY c.expires_at{cap}"),
    ("PATs ExpiringSoon, first page", f"{LIST} {soonish.format(col='c.expires_at')} ORDER BY c.expires_at ASC, c.id ASC{page}"),
    ("PATs ExpiringSoon, deep page, before", f"{LIST} {soonish.format(col='c.expires_at')} AND (c.expires_at, c.id) > ({soon_cur}) ORDER BY c.expires_at ASC, c.id ASC{page}"),
    ("PATs ExpiringSoon, deep page, after", f"{LIST} {soonish.format(col=plus)} AND (c.expires_at, c.id) > ({soon_cur}) ORDER BY c.expires_at ASC, c.id ASC{page}"),
    ("PATs ExpiringSoon, count, before", f"{COUNT} {soonish.format(col='c.expires_at')}{cap}"),
    ("PATs ExpiringSoon, count, after", f"{COUNT} {soonish.format(col='c.expires_at')} ORDER BY c.expires_at{cap}"),
    ("PATs Revoked, count, before", f"{COUNT} AND c.revoked_at IS NOT NULL{cap}"),
    ("PATs Revoked, count, after", f"{COUNT} AND c.revoked_at IS NOT NULL ORDER BY c.created_at{cap}"),
    ("PATs Active, count, before", f"{COUNT} AND c.revoked_at IS NULL AND c.expires_at > {soon}{cap}"),
    ("PATs Active, count, after", f"{COUNT} AND c.revoked_at IS NULL AND c.expires_at > {soon} ORDER BY c.expires_at{cap}"),
    ("users, first page", f"SELECT {PRIN} FROM principals p WHERE 1 = 1 ORDER BY p.user_name, p.id{page}"),
    ("users, deep page", f"SELECT {PRIN} FROM principals p WHERE 1 = 1 AND (p.user_name, p.id) > ({user_cur}) ORDER BY p.user_name, p.id{page}"),
    ("users, count", f"SELECT count(*) FROM (SELECT 1 FROM principals p WHERE 1 = 1{cap}"),
    ("users, search", f"SELECT {PRIN} FROM principals p WHERE 1 = 1{user_search} ORDER BY p.user_name, p.id{page}"),
    ("users, search count", f"SELECT count(*) FROM (SELECT 1 FROM principals p WHERE 1 = 1{user_search}{cap}"),
    ("users, search of users, page, before", f"SELECT {PRIN} FROM principals p WHERE 1 = 1 AND p.kind = 'user'{user_search} ORDER BY p.user_name, p.id{page}"),
    ("users, search of users, page, after (+p.kind on SQLite)", f"SELECT {PRIN} FROM principals p WHERE 1 = 1 AND {search_kind} = 'user'{user_search} ORDER BY p.user_name, p.id{page}"),
    ("users, search of users, count, before", f"SELECT count(*) FROM (SELECT 1 FROM principals p WHERE 1 = 1 AND p.kind = 'user'{user_search}{cap}"),
    ("users, search of users, count, after (+p.kind on SQLite)", f"SELECT count(*) FROM (SELECT 1 FROM principals p WHERE 1 = 1 AND {search_kind} = 'user'{user_search}{cap}"),
] + ([(label, "EXECUTE s('%er00777%')") for label in GENERIC] if backend == "postgres" else []) + [
    ("model APIs, a user's, first page", f"{MODELS}{visible} ORDER BY m.name, m.id{page}"),
    ("model APIs, a user's, first page, after (+visibility on SQLite)", f"{MODELS}{visible_page} ORDER BY m.name, m.id{page}"),
    ("model APIs, a user's, count, before", f"SELECT count(*) FROM (SELECT 1 FROM model_apis m WHERE 1 = 1{visible}{cap}"),
    ("model APIs, a user's, count, after", visible_count),
    ("model APIs, a user's page's collaborators, before (one query a row)", collab_before),
    ("model APIs, a user's page's collaborators, after (one query)", collab_after),
    ("model APIs, admin search, page, before", f"{MODELS}{search} ORDER BY m.name, m.id{page}"),
    ("model APIs, admin search, page, index (before)", f"{MODELS}{fts}{search} ORDER BY m.name, m.id{page}"),
    ("model APIs, admin search, page, walk (after)", walk),
    ("model APIs, admin search, count, before", f"SELECT count(*) FROM (SELECT 1 FROM model_apis m WHERE 1 = 1{search}{cap}"),
    ("model APIs, admin search, count, after", f"SELECT count(*) FROM (SELECT 1 FROM model_apis m WHERE 1 = 1{fts}{search}{cap}"),
    ("projects, a user's own, page, before (owner OR collaborator)", f"{PROJECTS} WHERE {own_or} ORDER BY pr.name, pr.id{page}"),
    ("projects, a user's own, page, after (UNION of two index lookups)", f"{PROJECTS} WHERE {own_union} ORDER BY pr.name, pr.id{page}"),
    ("projects, a user's own, count, before", f"SELECT count(*) FROM (SELECT 1 FROM projects pr WHERE {own_or}{cap}"),
    ("projects, a user's own, count, after", f"SELECT count(*) FROM (SELECT 1 FROM projects pr WHERE {own_union}{cap}"),
    ("projects, collaborating, page", f"SELECT pr.id FROM projects pr WHERE pr.id IN (SELECT project_id FROM project_collaborators WHERE user_id = {lit(own)}) ORDER BY pr.name, pr.id{page}"),
    ("projects, collaborating, count", f"SELECT count(*) FROM (SELECT 1 FROM projects pr WHERE pr.id IN (SELECT project_id FROM project_collaborators WHERE user_id = {lit(own)}){cap}"),
]

for label, sql in CALLS:
    # A list: several statements, timed together (their sum), the plan of the first shown.
    stmts = sql if isinstance(sql, list) else [sql]
    if explain:
        print(f"### {label}\n\n{stmts[0]}\n" + (f"(and {len(stmts) - 1} more like it)\n" if len(stmts) > 1 else ""))
        if backend == "sqlite":
            import sqlite3
            for row in sqlite3.connect(url).execute("EXPLAIN QUERY PLAN " + stmts[0]):
                print(f"{row[0]:>3} {row[1]:>3} {row[3]}")
        else:
            print(subprocess.run(["psql", "-AtX", url], input=GENERIC.get(label, "") + "EXPLAIN (ANALYZE, BUFFERS) " + stmts[0],
                                 check=True, capture_output=True, text=True).stdout)
        print()
        continue
    if backend == "sqlite":
        import sqlite3
        db = sqlite3.connect(url)
        for _ in range(5):
            for one in stmts:
                db.execute(one).fetchall()
        lat = []
        for _ in range(30):
            t = time.perf_counter()
            for one in stmts:
                db.execute(one).fetchall()
            lat.append(time.perf_counter() - t)
        ms = sorted(lat)[15] * 1000
    else:
        script = GENERIC.get(label, "") + "".join(f"EXPLAIN (ANALYZE, TIMING OFF) {one};\n" for one in stmts) * 35
        out = subprocess.run(["psql", "-AtX", url], input=script, check=True, capture_output=True, text=True).stdout
        each = [float(l.split(":")[1].split()[0]) for l in out.splitlines() if l.startswith("Execution Time")]
        lat = [sum(each[i:i + len(stmts)]) for i in range(0, len(each), len(stmts))][5:]
        ms = sorted(lat)[len(lat) // 2]
    print(f"{label}\t{ms:.3f}", flush=True)

#!/usr/bin/env bash
# Listings at scale (issue 19): the time of each list call on a database of N PATs over U users
# (populated straight through the store by crates/store/examples/populate.rs), as a ratio to the
# same call on 1,000 PATs over 100 users (enough for every first page of 50 to be full, so that a
# ratio compares pages of the same size), against the real server (release build), on SQLite and
# on PostgreSQL. First pages, and deep pages reached with the cursor that an offset of half the
# rows yields. The per-user calls (own PATs, own and collaborating projects, a user's model APIs)
# are the probe user's, the same 100 PATs, 10 + 10 projects and 60 model APIs in every database.
# Each call: 5 warm-ups, then the mean of 30 on one keep-alive connection.
# On PostgreSQL, each listing call of the large database is then replayed once with
# auto_explain on, and the plans of its queries (EXPLAIN ANALYZE, BUFFERS) are printed after the
# table (and kept in $PLANS, default bench/plans-postgres.txt).
# Usage: bench/scale.sh [pats, default 1000000] [users, default 10000] [backends, default "sqlite postgres"]
# PROFILE=debug builds and runs the debug binaries (a quick check that the script works, e.g.
# PROFILE=debug bench/scale.sh 20000 200); the figures to report come from the release build.
# Needs python3, psql and PostgreSQL (TESSERA_TEST_POSTGRES) for the postgres backend.
set -euo pipefail
cd "$(dirname "$0")/.."
PATS=${1:-1000000}
USERS=${2:-10000}
BACKENDS=${3:-sqlite postgres}
ADMIN_URL=${TESSERA_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
PROFILE=${PROFILE:-release}
PLANS=${PLANS:-$PWD/bench/plans-postgres.txt}
# Two commands: `--example` in one would select only examples, leaving the server binary stale.
if [ "$PROFILE" = release ]; then
  cargo build --release -q -p tessera --bin tessera
  cargo build --release -q -p tessera-store --example populate
else
  cargo build -q -p tessera --bin tessera
  cargo build -q -p tessera-store --example populate
fi
BIN=$PWD/target/$PROFILE/tessera
POPULATE=$PWD/target/$PROFILE/examples/populate
WORK=$(mktemp -d)
export TESSERA_ADMIN_PASSWORD=bench-admin-password TESSERA_SERVER_SECRET=bench-server-secret-0123456789abcdef
PIDS=()
DBS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true
  for db in "${DBS[@]}"; do psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME URL [LOG FILTER]: starts a node on a free port; sets PORT and PID.
start() {
  local name=$1 url=$2 filter=${3:-warn}
  PORT=$(port)
  (cd "$WORK" && TESSERA_LOG=$filter exec "$BIN" serve --listen 127.0.0.1:$PORT --database "$url" >/dev/null 2>"$WORK/$name.log") &
  PID=$!
  PIDS+=($PID)
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
}

# serve NAME URL PATS USERS: populates a fresh database, starts a node, measures every call
# into $WORK/NAME.tsv (call, mean ms).
serve() {
  local name=$1 url=$2 pats=$3 users=$4
  start "$name" "$url"
  local admin; admin=$("$BIN" admin token create --username admin --name bench --database "$url")
  local hot; hot=$("$POPULATE" "$url" "$pats" "$users")
  # The per-user calls are made as the probe user, whose own data is the same in every
  # population (see populate.rs), so that their ratios measure the tables, not the user.
  local own; own=$("$BIN" admin token create --username probe --name bench-own --database "$url")
  echo "$admin $own $hot" >"$WORK/$name.tokens"
  calls measure "$PORT" "$admin" "$own" "$pats" "$users" "$hot" >"$WORK/$name.tsv"
  kill "$PID"; wait "$PID" 2>/dev/null || true
}

# explain NAME URL PATS USERS: on PostgreSQL, replays each call once against a node whose
# connections run auto_explain (ANALYZE, BUFFERS, every statement), and writes the plans, call
# by call, to $WORK/NAME.plans.
explain() {
  local name=$1 url=$2 pats=$3 users=$4 db=${2##*/} admin own hot
  read -r admin own hot <"$WORK/$name.tokens"
  psql "$ADMIN_URL" -qc "ALTER DATABASE $db SET session_preload_libraries = 'auto_explain'" \
    -c "ALTER DATABASE $db SET auto_explain.log_min_duration = 0" \
    -c "ALTER DATABASE $db SET auto_explain.log_analyze = on" \
    -c "ALTER DATABASE $db SET auto_explain.log_buffers = on" \
    -c "ALTER DATABASE $db SET auto_explain.log_level = notice"
  start "$name-explain" "$url" "warn,sqlx::postgres::notice=info"
  LOG="$WORK/$name-explain.log" calls once "$PORT" "$admin" "$own" "$pats" "$users" "$hot" >"$WORK/$name.calls"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  psql "$ADMIN_URL" -qc "ALTER DATABASE $db RESET ALL"
  # Each call's line says where its plans are in the log (byte offsets, calls one at a time).
  python3 - "$WORK/$name-explain.log" "$WORK/$name.calls" >"$WORK/$name.plans" <<'PY'
import re, sys
log = open(sys.argv[1], "rb").read()
for line in open(sys.argv[2]):
    name, start, end = line.rstrip("\n").split("\t")
    part = re.sub(r"\x1b\[[0-9;]*m", "", log[int(start):int(end)].decode("utf-8", "replace"))
    print(f"### {name}\n")
    for plan in re.findall(r"duration: .*?(?=\n\S*\d{4}-\d\d-\d\dT|\Z)", part, re.S):
        print("```\n" + plan.strip() + "\n```\n")
PY
}

# calls MODE PORT ADMIN OWN PATS USERS HOT: the listing calls (HOT: the model API with the
# longest invocation log). MODE measure prints "call<TAB>mean
# ms"; MODE once sends each call once, after a marker request that names it in the log.
calls() {
  python3 - "$@" <<'PY'
import http.client, json, sys, time, urllib.parse
mode, port, admin, own, pats, users, hot = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
models = max(pats // 10, 1)
conn = http.client.HTTPConnection("127.0.0.1", int(port))
def get(path, token=admin):
    conn.request("GET", path, headers={"Authorization": "Bearer " + token})
    r = conn.getresponse(); body = r.read()
    if r.status != 200: raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
    return r, body
def deep(path, rows):
    return deep_as(path, rows, admin)
def deep_as(path, rows, token):
    # The cursor that an offset of half the rows yields (one slow call, not measured).
    sep = "&" if "?" in path else "?"
    r, _ = get(f"{path}{sep}offset={max(rows // 2, 1)}&limit=1", token)
    c = r.getheader("X-Next-Cursor")
    if not c: raise SystemExit(f"{path}: no cursor at offset {rows // 2}")
    return f"{path}{sep}limit=50&cursor={urllib.parse.quote(c)}"
def mean_ms(path, token=admin):
    for _ in range(5): get(path, token)
    t = time.perf_counter()
    for _ in range(30): get(path, token)
    return (time.perf_counter() - t) / 30 * 1000
owner = f"user{min(777, users - 1):05}"
calls = [
    ("admin PATs, first page", "/api/pat/v1/admin/tokens?limit=50", None),
    ("admin PATs, deep page (cursor)", deep("/api/pat/v1/admin/tokens", pats), None),
    ("admin PATs, search rare substring", "/api/pat/v1/admin/tokens?limit=50&search=kx7q", None),
    ("admin PATs, search 2-char prefix", "/api/pat/v1/admin/tokens?limit=50&search=ne", None),
    ("admin PATs, userName", f"/api/pat/v1/admin/tokens?limit=50&userName={owner}", None),
]
for status, share in [("Active", 7), ("ExpiringSoon", 1), ("Expired", 1), ("Revoked", 1)]:
    calls.append((f"admin PATs, status={status}", f"/api/pat/v1/admin/tokens?limit=50&status={status}", None))
    calls.append((f"admin PATs, status={status}, deep", deep(f"/api/pat/v1/admin/tokens?status={status}", pats * share // 10), None))
calls += [
    ("a user's own PATs (Domino)", "/api/pat/v1/tokens", own),
    ("users, first page", "/api/admin/v1/users?limit=50", None),
    ("users, deep page (cursor)", deep("/api/admin/v1/users", users), None),
    ("users, search substring", "/api/admin/v1/users?limit=50&search=er00777", None),
    ("/v4/users (Domino, offset)", "/v4/users?limit=50", None),
    ("service accounts", "/api/serviceAccounts/v1/serviceAccounts?limit=50", None),
    ("organizations", "/api/organizations/v1/organizations", None),
    ("projects, a user's own (first page)", "/v4/gateway/projects?limit=50", own),
    ("projects, a user's collaborating", "/v4/gateway/projects?limit=50&relationship=Collaborating", own),
    ("model APIs, admin, first page", "/api/modelServing/v1/modelApis?limit=50", None),
    ("model APIs, admin, deep page (cursor)", deep("/api/modelServing/v1/modelApis", models), None),
    ("model APIs, admin, search (matches the first 100 names)", "/api/modelServing/v1/modelApis?limit=50&search=model-00000", None),
    ("model APIs, a user's (first page)", "/api/modelServing/v1/modelApis?limit=50", own),
    # The probe's rows 11-60 (its own 60 come first in the name order): the same page everywhere.
    ("model APIs, a user's, deep page (cursor)", deep_as("/api/modelServing/v1/modelApis", 20, own), own),
    ("invocation log, first page", f"/api/modelServing/v1/modelApis/{hot}/logs?limit=50", None),
    ("invocation log, deep page (cursor)", deep(f"/api/modelServing/v1/modelApis/{hot}/logs", max(pats // 8, 2)), None),
    ("audit, first page", "/api/admin/v1/audit?limit=50", None),
    ("audit, deep page (cursor)", deep("/api/admin/v1/audit", pats), None),
    ("audit, actor", f"/api/admin/v1/audit?limit=50&actor={owner}", None),
    ("audit, target (name)", "/api/admin/v1/audit?limit=50&target=needle-kx7q", None),
    ("audit, action", "/api/admin/v1/audit?limit=50&action=pat.created", None),
    ("audit, time range", "/api/admin/v1/audit?limit=50&from=2000-01-01T00:00:00Z&to=" + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 200 * 86400)), None),
]
for i, (name, path, token) in enumerate(calls):
    if mode == "measure":
        print(f"{name}\t{mean_ms(path, token or admin):.3f}")
    else:
        import os
        log = os.environ["LOG"]
        time.sleep(0.3)
        start = os.path.getsize(log)
        get(path, token or admin)
        time.sleep(0.3)
        print(f"{name}\t{start}\t{os.path.getsize(log)}")
PY
}

for backend in $BACKENDS; do
  for size in small large; do
    if [ $size = small ]; then n=1000; u=100; else n=$PATS; u=$USERS; fi
    if [ "$backend" = sqlite ]; then
      url="sqlite://$WORK/$backend-$size/tessera.db"
    else
      db=tessera_scale_$$_$size; DBS+=("$db")
      psql "$ADMIN_URL" -qc "CREATE DATABASE $db"
      url="${ADMIN_URL%/*}/$db"
    fi
    serve "$backend-$size" "$url" "$n" "$u"
    LARGE_URL=$url
  done
  echo "## $backend: $PATS PATs over $USERS users vs 1,000 over 100 (mean ms of 30 calls)"
  echo
  echo "| call | 1,000 PATs | $PATS PATs | ratio |"
  echo "|---|---:|---:|---:|"
  join -t $'\t' <(sort "$WORK/$backend-small.tsv") <(sort "$WORK/$backend-large.tsv") |
    awk -F'\t' '{ printf "| %s | %.2f | %.2f | %.1f |\n", $1, $2, $3, $3 / $2 }'
  echo
  if [ "$backend" = postgres ]; then
    explain "$backend-large" "$LARGE_URL" "$PATS" "$USERS"
    cp "$WORK/$backend-large.plans" "$PLANS"
    echo "## postgres: the plans of each call at $PATS PATs (EXPLAIN ANALYZE, BUFFERS; also in $PLANS)"
    echo
    cat "$WORK/$backend-large.plans"
  fi
done

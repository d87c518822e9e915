#!/usr/bin/env bash
# Verification throughput of a node on SQLite vs a node on PostgreSQL (wrk -t2 -c64 against
# GET /v4/users/self with a PAT, loopback only), each beside GET /healthz of the same server.
# On PostgreSQL the cache re-reads each credential once a second (the cross-node bound).
# Usage: bench/backends.sh [seconds, default 5]. Needs wrk, psql and PostgreSQL (TESSERA_TEST_POSTGRES).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
ADMIN_URL=${TESSERA_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build --release -q -p tessera
BIN=$PWD/target/release/tessera
WORK=$(mktemp -d)
DB=tessera_bench_$$
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB"
PG_URL="${ADMIN_URL%/*}/$DB"
export TESSERA_ADMIN_PASSWORD=bench-admin-password TESSERA_SERVER_SECRET=bench-server-secret-0123456789abcdef
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_node() { # name database
  local p; p=$(port)
  (cd "$WORK" && TESSERA_LOG=warn exec "$BIN" serve --listen 127.0.0.1:$p --database "$2" >/dev/null 2>"$WORK/$1.log") &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
  local token; token=$("$BIN" admin token create --username admin --name bench --database "$2")
  for path in healthz v4/users/self; do
    local out; out=$(wrk -t2 -c64 -d"${SECS}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$p/$path")
    printf '%-10s %-16s %12s req/s  p50 %8s  p99 %8s\n' "$1" "/$path" \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
  done
}

run_node sqlite "sqlite://$WORK/sqlite/tessera.db"
run_node postgres "$PG_URL"

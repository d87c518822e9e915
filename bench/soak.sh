#!/usr/bin/env bash
# The soak of issue #19, on each backend: 5,000 PATs over 50 users rotating at 64 connections
# (wrk -t2 -c64, GET /v4/users/self) while one PAT is revoked and one created every 100 ms.
# Reports resident memory every 10 s, throughput per minute, every revocation acknowledged (no
# 503) and every revoked PAT refused at the end, then how long SIGTERM takes to stop the node
# (it drains and flushes last-used times).
# Usage: bench/soak.sh [seconds per backend, default 300] [sqlite|postgres ...]
# Needs wrk, python3, psql and PostgreSQL (TESSERA_TEST_POSTGRES). Loopback only.
# SOAK_BIN=path runs that binary instead of building the release one (e.g. target/debug/tessera).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-300}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -gt 0 ] || BACKENDS=(sqlite postgres)
ADMIN_URL=${TESSERA_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
if [ -n "${SOAK_BIN:-}" ]; then
  BIN=$(realpath "$SOAK_BIN")
else
  cargo build --release -q -p tessera
  BIN=$PWD/target/release/tessera
fi
WORK=$(mktemp -d)
DB=tessera_soak_$$
export TESSERA_ADMIN_PASSWORD=soak-admin-password TESSERA_SERVER_SECRET=soak-server-secret-0123456789abcdef
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  wait 2>/dev/null
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for backend in "${BACKENDS[@]}"; do
  case $backend in
    sqlite) database="sqlite://$WORK/sqlite/tessera.db" ;;
    postgres)
      psql "$ADMIN_URL" -qc "CREATE DATABASE $DB"
      database="${ADMIN_URL%/*}/$DB" ;;
    *) echo "unknown backend $backend (sqlite or postgres)" >&2; exit 2 ;;
  esac
  p=$(port)
  (cd "$WORK" && TESSERA_LOG=warn exec "$BIN" serve --listen 127.0.0.1:$p --database "$database" >/dev/null 2>"$WORK/$backend.log") &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
  echo "== $backend: ${SECS}s soak" >&2
  python3 bench/soak.py --port "$p" --pid "$PID" --bin "$BIN" --database "$database" \
    --secs "$SECS" --work "$WORK" >"$WORK/$backend.json"
  started=$(date +%s.%N)
  kill -TERM "$PID"
  wait "$PID" || true
  stopped=$(date +%s.%N)
  PID=
  python3 - "$backend" "$WORK/$backend.json" "$(echo "$stopped - $started" | bc)" <<'PY'
import json, sys
name, path, stop = sys.argv[1], sys.argv[2], float(sys.argv[3])
r = json.load(open(path))
print(f"## {name}")
print(f"populated {r['pats']} PATs in {r['populate_secs']} s")
print("throughput per minute (req/s; refused = revoked PATs still rotating, 401/429): "
      + ", ".join(f"{m['req_per_s']:.0f} ({m['refused'] * 100 // max(m['requests'], 1)} % refused)"
                  for m in r["minutes"]))
print("RSS every 10 s (MiB): " + " ".join(str(s["rss_mib"]) for s in r["rss"]))
print(f"revocations: {r['revocations']}, not 200: {r['revocations_not_200']} "
      f"(503: {r['revocations_503']}), p99 {r['revocation_ms_p99']} ms, max {r['revocation_ms_max']} ms")
print(f"creations: {r['creations']}, failed: {r['creations_failed']}")
print(f"revoked PATs presented at the end: {r['revoked_presented']}, accepted: {r['revoked_accepted']} "
      f"(answers {r['revoked_final_statuses']})")
print(f"SIGTERM to exit: {stop:.2f} s")
ok = r["revocations_not_200"] == 0 and r["revoked_accepted"] == 0 and r["creations_failed"] == 0
print("OK" if ok else "FAILED")
PY
done

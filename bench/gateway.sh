#!/usr/bin/env bash
# The gateway against nginx, in one run on one machine (wrk -t2 -c64 --latency, loopback only):
#   1 the upstream directly (nginx `return 200`)
#   2 nginx as a plain reverse proxy to it, keep-alive upstream connections
#   3 nginx with auth_basic (SHA1)
#   4-6 Tessera's gateway authenticating a PAT, an RS256 JWT, an API key, forwarding with a JWT
# Usage: bench/gateway.sh [seconds, default 10]. Needs wrk and nginx (apt-get install wrk nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
for tool in wrk nginx python3; do command -v $tool >/dev/null || { echo "$tool is needed" >&2; exit 1; }; done
# TESSERA_BENCH_BIN: a tessera binary to measure instead of building this tree's.
[ -n "${TESSERA_BENCH_BIN:-}" ] || cargo build --release -q -p tessera
BIN=${TESSERA_BENCH_BIN:-$PWD/target/release/tessera}
echo "tessera: $BIN, [server] runtime: ${TESSERA_SERVER_RUNTIME:-default}"
WORK=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(port); PLAIN=$(port); BASIC=$(port); GW=$(port)
python3 -c "import hashlib,base64; print('bench:{SHA}' + base64.b64encode(hashlib.sha1(b'bench-password').digest()).decode())" > "$WORK/htpasswd"
mkdir -p "$WORK/logs"; chmod 755 "$WORK"; chmod 644 "$WORK/htpasswd"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:$UP; keepalive 128; }
  server { listen 127.0.0.1:$UP; location / { return 200 "ok"; } }
  server { listen 127.0.0.1:$PLAIN;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$BASIC;
    location / { auth_basic "bench"; auth_basic_user_file $WORK/htpasswd;
                 proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
nginx -c "$WORK/nginx.conf" -p "$WORK"
cat > "$WORK/tessera.toml" <<TOML
[[gateway.routes]]
prefix = "/api/jobs/"
upstream = "http://127.0.0.1:$UP"
TOML
export TESSERA_ADMIN_PASSWORD=bench-admin-password
(cd "$WORK" && TESSERA_LOG=warn exec "$BIN" serve --listen 127.0.0.1:$GW --config "$WORK/tessera.toml" >/dev/null 2>"$WORK/tessera.log") &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; nginx -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$GW/readyz" >/dev/null && break; sleep 0.1; done
PAT=$(cd "$WORK" && "$BIN" admin token create --username admin --name bench)
KEY=$(curl -s -X POST "http://127.0.0.1:$GW/api/apiKey/v1/regenerate" -H "Authorization: Bearer $PAT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')
JWT=$(curl -s "http://127.0.0.1:$GW/auth/realms/DominoRealm/protocol/openid-connect/token" -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d "subject_token=$PAT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
BASIC_AUTH="Basic $(printf 'bench:bench-password' | base64)"
curl -sf -H "Authorization: Bearer $PAT" "http://127.0.0.1:$GW/api/jobs/v1/jobs" >/dev/null || { echo "gateway check failed" >&2; exit 1; }

run() { # name url [header]
  local out; out=$(wrk -t2 -c64 -d"${SECS}s" --latency ${3:+-H "$3"} "$2")
  local bad; bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-30s %10s %9s %9s %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" "${bad:+NON-2xx: $bad}"
  awk '/Requests\/sec/ {print $2}' <<<"$out" > "$WORK/$1.rps"
}
printf '%-30s %10s %9s %9s\n' "wrk -t2 -c64 -d${SECS}s" "req/s" "p50" "p99"
run upstream_direct "http://127.0.0.1:$UP/api/jobs/v1/jobs"
run nginx_proxy "http://127.0.0.1:$PLAIN/api/jobs/v1/jobs"
run nginx_auth_basic "http://127.0.0.1:$BASIC/api/jobs/v1/jobs" "Authorization: $BASIC_AUTH"
if [ -n "${TESSERA_BENCH_PERF:-}" ]; then
  # Where the gateway's time goes: a CPU profile of the server during the PAT run.
  perf record -F 1999 -g -p "$SERVER" -o "$WORK/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
  PERF=$!
fi
run tessera_pat "http://127.0.0.1:$GW/api/jobs/v1/jobs" "Authorization: Bearer $PAT"
if [ -n "${TESSERA_BENCH_PERF:-}" ]; then
  wait $PERF || true
  perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40 > "$WORK/perf.top" || true
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8 >> "$WORK/perf.top" || true
fi
run tessera_jwt "http://127.0.0.1:$GW/api/jobs/v1/jobs" "Authorization: Bearer $JWT"
run tessera_api_key "http://127.0.0.1:$GW/api/jobs/v1/jobs" "X-Domino-Api-Key: $KEY"
[ -f "$WORK/perf.top" ] && { echo "== profile of the server during tessera_pat"; cat "$WORK/perf.top"; }
python3 - "$WORK" <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1]); r = lambda n: float((w / f"{n}.rps").read_text())
base = r("nginx_proxy")
for n in ["upstream_direct", "nginx_auth_basic", "tessera_pat", "tessera_jwt", "tessera_api_key"]:
    print(f"{n:30s} {r(n) / base:6.2f} x nginx_proxy (unauthenticated)")
PY

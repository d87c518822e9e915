#!/usr/bin/env bash
# The gateway against nginx, in one run on one machine (wrk -t2 -c64 --latency, loopback only):
#   1 the upstream directly (nginx `return 200`, an nginx of its own, one worker)
#   2 nginx as a plain reverse proxy to it, keep-alive upstream connections (two workers)
#   3 nginx with auth_basic (SHA1)
#   4 hyper_floor: the least a hyper reverse proxy does (examples/hyper-floor: Tessera's serving
#     model, one current-thread runtime per core, nothing checked or rewritten)
#   5 pingora_floor: the least a Pingora reverse proxy does (examples/pingora-floor, two worker
#     threads, PINGORA_FLOOR_MODE=steal (default) or no-steal)
#   6 h1_floor: a hand-made HTTP/1.1 keep-alive proxy on tokio without hyper (examples/h1-floor:
#     httparse heads, Content-Length bodies, one current-thread runtime and pool per core)
#   7-9 Tessera's gateway authenticating a PAT, an RS256 JWT, an API key, forwarding with a JWT
# Each row also gives the CPU time the proxy's processes spent per request (µs, user and system).
# Usage: bench/gateway.sh [seconds, default 10]. Needs wrk and nginx (apt-get install wrk nginx).
# TESSERA_BENCH_BIN: a tessera binary to measure instead of building this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-10}
need wrk nginx python3 curl
tessera_bin
WORK=$(mktemp -d)
UP=$(port); PLAIN=$(port); BASIC=$(port); GW=$(port); FLOOR=$(port); PINGORA=$(port); H1=$(port)
build_floors
python3 -c "import hashlib,base64; print('bench:{SHA}' + base64.b64encode(hashlib.sha1(b'bench-password').digest()).decode())" > "$WORK/htpasswd"
chmod 644 "$WORK/htpasswd"
{ nginx_head; cat <<NGINX
  upstream up { server 127.0.0.1:$UP; keepalive 128; }
  server { listen 127.0.0.1:$PLAIN;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$BASIC;
    location / { auth_basic "bench"; auth_basic_user_file $WORK/htpasswd;
                 proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
} > "$WORK/nginx.conf"
# The upstream is an nginx of its own, so that each proxy's CPU time is its own.
upstream_nginx_conf "$WORK/up" "$UP"
nginx -c "$WORK/up/nginx.conf" -p "$WORK/up"
nginx -c "$WORK/nginx.conf" -p "$WORK"
target/release/hyper-floor "127.0.0.1:$FLOOR" "127.0.0.1:$UP" &
FLOOR_PID=$!
PINGORA_PID=
if [ -n "$PINGORA_FLOOR_BIN" ]; then
  "$PINGORA_FLOOR_BIN" "127.0.0.1:$PINGORA" "127.0.0.1:$UP" "${PINGORA_FLOOR_MODE:-steal}" 2>"$WORK/pingora.log" &
  PINGORA_PID=$!
fi
target/release/h1-floor "127.0.0.1:$H1" "127.0.0.1:$UP" &
H1_PID=$!
FLOORS="$FLOOR_PID $PINGORA_PID $H1_PID"
cat > "$WORK/tessera.toml" <<TOML
[[gateway.routes]]
prefix = "/api/jobs/"
upstream = "http://127.0.0.1:$UP"
TOML
trap 'kill ${SERVER:-} $FLOORS 2>/dev/null; wait ${SERVER:-} $FLOORS 2>/dev/null; nginx -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null; nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
start_tessera "$GW" --config "$WORK/tessera.toml"
KEY=$(api_key "$GW")
JWT=$(exchange_jwt "$GW")
BASIC_AUTH="Basic $(printf 'bench:bench-password' | base64)"
curl -sf -H "Authorization: Bearer $PAT" "http://127.0.0.1:$GW/api/jobs/v1/jobs" >/dev/null || { echo "gateway check failed" >&2; exit 1; }

workers() { pgrep -P "$(cat "$1")" | tr '\n' ' '; }
run_header
CPU_PIDS=$(workers "$WORK/up/nginx.pid") run upstream_direct "http://127.0.0.1:$UP/api/jobs/v1/jobs"
export CPU_PIDS; CPU_PIDS=$(workers "$WORK/nginx.pid")
run nginx_proxy "http://127.0.0.1:$PLAIN/api/jobs/v1/jobs"
run nginx_auth_basic -H "Authorization: $BASIC_AUTH" "http://127.0.0.1:$BASIC/api/jobs/v1/jobs"
CPU_PIDS=$FLOOR_PID run hyper_floor "http://127.0.0.1:$FLOOR/api/jobs/v1/jobs"
[ -z "$PINGORA_PID" ] || CPU_PIDS=$PINGORA_PID run pingora_floor "http://127.0.0.1:$PINGORA/api/jobs/v1/jobs"
CPU_PIDS=$H1_PID run h1_floor "http://127.0.0.1:$H1/api/jobs/v1/jobs"
CPU_PIDS=$SERVER
if [ -n "${TESSERA_BENCH_PERF:-}" ]; then
  # Where the gateway's time goes: a CPU profile of the server during the PAT run.
  perf record -F 1999 -g -p "$SERVER" -o "$WORK/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
  PERF=$!
fi
run tessera_pat -H "Authorization: Bearer $PAT" "http://127.0.0.1:$GW/api/jobs/v1/jobs"
if [ -n "${TESSERA_BENCH_PERF:-}" ]; then
  wait $PERF || true
  perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40 > "$WORK/perf.top" || true
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8 >> "$WORK/perf.top" || true
fi
run tessera_jwt -H "Authorization: Bearer $JWT" "http://127.0.0.1:$GW/api/jobs/v1/jobs"
run tessera_api_key -H "X-Domino-Api-Key: $KEY" "http://127.0.0.1:$GW/api/jobs/v1/jobs"
[ -f "$WORK/perf.top" ] && { echo "== profile of the server during tessera_pat"; cat "$WORK/perf.top"; }
python3 - "$WORK" <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1]); r = lambda n: float((w / f"{n}.rps").read_text())
base = r("nginx_proxy")
for n in ["upstream_direct", "nginx_auth_basic", "hyper_floor", "pingora_floor", "h1_floor", "tessera_pat", "tessera_jwt", "tessera_api_key"]:
    if (w / f"{n}.rps").exists():
        print(f"{n:30s} {r(n) / base:6.2f} x nginx_proxy (unauthenticated)")
PY

#!/usr/bin/env bash
# Sync model invocation through Tessera against calling the example model server directly, in one
# run on one machine (wrk -t2 -c64 --latency, loopback only). The model API is restricted and
# called with HTTP Basic token:token, as Domino's clients do; every call is logged.
# For each model cost in WORK_MICROS (µs of computation per prediction, default "0 250 1000"):
#   direct   wrk -> model server
#   nginx    wrk -> nginx (plain reverse proxy, keep-alive upstream, no auth) -> model server
#   tessera  wrk -> Tessera (/models/{id}/latest/model) -> model server
# Each row also gives the CPU time per request (µs, user and system) of the process under test:
# the model server for direct, nginx's workers and Tessera for the proxies (bench/lib.sh `run`).
# Usage: bench/invoke.sh [seconds, default 10]. Needs wrk and nginx (apt-get install wrk nginx);
# TESSERA_BENCH_PERF=1 adds a CPU profile of Tessera (perf).
# TESSERA_BENCH_BIN: a tessera binary to measure instead of building this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-10}
WORKS=${WORK_MICROS:-0 250 1000}
need wrk nginx python3 curl
cargo build --release -q -p model-server
tessera_bin
MODEL_BIN=$PWD/target/release/model-server
WORK=$(mktemp -d)
MP=$(port); TP=$(port); NP=$(port)
MODEL=
{ nginx_head; cat <<NGINX
  upstream model { server 127.0.0.1:$MP; keepalive 128; }
  server { listen 127.0.0.1:$NP;
    location / { proxy_pass http://model/; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
} > "$WORK/nginx.conf"
nginx -c "$WORK/nginx.conf" -p "$WORK"
cleanup() {
  [ -n "$MODEL" ] && kill $MODEL 2>/dev/null; kill ${SERVER:-} 2>/dev/null
  nginx -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"
}
# The model server must be allowed (`[models] allowed_upstreams`), or no version can point at it.
export TESSERA_MODELS_ALLOWED_UPSTREAMS=http://127.0.0.1:$MP
trap cleanup EXIT
start_tessera "$TP"
api() { curl -sf -X "$1" "http://127.0.0.1:$TP$2" -H "Authorization: Bearer $PAT" -H 'Content-Type: application/json' ${3:+--data "$3"}; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
PROJECT=$(api POST /v4/projects '{"name":"bench"}' | field id)
MODEL_API=$(api POST /api/modelServing/v1/modelApis "{\"name\":\"churn\",\"projectId\":\"$PROJECT\",\"kind\":\"sync\",\"visibility\":\"private\",\"authorization\":\"restricted\"}" | field id)
api POST "/api/modelServing/v1/modelApis/$MODEL_API/versions" "{\"upstreamUrl\":\"http://127.0.0.1:$MP/\"}" >/dev/null
TOKEN=$(api POST "/api/modelServing/v1/modelApis/$MODEL_API/accessTokens" '{"name":"bench"}' | field token)
BASIC="Authorization: Basic $(printf '%s:%s' "$TOKEN" "$TOKEN" | base64 -w0)"
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"data": {"tenure_months": 3, "monthly_charges": 82.5, "support_calls": 2}}'
LUA

ROW=22
run_header
for w in $WORKS; do
  [ -n "$MODEL" ] && { kill $MODEL; wait $MODEL 2>/dev/null || true; }
  "$MODEL_BIN" "127.0.0.1:$MP" "$w" 2>/dev/null &
  MODEL=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$MP/healthz" >/dev/null && break; sleep 0.05; done
  check=$(curl -s -o /dev/null -w '%{http_code}' -H "$BASIC" -H 'Content-Type: application/json' \
    --data '{"data":{"tenure_months":3,"monthly_charges":82.5,"support_calls":2}}' "http://127.0.0.1:$TP/models/$MODEL_API/latest/model")
  [ "$check" = 200 ] || { echo "invocation check failed: $check" >&2; exit 1; }
  CPU_PIDS=$MODEL run "direct_${w}us" -s "$WORK/post.lua" "http://127.0.0.1:$MP/"
  CPU_PIDS=$(pgrep -P "$(cat "$WORK/nginx.pid")" | tr '\n' ' ') run "nginx_${w}us" -s "$WORK/post.lua" "http://127.0.0.1:$NP/"
  if [ -n "${TESSERA_BENCH_PERF:-}" ]; then
    timeout -s INT "$SECS" perf record -F 1999 -g -p "$SERVER" -o "$WORK/perf.data" >"$WORK/perf.log" 2>&1 &
    PERF=$!
  fi
  CPU_PIDS=$SERVER run "tessera_${w}us" -s "$WORK/post.lua" -H "$BASIC" "http://127.0.0.1:$TP/models/$MODEL_API/latest/model"
  if [ -n "${TESSERA_BENCH_PERF:-}" ]; then
    wait $PERF || true
    echo "== profile of Tessera at ${w} us"; tail -3 "$WORK/perf.log"
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>&1 | grep -v "^#" | grep "%" | head -8 || true
    perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio -g none 2>&1 | grep -v "^#" | grep "%" | cut -c1-150 | head -25 || true
    echo "== inclusive"; perf report -i "$WORK/perf.data" --children --sort symbol --stdio -g none 2>&1 | grep -v "^#" | grep "%" | grep -E "tessera|serde|hyper::client|sqlx|tracing|uuid|chrono|hmac|sha2" | cut -c1-170 | head -40 || true
  fi
done
python3 - "$WORK" $WORKS <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1])
r = lambda n: float((w / f"{n}.rps").read_text())
for work in sys.argv[2:]:
    d, n, t = r(f"direct_{work}us"), r(f"nginx_{work}us"), r(f"tessera_{work}us")
    print(f"model work {work:>5} us: tessera {t / d:5.2f} x direct ({(1 - t / d) * 100:5.1f} % loss); "
          f"nginx {n / d:5.2f} x direct; tessera {t / n:5.2f} x nginx")
PY

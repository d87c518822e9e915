#!/usr/bin/env bash
# User-space instructions per forwarded request of each proxy floor of issue #16, a figure that
# a busy machine does not move (the CPU time columns of bench/gateway.sh move with it, req/s
# far more). Each proxy runs under valgrind's callgrind, which counts the instructions its
# threads execute in user space (not the kernel's: system time stays with bench/gateway.sh);
# after a warm-up its counters are zeroed, a fixed load runs (wrk -t1 -c8 for SECS seconds) and
# the counters are dumped and divided by the requests wrk completed.
#   nginx_proxy: nginx as a keep-alive reverse proxy (one process: master_process off)
#   hyper_floor, pingora_floor, h1_floor: examples/{hyper,pingora,h1}-floor
# All proxy to the same `return 200` nginx upstream, which runs natively. Under callgrind a
# proxy runs some 50x slower and its threads one at a time: only the instruction counts mean
# anything here. TOP=N also prints each proxy's N costliest functions (self instructions).
# Usage: bench/floor-instructions.sh [seconds, default 5]. Needs valgrind, wrk, nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-5}
need valgrind callgrind_control callgrind_annotate wrk nginx python3 curl
WORK=$(mktemp -d)
UP=$(port); PROXY=$(port)
build_floors
mkdir -p "$WORK/up/logs" "$WORK/logs"; chmod 755 "$WORK"
upstream_nginx_conf "$WORK/up" "$UP"
cat > "$WORK/nginx.conf" <<NGINX
master_process off;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:$UP; keepalive 128; }
  server { listen 127.0.0.1:$PROXY;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
nginx -c "$WORK/up/nginx.conf" -p "$WORK/up"
PROXY_PID=
trap 'kill $PROXY_PID 2>/dev/null; wait $PROXY_PID 2>/dev/null; nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT

# measure NAME COMMAND...: one proxy under callgrind on $PROXY, a row of the table.
measure() {
  local name=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$WORK/$name.out" "$@" 2>"$WORK/$name.valgrind" &
  PROXY_PID=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PROXY/" >/dev/null && break; sleep 0.2; done
  wrk -t1 -c8 -d2s "http://127.0.0.1:$PROXY/api/jobs/v1/jobs" >/dev/null
  callgrind_control -z "$PROXY_PID" >/dev/null
  local out; out=$(wrk -t1 -c8 -d"${SECS}s" "http://127.0.0.1:$PROXY/api/jobs/v1/jobs")
  callgrind_control -d "$PROXY_PID" >/dev/null
  kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
  local count; count=$(awk '/requests in/ {print $1}' <<<"$out")
  local bad; bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  # The dump after zeroing is the only one with a name ending in .1 (the exit writes the other).
  local dump; dump=$(ls "$WORK/$name.out".*1 2>/dev/null | head -1)
  local total; total=$(awk '/^totals:/ {print $2}' "$dump")
  printf "%-16s %9s %14s %12.0f %s\n" "$name" "$count" "$total" "$(python3 -c "print($total / $count)")" "${bad:+NON-2xx: $bad}"
  if [ -n "${TOP:-}" ]; then
    callgrind_annotate --threshold=100 --inclusive=no "$dump" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | awk -F'[()%]' '$2 + 0 < 50' | head -"$TOP" | sed 's/^/    /' || true
  fi
}

printf "%-16s %9s %14s %12s\n" "callgrind" "requests" "instructions" "per request"
measure nginx_proxy nginx -c "$WORK/nginx.conf" -p "$WORK"
measure hyper_floor target/release/hyper-floor "127.0.0.1:$PROXY" "127.0.0.1:$UP"
[ -z "$PINGORA_FLOOR_BIN" ] || measure pingora_floor "$PINGORA_FLOOR_BIN" "127.0.0.1:$PROXY" "127.0.0.1:$UP" "${PINGORA_FLOOR_MODE:-steal}"
measure h1_floor target/release/h1-floor "127.0.0.1:$PROXY" "127.0.0.1:$UP"

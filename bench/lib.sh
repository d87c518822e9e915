# Shared by the wrk benchmarks (sourced after `cd` to the repository root): tool checks, the
# tessera binary, free loopback ports, the head of an nginx configuration, a Tessera server to
# measure with a token of its administrator, and one wrk run as a row of the table.
# The caller sets SECS and WORK (a scratch directory) first, and its EXIT trap stops $SERVER.

# need TOOL...: stops with a message when a tool is missing.
need() {
  for tool in "$@"; do command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }; done
}

# tessera_bin: BIN, the binary to measure: TESSERA_BENCH_BIN when set, else this tree's release
# build (built now).
tessera_bin() {
  [ -n "${TESSERA_BENCH_BIN:-}" ] || cargo build --release -q -p tessera
  BIN=${TESSERA_BENCH_BIN:-$PWD/target/release/tessera}
  echo "tessera: $BIN, [server] runtime: ${TESSERA_SERVER_RUNTIME:-default}"
}

# port: a free TCP port on 127.0.0.1.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx_head: the start of an nginx.conf kept in $WORK, up to the opened `http {` block (the
# caller writes its upstreams and servers, and the closing brace).
nginx_head() {
  mkdir -p "$WORK/logs"; chmod 755 "$WORK"
  cat <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
NGINX
}

# start_tessera PORT [serve arguments...]: Tessera on 127.0.0.1:PORT, run in $WORK (SERVER: its
# pid, its log in $WORK/tessera.log), once ready; PAT: a token of its administrator.
start_tessera() {
  local at=$1; shift
  export TESSERA_ADMIN_PASSWORD=bench-admin-password
  (cd "$WORK" && TESSERA_LOG=warn exec "$BIN" serve --listen "127.0.0.1:$at" "$@" >/dev/null 2>"$WORK/tessera.log") &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$at/readyz" >/dev/null && break; sleep 0.1; done
  PAT=$(cd "$WORK" && "$BIN" admin token create --username admin --name bench)
}

# api_key PORT: a new API key of the administrator (through $PAT).
api_key() {
  curl -s -X POST "http://127.0.0.1:$1/api/apiKey/v1/regenerate" -H "Authorization: Bearer $PAT" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])'
}

# exchange_jwt PORT [TOKEN]: an access JWT of the realm for TOKEN (default $PAT).
exchange_jwt() {
  curl -s "http://127.0.0.1:$1/auth/realms/DominoRealm/protocol/openid-connect/token" \
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d "subject_token=${2:-$PAT}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# cpu_ticks PID...: the user and system CPU time of the processes (clock ticks, summed).
cpu_ticks() {
  local user=0 sys=0 pid
  for pid in "$@"; do
    read -r u s < <(awk '{print $14, $15}' "/proc/$pid/stat" 2>/dev/null || echo "0 0")
    user=$((user + u)); sys=$((sys + s))
  done
  echo "$user $sys"
}

# run NAME WRK-ARGUMENTS...: one wrk run (-t2 -c64 for SECS seconds) printed as a row (req/s, p50,
# p99, any non-2xx count), its req/s kept in $WORK/NAME.rps. ROW: the name column's width.
# CPU_PIDS (optional): the processes of the proxy under test; the row then also gives their
# CPU time per request in µs, user and system (from /proc/PID/stat, USER_HZ ticks), a figure
# that a busy machine moves far less than req/s.
run() {
  local name=$1; shift
  local before; before=$(cpu_ticks ${CPU_PIDS:-})
  local out; out=$(wrk -t2 -c64 -d"${SECS}s" --latency "$@" 2>&1)
  local after; after=$(cpu_ticks ${CPU_PIDS:-})
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local count; count=$(awk '/requests in/ {print $1}' <<<"$out")
  local bad; bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  local cpu=""
  if [ -n "${CPU_PIDS:-}" ] && [ "${count:-0}" -gt 0 ]; then
    cpu=$(python3 -c "import os,sys; hz=os.sysconf('SC_CLK_TCK'); b=list(map(int,'$before'.split())); a=list(map(int,'$after'.split())); n=$count; print('%6.1f %6.1f' % ((a[0]-b[0])*1e6/hz/n, (a[1]-b[1])*1e6/hz/n))")
  fi
  printf "%-${ROW:-30}s %10s %9s %9s %13s %s\n" "$name" "$rps" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
    "$(awk '$1=="99%" {print $2}' <<<"$out")" "$cpu" "${bad:+NON-2xx: $bad}"
  echo "$rps" > "$WORK/$name.rps"
}

# run_header: the table's header row.
run_header() {
  printf "%-${ROW:-30}s %10s %9s %9s %13s\n" "wrk -t2 -c64 -d${SECS}s" "req/s" "p50" "p99" "µs user sys"
}

# build_floors: the floors of the proxy hop (examples/{hyper,h1,pingora}-floor), release. Pingora
# is outside the workspace and its zlib needs cmake: without cmake, PINGORA_FLOOR_BIN stays empty
# and its rows are skipped (apt-get install cmake to have them).
build_floors() {
  cargo build --release -q -p hyper-floor -p h1-floor
  PINGORA_FLOOR_BIN=
  if command -v cmake >/dev/null 2>&1; then
    cargo build --release -q --manifest-path examples/pingora-floor/Cargo.toml --target-dir target
    PINGORA_FLOOR_BIN=target/release/pingora-floor
  else
    echo "pingora_floor skipped: building Pingora needs cmake (apt-get install cmake)" >&2
  fi
}

# upstream_nginx_conf DIR PORT: writes DIR/nginx.conf of the upstream the proxies forward to (one
# nginx worker answering 200 "ok" on PORT, no access log), so that each proxy's CPU is its own.
upstream_nginx_conf() {
  mkdir -p "$1/logs"
  cat > "$1/nginx.conf" <<NGINX
worker_processes 1;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$2; location / { return 200 "ok"; } } }
NGINX
}

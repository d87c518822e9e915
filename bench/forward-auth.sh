#!/usr/bin/env bash
# Forward authentication against nginx alone, in one run on one machine (wrk -t2 -c64 --latency,
# loopback only):
#   1 nginx as a plain keep-alive reverse proxy to an upstream (`return 200`)
#   2 the same nginx location with `auth_request` asking Tessera's /auth/verify, with a PAT, a JWT
#     and an API key (the JWT Tessera answers with is passed upstream)
# Usage: bench/forward-auth.sh [seconds, default 10]. Needs wrk and nginx (apt-get install wrk nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
for tool in wrk nginx python3 curl; do command -v $tool >/dev/null || { echo "$tool is needed" >&2; exit 1; }; done
cargo build --release -q -p tessera
BIN=$PWD/target/release/tessera
WORK=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(port); PLAIN=$(port); AUTH=$(port); TS=$(port)
mkdir -p "$WORK/logs"; chmod 755 "$WORK"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:$UP; keepalive 128; }
  upstream tessera { server 127.0.0.1:$TS; keepalive 128; }
  server { listen 127.0.0.1:$UP; location / { return 200 "ok"; } }
  server { listen 127.0.0.1:$PLAIN;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$AUTH;
    location / {
      auth_request /_tessera;
      auth_request_set \$tessera_authorization \$upstream_http_authorization;
      proxy_set_header Authorization \$tessera_authorization;
      proxy_set_header X-Domino-Api-Key "";
      proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
    }
    location = /_tessera {
      internal;
      proxy_pass http://tessera/auth/verify;
      proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
  }
}
NGINX
nginx -c "$WORK/nginx.conf" -p "$WORK"
export TESSERA_ADMIN_PASSWORD=bench-admin-password
(cd "$WORK" && TESSERA_LOG=warn exec "$BIN" serve --listen 127.0.0.1:$TS >/dev/null 2>"$WORK/tessera.log") &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; nginx -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$TS/readyz" >/dev/null && break; sleep 0.1; done
PAT=$(cd "$WORK" && "$BIN" admin token create --username admin --name bench)
KEY=$(curl -s -X POST "http://127.0.0.1:$TS/api/apiKey/v1/regenerate" -H "Authorization: Bearer $PAT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')
JWT=$(curl -s "http://127.0.0.1:$TS/auth/realms/DominoRealm/protocol/openid-connect/token" -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d "subject_token=$PAT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -H "Authorization: Bearer $PAT" "http://127.0.0.1:$AUTH/api/jobs/v1/jobs" >/dev/null || { echo "forward-auth check failed" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tpat_wrong' "http://127.0.0.1:$AUTH/x")" = 401 ] || { echo "a bad token passed" >&2; exit 1; }

run() { # name url [header]
  local out; out=$(wrk -t2 -c64 -d"${SECS}s" --latency ${3:+-H "$3"} "$2")
  local bad; bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-30s %10s %9s %9s %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" "${bad:+NON-2xx: $bad}"
  awk '/Requests\/sec/ {print $2}' <<<"$out" > "$WORK/$1.rps"
}
printf '%-30s %10s %9s %9s\n' "wrk -t2 -c64 -d${SECS}s" "req/s" "p50" "p99"
run nginx_proxy "http://127.0.0.1:$PLAIN/api/jobs/v1/jobs"
run forward_auth_pat "http://127.0.0.1:$AUTH/api/jobs/v1/jobs" "Authorization: Bearer $PAT"
run forward_auth_jwt "http://127.0.0.1:$AUTH/api/jobs/v1/jobs" "Authorization: Bearer $JWT"
run forward_auth_api_key "http://127.0.0.1:$AUTH/api/jobs/v1/jobs" "X-Domino-Api-Key: $KEY"
python3 - "$WORK" <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1]); r = lambda n: float((w / f"{n}.rps").read_text())
base = r("nginx_proxy")
for n in ["forward_auth_pat", "forward_auth_jwt", "forward_auth_api_key"]:
    print(f"{n:30s} {r(n) / base:6.2f} x nginx_proxy (no authentication)")
PY

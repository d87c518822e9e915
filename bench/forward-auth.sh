#!/usr/bin/env bash
# Forward authentication against nginx alone, in one run on one machine (wrk -t2 -c64 --latency,
# loopback only):
#   1 nginx as a plain keep-alive reverse proxy to an upstream (`return 200`)
#   2 the same nginx location with `auth_request` asking Tessera's /auth/verify, with a PAT, a JWT
#     and an API key (the JWT Tessera answers with is passed upstream)
# Usage: bench/forward-auth.sh [seconds, default 10]. Needs wrk and nginx (apt-get install wrk nginx).
# TESSERA_BENCH_BIN: a tessera binary to measure instead of building this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-10}
need wrk nginx python3 curl
tessera_bin
WORK=$(mktemp -d)
UP=$(port); PLAIN=$(port); AUTH=$(port); TS=$(port)
{ nginx_head; cat <<NGINX
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
} > "$WORK/nginx.conf"
nginx -c "$WORK/nginx.conf" -p "$WORK"
trap 'kill ${SERVER:-} 2>/dev/null; wait ${SERVER:-} 2>/dev/null; nginx -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
start_tessera "$TS"
KEY=$(api_key "$TS")
JWT=$(exchange_jwt "$TS")
curl -sf -H "Authorization: Bearer $PAT" "http://127.0.0.1:$AUTH/api/jobs/v1/jobs" >/dev/null || { echo "forward-auth check failed" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tpat_wrong' "http://127.0.0.1:$AUTH/x")" = 401 ] || { echo "a bad token passed" >&2; exit 1; }

run_header
run nginx_proxy "http://127.0.0.1:$PLAIN/api/jobs/v1/jobs"
run forward_auth_pat -H "Authorization: Bearer $PAT" "http://127.0.0.1:$AUTH/api/jobs/v1/jobs"
run forward_auth_jwt -H "Authorization: Bearer $JWT" "http://127.0.0.1:$AUTH/api/jobs/v1/jobs"
run forward_auth_api_key -H "X-Domino-Api-Key: $KEY" "http://127.0.0.1:$AUTH/api/jobs/v1/jobs"
python3 - "$WORK" <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1]); r = lambda n: float((w / f"{n}.rps").read_text())
base = r("nginx_proxy")
for n in ["forward_auth_pat", "forward_auth_jwt", "forward_auth_api_key"]:
    print(f"{n:30s} {r(n) / base:6.2f} x nginx_proxy (no authentication)")
PY

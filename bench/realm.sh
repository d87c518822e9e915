#!/usr/bin/env bash
# End-to-end realm benchmark against the real server on loopback, with wrk:
#   baseline GET /healthz (no auth)      — the server's floor, measured in the same run
#   GET /v4/users/self with a PAT        — credential verified from memory
#   GET /v4/users/self with an RS256 JWT — Tessera verifying its own token (cached after first use)
#   token exchange, cached subject       — same PAT every time: served from the exchange cache
#   token exchange, uncached subjects    — a different PAT per request: claims + RS256 signature
# Usage: bench/realm.sh [seconds per run, default 5]. Needs wrk and python3. Loopback only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
# TESSERA_BENCH_BIN: a tessera binary to measure instead of building this tree's.
[ -n "${TESSERA_BENCH_BIN:-}" ] || cargo build --release -q -p tessera
BIN=${TESSERA_BENCH_BIN:-$PWD/target/release/tessera}
echo "tessera: $BIN, [server] runtime: ${TESSERA_SERVER_RUNTIME:-default}"
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
export TESSERA_ADMIN_PASSWORD=bench-admin-password
(cd "$WORK" && TESSERA_LOG=warn exec "$BIN" serve --listen 127.0.0.1:$PORT >/dev/null 2>"$WORK/server.log") &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
ADMIN=$(cd "$WORK" && "$BIN" admin token create --username admin --name bench)

# Subject tokens for the uncached run: more than the run can use.
N=${TESSERA_BENCH_TOKENS:-40000}
python3 - "$URL" "$ADMIN" "$N" > "$WORK/tokens.txt" <<'PY'
import http.client, json, sys, threading
url, admin, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = url.split("//")[1].split(":")
out, lock = [], threading.Lock()
def work(start, count):
    conn = http.client.HTTPConnection(host, int(port))
    for i in range(start, start + count):
        body = json.dumps({"name": f"b{i}", "expiresIn": 3600})
        conn.request("POST", "/api/pat/v1/tokens", body, {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
        token = json.loads(conn.getresponse().read())["token"]
        with lock:
            out.append(token)
threads = [threading.Thread(target=work, args=(k * (n // 4), n // 4)) for k in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
print("\n".join(out))
PY
PAT=$(head -1 "$WORK/tokens.txt")
JWT=$(curl -s "$URL/auth/realms/DominoRealm/protocol/openid-connect/token" -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d "subject_token=$PAT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat > "$WORK/exchange.lua" <<LUA
local path = "/auth/realms/DominoRealm/protocol/openid-connect/token"
local grant = "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token="
local tokens, i, step = {}, 0, 1
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  if args[2] == "cached" then tokens = { tokens[1] } end
  -- Thread k walks its own stripe of the list, so no subject repeats across threads.
  i, step = (id or 1) - 1, 2
end
function request()
  i = i + step
  local t = tokens[(i % #tokens) + 1]
  return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, grant .. t)
end
LUA

run() { # name, then wrk arguments
  local name=$1; shift
  local out; out=$(wrk -t2 -c64 -d"${SECS}s" --latency "$@" 2>&1)
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local bad; bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-34s %12s %10s %10s %s\n' "$name" "$rps" "$p50" "$p99" "${bad:+NON-2xx: $bad}"
  echo "$rps" > "$WORK/$name.rps"
}

printf '%-34s %12s %10s %10s\n' "run (wrk -t2 -c64, ${SECS}s)" "req/s" "p50" "p99"
run healthz "$URL/healthz"
run self_with_pat -H "Authorization: Bearer $PAT" "$URL/v4/users/self"
run self_with_jwt -H "Authorization: Bearer $JWT" "$URL/v4/users/self"
run exchange_cached -s "$WORK/exchange.lua" "$URL" -- "$WORK/tokens.txt" cached
# Short, so that no subject comes round twice: the script warns if the run used more requests
# than there are subject tokens.
run exchange_uncached -d 2s -s "$WORK/exchange.lua" "$URL" -- "$WORK/tokens.txt" all
python3 -c "import sys; n=float(open('$WORK/exchange_uncached.rps').read())*2; t=$N; print('' if n < t else f'WARNING: {n:.0f} uncached requests > {t} subject tokens; raise TESSERA_BENCH_TOKENS')"
python3 - "$WORK" <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1]); r = lambda n: float((w / f"{n}.rps").read_text())
base = r("healthz")
for n in ["self_with_pat", "self_with_jwt", "exchange_cached", "exchange_uncached"]:
    print(f"{n:34s} {r(n) / base:8.3f} x healthz")
PY

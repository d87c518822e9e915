#!/usr/bin/env bash
# End-to-end realm benchmark against the real server on loopback, with wrk:
#   baseline GET /healthz (no auth)      — the server's floor, measured in the same run
#   GET /v4/users/self with a PAT        — credential verified from memory
#   GET /v4/users/self with an RS256 JWT — Tessera verifying its own token (cached after first use)
#   token exchange, cached subject       — same PAT every time: served from the exchange cache
#   token exchange, uncached subjects    — a different PAT per request: claims + RS256 signature
# Usage: bench/realm.sh [seconds per run, default 5]. Needs wrk and python3. Loopback only; stops by itself.
# TESSERA_BENCH_BIN: a tessera binary to measure instead of building this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-5}
need wrk python3 curl
tessera_bin
WORK=$(mktemp -d)
PORT=$(port)
URL=http://127.0.0.1:$PORT
trap 'kill ${SERVER:-} 2>/dev/null; wait ${SERVER:-} 2>/dev/null; rm -rf "$WORK"' EXIT
start_tessera "$PORT"
ADMIN=$PAT

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
JWT=$(exchange_jwt "$PORT" "$PAT")

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

ROW=34
run_header
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

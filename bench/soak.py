#!/usr/bin/env python3
"""The soak of issue #19 against one running node (driven by bench/soak.sh).

5,000 PATs over 50 users rotate at 64 connections (wrk -t2 -c64, GET /v4/users/self, run in
one-minute rounds) while one PAT is revoked and one created every 100 ms. Samples the node's
resident memory every 10 s; reports throughput per minute, every revocation's answer, and at
the end presents every revoked PAT again, which must be refused. Prints one JSON object.
Standard library only.
"""

import argparse
import http.client
import json
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time

USERS = 50
PER_USER = 100


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None

    def call(self, method, path, token=None, body=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                return resp.status, parsed
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def parallel(items, work, threads, host, port):
    """Runs work(client, item) over items on `threads` keep-alive connections; results in order."""
    results = [None] * len(items)
    jobs = queue.Queue()
    for i, item in enumerate(items):
        jobs.put((i, item))

    def run():
        client = Client(host, port)
        while True:
            try:
                i, item = jobs.get_nowait()
            except queue.Empty:
                return
            results[i] = work(client, item)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--database", required=True)
    ap.add_argument("--secs", type=int, default=300)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    host, port = "127.0.0.1", args.port
    admin = subprocess.check_output(
        [args.bin, "admin", "token", "create", "--username", "admin", "--name", "soak",
         "--database", args.database], text=True).strip()
    client = Client(host, port)

    # Populate: users, a bootstrap PAT each (as the operator CLI makes it), then their PATs.
    started = time.monotonic()
    owners = {}
    for u in range(USERS):
        name = f"soak{u:02d}"
        status, _ = client.call("POST", "/api/admin/v1/users", admin,
                                {"userName": name, "email": f"{name}@example.com", "roles": []})
        assert status == 201, status
        owners[name] = subprocess.check_output(
            [args.bin, "admin", "token", "create", "--username", name, "--name", "bootstrap",
             "--database", args.database], text=True).strip()

    def create(c, item):
        owner, n = item
        status, body = c.call("POST", "/api/pat/v1/tokens", owners[owner],
                              {"name": f"soak-{n}", "expiresIn": 86400})
        assert status == 201, (status, body)
        return {"id": body["patId"], "token": body["token"], "owner": owner}

    items = [(f"soak{u:02d}", f"{u}-{i}") for u in range(USERS) for i in range(PER_USER)]
    pats = parallel(items, create, 8, host, port)
    populate_secs = time.monotonic() - started
    tokens_file = os.path.join(args.work, "tokens.txt")

    def write_tokens(all_pats):
        with open(tokens_file, "w") as f:
            for p in all_pats:
                f.write(p["token"] + "\n")

    write_tokens(pats)

    stop = threading.Event()
    rss = []
    lock = threading.Lock()
    live = list(pats)
    revoked, created, revocations = [], [], []

    def sample():
        t0 = time.monotonic()
        while not stop.is_set():
            rss.append({"t": round(time.monotonic() - t0), "rss_mib": round(rss_kib(args.pid) / 1024, 1)})
            stop.wait(10)

    def churn():
        c = Client(host, port)
        n = 0
        next_at = time.monotonic()
        while not stop.is_set():
            with lock:
                victim = live.pop(random.randrange(len(live)))
            t = time.monotonic()
            status, _ = c.call("POST", f"/api/pat/v1/tokens/{victim['id']}/invalidate",
                               owners[victim["owner"]])
            revocations.append({"status": status, "ms": round((time.monotonic() - t) * 1000, 1)})
            revoked.append(victim)
            n += 1
            status, body = c.call("POST", "/api/pat/v1/tokens", owners[victim["owner"]],
                                  {"name": f"churn-{n}", "expiresIn": 86400})
            if status == 201:
                fresh = {"id": body["patId"], "token": body["token"], "owner": victim["owner"]}
                with lock:
                    live.append(fresh)
                created.append(fresh)
            else:
                created.append({"status": status})
            next_at += 0.1
            stop.wait(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=sample), threading.Thread(target=churn)]
    for t in threads:
        t.start()
    minutes = []
    remaining = args.secs
    env = dict(os.environ, SOAK_TOKENS=tokens_file)
    lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "soak.lua")
    while remaining > 0:
        secs = min(60, remaining)
        out = subprocess.run(
            ["wrk", "-t2", "-c64", f"-d{secs}s", "-s", lua, f"http://{host}:{port}/v4/users/self"],
            env=env, capture_output=True, text=True, check=True).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        total = int(re.search(r"(\d+) requests in", out).group(1))
        minutes.append({"secs": secs, "req_per_s": rate, "requests": total,
                        "refused": int(non2xx.group(1)) if non2xx else 0})
        remaining -= secs
        # The next round also rotates the PATs created meanwhile (revoked ones stay in it).
        with lock:
            write_tokens(pats + [p for p in created if "token" in p])
    stop.set()
    for t in threads:
        t.join()

    # Every revoked PAT is refused (401, or 429 once the address is over the failure limit).
    def present(c, p):
        status, _ = c.call("GET", "/v4/users/self", p["token"])
        return status

    final = parallel(revoked, present, 8, host, port)
    statuses = [r["status"] for r in revocations]
    result = {
        "populate_secs": round(populate_secs, 1),
        "pats": len(pats),
        "minutes": minutes,
        "rss": rss,
        "revocations": len(revocations),
        "revocations_not_200": sum(1 for s in statuses if s != 200),
        "revocations_503": sum(1 for s in statuses if s == 503),
        "revocation_ms_max": max((r["ms"] for r in revocations), default=0),
        "revocation_ms_p99": sorted(r["ms"] for r in revocations)[int(len(revocations) * 0.99)]
        if revocations else 0,
        "creations": len(created),
        "creations_failed": sum(1 for p in created if "token" not in p),
        "revoked_presented": len(final),
        "revoked_accepted": sum(1 for s in final if s == 200),
        "revoked_final_statuses": sorted(set(final)),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()

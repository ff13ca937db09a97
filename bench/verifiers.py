#!/usr/bin/env python3
"""Warm latency of wristband's verifiers, in one run against one stack: GET /protected,
GET /me (the guard's example), the Lambda authorizer (through the emulator's invoke
API, as API Gateway calls it) and, with BENCH_CLIENT_ID / BENCH_CLIENT_SECRET set, POST
/oauth/introspect, each with a valid access token, so each does its one revocation read
on DynamoDB.

Sequential requests on one keep-alive connection after a warm-up; p50 and p90 in ms, and
the CPU time the function's processes (every instance of target/*/<function>, read from
/proc before and after the timed requests) spent per request, user and system.
Usage: verifiers.py BASE_URL [--n 1000] [--json out.json]   (stdlib only)
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
import uuid


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def cpu_seconds(function):
    """{pid: (user, system) CPU seconds} of every running process of `function`'s binary."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                exe = f.read().split(b"\0")[0].decode(errors="replace")
            if os.path.basename(exe) != function or "target/" not in exe:
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime and stime (fields 14 and 15; fields[0] is field 3, the state)
            found[pid] = (int(fields[11]) / tick, int(fields[12]) / tick)
        except (OSError, IndexError, ValueError):
            continue
    return found


def warm_instances(base, method, path, body, headers, instances=8, each=25):
    """Requests on `instances` connections at once, so that the emulator starts every
    instance of the function before the timed requests (a start-up is not a request)."""
    url = urllib.parse.urlsplit(base)

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        for _ in range(each):
            request(conn, method, path, body, headers)

    threads = [threading.Thread(target=worker) for _ in range(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def timed(base, conn, n, method, path, body, headers, check, function):
    warm_instances(base, method, path, body, headers)
    for _ in range(min(50, n)):  # warm-up: connections open
        check(*request(conn, method, path, body, headers))
    cpu_before = cpu_seconds(function)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        status, data = request(conn, method, path, body, headers)
        times.append((time.perf_counter() - t) * 1000)
        check(status, data)
    cpu_after = cpu_seconds(function)
    times.sort()
    # Instances started during the timed requests would add their start-up: counted apart.
    both = cpu_before.keys() & cpu_after.keys()
    user, system = (1e6 * sum(cpu_after[p][i] - cpu_before[p][i] for p in both) / n for i in (0, 1))
    return {
        "p50_ms": statistics.median(times),
        "p90_ms": times[int(len(times) * 0.9) - 1],
        "n": n,
        "cpu_us_per_request": user + system,
        "cpu_user_us_per_request": user,
        "cpu_system_us_per_request": system,
        "instances": len(cpu_after),
        "instances_started_while_timed": len(cpu_after.keys() - cpu_before.keys()),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--json")
    args = ap.parse_args()
    url = urllib.parse.urlsplit(args.base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    user = f"bench-{uuid.uuid4().hex[:12]}"
    creds = json.dumps({"username": user, "password": "correct horse battery staple"})
    ct = {"content-type": "application/json"}
    status, _ = request(conn, "POST", "/register", creds, ct)
    assert status == 201, status
    status, data = request(conn, "POST", "/login", creds, ct)
    assert status == 200, (status, data)
    token = json.loads(data)["access_token"]
    bearer = {"authorization": f"Bearer {token}"}

    def ok_200(status, data):
        if status != 200:
            sys.exit(f"unexpected {status}: {data[:200]!r}")

    def allowed(status, data):
        if status != 200 or not json.loads(data).get("isAuthorized"):
            sys.exit(f"authorizer did not allow: {status} {data[:200]!r}")

    event = json.dumps({
        "version": "2.0", "type": "REQUEST", "routeKey": "GET /hello", "rawPath": "/hello",
        "headers": {"authorization": f"Bearer {token}"},
        "requestContext": {"http": {"method": "GET", "path": "/hello"}},
    })
    results = {
        "protected": timed(args.base, conn, args.n, "GET", "/protected", None, bearer, ok_200, "protected"),
        "me": timed(args.base, conn, args.n, "GET", "/me", None, bearer, ok_200, "me"),
        "authorizer": timed(args.base, conn, args.n, "POST", "/2015-03-31/functions/authorizer/invocations",
                            event, ct, allowed, "authorizer"),
    }
    client = (os.environ.get("BENCH_CLIENT_ID"), os.environ.get("BENCH_CLIENT_SECRET"))
    if all(client):
        import base64
        basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()

        def active(status, data):
            if status != 200 or json.loads(data).get("active") is not True:
                sys.exit(f"introspection did not answer active: {status} {data[:200]!r}")

        results["introspect"] = timed(
            args.base, conn, args.n, "POST", "/oauth/introspect", f"token={token}",
            {"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
            active, "introspect")
    for name, r in results.items():
        print(f"{name:11} p50 {r['p50_ms']:.2f} ms  p90 {r['p90_ms']:.2f} ms  ({r['n']} sequential)"
              f"  CPU {r['cpu_us_per_request']:.0f} us/request"
              f" ({r['cpu_user_us_per_request']:.0f} user + {r['cpu_system_us_per_request']:.0f} sys),"
              f" {r['instances']} instances ({r['instances_started_while_timed']} started while timed)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

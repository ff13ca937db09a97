#!/usr/bin/env python3
"""Small load check for a running wristband API (stdlib only).

Registers a random user, logs in, then measures
  * N GET /protected with keep-alive connections at concurrency C (threads), and
  * M sequential POST /login (argon2id dominates these),
checks that every answer is 200 and prints p50/p90/p99 latency and req/s.

    python3 bench/load.py                               # http://127.0.0.1:9000, N=500 C=1 M=20
    python3 bench/load.py http://127.0.0.1:9000 -n 2000 -c 4 -m 50 --json

Against `cargo lambda watch`, use `--concurrency C` there too, or requests queue per function.
Exit status 1 when any request answered something other than 200 (or failed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import socket
import sys
import threading
import time
import urllib.parse


class Fail(Exception):
    pass


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects once if the server closed it."""

    def __init__(self, base: str, timeout: float) -> None:
        u = urllib.parse.urlsplit(base)
        if u.scheme not in ("http", "https"):
            raise SystemExit(f"unsupported URL scheme: {base}")
        self.https = u.scheme == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.https else 80)
        self.prefix = u.path.rstrip("/")
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        conn.connect()
        # Small request/response pairs: do not let Nagle + delayed ACK add ~40 ms.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"accept": "application/json", "connection": "keep-alive"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if token:
            headers["authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, payload
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def expect(status: int, payload: bytes, want: int, what: str) -> dict:
    if status != want:
        raise Fail(f"{what}: expected {want}, got {status}: {payload[:300].decode(errors='replace')}")
    try:
        return json.loads(payload) if payload else {}
    except ValueError as e:
        raise Fail(f"{what}: body is not JSON: {e}") from e


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def summarize(name: str, latencies: list[float], wall: float, errors: int) -> dict:
    lat = sorted(latencies)
    ms = [x * 1000.0 for x in lat]
    return {
        "name": name,
        "requests": len(lat),
        "errors": errors,
        "seconds": round(wall, 3),
        "req_per_s": round(len(lat) / wall, 1) if wall > 0 else None,
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2) if ms else None,
    }


def run_protected(base: str, token: str, total: int, concurrency: int, timeout: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        client = Client(base, timeout)
        local: list[float] = []
        try:
            while True:
                with lock:
                    if errors or next(counter, None) is None:
                        break
                t0 = time.perf_counter()
                try:
                    status, payload = client.request("GET", "/protected", token=token)
                    expect(status, payload, 200, "GET /protected")
                except Exception as e:  # noqa: BLE001 - report any failure
                    with lock:
                        errors.append(str(e))
                    break
                local.append(time.perf_counter() - t0)
        finally:
            client.close()
            with lock:
                latencies.extend(local)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, concurrency))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    result = summarize(f"GET /protected x{total} (c={concurrency})", latencies, wall, len(errors))
    if errors:
        result["first_error"] = errors[0]
    return result


def run_logins(base: str, username: str, password: str, total: int, timeout: float) -> dict:
    client = Client(base, timeout)
    latencies: list[float] = []
    error = None
    start = time.perf_counter()
    try:
        for _ in range(total):
            t0 = time.perf_counter()
            try:
                status, payload = client.request("POST", "/login", {"username": username, "password": password})
                expect(status, payload, 200, "POST /login")
            except Exception as e:  # noqa: BLE001
                error = str(e)
                break
            latencies.append(time.perf_counter() - t0)
    finally:
        client.close()
    wall = time.perf_counter() - start
    result = summarize(f"POST /login x{total} (sequential)", latencies, wall, 1 if error else 0)
    if error:
        result["first_error"] = error
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base_url", nargs="?", default="http://127.0.0.1:9000")
    ap.add_argument("-n", "--requests", type=int, default=500, help="GET /protected requests (default 500)")
    ap.add_argument("-c", "--concurrency", type=int, default=1, help="threads for GET /protected (default 1)")
    ap.add_argument("-m", "--logins", type=int, default=20, help="sequential POST /login requests (default 20)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (default 30)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()

    username = "load-" + secrets.token_hex(6)
    password = secrets.token_urlsafe(18)
    setup = Client(args.base_url, args.timeout)
    try:
        status, payload = setup.request("POST", "/register", {"username": username, "password": password})
        expect(status, payload, 201, "POST /register")
        status, payload = setup.request("POST", "/login", {"username": username, "password": password})
        token = expect(status, payload, 200, "POST /login").get("access_token")
        if not token:
            raise Fail("POST /login: no access_token in the answer")
    except (Fail, OSError, http.client.HTTPException) as e:
        print(f"setup failed against {args.base_url}: {e}", file=sys.stderr)
        return 1
    finally:
        setup.close()

    results = [
        run_protected(args.base_url, token, args.requests, args.concurrency, args.timeout),
        run_logins(args.base_url, username, password, args.logins, args.timeout),
    ]
    failed = any(r["errors"] for r in results)

    if args.json:
        print(json.dumps({"base_url": args.base_url, "ok": not failed, "results": results}, indent=2))
    else:
        print(f"wristband load check against {args.base_url} (user {username})")
        header = f"{'scenario':<36} {'n':>6} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        print(header)
        print("-" * len(header))
        for r in results:
            print(
                f"{r['name']:<36} {r['requests']:>6} {r['req_per_s'] or 0:>8} {r['p50_ms']:>8} "
                f"{r['p90_ms']:>8} {r['p99_ms']:>8} {r['max_ms'] or 0:>8}"
            )
        for r in results:
            if r.get("first_error"):
                print(f"FAILED {r['name']}: {r['first_error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

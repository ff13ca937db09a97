#!/usr/bin/env python3
"""Drive one Lambda function binary with back-to-back invocations and measure its CPU.

A minimal Lambda Runtime API (`invocation/next`, `invocation/<id>/response|error`) runs
here on a free loopback port; the function binary is started with AWS_LAMBDA_RUNTIME_API
pointing at it and gets one API Gateway HTTP API (v2) `GET /protected` event with a valid
access token after the other, as fast as it answers (one at a time, like Lambda).

The token is minted here (HS256 with JWT_SECRET, kid JWT_KID or wristband-1, the claims of
shared/core/src/tokens.rs), so no login is needed. The tables must exist (run.sh creates
them with tools/create-tables before calling this).

Phases: warm-up (--warmup), a measured batch without perf (--n): requests/s, latency
median/p90 seen here (event written -> response received), the process's CPU time per
request from /proc (utime/stime ticks and per-thread schedstat ns); then, with
--perf-seconds, `perf record` attached to the function's pid only while the loop runs.

Env: AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL (DynamoDB Local),
JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, REVOKED_TOKENS_TABLE (and the others), RUST_LOG.
Usage: drive.py BINARY [--warmup 500] [--n 5000] [--perf-seconds 15] [--perf-out FILE]
       [--perf-freq 999] [--call-graph dwarf] [--json out.json]        (stdlib only)
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from runtime_api import send_invocation  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_access_token(secret, issuer, audience, kid, sub="profile-user", ttl=3600):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "HS256", "kid": kid}
    claims = {
        "iss": issuer, "aud": audience, "sub": sub, "jti": uuid.uuid4().hex,
        "iat": now, "nbf": now, "exp": now + ttl, "type": "access", "fresh": True,
        "sid": uuid.uuid4().hex, "roles": [],
    }
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def make_event(token, i=0):
    return {
        "version": "2.0",
        "routeKey": "GET /protected",
        "rawPath": "/protected",
        "rawQueryString": "",
        "headers": {
            "accept": "*/*", "authorization": f"Bearer {token}", "host": "api.example.com",
            "user-agent": "profile-driver/1.0", "x-forwarded-for": "127.0.0.1",
            "x-forwarded-port": "443", "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": f"prof-{i}", "routeKey": "GET /protected",
            "stage": "$default", "time": "22/Nov/2026:06:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/protected", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "profile-driver/1.0"},
        },
        "isBase64Encoded": False,
    }


class State:
    tickets = queue.Queue()   # one item per invocation to hand out; None = stop
    answered = threading.Semaphore(0)
    body = b""
    sent_at = {}
    latencies = []
    bad = []
    seq = 0


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without it a headers write then a body write meet the client's delayed ACK: +40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        if State.tickets.get() is None:
            self.send_error(410)
            return
        State.seq += 1
        rid = f"prof-{State.seq}"
        send_invocation(self, rid, "protected", State.body)
        State.sent_at[rid] = time.perf_counter()

    def do_POST(self):
        t = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        parts = self.path.rstrip("/").split("/")
        rid, kind = parts[-2], parts[-1]
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        t0 = State.sent_at.pop(rid, None)
        if t0 is not None:
            State.latencies.append((t - t0) * 1e6)
        if kind != "response" or b'"statusCode":200' not in data:
            State.bad.append((kind, data[:300]))
        State.answered.release()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def proc_cpu(pid):
    """(utime s, stime s, on-CPU ns summed over threads, thread count)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]) / TICK, int(fields[12]) / TICK
    ns = 0
    tasks = os.listdir(f"/proc/{pid}/task")
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
        except OSError:
            pass
    return utime, stime, ns, len(tasks)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def run_batch(n):
    State.latencies = []
    for _ in range(n):
        State.tickets.put(1)
    for _ in range(n):
        if not State.answered.acquire(timeout=30):
            raise SystemExit("FAIL: the function stopped answering")


def batch_report(pid, n):
    la0 = loadavg()
    c0, w0 = proc_cpu(pid), time.perf_counter()
    run_batch(n)
    w1, c1 = time.perf_counter(), proc_cpu(pid)
    lat = sorted(State.latencies)
    wall = w1 - w0
    return {
        "requests": n, "wall_s": wall, "rps": n / wall,
        "lat_p50_us": statistics.median(lat), "lat_p90_us": lat[int(len(lat) * 0.9) - 1],
        "lat_p99_us": lat[int(len(lat) * 0.99) - 1],
        "cpu_user_us": (c1[0] - c0[0]) / n * 1e6, "cpu_sys_us": (c1[1] - c0[1]) / n * 1e6,
        "cpu_sched_us": (c1[2] - c0[2]) / n / 1e3, "threads": c1[3],
        "cpu_util": (c1[2] - c0[2]) / 1e9 / wall,
        "loadavg_before": la0, "loadavg_after": loadavg(),
    }


def show(label, r):
    print(f"{label}: {r['requests']} req in {r['wall_s']:.2f} s = {r['rps']:.0f} req/s; "
          f"latency p50 {r['lat_p50_us']:.0f} us p90 {r['lat_p90_us']:.0f} us "
          f"p99 {r['lat_p99_us']:.0f} us; CPU/request {r['cpu_sched_us']:.0f} us "
          f"(user {r['cpu_user_us']:.0f} + sys {r['cpu_sys_us']:.0f} from ticks), "
          f"process busy {r['cpu_util']*100:.0f}% of one core, {r['threads']} threads; "
          f"loadavg {' '.join(r['loadavg_before'])} -> {' '.join(r['loadavg_after'])}",
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=1, help="measured batches")
    ap.add_argument("--perf-seconds", type=float, default=0)
    ap.add_argument("--perf-out", default="perf.data")
    ap.add_argument("--perf-freq", type=int, default=999)
    ap.add_argument("--call-graph", default="dwarf,16384")
    ap.add_argument("--json")
    args = ap.parse_args()

    env = dict(os.environ)
    for k in ("AWS_ENDPOINT_URL", "JWT_SECRET"):
        if not env.get(k):
            raise SystemExit(f"{k} is not set")
    token = mint_access_token(env["JWT_SECRET"], env.get("JWT_ISSUER", "wristband"),
                              env.get("JWT_AUDIENCE", "wristband-clients"),
                              env.get("JWT_KID", "wristband-1"))
    State.body = json.dumps(make_event(token)).encode()

    server = Server(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "protected", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "profile",
        "AWS_LAMBDA_LOG_GROUP_NAME": "profile",
    })
    env.setdefault("RUST_LOG", "warn")
    proc = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stderr_lines = []
    threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True).start()
    out = {"binary": args.binary, "pid": proc.pid, "rust_log": env["RUST_LOG"]}
    try:
        run_batch(1)
        if State.bad:
            raise SystemExit(f"FAIL: first answer is not a 200: {State.bad[0]!r}")
        run_batch(args.warmup)
        out["batches"] = []
        for i in range(args.repeat):
            r = batch_report(proc.pid, args.n)
            show(f"batch {i + 1} (no perf)", r)
            out["batches"].append(r)

        if args.perf_seconds > 0:
            # Feed the loop from a thread; perf records the function's pid only.
            stop = threading.Event()
            counted = [0]

            def feeder():
                while not stop.is_set():
                    run_batch(50)
                    counted[0] += 50

            c0, la0 = proc_cpu(proc.pid), loadavg()
            t = threading.Thread(target=feeder, daemon=True)
            t.start()
            time.sleep(0.5)
            n0, cpu0, w0 = counted[0], proc_cpu(proc.pid), time.perf_counter()
            perf = subprocess.run(
                ["perf", "record", "-F", str(args.perf_freq), "-g", "--call-graph",
                 args.call_graph, "-p", str(proc.pid), "-o", args.perf_out, "--",
                 "sleep", str(args.perf_seconds)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            n1, cpu1, w1 = counted[0], proc_cpu(proc.pid), time.perf_counter()
            stop.set()
            t.join()
            n = max(n1 - n0, 1)
            out["perf"] = {
                "requests_approx": n1 - n0, "wall_s": w1 - w0, "rps": n / (w1 - w0),
                "cpu_sched_us": (cpu1[2] - cpu0[2]) / n / 1e3,
                "cpu_user_us": (cpu1[0] - cpu0[0]) / n * 1e6,
                "cpu_sys_us": (cpu1[1] - cpu0[1]) / n * 1e6,
                "loadavg_before": la0, "loadavg_after": loadavg(),
                "perf_output": perf.stdout[-2000:], "perf_rc": perf.returncode,
            }
            print(f"perf window: ~{n1 - n0} req in {w1 - w0:.1f} s ({n / (w1 - w0):.0f} req/s "
                  f"under perf); CPU/request {out['perf']['cpu_sched_us']:.0f} us (inflated by "
                  f"perf's own sampling); perf rc {perf.returncode}\n{perf.stdout[-600:]}",
                  flush=True)
        if State.bad:
            print(f"WARNING: {len(State.bad)} answers were not 200: {State.bad[0]!r}")
        out["non_200"] = len(State.bad)
    finally:
        State.tickets.put(None)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
    if stderr_lines:
        print("function stderr (first lines):", b"".join(stderr_lines[:5]).decode(errors="replace"))
    out["stderr_lines"] = len(stderr_lines)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

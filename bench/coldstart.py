#!/usr/bin/env python3
"""Cold start of a Lambda function binary: process launch -> first answered event.

A minimal Lambda Runtime API (the two calls a runtime makes: `invocation/next` and
`invocation/<id>/response`) runs in this process on a free loopback port. For each run
the function binary is started with AWS_LAMBDA_RUNTIME_API pointing here; the clock starts
just before the process is spawned and stops when its first response arrives. The event
is an API Gateway HTTP API (v2) `GET /protected` without a token (answered 401 without
touching DynamoDB), like the peer's `coldstart.sh` (launch -> first 401).

With --event FILE another event is sent (e.g. an authorizer event). Any answer that is not
a runtime error counts: a 4xx of an HTTP function (e.g. 404 when the event's path is not
the function's route) or an authorizer's simple response; none of them touches DynamoDB.

Usage: coldstart.py BINARY [--runs 10] [--event FILE] [--json out.json]   (stdlib only)
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from runtime_api import send_invocation

EVENT = {
    "version": "2.0",
    "routeKey": "GET /protected",
    "rawPath": "/protected",
    "rawQueryString": "",
    "headers": {"host": "localhost", "user-agent": "coldstart"},
    "requestContext": {
        "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
        "domainPrefix": "localhost", "requestId": "cold-1", "routeKey": "GET /protected",
        "stage": "$default", "time": "22/Nov/2026:06:00:00 +0000", "timeEpoch": 0,
        "http": {"method": "GET", "path": "/protected", "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "coldstart"},
    },
    "isBase64Encoded": False,
}


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set per run: dict(served=bool, done=Event, answer=..., t_answer=...)
    event = EVENT

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        st = RuntimeApi.state
        if st["served"]:
            # Only one event per run: park the runtime's next poll until the run ends.
            st["done"].wait(30)
            self.send_error(410)
            return
        st["served"] = True
        send_invocation(self, "cold-1", "coldstart", json.dumps(RuntimeApi.event).encode())

    def do_POST(self):
        t = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        st = RuntimeApi.state
        if self.path.endswith("/response") or self.path.endswith("/error"):
            st["t_answer"] = t
            st["answer"] = (self.path.rsplit("/", 1)[-1], data)
            st["done"].set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the killed function drops its parked `next` poll: expected


def one_run(binary, env):
    # A fresh Runtime API per run: a killed function's parked `next` poll must never reach
    # the next run's state (it would take that run's only event).
    server = QuietServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    done = threading.Event()
    RuntimeApi.state = {"served": False, "done": done, "answer": None, "t_answer": None}
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ok = done.wait(30)
    proc.kill()
    _, err = proc.communicate()
    server.shutdown()
    server.server_close()
    if not ok:
        raise SystemExit(f"FAIL: no answer within 30 s; stderr:\n{err.decode(errors='replace')}")
    kind, data = RuntimeApi.state["answer"]
    if kind != "response":
        raise SystemExit(f"FAIL: the function reported an error: {data[:300]!r}")
    answer = json.loads(data)
    status = answer.get("statusCode")
    if not (isinstance(status, int) and 400 <= status < 500) and "isAuthorized" not in answer:
        raise SystemExit(f"FAIL: expected a 4xx or an authorizer answer, got {answer!r}")
    return (RuntimeApi.state["t_answer"] - t0) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json")
    ap.add_argument("--event", help="JSON event file (default: GET /protected, no token)")
    args = ap.parse_args()
    if args.event:
        with open(args.event) as f:
            RuntimeApi.event = json.load(f)

    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": "coldstart",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart",
        "AWS_LAMBDA_LOG_GROUP_NAME": "coldstart",
        "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID", "dummy"),
        "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY", "dummy"),
        "JWT_SECRET": env.get("JWT_SECRET") or "coldstart-secret-coldstart-secret-0123456789",
        "RUST_LOG": "warn",
    })
    times = [one_run(args.binary, env) for _ in range(args.runs)]
    median = statistics.median(times)
    print(f"{os.path.basename(args.binary)}: launch -> first answer median {median:.1f} ms "
          f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"binary": args.binary, "runs_ms": times, "median_ms": median}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

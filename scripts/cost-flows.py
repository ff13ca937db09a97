#!/usr/bin/env python3
"""What each user flow costs in AWS calls, counted from the recording proxy (issue 20, item 6).

Drives each flow N times, one after another, against the local stack whose AWS calls go
through scripts/aws-recorder.py with --capacity, and attributes the record's new lines to
the flow that was running: function invocations (the record's callers), DynamoDB calls,
read and write request units as DynamoDB Local reports them (ConsumedCapacity; on-demand
bills the same units), and mails sent. Nothing else may run against the stack meanwhile.

Prints a table and writes it as JSON (the input of docs/performance.md's cost table).

Usage: cost-flows.py BASE_URL RECORD SES_URL OUT.json [N]
"""
import collections
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request

BASE, RECORD, SES, OUT = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3].rstrip("/"), sys.argv[4]
N = int(sys.argv[5]) if len(sys.argv) > 5 else 5
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


def call(method, url, token=None, body=None, expect=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url if url.startswith("http") else BASE + url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    payload = json.loads(raw) if raw else None
    if expect is not None and status != expect:
        sys.exit(f"cost-flows: {method} {url}: {status} {payload}, expected {expect}")
    return payload


def link_token(to, page):
    """The token of the newest link to `page` in the SES emulator's mail to `to`."""
    for _ in range(50):
        mails = [m for m in call("GET", SES + "/store")["emails"] if to in m["destination"]["to"]]
        for mail in reversed(mails):
            found = re.search(re.escape(page) + r"#token=([A-Za-z0-9_\-]+)", mail["body"]["text"] or "")
            if found:
                return found.group(1)
        time.sleep(0.1)
    sys.exit(f"cost-flows: no {page} link for {to}")


def lines_after(offset: int) -> list[str]:
    """The record's lines written after byte `offset` (the proxy appends whole lines)."""
    with open(RECORD, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8").splitlines()


def least_units(entry: dict) -> float:
    """The fewest request units DynamoDB bills for one recorded line (our items are under
    1 KB, and 4 KB read): a read 1 per key (0.5 eventually consistent), a Query or Scan 1
    (0.5), a write 1 per item; a transaction twice that."""
    operation = entry["operation"]
    keys = max(1, len(entry.get("leading_keys") or []))
    if operation in ("Query", "Scan"):
        keys = 1
    if operation in READS:
        units = keys * (1.0 if entry.get("consistent") else 0.5)
    else:
        units = float(keys)
    return units * (2 if operation.startswith("Transact") else 1)


class Meter:
    def __init__(self):
        self.flows = collections.OrderedDict()

    def measure(self, name, fn, *args):
        before = os.path.getsize(RECORD)
        out = fn(*args)
        time.sleep(0.2)  # a mail is sent before the answer; the record is flushed per call
        new = [json.loads(line) for line in lines_after(before)]
        flow = self.flows.setdefault(name, {"runs": 0, "functions": set(),
                                            "dynamodb_calls": 0, "rru": 0.0, "wru": 0.0, "mails": 0})
        flow["runs"] += 1
        calls = {}
        for entry in new:
            flow["functions"].add(entry["app"])
            if entry["service"] == "ses":
                flow["mails"] += 1
                continue
            call = calls.setdefault(entry["call"], {"operation": entry["operation"], "least": 0.0,
                                                     "reported": entry.get("consumed_capacity")})
            call["least"] += least_units(entry)
        for call in calls.values():
            flow["dynamodb_calls"] += 1
            consumed = call["reported"] or []
            reported = sum(c.get("CapacityUnits", 0) for c in (consumed if isinstance(consumed, list) else [consumed]))
            # DynamoDB Local counts what items weigh, but nothing for a key that is not
            # there or a write whose condition failed, which DynamoDB bills all the same.
            flow["rru" if call["operation"] in READS else "wru"] += max(reported, call["least"])
        return out


def main():
    meter = Meter()
    password = secrets.token_urlsafe(18)
    for i in range(N):
        user = f"cost-{secrets.token_hex(5)}"
        email = f"{user}@example.test"
        meter.measure("register (with an address: a verification mail)", call, "POST", "/register",
                      None, {"username": user, "password": password, "email": email}, 201)
        token = link_token(email, "/verify-email")
        meter.measure("verify the address (POST /email/verify)", call, "POST", "/email/verify",
                      None, {"token": token}, 200)
        pair = meter.measure("login (password)", call, "POST", "/login",
                             None, {"username": user, "password": password}, 200)
        meter.measure("GET /protected (valid token)", call, "GET", "/protected", pair["access_token"], None, 200)
        event = json.load(open("events/authorizer.json"))
        event["headers"]["authorization"] = "Bearer " + pair["access_token"]
        answer = meter.measure("authorizer (a service behind API Gateway)", call, "POST",
                               BASE + "/2015-03-31/functions/authorizer/invocations", None, event)
        if not (isinstance(answer, dict) and answer.get("isAuthorized") is True):
            sys.exit(f"cost-flows: the authorizer answered {answer}")
        pair = meter.measure("refresh (rotation)", call, "POST", "/refresh", pair["refresh_token"], None, 200)
        meter.measure("logout", call, "DELETE", "/logout", pair["access_token"], None, 200)
        meter.measure("forgot password (a reset mail)", call, "POST", "/password/forgot",
                      None, {"email": email}, 202)
        token = link_token(email, "/reset-password")
        password = secrets.token_urlsafe(18)
        meter.measure("reset password (a notice mail)", call, "POST", "/password/reset",
                      None, {"token": token, "new_password": password}, 200)
    report = {}
    print(f"  {'flow (per run, mean of %d)' % N:52} {'functions':24} {'DDB calls':>9} {'RRU':>6} {'WRU':>6} {'mails':>5}")
    for name, f in meter.flows.items():
        runs = f["runs"]
        row = {"functions": sorted(k for k in f["functions"] if k), "dynamodb_calls": f["dynamodb_calls"] / runs,
               "rru": f["rru"] / runs, "wru": f["wru"] / runs, "mails": f["mails"] / runs, "runs": runs}
        report[name] = row
        print(f"  {name:52} {','.join(row['functions']):24} {row['dynamodb_calls']:9.1f} {row['rru']:6.1f}"
              f" {row['wru']:6.1f} {row['mails']:5.1f}")
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print(f"cost-flows: {len(report)} flows x {N}, written to {OUT}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""POST /password/forgot for an unknown, an unverified and a verified address: the same
answer, and p50s within 10% of each other (issue 16). The function answers after a fixed
floor (services::password_reset::FORGOT_FLOOR, 300 ms) whatever the address, and the work
for a verified address (lookups, the link's writes, the mail to the SES emulator) fits
inside it; this measures how well the floor holds. The calls interleave (one of each per
round) so that drift of the machine touches all three alike.

The verified address is verified the way a user does it: the link is read from the SES
emulator's GET /store and POSTed to /email/verify.
Usage: forgot.py BASE_URL SES_URL [--n 50] [--json out.json]   (stdlib only)
"""
import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid

PASSWORD = "correct horse battery staple"


def call(conn, method, path, body=None):
    headers = {"content-type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def link_token(ses, to, page):
    with urllib.request.urlopen(f"{ses}/store") as r:
        store = json.load(r)
    for mail in reversed(store.get("emails", [])):
        if to in mail.get("destination", {}).get("to", []):
            text = mail.get("body", {}).get("text", "")
            marker = f"{page}#token="
            if marker in text:
                rest = text.split(marker, 1)[1]
                return "".join(c for c in rest.split()[0] if c.isalnum() or c in "-_")
    sys.exit(f"no {page} link to {to} in the emulator's store")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("ses")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--json")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    run = uuid.uuid4().hex[:10]
    verified, unverified = f"bench-v-{run}@example.com", f"bench-u-{run}@example.com"
    unknown = f"bench-x-{run}@nowhere.example"
    for name, email in ((f"bench-v-{run}", verified), (f"bench-u-{run}", unverified)):
        status, body = call(conn, "POST", "/register",
                            {"username": name, "password": PASSWORD, "email": email})
        assert status == 201, (status, body)
    status, body = call(conn, "POST", "/email/verify",
                        {"token": link_token(args.ses, verified, "/verify-email")})
    assert status == 200, (status, body)

    addresses = {"unknown": unknown, "unverified": unverified, "verified": verified}
    for email in addresses.values():  # start the function before timing
        call(conn, "POST", "/password/forgot", {"email": email})
    times = {kind: [] for kind in addresses}
    answers = set()
    for _ in range(args.n):
        for kind, email in addresses.items():
            started = time.perf_counter()
            status, body = call(conn, "POST", "/password/forgot", {"email": email})
            times[kind].append((time.perf_counter() - started) * 1000)
            answers.add((status, body))
    if len(answers) != 1:
        sys.exit(f"answers differ: {answers}")
    p50 = {kind: statistics.median(t) for kind, t in times.items()}
    spread = (max(p50.values()) - min(p50.values())) / min(p50.values())
    result = {
        "n": args.n,
        "p50_ms": p50,
        "p90_ms": {kind: statistics.quantiles(t, n=10)[-1] for kind, t in times.items()},
        "p50_spread": spread,
        "answer": list(answers)[0][1].decode(),
    }
    for kind in addresses:
        print(f"/password/forgot {kind:10s} p50 {p50[kind]:7.1f} ms  "
              f"p90 {result['p90_ms'][kind]:7.1f} ms  (n={args.n})")
    print(f"p50 spread {spread * 100:.1f}% (target: within 10%)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()

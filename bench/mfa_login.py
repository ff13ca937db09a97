#!/usr/bin/env python3
"""A login with a second factor against a password-only login (issue 17): the two steps
together should take at most 1.2x a password-only login's p50, since argon2id runs once,
in step one (POST /login answers 401 mfa_required), and step two (POST /login/mfa) only
checks a code and issues the tokens.

What is measured, warm, one request at a time, interleaved (one of each per round) so that
drift of the machine touches both alike:
  password only  POST /login of an account without a factor (200, tokens)
  two steps      POST /login of an account with TOTP (401 mfa_required), then POST
                 /login/mfa with its mfa_token and a code (200, tokens), timed from the
                 first request to the second answer; each step is reported on its own too.
The code of step two is a recovery code: a TOTP code is accepted once per 30 s step, which
would make the run wait 30 s per login. Both are checked by one HMAC and spent by one
conditional UpdateItem of the user's item (TOTP adds the opening of the sealed secret,
microseconds), so the cost of the step is the same. Each enrolled account has ten recovery
codes, so the run pairs accounts: ceil(N/10) accounts with TOTP, each logging in ten times,
and as many without, each logging in as often, so that both sides have the same number of
live sessions (the session cap's Query at every login reads them) at every round.

Accounts are enrolled through the API as a user does it: POST /mfa/totp with the fresh
access token of a login, a code computed from the returned base32 secret (RFC 6238,
HMAC-SHA-1, 6 digits, 30 s, here in the stdlib), POST /mfa/totp/confirm, which answers
the ten recovery codes. One extra pair starts the functions before timing.

Usage: mfa_login.py BASE_URL [--n 100] [--json out.json]   (stdlib only)
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import math
import statistics
import struct
import sys
import time
import urllib.parse
import uuid

PASSWORD = "correct horse battery staple"
CODES_PER_ACCOUNT = 10


def totp(secret_b32, now=None, step=30, digits=6):
    """RFC 6238 with HMAC-SHA-1: the code of the time step of `now`."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    counter = int((time.time() if now is None else now) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def check_totp():
    # RFC 6238 Appendix B, SHA-1, truncated to 6 digits.
    seed = base64.b32encode(b"12345678901234567890").decode()
    for now, want in ((59, "287082"), (1111111109, "081804"), (2000000000, "279037")):
        got = totp(seed, now=now)
        if got != want:
            sys.exit(f"TOTP self-check failed at {now}: {got} != {want}")


def call(conn, method, path, body=None, token=None):
    headers = {"content-type": "application/json"} if body is not None else {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, data


def expect(status, body, want, what):
    if status != want:
        sys.exit(f"{what}: {status} {body!r} (expected {want})")
    return body


def login(conn, username):
    return call(conn, "POST", "/login", {"username": username, "password": PASSWORD})


def register(conn, username):
    status, body = call(conn, "POST", "/register", {"username": username, "password": PASSWORD})
    expect(status, body, 201, f"register {username}")


def enrol(conn, username):
    """TOTP for `username` through the API; its ten recovery codes."""
    access = expect(*login(conn, username), 200, f"login {username}")["access_token"]
    enrolment = expect(*call(conn, "POST", "/mfa/totp", token=access), 200, "POST /mfa/totp")
    code = totp(enrolment["secret"])
    answer = expect(*call(conn, "POST", "/mfa/totp/confirm", {"code": code}, token=access),
                    200, "POST /mfa/totp/confirm")
    codes = answer["recovery_codes"]
    if len(codes) != CODES_PER_ACCOUNT:
        sys.exit(f"confirm answered {len(codes)} recovery codes")
    return codes


def two_steps(conn, username, code):
    """(step one ms, step two ms) of one login with a second factor."""
    started = time.perf_counter()
    status, body = login(conn, username)
    between = time.perf_counter()
    expect(status, body, 401, f"step one for {username}")
    if body.get("error") != "mfa_required" or not body.get("mfa_token"):
        sys.exit(f"step one for {username}: {body!r}")
    status, answer = call(conn, "POST", "/login/mfa", {"mfa_token": body["mfa_token"], "code": code})
    ended = time.perf_counter()
    expect(status, answer, 200, f"step two for {username}")
    return (between - started) * 1000, (ended - between) * 1000


def password_only(conn, username):
    started = time.perf_counter()
    status, body = login(conn, username)
    elapsed = (time.perf_counter() - started) * 1000
    expect(status, body, 200, f"login {username}")
    return elapsed


def summary(times):
    return {
        "p50_ms": statistics.median(times),
        "p90_ms": statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--json")
    args = parser.parse_args()
    check_totp()
    url = urllib.parse.urlsplit(args.base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    run = uuid.uuid4().hex[:10]
    pairs = math.ceil(args.n / CODES_PER_ACCOUNT) + 1  # the last one warms up
    plain = [f"bench-p{i}-{run}" for i in range(pairs)]
    enrolled = [f"bench-m{i}-{run}" for i in range(pairs)]
    codes = {}
    for p, m in zip(plain, enrolled):
        register(conn, p)
        register(conn, m)
        # The same history on both sides: one login before the timed ones.
        expect(*login(conn, p), 200, f"login {p}")
        codes[m] = enrol(conn, m)

    # Start the functions (login, login-mfa) before timing.
    password_only(conn, plain[-1])
    two_steps(conn, enrolled[-1], codes[enrolled[-1]].pop())

    times = {"password_only": [], "step_one": [], "step_two": [], "two_steps": []}
    for i in range(args.n):
        p, m = plain[i // CODES_PER_ACCOUNT], enrolled[i // CODES_PER_ACCOUNT]
        times["password_only"].append(password_only(conn, p))
        one, two = two_steps(conn, m, codes[m].pop())
        times["step_one"].append(one)
        times["step_two"].append(two)
        times["two_steps"].append(one + two)

    result = {"n": args.n, "code": "recovery_code"}
    for kind, values in times.items():
        result[kind] = summary(values)
    result["ratio_p50"] = result["two_steps"]["p50_ms"] / result["password_only"]["p50_ms"]
    labels = {
        "password_only": "POST /login, password only",
        "step_one": "step one: POST /login (401)",
        "step_two": "step two: POST /login/mfa",
        "two_steps": "both steps",
    }
    for kind, label in labels.items():
        print(f"{label:30s} p50 {result[kind]['p50_ms']:7.1f} ms  "
              f"p90 {result[kind]['p90_ms']:7.1f} ms  (n={args.n})")
    print(f"both steps / password only, p50: {result['ratio_p50']:.2f}x (target: at most 1.2x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Smoke test of a deployed wristband: what to run right after `sam deploy` (and what
# `make test` runs against the local stack).
#
#   bash scripts/smoke.sh https://abc123.execute-api.eu-west-1.amazonaws.com
#
# Registers a throwaway account, logs in, calls /protected and /me, rotates the refresh
# token, logs out and checks the token is refused after, reads the JWKS (and, under
# EdDSA/ES256, finds the token's kid in it), then deletes the account. Needs python3 only
# (standard library). Prints one line per step and never a token or password; exits
# non-zero at the first step that does not answer as docs/api.md says.
set -euo pipefail
if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <base-url>   e.g. https://abc123.execute-api.eu-west-1.amazonaws.com" >&2
  exit 2
fi
exec python3 - "$1" <<'PY'
import base64, json, secrets, sys, urllib.error, urllib.request

BASE = sys.argv[1].rstrip("/")
step_no = 0


def call(method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except Exception as e:  # DNS, TLS, refused connection, timeout
        sys.exit(f"FAIL {method} {path}: {type(e).__name__}: {e}")
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    return status, payload


def check(what, ok, status, payload):
    global step_no
    step_no += 1
    if not ok:
        error = payload.get("error") if isinstance(payload, dict) else None
        sys.exit(f"FAIL {step_no} - {what}: got {status} {error or ''}".rstrip())
    print(f"ok {step_no} - {what}")


def jwt_header(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


username = "smoke-" + secrets.token_hex(6)
password = secrets.token_urlsafe(24)

s, p = call("GET", "/protected")
check("GET /protected without a token: 401 missing_token", s == 401 and p and p.get("error") == "missing_token", s, p)

s, p = call("POST", "/register", body={"username": username, "password": password})
check("POST /register: 201", s == 201 and p and p.get("username") == username, s, p)

s, p = call("POST", "/login", body={"username": username, "password": password})
check("POST /login: 200 with a token pair", s == 200 and p and p.get("token_type") == "Bearer" and p.get("access_token") and p.get("refresh_token"), s, p)
access, refresh = p["access_token"], p["refresh_token"]

s, p = call("GET", "/protected", token=access)
check("GET /protected with the access token: 200", s == 200 and p and p.get("claims", {}).get("sub") == username, s, p)

s, p = call("GET", "/me", token=access)
check("GET /me: 200, the account's claims", s == 200 and p and p.get("sub") == username, s, p)

s, p = call("POST", "/refresh", token=refresh)
check("POST /refresh: 200, a new pair", s == 200 and p and p.get("access_token") and p.get("refresh_token") != refresh, s, p)
access2 = p["access_token"]

s, p = call("DELETE", "/logout", token=access2)
check("DELETE /logout: 200", s == 200, s, p)

s, p = call("GET", "/protected", token=access2)
check("GET /protected after logout: 401 token_revoked", s == 401 and p and p.get("error") == "token_revoked", s, p)

# Last of the token checks: a spent refresh token that comes back may end its session
# (reuse detection), which must not decide the steps above.
s, p = call("POST", "/refresh", token=refresh)
check("POST /refresh with the rotated-away refresh token: 401", s == 401, s, p)

s, p = call("GET", "/.well-known/jwks.json")
keys = p.get("keys") if isinstance(p, dict) else None
alg = jwt_header(access).get("alg")
if alg == "HS256":
    check("GET /.well-known/jwks.json: 404 (HS256: no public key to publish)", s == 404, s, p)
else:
    kid = jwt_header(access).get("kid")
    found = any(k.get("kid") == kid for k in keys or [])
    check(f"GET /.well-known/jwks.json: 200, the {alg} key of the tokens' kid", s == 200 and found, s, p)

s, p = call("POST", "/login", body={"username": username, "password": password})
check("POST /login again (a fresh token to delete the account)", s == 200, s, p)
s, p = call("DELETE", "/account", token=p["access_token"], body={"password": password})
check("DELETE /account: 204, the smoke account is gone", s == 204, s, p)
s, p = call("POST", "/login", body={"username": username, "password": password})
check("POST /login to the deleted account: 401 invalid_credentials", s == 401 and p and p.get("error") == "invalid_credentials", s, p)

print(f"smoke test passed: {step_no} steps against {BASE}")
PY

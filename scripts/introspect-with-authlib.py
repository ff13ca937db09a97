#!/usr/bin/env python3
"""`make test` stage: wristband's /oauth/introspect and /oauth/revoke from Authlib's OAuth 2
client (client_secret_basic), as a resource server in another language would call them.

Usage: introspect-with-authlib.py API_URL   (WRISTBAND_E2E_CLIENT_ID / _SECRET set by make test)
Prints one `ok N - ...` line per check and a closing `test result:` line; exits 1 on failure.
"""
import os
import sys
import time

import requests
from authlib.integrations.requests_client import OAuth2Session

API = sys.argv[1].rstrip("/")
CLIENT_ID = os.environ["WRISTBAND_E2E_CLIENT_ID"]
CLIENT_SECRET = os.environ["WRISTBAND_E2E_CLIENT_SECRET"]
INTROSPECT = f"{API}/oauth/introspect"
REVOKE = f"{API}/oauth/revoke"
passed = 0


def check(condition, what, detail=""):
    global passed
    if not condition:
        print(f"not ok - {what}: {detail}", flush=True)
        print(f"test result: FAILED. {passed} passed; 1 failed (authlib)")
        sys.exit(1)
    passed += 1
    print(f"ok {passed} - {what}", flush=True)


username = f"authlib-{time.time_ns()}"
credentials = {"username": username, "password": "correct horse battery staple"}
r = requests.post(f"{API}/register", json=credentials, timeout=120)
check(r.status_code == 201, "register", r.text)
tokens = requests.post(f"{API}/login", json=credentials, timeout=120).json()
access, refresh = tokens["access_token"], tokens["refresh_token"]

service = OAuth2Session(CLIENT_ID, CLIENT_SECRET)  # client_secret_basic, Authlib's default
r = service.introspect_token(INTROSPECT, token=access, timeout=120)
answer = r.json()
check(r.status_code == 200 and answer.get("active") is True and answer.get("sub") == username
      and answer.get("token_type") == "access", "an access token is active, with its sub", r.text)

r = service.introspect_token(INTROSPECT, token=refresh, token_type_hint="refresh_token", timeout=120)
check(r.json().get("active") is True and r.json().get("token_type") == "refresh",
      "a refresh token is active as a refresh token", r.text)

stranger = OAuth2Session(CLIENT_ID, CLIENT_SECRET + "x")
r = stranger.introspect_token(INTROSPECT, token=access, timeout=120)
check(r.status_code == 401 and r.json().get("error") == "invalid_client"
      and r.headers.get("WWW-Authenticate") == 'Basic realm="wristband"',
      "a wrong client secret is 401 invalid_client with WWW-Authenticate: Basic", r.text)

r = service.revoke_token(REVOKE, token=refresh, token_type_hint="refresh_token", timeout=120)
check(r.status_code == 200 and r.json() == {}, "revoking the refresh token answers 200 {}", r.text)
for token, kind in ((refresh, "refresh"), (access, "access")):
    r = service.introspect_token(INTROSPECT, token=token, timeout=120)
    check(r.json() == {"active": False}, f"the session's {kind} token is inactive after the revocation",
          r.text)
r = service.revoke_token(REVOKE, token="not a token", timeout=120)
check(r.status_code == 200 and r.json() == {}, "revoking garbage answers 200 {}", r.text)

print(f"test result: ok. {passed} passed; 0 failed (authlib)")

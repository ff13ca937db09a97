#!/usr/bin/env python3
"""`make test` stage: wristband's TOTP second factor (RFC 6238) from an independent
implementation, PyPI's pyotp, as an authenticator app uses it: the codes come from the
`otpauth://` URI alone, never from wristband's code.

Usage: totp-with-pyotp.py API_URL
Prints one `ok N - ...` line per check and a closing `test result:` line; exits 1 on failure.

Also holds pyotp to RFC 6238 Appendix B (SHA-1) with the same vectors as the Rust unit test
(shared/core/src/mfa.rs), read from that test, so both implementations answer to the RFC.
"""
import base64
import hashlib
import json
import pathlib
import re
import sys
import time

import pyotp
import requests

API = sys.argv[1].rstrip("/")
ROOT = pathlib.Path(__file__).resolve().parent.parent
passed = 0


def check(condition, what, detail=""):
    global passed
    if not condition:
        print(f"not ok - {what}: {detail}", flush=True)
        print(f"test result: FAILED. {passed} passed; 1 failed (pyotp)")
        sys.exit(1)
    passed += 1
    print(f"ok {passed} - {what}", flush=True)


def post(path, body=None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{API}{path}", json=body, headers=headers, timeout=120)


def claims(jwt):
    """A JWT's payload, not verified (the stack's own tests verify signatures)."""
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- RFC 6238 Appendix B, SHA-1: pyotp and the Rust unit test against the RFC -------------
RFC_SEED = b"12345678901234567890"
RFC_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
rfc_secret = base64.b32encode(RFC_SEED).decode()
eight = pyotp.TOTP(rfc_secret, digits=8, digest=hashlib.sha1, interval=30)
six = pyotp.TOTP(rfc_secret)  # the defaults wristband uses: SHA-1, 6 digits, 30 s
for t, code in RFC_SHA1:
    check(eight.at(t) == code and six.at(t) == code[-6:],
          f"pyotp gives RFC 6238 Appendix B's SHA-1 code at T={t}", f"{eight.at(t)} / {six.at(t)}")

rust_test = (ROOT / "shared/core/src/mfa.rs").read_text()
table = re.search(r"fn rfc_6238_appendix_b_vectors\(\)(.*?)\]\s*\{", rust_test, re.S)
rust_vectors = [(int(t.replace("_", "")), int(c.replace("_", "")))
                for t, c in re.findall(r"\(\s*([\d_]+)(?:u64)?\s*,\s*([\d_]+)(?:u32)?\s*\)",
                                       table.group(1) if table else "")]
check(rust_vectors == [(t, int(c)) for t, c in RFC_SHA1],
      "the Rust unit test checks the same six Appendix B vectors", rust_vectors)

# --- Enrolment and login against the running stack, codes from the URI alone -------------
username = f"pyotp-{time.time_ns()}"
credentials = {"username": username, "password": "correct horse battery staple"}
r = post("/register", credentials)
check(r.status_code == 201, "register", r.text)
r = post("/login", credentials)
check(r.status_code == 200, "a password login before the factor", r.text)
check(claims(r.json()["access_token"]).get("amr") == ["pwd"], "its amr is [\"pwd\"]",
      claims(r.json()["access_token"]))
access = r.json()["access_token"]

r = post("/mfa/totp", token=access)
check(r.status_code == 200 and "otpauth_uri" in r.json(), "POST /mfa/totp gives an otpauth URI", r.text)
uri = r.json()["otpauth_uri"]
totp = pyotp.parse_uri(uri)
check(isinstance(totp, pyotp.TOTP) and totp.digits == 6 and totp.interval == 30
      and totp.digest is hashlib.sha1, "pyotp reads it as TOTP: SHA-1, 6 digits, 30 s", uri)
check(totp.name == username and totp.issuer, "the URI names the account and an issuer",
      f"{totp.name!r} {totp.issuer!r}")
check(len(base64.b32decode(totp.secret + "=" * (-len(totp.secret) % 8))) >= 20,
      "the secret has at least 160 bits")

r = post("/mfa/totp/confirm", {"code": totp.now()}, token=access)
codes = r.json().get("recovery_codes", []) if r.status_code == 200 else []
check(len(codes) == 10 and len(set(codes)) == 10, "confirming with pyotp's current code gives "
      "ten recovery codes", r.status_code)

r = post("/login", credentials)
body = r.json()
check(r.status_code == 401 and body.get("error") == "mfa_required" and body.get("mfa_token")
      and body.get("methods") == ["totp", "recovery_code"],
      "the password alone now answers 401 mfa_required with an mfa_token", r.text)
# The confirmation spent the current step's code (a code works once; one step of drift):
# the next step's code is the one an app would show next.
code = totp.at(time.time() + totp.interval)
r = post("/login/mfa", {"mfa_token": body["mfa_token"], "code": code})
check(r.status_code == 200 and r.json().get("token_type") == "Bearer",
      "POST /login/mfa with pyotp's next code gives the tokens", r.text)
tokens = r.json()
check(claims(tokens["access_token"]).get("amr") == ["pwd", "otp", "mfa"]
      and claims(tokens["refresh_token"]).get("amr") == ["pwd", "otp", "mfa"],
      "the tokens carry amr [\"pwd\", \"otp\", \"mfa\"]", claims(tokens["access_token"]))
r = requests.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                 timeout=120)
check(r.status_code == 200 and r.json().get("amr") == ["pwd", "otp", "mfa"],
      "/me answers the same amr", r.text)

r = post("/login", credentials)
r = post("/login/mfa", {"mfa_token": r.json().get("mfa_token", ""), "code": code})
check(r.status_code == 401 and r.json().get("error") == "mfa_failed",
      "the same code again is 401 mfa_failed", r.text)

print(f"test result: ok. {passed} passed; 0 failed (pyotp)")

#!/usr/bin/env python3
"""An independent verifier's view (PyJWT, not wristband's code): a login token verifies
from the published JWKS alone, with the access audience; the refresh token does not.

Usage: verify-with-pyjwt.py BASE_URL ISSUER AUDIENCE
"""
import json
import sys
import urllib.request
import uuid

import jwt  # PyJWT[crypto]

base, issuer, audience = sys.argv[1:4]


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


creds = {"username": f"pyjwt-{uuid.uuid4().hex[:10]}", "password": "correct horse battery staple"}
call("POST", "/register", creds)
tokens = call("POST", "/login", creds)
jwks = jwt.PyJWKSet.from_dict(call("GET", "/.well-known/jwks.json"))
kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
key = next(k for k in jwks.keys if k.key_id == kid)
claims = jwt.decode(tokens["access_token"], key=key.key, algorithms=[key.algorithm_name],
                    audience=audience, issuer=issuer)
assert claims["sub"] == creds["username"], claims
try:
    jwt.decode(tokens["refresh_token"], key=key.key, algorithms=[key.algorithm_name],
               audience=audience, issuer=issuer)
except jwt.InvalidAudienceError:
    pass
else:
    sys.exit("a refresh token passed a verifier configured for access tokens")
print(f"    PyJWT {jwt.__version__}: {key.algorithm_name} access token verified from the JWKS alone; "
      "refresh token refused (audience)")

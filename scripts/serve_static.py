"""Serves the browser example (examples/browser/) and the OpenAPI document (/openapi.json)
on 127.0.0.1, for `make run` and the browser stage of `make test`. Only these files: never
the repository (it holds .local/jwt-secret).

The pages that emailed links open have paths without an extension (API.md: links are
`<APP_URL>/verify-email#token=...` and `<APP_URL>/reset-password#token=...`): they are
served from `verify-email.html` and `reset-password.html`.

With API_URL (the API as the browser reaches it, e.g. http://localhost:9000) `/config.js`
names that API to the pages; without it, the file `examples/browser/config.js` is served
as it is.

With AUTHORIZER_URL (cargo lambda watch's invoke address, e.g. http://127.0.0.1:9000) it
also serves `/hello` the way API Gateway serves template.yaml's sample route: it asks the
`authorizer` function with an HTTP API authorizer event made from the browser's request
(method, headers, the cookies apart, as payload 2.0 carries them) and answers what
HelloFunction answers when allowed, API Gateway's `403 {"message": "Forbidden"}` when
denied. Same origin as the page, so the browser sends the API's cookies (a cookie belongs
to a host, not a port).

    python3 scripts/serve_static.py PORT
"""

import http.server
import json
import os
import sys
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "browser")
OPENAPI = os.path.join(ROOT, "openapi.json")
AUTHORIZER_URL = os.environ.get("AUTHORIZER_URL", "").rstrip("/")
API_URL = os.environ.get("API_URL", "").rstrip("/")
# Extension-less paths of the pages that emailed links open.
PAGES = {"/verify-email": "verify-email.html", "/reset-password": "reset-password.html"}


def authorizer_event(handler):
    """The REQUEST authorizer event (payload 2.0) API Gateway would send for this request."""
    path = handler.path.split("?", 1)[0]
    headers, cookies = {}, []
    for name, value in handler.headers.items():
        if name.lower() == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif name.lower() in headers:
            headers[name.lower()] += "," + value  # API Gateway joins repeated headers
        else:
            headers[name.lower()] = value
    method = handler.command
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:123456789012:local/$default/{method}{path}",
        "identitySource": [],
        "routeKey": f"ANY {path}",
        "rawPath": path,
        "rawQueryString": handler.path.split("?", 1)[1] if "?" in handler.path else "",
        "cookies": cookies,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": handler.client_address[0],
                     "userAgent": handler.headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()), "routeKey": f"ANY {path}", "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
    }


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=EXAMPLE, **kwargs)

    def translate_path(self, path):
        path = path.split("?", 1)[0].split("#", 1)[0]
        if path == "/openapi.json":
            return OPENAPI
        if path in PAGES:
            return os.path.join(EXAMPLE, PAGES[path])
        return super().translate_path(path)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write("static: %s\n" % (format % args))

    def is_hello(self):
        return AUTHORIZER_URL and self.path.split("?", 1)[0] == "/hello"

    def do_GET(self):
        if self.is_hello():
            return self.hello()
        if API_URL and self.path.split("?", 1)[0] == "/config.js":
            return self.config_js()
        return super().do_GET()

    def config_js(self):
        data = ("window.WRISTBAND_API = %s;\n" % json.dumps(API_URL)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.is_hello():
            return self.hello()
        self.send_error(405)

    def hello(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(min(length, 16384))
        request = urllib.request.Request(
            f"{AUTHORIZER_URL}/2015-03-31/functions/authorizer/invocations",
            data=json.dumps(authorizer_event(self)).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                answer = json.loads(r.read() or b"{}")
        except Exception as e:  # the authorizer failed: API Gateway answers 500
            self.reply(500, {"message": "Internal Server Error"})
            sys.stderr.write(f"static: authorizer invoke failed: {e}\n")
            return
        if answer.get("isAuthorized") is True:
            who = answer.get("context") or {}
            self.reply(200, {"message": "Hello, %s! The authorizer let you in." % who.get("sub"),
                             "method": self.command, "authorizer": who})
        else:
            self.reply(403, {"message": "Forbidden"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


Handler.extensions_map = {**Handler.extensions_map, ".js": "text/javascript", ".json": "application/json"}

if __name__ == "__main__":
    port = int(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    served = "examples/browser and openapi.json" + (", /hello behind the authorizer" if AUTHORIZER_URL else "")
    served += f", API {API_URL}" if API_URL else ""
    print(f"serving {served} on http://localhost:{port}", flush=True)
    server.serve_forever()

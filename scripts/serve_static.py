"""Serves the browser example (examples/browser/) and the OpenAPI document (/openapi.json)
on 127.0.0.1, for `make run` and the browser stage of `make test`. Only these files: never
the repository (it holds .local/jwt-secret).

    python3 scripts/serve_static.py PORT
"""

import http.server
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "browser")
OPENAPI = os.path.join(ROOT, "openapi.json")


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=EXAMPLE, **kwargs)

    def translate_path(self, path):
        if path.split("?", 1)[0] == "/openapi.json":
            return OPENAPI
        return super().translate_path(path)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write("static: %s\n" % (format % args))


Handler.extensions_map = {**Handler.extensions_map, ".js": "text/javascript", ".json": "application/json"}

if __name__ == "__main__":
    port = int(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"serving examples/browser and openapi.json on http://localhost:{port}", flush=True)
    server.serve_forever()

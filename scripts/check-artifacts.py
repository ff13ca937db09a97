#!/usr/bin/env python3
"""`make test` stage: the deployable arm64 artifacts that `sam build --beta-features` made.

Checks, for every Rust function of template.yaml (`BuildMethod: rust-cargolambda`):

1. its artifact exists: BUILD_DIR/<LogicalId>/bootstrap, an aarch64 ELF executable, and
   every crate under functions/ is a function of the template;
2. its zip, made by SAM's own routine (what `sam deploy` uploads), is within its budget:
   1,200,000 B for the verifiers (protected, me, authorizer, introspect, revoke, jwks),
   2,000,000 B for the others (docs/performance.md);
3. it boots under qemu-aarch64 against a Lambda Runtime API emulator (this process) and
   answers each of its sample events from events/ as EXPECTED below says, in the
   environment it inherits (make test's end-to-end set-up: DynamoDB Local, the SES
   emulator, fresh tables, an HS256 secret);
4. a round through the arm64 binaries against that DynamoDB Local: register (a fresh
   username) -> login -> /protected, /me and the authorizer with the access token ->
   logout -> /protected and the authorizer with the same token refused.

One `ok N - ...` / `not ok N - ...` line per check; exit 1 when any failed. Every
function's output (its logs) goes to LOG_DIR/<binary>.log.

Run it with SAM CLI's Python (.tools/sam-venv/bin/python): it reads the template with
SAM's parser and zips with SAM's zip routine.

Usage: check-artifacts.py BUILD_DIR LOG_DIR
"""
import http.server
import json
import os
import pathlib
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Deployment zip budgets (bytes), as in docs/performance.md: the token verifiers, which
# every protected request goes through, are held to less.
VERIFIERS = {"protected", "me", "authorizer", "introspect", "revoke", "jwks"}
VERIFIER_BUDGET = 1_200_000
BUDGET = 2_000_000

# What each sample event must be answered with under make test's environment, in this
# order (one process per function serves its events one after the other; the tables are
# fresh, so login.json's alice does not exist yet and register.json's does by then).
# (file, expected status or isAuthorized, expected "error" code or None, reason)
EXPECTED = [
    ("account-delete.json", 401, "invalid_token", "placeholder token: refused before the store"),
    ("account.json", 401, "invalid_token", "placeholder token"),
    ("admin-delete.json", 401, "invalid_token", "placeholder token"),
    ("admin-disable.json", 401, "invalid_token", "placeholder token"),
    ("admin-enable.json", 401, "invalid_token", "placeholder token"),
    ("admin-logout-all.json", 401, "invalid_token", "placeholder token"),
    ("admin-user.json", 401, "invalid_token", "placeholder token"),
    ("admin-users.json", 401, "invalid_token", "placeholder token"),
    ("authorizer-cookie.json", False, None, "no cookie: not authorized"),
    ("authorizer-missing-token.json", False, None, "no token: not authorized"),
    ("authorizer.json", False, None, "placeholder token: not authorized"),
    ("email-change.json", 401, "invalid_token", "placeholder token"),
    ("email-verification.json", 401, "invalid_token", "placeholder token"),
    ("email-verify.json", 400, "invalid_code", "placeholder link token: unknown in the store"),
    ("introspect.json", 401, "invalid_client", "placeholder client: not in INTROSPECTION_CLIENTS"),
    ("jwks-openid-configuration.json", 404, "not_found", "HS256: no public keys to publish"),
    ("jwks.json", 404, "not_found", "HS256: no public keys to publish"),
    ("login-mfa.json", 401, "mfa_failed", "placeholder mfa_token"),
    ("login-passkey-options.json", 200, None, "options for any username (challenge kept in the store)"),
    ("login-passkey.json", 401, "invalid_credentials", "placeholder challenge: unknown in the store"),
    ("login.json", 401, "invalid_credentials", "alice is not registered yet"),
    ("logout-all.json", 401, "invalid_token", "placeholder token"),
    ("logout.json", 401, "invalid_token", "placeholder token"),
    ("me.json", 401, "invalid_token", "placeholder token"),
    ("mfa-recovery-codes.json", 401, "invalid_token", "placeholder token"),
    ("mfa-totp-confirm.json", 401, "invalid_token", "placeholder token"),
    ("mfa-totp-delete.json", 401, "invalid_token", "placeholder token"),
    ("mfa-totp.json", 401, "invalid_token", "placeholder token"),
    ("not-found.json", 404, "not_found", "unknown path"),
    ("passkeys-delete.json", 401, "invalid_token", "placeholder token"),
    ("passkeys-registration-options.json", 401, "invalid_token", "placeholder token"),
    ("passkeys-registration.json", 401, "invalid_token", "placeholder token"),
    ("passkeys.json", 401, "invalid_token", "placeholder token"),
    ("password-reset-forgot.json", 202, None, "always 202, mail or not"),
    ("password-reset.json", 400, "invalid_code", "placeholder link token: unknown in the store"),
    ("password.json", 401, "invalid_token", "placeholder token"),
    ("protected.json", 401, "invalid_token", "placeholder token"),
    ("refresh.json", 401, "invalid_token", "placeholder refresh token"),
    ("register-email.json", 201, None, "bob with an address (verification mail to the SES emulator)"),
    ("register-form.json", 201, None, "alice, form-encoded and base64 (fresh tables)"),
    ("register.json", 409, "username_taken", "alice again"),
    ("revoke.json", 200, None, "always 200, also for an unknown token"),
    ("sessions-delete.json", 401, "invalid_token", "placeholder token"),
    ("sessions.json", 401, "invalid_token", "placeholder token"),
]

INVOKE_TIMEOUT = float(os.environ.get("ARTIFACTS_INVOKE_TIMEOUT", "60"))


class Report:
    def __init__(self):
        self.n = 0
        self.failed = []

    def ok(self, what):
        self.n += 1
        print(f"ok {self.n} - {what}", flush=True)

    def fail(self, what, detail=""):
        self.n += 1
        self.failed.append(what)
        print(f"not ok {self.n} - {what}", flush=True)
        if detail:
            print("    " + detail.rstrip().replace("\n", "\n    "), flush=True)

    def check(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail)
        return cond


# ------------------------------------------------------------------ template, artifacts

def template_functions():
    """[(logical id, binary, memory size)] of the template's Rust functions, in order."""
    try:
        from samcli.yamlhelper import parse_yaml_file
    except ImportError:
        sys.exit("error: run me with SAM CLI's Python (.tools/sam-venv/bin/python)")
    template = parse_yaml_file(str(ROOT / "template.yaml"))
    default_memory = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    out = []
    for logical_id, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        meta = res.get("Metadata") or {}
        if meta.get("BuildMethod") != "rust-cargolambda":
            continue
        binary = meta["BuildProperties"]["Binary"]
        memory = res["Properties"].get("MemorySize", default_memory)
        out.append((logical_id, binary, int(memory)))
    return out


def elf_machine(path):
    """'aarch64 executable' when path is a 64-bit little-endian aarch64 ELF executable,
    else a description of what it is."""
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return "not an ELF file"
    if head[4] != 2 or head[5] != 1:
        return "not a 64-bit little-endian ELF"
    e_type = int.from_bytes(head[16:18], "little")
    e_machine = int.from_bytes(head[18:20], "little")
    if e_machine != 183:  # EM_AARCH64
        return f"ELF for machine {e_machine}, not aarch64 (183)"
    if e_type not in (2, 3):  # ET_EXEC, ET_DYN (PIE)
        return f"ELF of type {e_type}, not an executable"
    if not os.access(path, os.X_OK):
        return "aarch64 ELF without the executable bit"
    return "aarch64 executable"


def sam_zip_size(folder):
    """Bytes of the zip `sam deploy` makes of folder (SAM's own routine)."""
    from samcli.lib.package.utils import make_zip_with_lambda_permissions
    tmp = tempfile.mkdtemp(prefix="artifact-zip-")
    try:
        name = make_zip_with_lambda_permissions(os.path.join(tmp, "code"), folder)
        with zipfile.ZipFile(name) as zf:
            members = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        return os.path.getsize(name), members
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ Runtime API emulator

class Function:
    """One function binary under qemu-aarch64, with a Lambda Runtime API of its own on a
    free loopback port: invoke() queues an event for `invocation/next` and waits for the
    runtime's `invocation/<id>/response` (or `/error`, or `init/error`)."""

    def __init__(self, binary, path, memory, log_path):
        self.binary = binary
        self.events = queue.Queue()
        self.answers = {}
        self.init_error = None
        self.cond = threading.Condition()
        self.closed = False
        self.served_first = None
        fn = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self._reply(404, b'{"errorType":"NotFound"}')
                    return
                while True:
                    try:
                        request_id, body = fn.events.get(timeout=0.2)
                        break
                    except queue.Empty:
                        if fn.closed:
                            self.close_connection = True
                            return
                self._reply(200, body, [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000)),
                    ("Lambda-Runtime-Invoked-Function-Arn",
                     f"arn:aws:lambda:us-east-1:123456789012:function:{fn.binary}"),
                    ("Lambda-Runtime-Trace-Id",
                     "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"),
                ])

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                parts = self.path.split("/")
                # /2018-06-01/runtime/invocation/<id>/(response|error), /2018-06-01/runtime/init/error
                if self.path == "/2018-06-01/runtime/init/error":
                    with fn.cond:
                        fn.init_error = data
                        fn.cond.notify_all()
                elif len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                    with fn.cond:
                        fn.answers[parts[4]] = (parts[5], data, time.monotonic())
                        fn.cond.notify_all()
                else:
                    self._reply(404, b'{"errorType":"NotFound"}')
                    return
                self._reply(202, b'{"status":"OK"}')

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the killed function drops its parked `next` poll: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        env = dict(os.environ)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": binary,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{binary}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "make-test-artifacts",
            "LAMBDA_TASK_ROOT": os.path.dirname(path),
            "_HANDLER": "bootstrap",
            "QEMU_LD_PREFIX": env.get("QEMU_LD_PREFIX", "/usr/aarch64-linux-gnu"),
        })
        self.log = open(log_path, "ab")
        self.log.write(f"\n==== {binary}: qemu-aarch64 {path}\n".encode())
        self.log.flush()
        self.t_launch = time.monotonic()
        self.proc = subprocess.Popen(
            ["qemu-aarch64", path], cwd=os.path.dirname(path), env=env,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def invoke(self, event):
        """(kind, answer bytes, seconds) for one event; kind is response, error, init-error,
        exited or timeout."""
        request_id = secrets.token_hex(8)
        t0 = time.monotonic()
        self.events.put((request_id, json.dumps(event).encode()))
        deadline = t0 + INVOKE_TIMEOUT
        with self.cond:
            while True:
                if request_id in self.answers:
                    kind, data, t = self.answers.pop(request_id)
                    if self.served_first is None:
                        self.served_first = t - self.t_launch
                    return kind, data, t - t0
                if self.init_error is not None:
                    return "init-error", self.init_error, time.monotonic() - t0
                code = self.proc.poll()
                if code is not None:
                    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
                    return "exited", f"the process ended ({how})".encode(), time.monotonic() - t0
                left = deadline - time.monotonic()
                if left <= 0:
                    return "timeout", f"no answer within {INVOKE_TIMEOUT:.0f} s".encode(), left
                self.cond.wait(min(left, 0.2))

    def stop(self):
        self.closed = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.server.shutdown()
        self.server.server_close()
        self.log.close()


def log_tail(path, lines=15):
    try:
        text = pathlib.Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def http_answer(kind, data):
    """(status, body dict, headers) of a payload 2.0 response, or None."""
    if kind != "response":
        return None
    try:
        answer = json.loads(data)
        body = json.loads(answer.get("body") or "null")
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None
    if not isinstance(answer.get("statusCode"), int):
        return None
    return answer["statusCode"], body, answer.get("headers") or {}


def describe(kind, data):
    if kind != "response":
        return f"{kind}: {data[:300].decode(errors='replace')}"
    try:
        answer = json.loads(data)
    except json.JSONDecodeError:
        return f"not JSON: {data[:300]!r}"
    if "isAuthorized" in answer:
        return f"isAuthorized {json.dumps(answer['isAuthorized'])}"
    body = answer.get("body") or ""
    return f"{answer.get('statusCode')} {body[:200]}"


def matches(kind, data, status, error):
    """True when the answer is `status` (an int, or a bool for an authorizer) with
    "error" == error (when error is not None)."""
    if isinstance(status, bool):
        if kind != "response":
            return False
        try:
            answer = json.loads(data)
        except json.JSONDecodeError:
            return False
        return answer.get("isAuthorized") is status
    got = http_answer(kind, data)
    if got is None or got[0] != status:
        return False
    body = got[1]
    if error is not None:
        return isinstance(body, dict) and body.get("error") == error
    # A success must not be an error body either.
    return not (isinstance(body, dict) and "error" in body)


def function_of(stem, binaries):
    """The longest function name the file name starts with: "logout-all" before "logout"."""
    found = [b for b in binaries if stem == b or stem.startswith(b + "-")]
    return max(found, key=len) if found else None


# ------------------------------------------------------------------ checks

def check_artifacts(report, build_dir, functions, same_as=None):
    ok = {}
    crates = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").exists())
    binaries = [b for _, b, _ in functions]
    missing = sorted(set(crates) - set(binaries))
    report.check(not missing and len(set(binaries)) == len(binaries),
                 f"template.yaml builds every crate of functions/ ({len(binaries)} Rust functions)",
                 f"crates without a template function: {missing}" if missing
                 else "a binary is built by two template functions")
    sizes = []
    for logical_id, binary, _ in functions:
        path = build_dir / logical_id / "bootstrap"
        if not path.is_file():
            report.fail(f"{binary}: artifact {path.relative_to(build_dir.parent)} exists",
                        f"missing: sam build made no {path}")
            continue
        kind = elf_machine(path)
        if not report.check(kind == "aarch64 executable",
                            f"{binary}: {logical_id}/bootstrap is an aarch64 ELF executable", kind):
            continue
        size, members = sam_zip_size(str(path.parent))
        budget = VERIFIER_BUDGET if binary in VERIFIERS else BUDGET
        sizes.append((binary, size, budget))
        report.check(
            size <= budget and members.get("bootstrap") == 0o755,
            f"{binary}: zip {size:,} B <= budget {budget:,} B ({100 * size / budget:.1f}%)",
            f"over budget by {size - budget:,} B" if size > budget
            else f"zip members and modes: {members} (want bootstrap 0755)")
        ok[binary] = str(path)
        if same_as is not None:
            # make test builds every function in one `cargo lambda build --release --arm64`
            # first (two links at a time), and SAM's per-function builds find them fresh.
            # That is a shortcut only if it is the same build: byte for byte.
            other = same_as / binary / "bootstrap"
            report.check(other.is_file() and other.read_bytes() == path.read_bytes(),
                         f"{binary}: sam build's bootstrap is byte-for-byte cargo lambda build's",
                         f"{other} differs from {path}")
    print("    zip sizes (SAM's zip of each build folder):")
    for binary, size, budget in sizes:
        print(f"      {binary:15} {size:>11,} B  budget {budget:>9,} B")
    return ok


def check_events(report, artifacts, functions, log_dir):
    memory = {b: m for _, b, m in functions}
    binaries = [b for _, b, _ in functions]
    files = sorted(p.name for p in (ROOT / "events").glob("*.json"))
    listed = [f for f, *_ in EXPECTED]
    if not report.check(sorted(listed) == files,
                        f"an expected answer for each of the {len(files)} events/ files",
                        f"no expectation for: {sorted(set(files) - set(listed))}; "
                        f"no such file: {sorted(set(listed) - set(files))}"):
        return
    by_function = {}
    for name, status, error, reason in EXPECTED:
        fn = function_of(name[:-5], binaries)
        if fn is None:
            report.fail(f"events/{name} belongs to a template function")
            continue
        by_function.setdefault(fn, []).append((name, status, error, reason))
    without = [b for b in binaries if b not in by_function]
    report.check(not without, "every function has a sample event", f"without: {without}")
    # One process per function, its events in EXPECTED's order, in the order the functions
    # first appear there.
    for fn, cases in by_function.items():
        if fn not in artifacts:
            report.fail(f"{fn}: boots under qemu-aarch64 (no artifact, see above)")
            continue
        log = log_dir / f"{fn}.log"
        proc = Function(fn, artifacts[fn], memory[fn], log)
        try:
            for name, status, error, reason in cases:
                event = json.loads((ROOT / "events" / name).read_text())
                kind, data, secs = proc.invoke(event)
                want = f"isAuthorized {str(status).lower()}" if isinstance(status, bool) else \
                    f"{status}" + (f" {error}" if error else "")
                first = " (boot + first answer %.0f ms)" % (proc.served_first * 1000) \
                    if proc.served_first is not None and name == cases[0][0] else ""
                good = matches(kind, data, status, error)
                report.check(good, f"{fn}: events/{name} -> {want}: {reason}{first}",
                             f"got {describe(kind, data)} after {secs:.1f} s\n"
                             f"--- last lines of {log}:\n{log_tail(log)}")
                if kind in ("exited", "init-error", "timeout"):
                    break
        finally:
            proc.stop()


def with_auth(event, token):
    event = json.loads(json.dumps(event))
    event["headers"]["authorization"] = f"Bearer {token}"
    return event


def with_body(event, body):
    event = json.loads(json.dumps(event))
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    event["headers"]["content-type"] = "application/json"
    event["headers"]["content-length"] = str(len(event["body"].encode()))
    return event


def check_round(report, artifacts, functions, log_dir):
    """register -> login -> protected, me, authorizer -> logout -> protected, authorizer."""
    needed = ["register", "login", "protected", "me", "authorizer", "logout"]
    if any(b not in artifacts for b in needed):
        report.fail("round trip through the arm64 binaries", "an artifact is missing (see above)")
        return
    memory = {b: m for _, b, m in functions}
    ev = {n: json.loads((ROOT / "events" / f"{n}.json").read_text()) for n in needed}
    username = f"artifacts-{secrets.token_hex(4)}"
    password = f"arm64 {secrets.token_urlsafe(12)}"
    procs = {}

    def call(fn, event):
        if fn not in procs:
            procs[fn] = Function(fn, artifacts[fn], memory[fn], log_dir / f"{fn}.log")
        return procs[fn].invoke(event)

    def step(what, fn, event, status, error=None):
        kind, data, secs = call(fn, event)
        good = matches(kind, data, status, error)
        report.check(good, f"round: {what} ({secs * 1000:.0f} ms)",
                     f"got {describe(kind, data)}\n--- last lines of {log_dir / (fn + '.log')}:\n"
                     f"{log_tail(log_dir / (fn + '.log'))}")
        return good, data

    try:
        good, _ = step(f"register {username} -> 201", "register",
                       with_body(ev["register"], {"username": username, "password": password}), 201)
        if not good:
            return
        good, data = step("login -> 200 with tokens", "login",
                          with_body(ev["login"], {"username": username, "password": password}), 200)
        if not good:
            return
        access = json.loads(json.loads(data)["body"]).get("access_token")
        if not report.check(isinstance(access, str) and access.count(".") == 2,
                            "round: login's answer has an access token"):
            return
        _, data = step("GET /protected with the access token -> 200", "protected",
                       with_auth(ev["protected"], access), 200)
        got = http_answer("response", data) or (0, {}, {})
        report.check(isinstance(got[1], dict) and got[1].get("claims", {}).get("sub") == username,
                     f"round: /protected's claims name {username}", f"body: {got[1]}")
        step("GET /me with the access token -> 200", "me", with_auth(ev["me"], access), 200)
        auth_event = json.loads(json.dumps(ev["authorizer"]))
        auth_event["headers"]["authorization"] = f"Bearer {access}"
        auth_event["identitySource"] = [f"Bearer {access}"]
        step("authorizer with the access token -> isAuthorized true", "authorizer", auth_event, True)
        step("DELETE /logout with the access token -> 200", "logout",
             with_auth(ev["logout"], access), 200)
        step("GET /protected with the logged-out token -> 401 token_revoked", "protected",
             with_auth(ev["protected"], access), 401, "token_revoked")
        step("authorizer with the logged-out token -> isAuthorized false", "authorizer",
             auth_event, False)
    finally:
        for p in procs.values():
            p.stop()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    build_dir = pathlib.Path(sys.argv[1]).resolve()
    log_dir = pathlib.Path(sys.argv[2]).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    if shutil.which("qemu-aarch64") is None:
        sys.exit("error: qemu-aarch64 not found (scripts/tools.sh installs qemu-user)")
    sysroot = os.environ.get("QEMU_LD_PREFIX", "/usr/aarch64-linux-gnu")
    if not os.path.exists(os.path.join(sysroot, "lib", "ld-linux-aarch64.so.1")):
        sys.exit(f"error: no aarch64 loader under {sysroot} (scripts/tools.sh installs libc6-arm64-cross)")
    report = Report()
    functions = template_functions()
    # CARGO_LAMBDA_DIR: the target's lambda/ folder of a `cargo lambda build --release
    # --arm64` made before sam build (make test); each bootstrap must be the same bytes.
    same_as = os.environ.get("CARGO_LAMBDA_DIR")
    artifacts = check_artifacts(report, build_dir, functions, pathlib.Path(same_as) if same_as else None)
    check_events(report, artifacts, functions, log_dir)
    check_round(report, artifacts, functions, log_dir)
    if report.failed:
        print(f"\n{len(report.failed)} of {report.n} artifact checks FAILED:", file=sys.stderr)
        for what in report.failed:
            print(f"  - {what}", file=sys.stderr)
        print(f"functions' logs: {log_dir}", file=sys.stderr)
        sys.exit(1)
    print(f"all {report.n} artifact checks passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# `make test`: the single unattended entry point (CI=true, no TTY).
#   fmt, clippy, unit + integration tests against a private DynamoDB Local and SES
#   emulator, end-to-end tests against a private `cargo lambda watch`, a fuzz smoke pass
#   (scripts/fuzz.sh: regression inputs, then FUZZ_SMOKE_SECONDS per target), the
#   deployable arm64 artifacts (sam build, zip budgets, booted under qemu-aarch64),
#   cfn-lint and sam validate --lint.
# Uses OS-chosen free ports, so it never collides with a running `make run`.
# Everything it starts runs in its own process group and is stopped on exit,
# also when a stage fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=scripts/dynamodb-local.sh
source "$ROOT/scripts/dynamodb-local.sh"
# shellcheck source=scripts/ses-local.sh
source "$ROOT/scripts/ses-local.sh"

export CI="${CI:-true}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Where cargo puts what it builds (a shared CARGO_TARGET_DIR, or the workspace's target/).
CARGO_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
RUN_ID="$(date +%s)-$$"
LOG_DIR="$ROOT/target/test-logs/$RUN_ID"
mkdir -p "$LOG_DIR"
WATCH_PGID=""
BRIDGE_PGID=""
WATCH_LOG="$LOG_DIR/cargo-lambda-watch.log"
STATIC_PGID=""
OWN_PGID=""
RECORDER_PGID=""
DDB_LOG="$LOG_DIR/dynamodb-local.log"
SES_LOG="$LOG_DIR/ses-local.log"
STAGE="setup"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$BRIDGE_PGID" ]; then
    wb_kill_group "$BRIDGE_PGID" 2
  fi
  if [ -n "$STATIC_PGID" ]; then
    wb_kill_group "$STATIC_PGID" 5
  fi
  if [ -n "$RECORDER_PGID" ]; then
    wb_kill_group "$RECORDER_PGID" 5
  fi
  if [ -n "$OWN_PGID" ]; then
    wb_kill_group "$OWN_PGID" 10
  fi
  if [ -n "$WATCH_PGID" ]; then
    if [ "$rc" -ne 0 ] && [ -s "$WATCH_LOG" ]; then
      printf '\n--- last lines of %s ---\n' "$WATCH_LOG" >&2
      tail -n 80 "$WATCH_LOG" >&2 || true
    fi
    wb_kill_group "$WATCH_PGID" 10
  fi
  if [ -n "$WB_DDB_PGID" ]; then
    if [ "$rc" -ne 0 ] && [ -s "$DDB_LOG" ]; then
      printf '\n--- last lines of %s ---\n' "$DDB_LOG" >&2
      tail -n 20 "$DDB_LOG" >&2 || true
    fi
    wb_ddb_stop
  fi
  if [ -n "$WB_SES_PGID" ]; then
    if [ "$rc" -ne 0 ] && [ -s "$SES_LOG" ]; then
      printf '\n--- last lines of %s ---\n' "$SES_LOG" >&2
      tail -n 20 "$SES_LOG" >&2 || true
    fi
    wb_ses_stop
  fi
  if [ "$rc" -eq 0 ]; then
    wb_stage "all checks passed"
  else
    printf '\n\033[1;31m==> FAILED in stage: %s (exit %s); logs in %s\033[0m\n' "$STAGE" "$rc" "$LOG_DIR" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stage() {
  STAGE="$*"
  wb_stage "$*"
}

# Starts `cargo lambda watch` on a free port with the current environment (WATCH_PORT,
# WATCH_PGID, log in WATCH_LOG) and waits until it answers.
WATCH_READY_TIMEOUT="${WATCH_READY_TIMEOUT:-180}"
start_watch() {
  WATCH_PORT="$(wb_free_port)"
  local ready_timeout="$WATCH_READY_TIMEOUT" status deadline
  # --disable-cors: the functions answer CORS themselves, as API Gateway does in AWS.
  # --ignore-changes: a file changing under the tree (an editor, a git ref of another
  # worktree) must not restart the functions in the middle of the suites.
  wb_spawn "$LOG_DIR/watch.pid" "$WATCH_LOG" \
    cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --disable-cors \
    --ignore-changes
  WATCH_PGID="$(cat "$LOG_DIR/watch.pid")"
  wb_info "http://127.0.0.1:$WATCH_PORT (log: $WATCH_LOG)"
  deadline=$((SECONDS + ready_timeout))
  until status="$(wb_http_status GET "http://127.0.0.1:$WATCH_PORT/protected" 60)" && [ -n "$status" ]; do
    if ! wb_group_alive "$WATCH_PGID"; then
      wb_die "cargo lambda watch exited before answering"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      wb_die "GET /protected did not answer within ${ready_timeout}s"
    fi
    sleep 1
  done
  wb_info "GET /protected answered $status: ready"
}

stop_watch() {
  wb_kill_group "$WATCH_PGID" 10
  WATCH_PGID=""
}

stage "tools"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"

stage "cargo fmt --check"
cargo fmt --all -- --check

stage "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

stage "IAM policy evaluator: its own tests (scripts/test_iam_check.py)"
.tools/venv/bin/python scripts/test_iam_check.py 2>&1 | tee -a "$LOG_DIR/tests.log"

stage "fuzz smoke pass: regression inputs, then ${FUZZ_SMOKE_SECONDS:-20}s per target"
bash scripts/fuzz.sh "${FUZZ_SMOKE_SECONDS:-20}"

stage "DynamoDB Local and the SES emulator (free ports)"
DDB_PORT="$(wb_free_port)"
wb_ddb_start "$DDB_PORT" "$DDB_LOG"
wb_info "DynamoDB Local listening on 127.0.0.1:$DDB_PORT"
SES_PORT="$(wb_free_port)"
wb_ses_start "$SES_PORT" "$SES_LOG"
wb_info "aws-ses-v2-local listening on 127.0.0.1:$SES_PORT (mail: GET /store)"
export AWS_REGION="us-east-1" AWS_ACCESS_KEY_ID="dummy" AWS_SECRET_ACCESS_KEY="dummy"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SESV2
export WRISTBAND_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
export WRISTBAND_TEST_SES_ENDPOINT="http://127.0.0.1:$SES_PORT"

stage "unit + integration tests"
cargo test --workspace --exclude wristband-e2e 2>&1 | tee -a "$LOG_DIR/tests.log"

stage "end-to-end setup: tables + build"
JWT_SECRET="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(48)).decode())')"
suffix="$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
export JWT_SECRET
# The second factor's key for this run (login-mfa and mfa refuse to start without it).
MFA_ENCRYPTION_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export MFA_ENCRYPTION_KEY
# Every AWS call of the functions from here on goes through a recording proxy in front of
# DynamoDB Local and the SES emulator (scripts/aws-recorder.py): the functions name
# themselves in the user agent (app/<function>), and the IAM stage at the end holds
# template.yaml's policies to the record.
AWS_CALLS="$LOG_DIR/aws-calls.jsonl"
RECORDER_PORT="$(wb_free_port)"
wb_spawn "$LOG_DIR/recorder.pid" "$LOG_DIR/aws-recorder.log" python3 scripts/aws-recorder.py \
  --port "$RECORDER_PORT" --dynamodb "http://127.0.0.1:$DDB_PORT" --ses "http://127.0.0.1:$SES_PORT" \
  --record "$AWS_CALLS" --capacity
RECORDER_PGID="$(cat "$LOG_DIR/recorder.pid")"
for _ in $(seq 1 50); do wb_port_open "$RECORDER_PORT" && break; sleep 0.2; done
wb_port_open "$RECORDER_PORT" || wb_die "the recording proxy did not listen"
export AWS_ENDPOINT_URL="http://127.0.0.1:$RECORDER_PORT"
# Mail goes to the emulator through the same proxy (SES's own variable); the e2e tests read
# the links from the emulator's GET /store directly.
export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$RECORDER_PORT"
export WRISTBAND_E2E_SES_URL="http://127.0.0.1:$SES_PORT"
export APP_URL="http://localhost:3000"
export MAIL_FROM="no-reply@wristband.test"
# Every request of the run comes from 127.0.0.1: the per-source-address limit of links
# (tested on its own in tests/contract) would otherwise silence the later stages' mail.
export MAIL_PER_IP_PER_HOUR=1000000
export USERS_TABLE="e2e-users-$suffix"
export REVOKED_TOKENS_TABLE="e2e-revoked-tokens-$suffix"
export SESSIONS_TABLE="e2e-sessions-$suffix"
export JWT_ISSUER="wristband-e2e"
export JWT_AUDIENCE="wristband-e2e-clients"
export CORS_ALLOW_ORIGINS="http://localhost:3000"
# Passkeys: the relying party of the e2e tests' software authenticator (the browser stage
# sets the page's origin).
export WEBAUTHN_RP_ID="localhost"
export WEBAUTHN_ORIGINS="http://localhost:3000"
# One introspection client (RFC 7662) with a secret made for this run: the function holds
# only its hash; the e2e suite and the Authlib client hold the secret.
export WRISTBAND_E2E_CLIENT_ID="e2e-service"
WRISTBAND_E2E_CLIENT_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export WRISTBAND_E2E_CLIENT_SECRET
INTROSPECTION_CLIENTS="$(python3 -c 'import hashlib, json, os; print(json.dumps({os.environ["WRISTBAND_E2E_CLIENT_ID"]: hashlib.sha256(os.environ["WRISTBAND_E2E_CLIENT_SECRET"].encode()).hexdigest()}))')"
export INTROSPECTION_CLIENTS
# Both locations: the e2e and schemathesis stages use the header; the browser stage
# restarts the functions with a short access TTL and uses the cookies.
export TOKEN_LOCATION="headers,cookies"
export RUST_LOG="${RUST_LOG:-info}"
# Structured logs as in AWS, and a short reuse grace so the audit test sees a reuse.
export AWS_LAMBDA_LOG_FORMAT="JSON"
export REFRESH_REUSE_GRACE_SECONDS=1
wb_info "tables: $USERS_TABLE, $REVOKED_TOKENS_TABLE, $SESSIONS_TABLE"
cargo run -q -p create-tables
cargo build --bins

stage "deployable artifacts: sam build --beta-features (arm64), zips, qemu boot"
# What a user deploys, built the way the user builds it (docs/deploy.md): SAM CLI runs
# `cargo lambda build --release --arm64 --bin <fn>` for each function of template.yaml
# (in CARGO_TARGET, like every other build here). Then scripts/check-artifacts.py: every
# function has its aarch64 bootstrap, each zip (SAM's own) is within its budget, and each
# bootstrap boots under qemu-aarch64 against a Runtime API emulator and answers its events/
# as docs/api.md says, in this environment (fresh tables); then register -> login ->
# /protected -> logout through the arm64 binaries against DynamoDB Local.
# The build folder is the worktree's own (target/ is git-ignored), never .aws-sam/.
SAM_BUILD_DIR="$ROOT/target/sam-build"
sam_started=$SECONDS
# First every binary in one cargo invocation, so that the fat-LTO links (most of a cold
# build) run two at a time; SAM's per-function builds then find them fresh, and the
# checker holds each of its bootstraps to this build's, byte for byte.
if ! cargo lambda build --release --arm64 >"$LOG_DIR/cargo-lambda-build.log" 2>&1; then
  tail -n 60 "$LOG_DIR/cargo-lambda-build.log" >&2
  wb_die "cargo lambda build --release --arm64 failed"
fi
if ! SAM_CLI_TELEMETRY=0 "$SAM_CLI" build --beta-features --template-file template.yaml \
  --build-dir "$SAM_BUILD_DIR" >"$LOG_DIR/sam-build.log" 2>&1; then
  printf '\n--- last lines of %s ---\n' "$LOG_DIR/sam-build.log" >&2
  tail -n 60 "$LOG_DIR/sam-build.log" >&2
  wb_die "sam build --beta-features failed"
fi
wb_info "sam build --beta-features: $((SECONDS - sam_started)) s (log: $LOG_DIR/sam-build.log)"
CARGO_LAMBDA_DIR="$CARGO_TARGET/lambda" \
  .tools/sam-venv/bin/python scripts/check-artifacts.py "$SAM_BUILD_DIR" "$LOG_DIR/artifacts" 2>&1 \
  | tee "$LOG_DIR/artifacts.log"
awk '/^ok [0-9]+ - / { n++ } END { printf "test result: ok. %d passed; 0 failed (artifacts)\n", n }' \
  "$LOG_DIR/artifacts.log" >>"$LOG_DIR/tests.log"

stage "cargo lambda watch (free port)"
start_watch

stage "end-to-end tests"
WRISTBAND_E2E_URL="http://127.0.0.1:$WATCH_PORT" WRISTBAND_E2E_WATCH_LOG="$WATCH_LOG" \
  WRISTBAND_ADMIN="$CARGO_TARGET/debug/wristband-admin" \
  cargo test -p wristband-e2e --test http --test attacks --test audit --test oauth --test session_cap --test accounts --test mfa --test passkeys --test admin 2>&1 | tee -a "$LOG_DIR/tests.log"

stage "smoke test: scripts/smoke.sh, what a user runs after sam deploy (HS256)"
bash scripts/smoke.sh "http://127.0.0.1:$WATCH_PORT" 2>&1 | tee -a "$LOG_DIR/smoke.log"
# One line for the summary: the smoke steps count as tests.
awk '/^ok [0-9]+ - / { n++ } END { printf "test result: ok. %d passed; 0 failed (smoke)\n", n }' \
  "$LOG_DIR/smoke.log" >>"$LOG_DIR/tests.log"

stage "cost per flow: AWS calls and DynamoDB units of each flow, from the record"
# docs/performance.md's cost table is computed from these counts (scripts/cost-flows.py).
python3 scripts/cost-flows.py "http://127.0.0.1:$WATCH_PORT" "$AWS_CALLS" "$WRISTBAND_E2E_SES_URL" \
  "$LOG_DIR/cost-flows.json" 3

stage "introspection from a standard OAuth client library (Authlib)"
.tools/venv/bin/python scripts/introspect-with-authlib.py "http://127.0.0.1:$WATCH_PORT" 2>&1 | tee -a "$LOG_DIR/tests.log"

stage "second factor from an independent TOTP implementation (pyotp)"
.tools/venv/bin/python scripts/totp-with-pyotp.py "http://127.0.0.1:$WATCH_PORT" 2>&1 | tee -a "$LOG_DIR/tests.log"

stage "examples/own-function: a crate outside the workspace, tested and served beside the stack"
# Built as a user's crate would be: its own Cargo.toml and lock, path dependencies on
# shared/, its own target directory. Its unit tests, then its routes over HTTP through its
# own `cargo lambda watch` with tokens from the stack's /login (same tables and keys).
OWN_DIR="$ROOT/examples/own-function"
export OWN_TARGET="$ROOT/target/own-function"
(
  cd "$OWN_DIR"
  cargo fmt --check
  CARGO_TARGET_DIR="$OWN_TARGET" cargo clippy -q --all-targets --locked -- -D warnings
  CARGO_TARGET_DIR="$OWN_TARGET" cargo test --locked 2>&1 | tee -a "$LOG_DIR/tests.log"
)
OWN_PORT="$(wb_free_port)"
# shellcheck disable=SC2016 # expanded by the child shell
wb_spawn "$LOG_DIR/own.pid" "$LOG_DIR/own-function-watch.log" bash -c \
  'cd "$0" && CARGO_TARGET_DIR="$OWN_TARGET" AWS_ENDPOINT_URL="$2" exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$1" --disable-cors --ignore-changes' \
  "$OWN_DIR" "$OWN_PORT" "http://127.0.0.1:$DDB_PORT"
OWN_PGID="$(cat "$LOG_DIR/own.pid")"
deadline=$((SECONDS + WATCH_READY_TIMEOUT))
until wb_http_status GET "http://127.0.0.1:$OWN_PORT/orders" 60 >/dev/null; do
  wb_group_alive "$OWN_PGID" || wb_die "cargo lambda watch (own-function) exited"
  [ "$SECONDS" -lt "$deadline" ] || wb_die "own-function did not answer"
  sleep 1
done
WRISTBAND_E2E_URL="http://127.0.0.1:$WATCH_PORT" WRISTBAND_OWN_FUNCTION_URL="http://127.0.0.1:$OWN_PORT" \
  WRISTBAND_ADMIN="$CARGO_TARGET/debug/wristband-admin" \
  cargo test -p wristband-e2e --test own_function 2>&1 | tee -a "$LOG_DIR/tests.log"
wb_kill_group "$OWN_PGID" 10
OWN_PGID=""

stage "cargo lambda invoke: every events/ file"
# The loopback bridge of `make run`: invoke's default address [::1] reaches the emulator.
wb_spawn "$LOG_DIR/bridge.pid" "$LOG_DIR/bridge.log" python3 scripts/loopback-bridge.py "$WATCH_PORT"
BRIDGE_PGID="$(cat "$LOG_DIR/bridge.pid")"
# The bridge needs a moment to listen (on a loaded machine the first invoke came too soon).
python3 - "$WATCH_PORT" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 30
while True:
    try:
        socket.create_connection(("::1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the loopback bridge did not listen on [::1] within 30 s")
        time.sleep(0.2)
PY
python3 scripts/invoke-events.py "$WATCH_PORT"

stage "OpenAPI: schemathesis with openapi.json against the local stack"
bash scripts/openapi-check.sh "http://127.0.0.1:$WATCH_PORT" "$LOG_DIR" 2>&1 | tee "$LOG_DIR/openapi-check.log"

stage "keys: EdDSA and ES256 end to end (keys from the environment)"
wb_kill_group "$BRIDGE_PGID" 2
BRIDGE_PGID=""
wb_kill_group "$WATCH_PGID" 10
WATCH_PGID=""
cargo build -q -p wristband-admin
for alg in EdDSA ES256; do
  key_file="$LOG_DIR/jwt-$alg.pem"
  case "$alg" in
    EdDSA) (umask 077 && openssl genpkey -algorithm ed25519 -out "$key_file") ;;
    ES256) (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key_file") ;;
  esac
  (
    export JWT_ALGORITHM="$alg" JWT_KID="e2e-$alg" JWT_PRIVATE_KEY="$(cat "$key_file")"
    unset JWT_SECRET
    JWT_PUBLIC_KEYS="$("$CARGO_TARGET/debug/wristband-admin" keys jwks)"
    export JWT_PUBLIC_KEYS
    port="$(wb_free_port)"
    wb_spawn "$LOG_DIR/watch-$alg.pid" "$LOG_DIR/watch-$alg.log" \
      cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --disable-cors \
        --ignore-changes
    pgid="$(cat "$LOG_DIR/watch-$alg.pid")"
    trap 'wb_kill_group "$pgid" 10' EXIT
    deadline=$((SECONDS + WATCH_READY_TIMEOUT))
    until wb_http_status GET "http://127.0.0.1:$port/.well-known/jwks.json" 60 >/dev/null; do
      wb_group_alive "$pgid" || wb_die "cargo lambda watch ($alg) exited"
      [ "$SECONDS" -lt "$deadline" ] || wb_die "watch ($alg) did not answer"
      sleep 1
    done
    WRISTBAND_E2E_URL="http://127.0.0.1:$port" WRISTBAND_E2E_ALG="$alg" WRISTBAND_E2E_KID="$JWT_KID" \
      cargo test -p wristband-e2e --test keys 2>&1 | tee -a "$LOG_DIR/tests.log"
    .tools/venv/bin/python scripts/verify-with-pyjwt.py "http://127.0.0.1:$port" "$JWT_ISSUER" "$JWT_AUDIENCE"
    # The smoke test finds the tokens' kid in the published JWKS.
    bash scripts/smoke.sh "http://127.0.0.1:$port" 2>&1 | tee -a "$LOG_DIR/smoke.log"
  )
done

stage "browser: Chromium drives examples/browser (cookies, CSRF, refresh, account pages, second factor, passkeys)"
# A page origin and an API origin on the same host (cookies belong to a host, not a
# port): http://localhost:P (the page) calls http://localhost:Q (the API) with CORS and
# credentials. A short access TTL, so that the page sees a token expire and refreshes.
# The page's origin is APP_URL: the emailed links open its /verify-email and
# /reset-password, and the walk reads them from the SES emulator's store.
stop_watch
PAGE_PORT="$(wb_free_port)"
export CORS_ALLOW_ORIGINS="http://localhost:$PAGE_PORT"
export APP_URL="http://localhost:$PAGE_PORT"
export WEBAUTHN_ORIGINS="http://localhost:$PAGE_PORT"
export ACCESS_TOKEN_TTL_SECONDS="${BROWSER_ACCESS_TTL_SECONDS:-4}"
WATCH_LOG="$LOG_DIR/cargo-lambda-watch-browser.log"
start_watch
# The page's server also plays API Gateway for /hello behind the authorizer (invoked
# through the emulator), as make run serves it, and names the API to the pages
# (/config.js): the emailed links carry no ?api=.
wb_spawn "$LOG_DIR/static.pid" "$LOG_DIR/static-server.log" \
  env AUTHORIZER_URL="http://127.0.0.1:$WATCH_PORT" API_URL="http://localhost:$WATCH_PORT" \
  python3 scripts/serve_static.py "$PAGE_PORT"
STATIC_PGID="$(cat "$LOG_DIR/static.pid")"
# Start every function the page calls (and the authorizer's) before the browser's
# short-lived token needs them: a function's first start must not eat its 4 s.
for warm in "GET /me" "POST /register" "POST /login" "POST /refresh" "DELETE /logout" "POST /logout/all" \
  "POST /email/verify" "POST /password/forgot" "POST /password/reset" "POST /mfa/totp" "POST /login/mfa" \
  "GET /passkeys" "POST /login/passkey/options"; do
  read -r method path <<<"$warm"
  wb_http_status "$method" "http://localhost:$WATCH_PORT$path" 120 >/dev/null || true
done
deadline=$((SECONDS + WATCH_READY_TIMEOUT))
until [ "$(wb_http_status GET "http://localhost:$PAGE_PORT/hello" 120 || true)" = 403 ]; do
  [ "$SECONDS" -lt "$deadline" ] || wb_die "/hello behind the authorizer did not answer 403 without a token"
  sleep 1
done
WRISTBAND_PAGE_URL="http://localhost:$PAGE_PORT/" \
  WRISTBAND_API_URL="http://localhost:$WATCH_PORT" \
  ACCESS_TTL_SECONDS="$ACCESS_TOKEN_TTL_SECONDS" \
  SCREENSHOT="$LOG_DIR/browser.png" \
  PLAYWRIGHT_CORE="$ROOT/.tools/node/node_modules/playwright-core" \
  timeout 300 node tests/e2e/browser/browser-test.cjs 2>&1 | tee "$LOG_DIR/browser.log"
# The account pages: register with an address, the emailed links, a reset that ends the
# session. One screenshot per step: browser-accounts-NN-<step>.png.
WRISTBAND_PAGE_URL="http://localhost:$PAGE_PORT/" \
  WRISTBAND_API_URL="http://localhost:$WATCH_PORT" \
  SCREENSHOT="$LOG_DIR/browser-accounts.png" \
  PLAYWRIGHT_CORE="$ROOT/.tools/node/node_modules/playwright-core" \
  timeout 300 node tests/e2e/browser/accounts-test.cjs 2>&1 | tee -a "$LOG_DIR/browser.log"
# The second factor: set up in the page (QR code drawn there, read back by jsQR), the
# code computed in Node, the login's second step. Screenshots: browser-mfa-NN-<step>.png.
WRISTBAND_PAGE_URL="http://localhost:$PAGE_PORT/" \
  WRISTBAND_API_URL="http://localhost:$WATCH_PORT" \
  SCREENSHOT="$LOG_DIR/browser-mfa.png" \
  PLAYWRIGHT_CORE="$ROOT/.tools/node/node_modules/playwright-core" \
  JSQR="$ROOT/.tools/node/node_modules/jsqr" \
  timeout 300 node tests/e2e/browser/mfa-test.cjs 2>&1 | tee -a "$LOG_DIR/browser.log"
# Passkeys: Chromium's virtual authenticator (DevTools Protocol) holds the key; the page
# adds one, signs in with it (no username), offers it as the second step, removes it, and
# is refused with it. Screenshots: browser-passkeys-NN-<step>.png.
WRISTBAND_PAGE_URL="http://localhost:$PAGE_PORT/" \
  WRISTBAND_API_URL="http://localhost:$WATCH_PORT" \
  SCREENSHOT="$LOG_DIR/browser-passkeys.png" \
  PLAYWRIGHT_CORE="$ROOT/.tools/node/node_modules/playwright-core" \
  timeout 300 node tests/e2e/browser/passkeys-test.cjs 2>&1 | tee -a "$LOG_DIR/browser.log"
# One line for the summary: the browser's steps count as tests.
awk '/^ok [0-9]+ - / { n++ } END { printf "test result: ok. %d passed; 0 failed (browser)\n", n }' \
  "$LOG_DIR/browser.log" >>"$LOG_DIR/tests.log"
stop_watch
wb_kill_group "$STATIC_PGID" 5
STATIC_PGID=""

stage "make run stops everything on SIGTERM / SIGINT to its process group"
bash scripts/test-make-run.sh 2>&1 | tee "$LOG_DIR/make-run.log"
awk '/^ok [0-9]+ - / { n++ } END { printf "test result: ok. %d passed; 0 failed (make run)\n", n }' \
  "$LOG_DIR/make-run.log" >>"$LOG_DIR/tests.log"

stage "IAM: every recorded call allowed by its function's policy in template.yaml, every grant used"
# The record holds every call of the stages above (e2e, smoke, Authlib, pyotp, events,
# schemathesis, the EdDSA/ES256 stacks, the browser walks). A user's own function
# (examples/own-function) has no policy of ours and called DynamoDB Local directly.
.tools/venv/bin/python scripts/iam-check.py --template template.yaml "$AWS_CALLS" 2>&1 | tee "$LOG_DIR/iam-check.log"
awk '/^iam-check: every call allowed/ { print "test result: ok. 1 passed; 0 failed (iam)" }' \
  "$LOG_DIR/iam-check.log" >>"$LOG_DIR/tests.log"

stage "cfn-lint template.yaml, sam validate --lint"
cfn-lint template.yaml
SAM_CLI_TELEMETRY=0 "$SAM_CLI" validate --lint --region us-east-1 --template-file template.yaml

# One closing line for every test run above (cargo's last line is often a 0-test doc run).
stage "summary"
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$LOG_DIR/tests.log"
grep -E "^ *[0-9]+ generated" "$LOG_DIR/openapi-check.log" \
  | awk '{ n += $1 } END { printf "schemathesis: %d generated cases, all passed\n", n }'

#!/usr/bin/env bash
# `make bench`: wristband side by side with the Flask + Flask-JWT-Extended peer, in one run
# on this machine, interleaved, then one table of ratios (bench/report.py).
#
#   criterion benches (CPU cost of the hot paths)
#   HTTP load through the local stack (cargo lambda watch --release, DynamoDB Local, the SES
#     emulator) against
#     the peer (gunicorn -w 5) with the peer's own harness (load.py), BENCH_ROUNDS rounds
#   the DynamoDB Local GetItem floor (ddb_floor.py) and the emulator's own cost (noop function)
#   cold start (launch -> first answer) of the release binary and of the peer
#   peak RSS of the /protected function after the load; arm64 deployment zip sizes
#
# Needs the peer beside the repo (../shared/peer, or PEER_DIR). Everything it runs listens
# on 127.0.0.1 on free ports and is stopped on exit. Environment knobs:
#   BENCH_ROUNDS (3), BENCH_N (2000), BENCH_WRK_SECONDS (5), BENCH_ZIPS (1: build arm64 zips)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib.sh"
source "$ROOT/scripts/dynamodb-local.sh"
source "$ROOT/scripts/ses-local.sh"

PEER_DIR="${PEER_DIR:-$ROOT/../shared/peer}"
ROUNDS="${BENCH_ROUNDS:-3}"
N="${BENCH_N:-2000}"
WRK_SECONDS="${BENCH_WRK_SECONDS:-5}"
OUT="$ROOT/target/bench/$(date -u +%Y%m%dT%H%M%SZ)"
# Where cargo puts what it builds (a shared CARGO_TARGET_DIR, or the workspace's target/).
CARGO_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$OUT"
WATCH_PGID=""
PEER_PGID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$WATCH_PGID" ] && wb_kill_group "$WATCH_PGID" 10
  [ -n "$PEER_PGID" ] && wb_kill_group "$PEER_PGID" 10
  [ -n "${WB_DDB_PGID:-}" ] && wb_ddb_stop
  [ -n "${WB_SES_PGID:-}" ] && wb_ses_stop
  [ "$rc" -ne 0 ] && printf '\nbench FAILED (exit %s); logs in %s\n' "$rc" "$OUT" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -f "$PEER_DIR/load.py" ] && [ -f "$PEER_DIR/flask_peer.py" ] ||
  wb_die "the peer is not at $PEER_DIR (set PEER_DIR to the folder with flask_peer.py and load.py)"
PEER_DIR="$(cd "$PEER_DIR" && pwd)"

wb_stage "tools"
source "$ROOT/scripts/tools.sh"
command -v wrk >/dev/null 2>&1 || _wb_apt_install wrk
PEER_VENV="$ROOT/.tools/peer-venv"
if [ ! -x "$PEER_VENV/bin/gunicorn" ]; then
  python3 -m venv "$PEER_VENV"
  "$PEER_VENV/bin/pip" install -q "flask==3.1.*" "flask-jwt-extended==4.7.*" boto3 argon2-cffi gunicorn
fi

wb_stage "criterion benches (release)"
cargo bench -p protected --bench hot_path -- --warm-up-time 1 --measurement-time 3 2>&1 |
  tee "$OUT/criterion.txt"
# argon2id as the login binary is linked (its package's profile decides the speed under LTO).
cargo bench -p login --bench argon2id -- --warm-up-time 1 --measurement-time 3 2>&1 |
  tee -a "$OUT/criterion.txt"

wb_stage "release build"
cargo build --release --bins

wb_stage "DynamoDB Local and the SES emulator (free ports)"
DDB_PORT="$(wb_free_port)"
wb_ddb_start "$DDB_PORT" "$OUT/dynamodb-local.log"
SES_PORT="$(wb_free_port)"
wb_ses_start "$SES_PORT" "$OUT/ses-local.log"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=dummy AWS_SECRET_ACCESS_KEY=dummy
export AWS_ENDPOINT_URL="http://127.0.0.1:$DDB_PORT"
# The functions that send mail refuse to start without APP_URL and MAIL_FROM; their mail
# goes to the emulator (also for the cold starts below, which inherit this environment).
export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$SES_PORT"
export APP_URL=http://localhost:9001 MAIL_FROM=no-reply@wristband.local
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_DYNAMODB
JWT_SECRET="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(48)).decode())')"
export JWT_SECRET JWT_ISSUER=wristband-local JWT_AUDIENCE=wristband-clients
# The second factor's key (login-mfa and mfa refuse to start without it; also their cold
# starts below).
MFA_ENCRYPTION_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export MFA_ENCRYPTION_KEY
# The passkeys' relying party (passkeys and login-passkey refuse to start without it; also
# their cold starts below).
export WEBAUTHN_RP_ID=localhost WEBAUTHN_ORIGINS=http://localhost:9001
# An introspection client for /oauth/introspect (bench/verifiers.py) and its cold start.
export BENCH_CLIENT_ID=bench-service
BENCH_CLIENT_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export BENCH_CLIENT_SECRET
INTROSPECTION_CLIENTS="$(python3 -c 'import hashlib, json, os; print(json.dumps({os.environ["BENCH_CLIENT_ID"]: hashlib.sha256(os.environ["BENCH_CLIENT_SECRET"].encode()).hexdigest()}))')"
export INTROSPECTION_CLIENTS
# Both servers log warnings only, so neither pays for a log line per request.
export RUST_LOG=warn

wb_stage "wristband: cargo lambda watch --release (8 instances per function)"
# The peer's load.py logs one user in 200 times and then logs each of those tokens out:
# under the default session cap (100) the first 100 sessions would be ended by the later
# logins and their logouts refused. The cap's Query runs at every login whatever its value.
export MAX_SESSIONS_PER_USER=250
export USERS_TABLE=bench-users REVOKED_TOKENS_TABLE=bench-revoked SESSIONS_TABLE=bench-sessions
cargo run -q --release -p create-tables
WB_PORT="$(wb_free_port)"
wb_spawn "$OUT/watch.pid" "$OUT/watch.log" cargo lambda watch --release --disable-cors \
  --invoke-address 127.0.0.1 --invoke-port "$WB_PORT" --concurrency 8
WATCH_PGID="$(cat "$OUT/watch.pid")"
WB="http://127.0.0.1:$WB_PORT"

wb_stage "peer: gunicorn -w 5 flask_peer:app"
PEER_PORT="$(wb_free_port)"
(
  cd "$PEER_DIR"
  export USERS_TABLE=peer-users REVOKED_TOKENS_TABLE=peer-revoked PEER_LOCAL_DEV=0
  wb_spawn "$OUT/peer.pid" "$OUT/peer.log" "$PEER_VENV/bin/gunicorn" -w 5 \
    -b "127.0.0.1:$PEER_PORT" flask_peer:app
)
PEER_PGID="$(cat "$OUT/peer.pid")"
PEER="http://127.0.0.1:$PEER_PORT"

for url in "$WB/protected" "$WB/lambda-url/noop/" "$PEER/protected"; do
  deadline=$((SECONDS + 180))
  until wb_http_status GET "$url" 60 >/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || wb_die "$url did not answer"
    sleep 1
  done
done

wrk_noop() { # concurrency, output file
  local threads=$(($1 < 2 ? $1 : 2))
  wrk -t"$threads" -c"$1" -d"${WRK_SECONDS}s" --latency "$WB/lambda-url/noop/" >"$2"
}

for round in $(seq 1 "$ROUNDS"); do
  wb_stage "round $round/$ROUNDS: peer, wristband, floor, emulator overhead (interleaved)"
  (cd "$PEER_DIR" && python3 load.py "$PEER" --label "peer gunicorn -w 5" --n "$N" \
    --wrk-seconds "$WRK_SECONDS" --json "$OUT/peer-$round.json") >"$OUT/peer-$round.txt"
  (cd "$PEER_DIR" && python3 load.py "$WB" --label "wristband watch --release" --n "$N" \
    --wrk-seconds "$WRK_SECONDS" --json "$OUT/wristband-$round.json") >"$OUT/wristband-$round.txt"
  python3 "$PEER_DIR/ddb_floor.py" --endpoint "$AWS_ENDPOINT_URL" --table "$REVOKED_TOKENS_TABLE" \
    --n "$N" >"$OUT/floor-$round.txt"
  wrk_noop 1 "$OUT/noop-c1-$round.txt"
  wrk_noop 8 "$OUT/noop-c8-$round.txt"
  tail -n 3 "$OUT/wristband-$round.txt"
done

wb_stage "revocation read: the three-key BatchGetItem against one GetItem"
python3 bench/revocation_read.py --endpoint "$AWS_ENDPOINT_URL" --table "$REVOKED_TOKENS_TABLE" \
  --n "$N" --json "$OUT/revocation-read.json" | tee "$OUT/revocation-read.txt"

wb_stage "verifiers: /protected, /me, the authorizer and introspection, warm, one after another"
python3 bench/verifiers.py "$WB" --n "$N" --json "$OUT/verifiers.json" | tee "$OUT/verifiers.txt"

wb_stage "/password/forgot: the same time for an unknown, an unverified and a verified address"
python3 bench/forgot.py "$WB" "http://127.0.0.1:$SES_PORT" --n 50 --json "$OUT/forgot.json" |
  tee "$OUT/forgot.txt"

wb_stage "login with a second factor: both steps against a password-only login"
python3 bench/mfa_login.py "$WB" --n 100 --json "$OUT/mfa-login.json" | tee "$OUT/mfa-login.txt"

wb_stage "peak memory of the /protected instances"
for pid in $(pgrep -f "$CARGO_TARGET/release/protected$" || true); do
  awk -v pid="$pid" '/VmHWM/ {print pid, $2}' "/proc/$pid/status" 2>/dev/null || true
done >"$OUT/protected-vmhwm-kib.txt"
cat "$OUT/protected-vmhwm-kib.txt"
wb_kill_group "$WATCH_PGID" 10
WATCH_PGID=""

wb_stage "cold start: release binary via a minimal Lambda Runtime API"
python3 bench/coldstart.py "$CARGO_TARGET/release/protected" --runs 10 --json "$OUT/coldstart-wristband.json"
for fn in functions/*/; do
  fn="$(basename "$fn")"
  event=()
  [ "$fn" = authorizer ] && event=(--event events/authorizer-missing-token.json)
  python3 bench/coldstart.py "$CARGO_TARGET/release/$fn" --runs 10 "${event[@]}" \
    --json "$OUT/coldstart-fn-$fn.json"
done | tee "$OUT/coldstart-functions.txt"

wb_stage "cold start: peer (gunicorn -w 1, launch -> first 401) and Python imports"
wb_kill_group "$PEER_PGID" 10
PEER_PGID=""
(
  cd "$PEER_DIR"
  export USERS_TABLE=peer-users REVOKED_TOKENS_TABLE=peer-revoked PEER_LOCAL_DEV=0
  bash coldstart.sh -n 5 -u "$PEER/protected" -l "$OUT/peer-coldstart-server.log" -- \
    "$PEER_VENV/bin/gunicorn" -w 1 -b "127.0.0.1:$PEER_PORT" flask_peer:app
  bash coldstart.sh imports -n 5 "$PEER_VENV/bin/python"
) 2>&1 | tee "$OUT/coldstart-peer.txt"

if [ "${BENCH_ZIPS:-1}" = "1" ]; then
  wb_stage "arm64 deployment zips (cargo lambda build --release --arm64)"
  # One cargo invocation builds every binary (shared dependencies compiled once).
  cargo lambda build --release --arm64 --output-format zip >"$OUT/zip-build.log" 2>&1 ||
    { tail -n 30 "$OUT/zip-build.log"; wb_die "arm64 build failed"; }
  for fn in functions/*/; do
    fn="$(basename "$fn")"
    stat -c "%n %s" "$CARGO_TARGET/lambda/$fn/bootstrap.zip"
  done | tee "$OUT/zip-sizes.txt"
fi

wb_stage "report"
python3 bench/report.py "$OUT" | tee "$OUT/report.md"
printf '\nraw results: %s\n' "$OUT"

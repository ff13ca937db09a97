#!/usr/bin/env bash
# `make run`: the whole API on a laptop.
#   DynamoDB Local on 127.0.0.1:8000 (reused when one already answers there), the SES
#   emulator on 127.0.0.1:8005 (the mail the functions send: GET /store there; reused
#   likewise), tables created, every function served by `cargo lambda watch` on
#   http://127.0.0.1:${WATCH_PORT:-9000}/<path>, and the browser example with the OpenAPI
#   document on http://localhost:${EXAMPLE_PORT:-9001}/. Ctrl-C (or INT, TERM or HUP to
#   its process group, at any stage) stops everything this script started.
#
# Every variable below may be set by the caller; only unset ones get a local default.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# INT to the process group must stop us also when our launcher gave us SIGINT ignored.
wb_default_sigint "$ROOT/scripts/run.sh" "$@"
# shellcheck source=scripts/dynamodb-local.sh
source "$ROOT/scripts/dynamodb-local.sh"
# shellcheck source=scripts/ses-local.sh
source "$ROOT/scripts/ses-local.sh"

WATCH_PGID=""
cleanup() {
  local rc=$?
  # Nothing may cut the clean-up short and leave services behind: a signal to the group
  # comes twice (make forwards its TERM to us), supervisors repeat theirs, and a reader
  # of our output in the same group (`make run | tee`) is gone, so writes must fail
  # softly instead of killing us (SIGPIPE) or ending the trap (set -e).
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  if [ -n "$WATCH_PGID" ]; then
    wb_info "stopping cargo lambda watch"
  fi
  if [ -n "$WB_DDB_PGID" ]; then
    wb_info "stopping DynamoDB Local"
  fi
  if [ -n "$WB_SES_PGID" ]; then
    wb_info "stopping the SES emulator"
  fi
  # Everything at once, found by parentage rather than by WATCH_PGID / WB_DDB_PGID /
  # WB_SES_PGID: a signal between a wb_spawn and the read of its pidfile leaves a service no
  # variable names.
  wb_kill_children 10
  wb_ddb_stop
  wb_ses_stop
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Our output's reader is gone (`make run | tee log`, the tee stopped with us): writing to it
# must end us through cleanup, not kill us by SIGPIPE with everything left running.
trap 'exit 141' PIPE

wb_stage "tools"
# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"

wb_stage "configuration"
: "${JWT_ALGORITHM:=HS256}"
export JWT_ALGORITHM
if [ "$JWT_ALGORITHM" != HS256 ] && [ -z "${JWT_PRIVATE_KEY:-}" ]; then
  # A development key pair for EdDSA/ES256, made once and kept in .local/ (never printed).
  mkdir -p "$ROOT/.local" && chmod 700 "$ROOT/.local"
  key_file="$ROOT/.local/jwt-$JWT_ALGORITHM.pem"
  if [ ! -s "$key_file" ]; then
    case "$JWT_ALGORITHM" in
      EdDSA) (umask 077 && openssl genpkey -algorithm ed25519 -out "$key_file") ;;
      ES256) (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key_file") ;;
      *) wb_die "JWT_ALGORITHM must be HS256, EdDSA or ES256" ;;
    esac
  fi
  JWT_PRIVATE_KEY="$(cat "$key_file")"
  : "${JWT_KID:=dev-$JWT_ALGORITHM}"
  export JWT_PRIVATE_KEY JWT_KID
  wb_info "JWT_ALGORITHM=$JWT_ALGORITHM: using the development key in .local/jwt-$JWT_ALGORITHM.pem (not printed)"
fi
if [ "$JWT_ALGORITHM" != HS256 ] && [ -z "${JWT_PUBLIC_KEYS:-}" ]; then
  # What verifiers get in AWS: the public JWKS of the current key.
  JWT_PUBLIC_KEYS="$(cargo run -q -p wristband-admin -- keys jwks)"
  export JWT_PUBLIC_KEYS
fi
if [ "$JWT_ALGORITHM" != HS256 ]; then
  :
elif [ -z "${JWT_SECRET:-}" ]; then
  secret_file="$ROOT/.local/jwt-secret"
  mkdir -p "$ROOT/.local"
  chmod 700 "$ROOT/.local"
  if [ ! -s "$secret_file" ]; then
    (umask 077 && python3 -c 'import base64, os; print(base64.b64encode(os.urandom(48)).decode())' >"$secret_file")
  fi
  chmod 600 "$secret_file"
  JWT_SECRET="$(cat "$secret_file")"
  export JWT_SECRET
  wb_info "JWT_SECRET not set: using the development secret in .local/jwt-secret (not printed)"
else
  wb_info "JWT_SECRET taken from the environment"
fi
if [ -z "${MFA_ENCRYPTION_KEY:-}" ]; then
  # The second factor's key (32 random bytes, base64; login-mfa and mfa refuse to start
  # without it), made once and kept in .local/ (mode 600, never printed): TOTP secrets
  # sealed under it stay usable from one `make run` to the next.
  mkdir -p "$ROOT/.local" && chmod 700 "$ROOT/.local"
  mfa_key_file="$ROOT/.local/mfa-encryption-key"
  if [ ! -s "$mfa_key_file" ]; then
    (umask 077 && python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())' >"$mfa_key_file")
  fi
  chmod 600 "$mfa_key_file"
  MFA_ENCRYPTION_KEY="$(cat "$mfa_key_file")"
  export MFA_ENCRYPTION_KEY
  wb_info "MFA_ENCRYPTION_KEY not set: using the development key in .local/mfa-encryption-key (not printed)"
else
  export MFA_ENCRYPTION_KEY
  wb_info "MFA_ENCRYPTION_KEY taken from the environment"
fi
if [ -z "${INTROSPECTION_CLIENTS:-}" ]; then
  # One development client for /oauth/introspect (RFC 7662): its secret kept in .local/
  # (mode 600, never printed), the function given only the secret's SHA-256.
  mkdir -p "$ROOT/.local" && chmod 700 "$ROOT/.local"
  client_file="$ROOT/.local/introspection-client-secret"
  if [ ! -s "$client_file" ]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$client_file")
  fi
  chmod 600 "$client_file"
  INTROSPECTION_CLIENTS="$(python3 -c 'import hashlib, json, sys; print(json.dumps({"local-service": hashlib.sha256(open(sys.argv[1]).read().strip().encode()).hexdigest()}))' "$client_file")"
  export INTROSPECTION_CLIENTS
  wb_info "INTROSPECTION_CLIENTS not set: client local-service, its secret in .local/introspection-client-secret"
fi

: "${AWS_ENDPOINT_URL:=http://127.0.0.1:8000}"
# SES's own endpoint variable: AWS_ENDPOINT_URL stays DynamoDB Local's.
: "${AWS_ENDPOINT_URL_SESV2:=http://127.0.0.1:8005}"
: "${AWS_REGION:=us-east-1}"
: "${AWS_ACCESS_KEY_ID:=dummy}"
: "${AWS_SECRET_ACCESS_KEY:=dummy}"
: "${JWT_ISSUER:=wristband-local}"
: "${JWT_AUDIENCE:=wristband-clients}"
: "${USERS_TABLE:=wristband-users}"
: "${REVOKED_TOKENS_TABLE:=wristband-revoked-tokens}"
: "${SESSIONS_TABLE:=wristband-sessions}"
: "${EXAMPLE_PORT:=9001}"
: "${CORS_ALLOW_ORIGINS:=http://localhost:3000,http://localhost:$EXAMPLE_PORT}"
# Emailed links open the browser example; mail goes out from MAIL_FROM (to the emulator).
: "${APP_URL:=http://localhost:$EXAMPLE_PORT}"
: "${MAIL_FROM:=no-reply@wristband.local}"
# Passkeys: the browser example's origin is the relying party's (browsers allow WebAuthn
# on http://localhost).
: "${WEBAUTHN_RP_ID:=localhost}"
: "${WEBAUTHN_ORIGINS:=http://localhost:$EXAMPLE_PORT}"
# Both token locations locally, so that the browser example (cookies) and curl (header)
# work side by side; the functions' own default is `headers`.
: "${TOKEN_LOCATION:=headers,cookies}"
: "${RUST_LOG:=info}"
: "${WATCH_PORT:=9000}"
export AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2 AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
  JWT_ISSUER JWT_AUDIENCE USERS_TABLE REVOKED_TOKENS_TABLE SESSIONS_TABLE \
  CORS_ALLOW_ORIGINS TOKEN_LOCATION RUST_LOG APP_URL MAIL_FROM WEBAUTHN_RP_ID WEBAUTHN_ORIGINS
for v in AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2 APP_URL MAIL_FROM WEBAUTHN_RP_ID WEBAUTHN_ORIGINS AWS_REGION JWT_ALGORITHM JWT_ISSUER JWT_AUDIENCE USERS_TABLE REVOKED_TOKENS_TABLE \
  SESSIONS_TABLE CORS_ALLOW_ORIGINS TOKEN_LOCATION RUST_LOG WATCH_PORT EXAMPLE_PORT AWS_LAMBDA_LOG_FORMAT; do
  wb_info "$v=${!v:-(unset)}"
done

wb_stage "DynamoDB Local"
# Start one only when the endpoint is a local port; otherwise use the endpoint as given.
if [[ "$AWS_ENDPOINT_URL" =~ ^http://(127\.0\.0\.1|localhost)(:([0-9]+))?/?$ ]]; then
  ddb_port="${BASH_REMATCH[3]:-80}"
  if wb_ddb_ping "$ddb_port"; then
    wb_info "a DynamoDB endpoint already answers on 127.0.0.1:$ddb_port: reusing it"
  elif wb_port_open "$ddb_port"; then
    wb_die "port $ddb_port is taken by something that is not DynamoDB; free it or set AWS_ENDPOINT_URL"
  else
    wb_ddb_start "$ddb_port"
    wb_info "started on 127.0.0.1:$ddb_port (in memory: data lasts until Ctrl-C; log: .tools/dynamodb-local-run/$ddb_port/)"
  fi
else
  wb_info "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL is not local: not starting DynamoDB Local"
fi

wb_stage "SES emulator"
# Likewise: start one only when SES's endpoint is a local port.
if [[ "$AWS_ENDPOINT_URL_SESV2" =~ ^http://(127\.0\.0\.1|localhost)(:([0-9]+))?/?$ ]]; then
  ses_port="${BASH_REMATCH[3]:-80}"
  if wb_ses_ping "$ses_port"; then
    wb_info "an SES emulator already answers on 127.0.0.1:$ses_port: reusing it"
  elif wb_port_open "$ses_port"; then
    wb_die "port $ses_port is taken by something that is not the SES emulator; free it or set AWS_ENDPOINT_URL_SESV2"
  else
    wb_ses_start "$ses_port"
    wb_info "aws-ses-v2-local on 127.0.0.1:$ses_port (in memory: mail lasts until Ctrl-C; log: .tools/ses-local-run/)"
  fi
  ses_store="http://127.0.0.1:$ses_port/store"
else
  wb_info "AWS_ENDPOINT_URL_SESV2=$AWS_ENDPOINT_URL_SESV2 is not local: not starting the SES emulator"
  ses_store=""
fi

wb_stage "tables"
cargo run -q -p create-tables

wb_stage "build"
cargo build --bins

wb_stage "cargo lambda watch on http://127.0.0.1:$WATCH_PORT"
if wb_port_open "$WATCH_PORT"; then
  wb_die "port $WATCH_PORT is already in use; set WATCH_PORT to another port"
fi
wb_info "try: curl -i -X POST http://127.0.0.1:$WATCH_PORT/register -H 'content-type: application/json' -d '{\"username\":\"alice\",\"password\":\"correct horse battery\"}'"
wb_info "or:  cargo lambda invoke register --data-file events/register.json   (with PATH=.tools/venv/bin:\$PATH)"
if [ "$JWT_ALGORITHM" != HS256 ]; then
  wb_info "public keys: curl http://127.0.0.1:$WATCH_PORT/.well-known/jwks.json"
fi
if wb_port_open "$EXAMPLE_PORT"; then
  wb_die "port $EXAMPLE_PORT is already in use; set EXAMPLE_PORT to another port"
fi
# Like everything below, stopped by cleanup as a child of this shell (wb_kill_children).
# API_URL: the API the pages of emailed links (/verify-email, /reset-password) post to.
wb_spawn "$ROOT/.tools/static-run.pid" "$ROOT/.tools/static-run.log" \
  env AUTHORIZER_URL="http://127.0.0.1:$WATCH_PORT" API_URL="http://localhost:$WATCH_PORT" \
  python3 scripts/serve_static.py "$EXAMPLE_PORT"
wb_info "browser example (cookies + CSRF): http://localhost:$EXAMPLE_PORT/?api=http://localhost:$WATCH_PORT"
wb_info "OpenAPI document:                 http://localhost:$EXAMPLE_PORT/openapi.json (also ./openapi.json)"
if [ -n "$ses_store" ]; then
  wb_info "mail sent (links to verify, reset):  curl $ses_store   (or open ${ses_store%/store}/ in a browser)"
fi
wb_info "Ctrl-C stops everything"
# Own process group, so cleanup can stop watch and the function processes it spawns.
# --disable-cors: the functions answer CORS themselves from CORS_ALLOW_ORIGINS, as API Gateway does.
wb_spawn "$ROOT/.tools/watch-run.pid" - \
  cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --disable-cors
WATCH_PGID="$(cat "$ROOT/.tools/watch-run.pid")"
# `cargo lambda invoke` dials [::1]:9000 by default and has no setting for it: bridge
# [::1]:$WATCH_PORT to the emulator so a plain invoke works, still on loopback only.
wb_spawn "$ROOT/.tools/bridge-run.pid" "$ROOT/.tools/bridge-run.log" \
  python3 "$ROOT/scripts/loopback-bridge.py" "$WATCH_PORT" || true
while wb_group_alive "$WATCH_PGID"; do
  sleep 1
done
wb_die "cargo lambda watch exited"

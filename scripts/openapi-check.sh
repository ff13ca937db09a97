#!/usr/bin/env bash
# schemathesis against a running wristband with openapi.json (stage of `make test`):
# no 5xx, every status, content type, header and body as documented, schema-violating
# input refused with a 4xx, undocumented methods answered 405 with Allow.
#
#   bash scripts/openapi-check.sh http://127.0.0.1:PORT LOG_DIR
#
# Two bounded passes, each with a token of a user of its own (passed as a header; the
# document's security schemes are not fuzzed): first the operations that keep the token
# alive, then all of them (logout, logout-all and password change end the token, so later
# cases of that pass see 401s, which the document also describes).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
API="${1:?usage: openapi-check.sh API_URL LOG_DIR}"
LOG_DIR="${2:?usage: openapi-check.sh API_URL LOG_DIR}"
EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
TIME_LIMIT="${SCHEMATHESIS_TIME_LIMIT:-240}"
SCHEMATHESIS="$ROOT/.tools/venv/bin/schemathesis"
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance"
CHECKS="$CHECKS,response_headers_conformance,response_schema_conformance"
CHECKS="$CHECKS,negative_data_rejection,unsupported_method,allow_header_conformance"
mkdir -p "$LOG_DIR"
DROPPED="$LOG_DIR/schemathesis-dropped.jsonl"
: >"$DROPPED"

# A new user and its access token (never printed).
access_token() {
  local user password
  user="openapi-$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
  password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
  USER_JSON="$(printf '{"username":"%s","password":"%s"}' "$user" "$password")"
  curl -sf -o /dev/null -X POST "$API/register" -H 'content-type: application/json' -d "$USER_JSON"
  curl -sf -X POST "$API/login" -H 'content-type: application/json' -d "$USER_JSON" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

run_pass() {
  local name="$1" token
  shift
  token="$(access_token)"
  echo "==> schemathesis, pass '$name' (max $EXAMPLES examples per operation, log: $LOG_DIR/schemathesis-$name.log)"
  # --output-sanitize (default) keeps the token out of the log.
  (cd "$LOG_DIR" && SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$ROOT/scripts" \
    WRISTBAND_SCHEMATHESIS_DROPPED="$DROPPED" \
    timeout "$TIME_LIMIT" "$SCHEMATHESIS" run "$ROOT/openapi.json" --url "$API" \
    -H "Authorization: Bearer $token" --generation-with-security-parameters false \
    --checks "$CHECKS" --max-examples "$EXAMPLES" --workers 1 --no-color \
    --generation-database none --report junit --report-dir "$LOG_DIR/schemathesis-$name" \
    "$@") >"$LOG_DIR/schemathesis-$name.log" 2>&1 || {
    rc=$?
    tail -n 80 "$LOG_DIR/schemathesis-$name.log" >&2
    echo "error: schemathesis pass '$name' failed (exit $rc)" >&2
    exit "$rc"
  }
  # The summary's counts, e.g. "Selected: 6/11", "481 generated, 481 passed".
  grep -E "^ *(Selected:|[0-9]+ generated|Seed:)" "$LOG_DIR/schemathesis-$name.log" | sed 's/^ */    /'
}

run_pass keep-token \
  --exclude-operation-id logout --exclude-operation-id logoutPost \
  --exclude-operation-id logoutAll --exclude-operation-id endSession \
  --exclude-operation-id changePassword
run_pass all
echo "    emulator-only refusals dropped (non-UTF-8 text bodies, see scripts/schemathesis_hooks.py): $(wc -l <"$DROPPED")"

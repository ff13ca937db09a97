#!/usr/bin/env bash
# SES emulator helper: aws-ses-v2-local (npm, installed by scripts/tools.sh).
#
# Run it:    scripts/ses-local.sh [PORT]     # foreground, Ctrl-C stops it (default 8005)
# Source it: source scripts/ses-local.sh
#            wb_ses_start PORT [LOGFILE]      # background; sets WB_SES_PGID; waits until ready
#            wb_ses_stop                      # stops what wb_ses_start started
#            wb_ses_ping PORT                 # true when GET /store answers there
#
# It accepts SES API v2 SendEmail (POST /v2/email/outbound-emails, any SigV4-shaped
# Authorization) and lists every message it got at GET http://127.0.0.1:PORT/store
# (a web view of them at /). Messages live in memory until it stops. It listens on
# 127.0.0.1 only (its own default is every interface).
#
# Needs SES_LOCAL_BIN (set by scripts/tools.sh) or finds it under .tools/. Its pid and
# (unless given another) its log go to .tools/ses-local-run/PORT.{pid,log}.

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WB_SES_PGID=""
WB_SES_READY_TIMEOUT="${WB_SES_READY_TIMEOUT:-30}"

wb_ses_bin() {
  local bin="${SES_LOCAL_BIN:-$WB_ROOT/.tools/ses-local/node_modules/aws-ses-v2-local/dist/cli.js}"
  if [ ! -f "$bin" ]; then
    echo "error: the SES emulator (aws-ses-v2-local) is not installed; run scripts/tools.sh (or make tools)" >&2
    return 1
  fi
  echo "$bin"
}

# True when the emulator answers GET /store with its JSON on 127.0.0.1:$1.
wb_ses_ping() {
  python3 - "$1" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:%s/store" % sys.argv[1], timeout=2) as r:
        sys.exit(0 if "emails" in json.loads(r.read()) else 1)
except Exception:
    sys.exit(1)
PY
}

wb_ses_start() {
  local port="${1:?port}" log="${2:-}" bin rundir _
  bin="$(wb_ses_bin)" || return 1
  command -v node >/dev/null 2>&1 || { echo "error: node not found" >&2; return 1; }
  rundir="$WB_ROOT/.tools/ses-local-run"
  mkdir -p "$rundir"
  log="${log:-$rundir/$port.log}"
  if wb_port_open "$port"; then
    echo "error: port $port is already in use; cannot start the SES emulator there" >&2
    return 1
  fi
  # A child of the caller, like DynamoDB Local: its clean-up (wb_kill_children) finds it
  # also when a signal ends the caller before WB_SES_PGID is set.
  wb_spawn "$rundir/$port.pid" "$log" node "$bin" --host 127.0.0.1 --port "$port" || return 1
  WB_SES_PGID="$(cat "$rundir/$port.pid")"
  for _ in $(seq 1 $((WB_SES_READY_TIMEOUT * 4))); do
    if wb_ses_ping "$port"; then
      return 0
    fi
    if ! wb_group_alive "$WB_SES_PGID"; then
      echo "error: the SES emulator exited during start-up (log: $log):" >&2
      tail -n 30 "$log" >&2 || true
      WB_SES_PGID=""
      return 1
    fi
    sleep 0.25
  done
  echo "error: the SES emulator did not answer on 127.0.0.1:$port within ${WB_SES_READY_TIMEOUT}s (log: $log):" >&2
  tail -n 30 "$log" >&2 || true
  wb_ses_stop
  return 1
}

wb_ses_stop() {
  if [ -n "$WB_SES_PGID" ]; then
    wb_kill_group "$WB_SES_PGID" 5
    WB_SES_PGID=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Ctrl-C, or INT to the process group also when the launcher gave us SIGINT ignored.
  wb_default_sigint "$0" "$@"
  set -euo pipefail
  # shellcheck source=scripts/tools.sh
  source "$WB_ROOT/scripts/tools.sh"
  port="${1:-${SES_PORT:-8005}}"
  # No second signal (or a closed stdout) may cut the stop short and leave node running.
  trap 'trap "" INT TERM HUP PIPE; set +e; wb_kill_children 5; wb_ses_stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  trap 'exit 141' PIPE
  wb_ses_start "$port" -
  echo "SES emulator ready on http://127.0.0.1:$port (messages: GET /store). Ctrl-C stops it."
  while wb_group_alive "$WB_SES_PGID"; do sleep 1; done
fi

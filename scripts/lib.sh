#!/usr/bin/env bash
# Shared helpers for scripts/*.sh. Source it; it defines functions only.

WB_ROOT="${WB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

wb_stage() {
  printf '\n\033[1m==> %s\033[0m\n' "$*"
}

wb_info() {
  printf '    %s\n' "$*"
}

wb_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Print a free TCP port on 127.0.0.1, chosen by the OS.
wb_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# True when something accepts TCP connections on 127.0.0.1:$1.
wb_port_open() {
  python3 - "$1" <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

# Print the HTTP status of `$1 $2` (method, URL; optional timeout $3 seconds, default 5),
# or fail when no HTTP answer came.
wb_http_status() {
  python3 - "$1" "$2" "${3:-5}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[2], method=sys.argv[1])
try:
    with urllib.request.urlopen(req, timeout=float(sys.argv[3])) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    sys.exit(1)
PY
}

# Start a command in a new session (its own process group) in the background.
#   wb_spawn PIDFILE LOGFILE cmd args...
# The pid written to PIDFILE is the process-group id of the command and all
# its children, so `wb_kill_group "$(cat PIDFILE)"` stops the whole tree.
# Output goes to LOGFILE; use /dev/stdout-like paths via "-" to keep the terminal.
wb_spawn() {
  local pidfile="$1" logfile="$2"
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$ and $@ expand in the child shell
  if [ "$logfile" = "-" ]; then
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" </dev/null &
  else
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" </dev/null >"$logfile" 2>&1 &
  fi
  local _
  for _ in $(seq 1 50); do
    [ -s "$pidfile" ] && return 0
    sleep 0.1
  done
  echo "error: could not start: $*" >&2
  return 1
}

# PIDs of the processes in session $1 (wb_spawn makes the spawned command a session
# leader, so its pid is both its process-group id and its session id). Tools such as
# `cargo lambda watch` put their children in process groups of their own, but those
# stay in the session.
wb_session_pids() {
  python3 - "$1" <<'PY'
import os, sys
sid = sys.argv[1]
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    # after "pid (comm)": state ppid pgrp session ...
    if fields[0] != "Z" and fields[3] == sid:
        print(pid)
PY
}

# True while any process of the process group or session $1 is alive.
wb_group_alive() {
  kill -0 -- "-$1" 2>/dev/null || [ -n "$(wb_session_pids "$1")" ]
}

# Stop what wb_spawn started (process group / session $1): SIGTERM to the group, so the
# tool can shut its children down gracefully, then SIGKILL to everything left in the
# group and the session after a grace period (seconds, default 10).
wb_kill_group() {
  local pgid="$1" grace="${2:-10}" _ pid
  [ -n "$pgid" ] || return 0
  wb_group_alive "$pgid" || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 $((grace * 4))); do
    wb_group_alive "$pgid" || return 0
    sleep 0.25
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  for pid in $(wb_session_pids "$pgid"); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Print the last (sorted) existing path matching the glob pattern(s) given, or fail.
wb_last_match() {
  local f last=""
  for f in "$@"; do
    [ -e "$f" ] && last="$f"
  done
  [ -n "$last" ] || return 1
  printf '%s\n' "$last"
}

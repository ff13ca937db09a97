#!/usr/bin/env bash
# `make run` stops everything it started when its process group gets SIGTERM or SIGINT
# without a terminal, as from a supervisor or a test harness (issue 15, item 6): no
# DynamoDB Local, SES emulator, `cargo lambda watch`, function process, static server or
# bridge is left,
# their ports are free again, and a second `make run` on the same ports starts.
#
#   bash scripts/test-make-run.sh      (unattended: CI=true, no TTY, free loopback ports)
#
# Each round starts `make run` in a session of its own, as `setsid make run &` from a
# script does (so with SIGINT ignored on entry, like real harnesses), waits for a stage,
# signals the process group and checks within STOP_TIMEOUT seconds that nothing is left.
# Rounds: TERM once all is up; INT once all is up again on the same ports; TERM the moment
# DynamoDB Local's pidfile appears (before run.sh has read it); INT the moment the SES
# emulator's does; INT as the build starts; TERM twice with the output going through a
# pipe whose reader is in the group.
# Prints `ok N - ...` / `not ok N - ...` per check; exits non-zero when one failed.
# Everything make run started carries a marker in its environment; whatever carries it
# when this script exits (a failed check, a signal) is killed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

export CI="${CI:-true}"
# The first start may build the workspace or wait for the cargo lock held by `make test`.
START_TIMEOUT="${MAKE_RUN_START_TIMEOUT:-900}"
STOP_TIMEOUT="${MAKE_RUN_STOP_TIMEOUT:-60}"
LOG_DIR="$ROOT/target/test-logs/make-run-$(date +%s)-$$"
mkdir -p "$LOG_DIR"
MARK="WB_TEST_MAKE_RUN=$$-$RANDOM$RANDOM"

N=0
FAILED=0
ok() {
  N=$((N + 1))
  printf 'ok %d - %s\n' "$N" "$*"
}
not_ok() {
  N=$((N + 1))
  FAILED=$((FAILED + 1))
  printf 'not ok %d - %s\n' "$N" "$*"
}

# Live processes (no zombies), one "pid pgid sid command" line each, that carry MARK in
# their environment or are in one of the sessions / process groups "$@".
# `leftovers --only ID...`: only those in the sessions / process groups.
leftovers() {
  local mark="$MARK"
  if [ "${1:-}" = --only ]; then
    mark=""
    shift
  fi
  python3 - "$mark" "$@" <<'PY'
import os, sys
mark, ids = sys.argv[1].encode(), set(sys.argv[2:])
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")[:150]
    except OSError:
        continue
    # after "pid (comm)": state ppid pgrp session
    if fields[0] != "Z" and ((mark and mark in env) or fields[2] in ids or fields[3] in ids):
        print(pid, fields[2], fields[3], cmd)
PY
}

# True when MARK is in the environment of process $1 (so a shared pidfile is ours).
marked() {
  tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" | grep -qxF "$MARK"
}

# True when something accepts connections on [::1]:$1 (the loopback bridge).
port6_open() {
  python3 - "$1" <<'PY'
import socket, sys
try:
    socket.create_connection(("::1", int(sys.argv[1])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

# Whatever is left when we exit: TERM, then KILL, everything that carries MARK.
kill_marked() {
  local pids _
  pids="$(leftovers | awk '{print $1}')"
  [ -n "$pids" ] || return 0
  echo "# killing what make run left: $(echo "$pids" | tr '\n' ' ')" >&2
  # shellcheck disable=SC2086 # one pid a word
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 40); do
    [ -n "$(leftovers)" ] || return 0
    sleep 0.25
  done
  pids="$(leftovers | awk '{print $1}')"
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  kill_marked
  if [ "$rc" -eq 0 ] && [ "$FAILED" -gt 0 ]; then
    rc=1
  fi
  if [ "$rc" -ne 0 ]; then
    echo "# make run stop test FAILED ($FAILED failed check(s), exit $rc); logs in $LOG_DIR" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# round NAME SIGNAL WHEN [twice] [piped]  (with W, E, D, S: the watch, example, DynamoDB and
# SES emulator ports)
#   WHEN: up (watch and example ports answer HTTP), ddb-pidfile, ses-pidfile, build (the
#   build stage began)
round() {
  local name="$1" sig="$2" when="$3" twice="" piped="" arg
  shift 3
  for arg in "$@"; do
    case "$arg" in
      twice) twice=1 ;;
      piped) piped=1 ;;
    esac
  done
  local log="$LOG_DIR/$name.log" pidfile="$LOG_DIR/$name.pid"
  local ddb_pidfile="$ROOT/.tools/dynamodb-local-run/$D/pid"
  local ses_pidfile="$ROOT/.tools/ses-local-run/$S.pid"
  local started=$SECONDS deadline pgid f pid reached="" ids=() before n_before i=0
  local env=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MARK" CI=true
    WATCH_PORT="$W" EXAMPLE_PORT="$E" AWS_ENDPOINT_URL="http://127.0.0.1:$D"
    AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$S"
    JWT_ALGORITHM=HS256 JWT_SECRET="$JWT_SECRET")
  rm -f "$ddb_pidfile" "$ses_pidfile"
  if [ -n "$piped" ]; then
    # shellcheck disable=SC2016 # expands in the child shell
    wb_spawn "$pidfile" "$log" "${env[@]}" bash -c 'make run 2>&1 | cat'
  else
    wb_spawn "$pidfile" "$log" "${env[@]}" make run
  fi
  pgid="$(cat "$pidfile")"
  deadline=$((SECONDS + START_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    case "$when" in
      up)
        if wb_http_status GET "http://127.0.0.1:$W/" 5 >/dev/null &&
          [ "$(wb_http_status GET "http://127.0.0.1:$E/" 5)" = 200 ]; then
          reached=1
        fi
        ;;
      ddb-pidfile) [ -s "$ddb_pidfile" ] && reached=1 ;;
      ses-pidfile) [ -s "$ses_pidfile" ] && reached=1 ;;
      build) grep -q '==> build' "$log" && reached=1 ;;
    esac
    [ -z "$reached" ] || break
    # The early stages last a fraction of a second: poll them in bash alone, and ask
    # (more slowly, through python) whether make run still runs only now and then.
    i=$((i + 1))
    if [ "$when" = up ] || [ $((i % 50)) -eq 0 ]; then
      wb_group_alive "$pgid" || break
    fi
    case "$when" in up) sleep 0.5 ;; *) sleep 0.01 ;; esac
  done
  if [ -z "$reached" ]; then
    not_ok "$name: make run did not reach '$when' within ${START_TIMEOUT}s (log: $log)"
    grep -v '^ *\(INFO\|WARN\|ERROR\|DEBUG\) ' "$log" | tail -n 15 | sed 's/^/#   log: /'
    kill_marked
    return 0
  fi
  # What it started: the sessions in the pidfiles (DynamoDB Local's and the SES emulator's
  # are per port and were removed before the start, so they are ours) and every process
  # carrying the marker (function processes run in sessions of their own).
  ids=("$pgid")
  for f in "$ddb_pidfile" "$ses_pidfile"; do
    pid=""
    if [ -s "$f" ] && read -r pid <"$f" && [ -n "$pid" ]; then
      ids+=("$pid")
    fi
  done
  if [ "$when" != up ]; then
    # The point of these rounds is a signal within milliseconds of the stage (while
    # run.sh has not read the pidfile yet): signal first, look afterwards.
    kill -"$sig" -- "-$pgid" 2>/dev/null || true
  fi
  # The .tools/*-run.pid paths are shared with any other `make run`: only those whose
  # process carries our marker.
  for f in "$ROOT/.tools/static-run.pid" "$ROOT/.tools/watch-run.pid" "$ROOT/.tools/bridge-run.pid"; do
    pid="$(cat "$f" 2>/dev/null || true)"
    if [ -n "$pid" ] && marked "$pid"; then
      ids+=("$pid")
    fi
  done
  before="$(leftovers)"
  n_before="$(printf '%s\n' "$before" | grep -c . || true)"
  if [ "$when" = up ]; then
    ok "$name: make run reached '$when' after $((SECONDS - started))s ($n_before processes, sessions ${ids[*]})"
    kill -"$sig" -- "-$pgid" 2>/dev/null || true
  else
    ok "$name: make run reached '$when' after $((SECONDS - started))s and got SIG$sig at once (sessions ${ids[*]})"
  fi
  if [ -n "$twice" ]; then
    sleep 0.2
    kill -"$sig" -- "-$pgid" 2>/dev/null || true
  fi
  local stopped_at=$SECONDS left=""
  deadline=$((SECONDS + STOP_TIMEOUT))
  while left="$(leftovers --only "$pgid")" && [ -n "$left" ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.25
  done
  if [ -z "$left" ]; then
    ok "$name: make run exited after SIG$sig to its group in $((SECONDS - stopped_at))s"
  else
    not_ok "$name: make run still runs ${STOP_TIMEOUT}s after SIG$sig to its group"
  fi
  # make run's own clean-up has had its chance: whatever is left now stays behind.
  left="$(leftovers "${ids[@]}")"
  if [ -z "$left" ]; then
    ok "$name: nothing it started is left (DynamoDB Local, SES emulator, watch, functions, static server, bridge)"
  else
    not_ok "$name: left running after SIG$sig:"
    printf '%s\n' "$left" | sed 's/^/#   /'
    printf '#   (seen at the signal:)\n'
    printf '%s\n' "$before" | sed 's/^/#     /'
    grep -v '^ *\(INFO\|WARN\|ERROR\|DEBUG\) ' "$log" | tail -n 15 | sed 's/^/#   log: /'
  fi
  local open=""
  for pid in "$W" "$E" "$D" "$S"; do
    if wb_port_open "$pid"; then open="$open 127.0.0.1:$pid"; fi
  done
  if port6_open "$W"; then open="$open [::1]:$W"; fi
  if [ -z "$open" ]; then
    ok "$name: ports $W (watch), $E (example), $D (DynamoDB Local), $S (SES emulator) closed"
  else
    not_ok "$name: still open after SIG$sig:$open"
  fi
  kill_marked
}

wb_stage "make run stops everything on SIGTERM / SIGINT to its process group (logs: $LOG_DIR)"
test_started=$SECONDS
JWT_SECRET="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(48)).decode())')"
new_ports() {
  W="$(wb_free_port)" E="$(wb_free_port)" D="$(wb_free_port)" S="$(wb_free_port)"
}
new_ports
ports1=("$W" "$E" "$D" "$S")
round term-up TERM up
round int-up-same-ports INT up
new_ports
round term-ddb-starting TERM ddb-pidfile
new_ports
round int-ses-starting INT ses-pidfile
new_ports
round int-building INT build
W="${ports1[0]}" E="${ports1[1]}" D="${ports1[2]}" S="${ports1[3]}"
round term-twice-piped TERM up twice piped

# A next `make run` on the same ports would start: it refuses when one is taken.
open=""
for p in "${ports1[@]}"; do
  if wb_port_open "$p"; then open="$open $p"; fi
done
if [ -z "$open" ]; then
  ok "ports ${ports1[*]} free for the next make run"
else
  not_ok "ports still taken:$open"
fi
echo "1..$N"
echo "# $((N - FAILED))/$N passed in $((SECONDS - test_started))s"
[ "$FAILED" -eq 0 ]

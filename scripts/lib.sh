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

# Re-run a script ("$@": its path and arguments) with SIGINT at its default disposition
# when it came in ignored. Bash starts what a non-interactive shell puts in the background
# (`setsid make run &` in a script, a supervisor's wrapper) with SIGINT ignored, and a
# signal ignored on entry can be neither trapped nor reset in bash: `trap ... INT` would
# silently do nothing and INT to the process group would stop nothing. Call it first,
# before any trap: `wb_default_sigint "$ROOT/scripts/run.sh" "$@"`.
wb_default_sigint() {
  if python3 -c 'import signal, sys; sys.exit(signal.getsignal(signal.SIGINT) != signal.SIG_IGN)'; then
    # Python ignores SIGPIPE and SIGXFSZ for itself: put them back to the defaults too.
    exec python3 -c 'import os, signal, sys
for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(sig, signal.SIG_DFL)
os.execvp("bash", ["bash"] + sys.argv[1:])' "$@"
  fi
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
# The command stays a child of the calling shell (a background job of a non-interactive
# shell is never a group leader, so setsid does not fork), which lets wb_kill_children
# stop it even when a signal cut the caller short before it read PIDFILE.
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

# Stop what wb_spawn started (process group / session $1): SIGTERM, so the tool can shut
# its children down gracefully, then SIGKILL to everything left after a grace period
# (seconds, default 10). Processes descended from the group or session are stopped too:
# `cargo lambda watch` starts every function in a session of its own, which neither the
# group nor the session covers, and which outlives a watch that had to be SIGKILLed.
wb_kill_group() {
  [ -n "${1:-}" ] || return 0
  _wb_stop "${2:-10}" group "$1"
}

# Stop every process this shell started that still runs (its children, the sessions
# they lead and everything descended from them), like wb_kill_group: SIGTERM, SIGKILL
# after GRACE seconds (default 10). For clean-up traps: a signal can arrive between
# wb_spawn's start of a command and the caller reading its PIDFILE, and then only the
# parent-child link says what was started.
wb_kill_children() {
  _wb_stop "${1:-10}" children
}

# _wb_stop GRACE group PGID | _wb_stop GRACE children  (see wb_kill_group, wb_kill_children)
# Tracks the processes by pid and start time, so it follows those that lose their parent
# during the shutdown and never signals a pid the system has given to someone else.
_wb_stop() {
  python3 - "$@" <<'PY' || true
import os, signal, sys, time

grace, mode = float(sys.argv[1]), sys.argv[2]
group = int(sys.argv[3]) if mode == "group" else None
me, shell, own_group = os.getpid(), os.getppid(), os.getpgrp()
if group is not None and group in (own_group, shell):
    sys.exit("error: refusing to stop the caller's own process group %d" % group)


def table():
    """pid -> (ppid, pgrp, session, start time) of every live process."""
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "pid (comm)": state ppid pgrp session ... starttime (field 22 of stat)
        if fields[0] not in ("Z", "X"):
            procs[int(pid)] = (int(fields[1]), int(fields[2]), int(fields[3]), fields[19])
    return procs


tracked = {}  # pid -> start time, of everything seen so far


def living():
    """Our processes still alive: the roots, what was tracked, and all their descendants."""
    procs = table()
    if group is not None:
        todo = [p for p, (_, pgrp, sid, _) in procs.items() if group in (pgrp, sid)]
    else:
        todo = [p for p, (ppid, _, _, _) in procs.items() if ppid == shell]
    todo += [p for p, start in tracked.items() if p in procs and procs[p][3] == start]
    children = {}
    for p, (ppid, _, _, _) in procs.items():
        children.setdefault(ppid, []).append(p)
    alive = set()
    while todo:
        p = todo.pop()
        if p in alive or p in (me, shell) or p not in procs:
            continue
        alive.add(p)
        tracked[p] = procs[p][3]
        todo += children.get(p, [])
    return alive


def send(sig, pids):
    if group is not None:
        try:
            os.killpg(group, sig)
        except OSError:
            pass
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass


alive = living()
if alive:
    send(signal.SIGTERM, alive)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = living()
    deadline = time.monotonic() + 5
    while alive and time.monotonic() < deadline:
        send(signal.SIGKILL, alive)
        time.sleep(0.1)
        alive = living()
PY
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

#!/usr/bin/env bash
# CPU profile of the `protected` function under back-to-back invocations (see README.md).
#   bench/profile/run.sh [BINARY]     (default target/prof/release/protected)
# Knobs: PROF_WARMUP (500), PROF_N (5000), PROF_REPEAT (3), PROF_SECONDS (20),
#        PROF_FREQ (999), PROF_CALLGRAPH (dwarf,65528). Output: target/profile/<stamp>/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/lib.sh
source scripts/dynamodb-local.sh
source scripts/tools.sh >/dev/null

BIN="${1:-target/prof/release/protected}"
[ -x "$BIN" ] || wb_die "$BIN not built; build it with: CARGO_TARGET_DIR=target/prof \
CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
cargo build --release -p protected"
OUT="$ROOT/target/profile/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
trap 'wb_ddb_stop' EXIT

DDB_PORT="$(wb_free_port)"
wb_ddb_start "$DDB_PORT" "$OUT/dynamodb-local.log"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=dummy AWS_SECRET_ACCESS_KEY=dummy
export AWS_ENDPOINT_URL="http://127.0.0.1:$DDB_PORT"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_DYNAMODB
JWT_SECRET="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(48)).decode())')"
export JWT_SECRET JWT_ISSUER=wristband-local JWT_AUDIENCE=wristband-clients RUST_LOG="${RUST_LOG:-warn}"
export USERS_TABLE=prof-users REVOKED_TOKENS_TABLE=prof-revoked SESSIONS_TABLE=prof-sessions
# The tables as make run and make test create them (one definition: the schema module).
cargo run -q -p create-tables

{ echo "# $(date -u) $(uname -r), $(nproc) cores"; grep -m1 'model name' /proc/cpuinfo
  echo "loadavg before: $(cat /proc/loadavg)"; ps -eo pcpu,comm --sort=-pcpu | head -6; } \
  | tee "$OUT/machine.txt"

python3 bench/profile/drive.py "$BIN" --warmup "${PROF_WARMUP:-500}" --n "${PROF_N:-5000}" \
  --repeat "${PROF_REPEAT:-3}" --perf-seconds "${PROF_SECONDS:-20}" --perf-freq "${PROF_FREQ:-999}" \
  --call-graph "${PROF_CALLGRAPH:-dwarf,65528}" --perf-out "$OUT/perf.data" \
  --json "$OUT/drive.json" | tee "$OUT/drive.txt"
echo "loadavg after: $(cat /proc/loadavg)" | tee -a "$OUT/machine.txt"

perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none \
  --percent-limit 0.4 2>/dev/null | sed 's/ *$//' >"$OUT/perf-report.txt"
# --inline + srcline: with fat LTO most frames are inlined (slow: ~1 min per 2,000 samples).
perf script -i "$OUT/perf.data" --inline --full-source-path \
  -F comm,tid,time,period,ip,sym,symoff,dso,srcline >"$OUT/perf-script.txt" 2>/dev/null
python3 bench/profile/aggregate.py "$OUT/perf-script.txt" | tee "$OUT/aggregate.md"
echo "raw results: $OUT"

#!/usr/bin/env bash
# Coverage-guided fuzzing with cargo fuzz (libFuzzer), issue 9.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]    # default: 60 s each, every target
#   make fuzz                                      # 600 s each (FUZZ_SECONDS overrides)
#
# `make test` runs `scripts/fuzz.sh 20`: a smoke pass of 20 s per target.
#
# For each target in fuzz/fuzz_targets/ it first replays every input kept in
# fuzz/regressions/<target>/ (each must pass), then fuzzes for SECONDS, starting from the
# corpus in fuzz/corpus/<target>/ (git-ignored, kept between runs), the seeds in
# fuzz/seeds/<target>/ and the regressions, with the dictionary fuzz/dict/<target>.dict.
# A crash, panic, timeout or failed check stops the script with libFuzzer's report and
# the input in fuzz/artifacts/<target>/: fix the bug, then copy the input to
# fuzz/regressions/<target>/ so that every later run replays it.
#
# Toolchain: cargo-fuzz passes nightly-only flags (-Z...) to rustc. This project builds on
# the stable toolchain only (no nightly can be installed here), so the build runs with
# RUSTC_BOOTSTRAP=1, which lets stable rustc accept them. Only this script sets it, and
# only for the fuzz crate (fuzz/, its own workspace and target directory
# target/fuzz/): the workspace's own builds never see it.
#
# Sanitizer: none. The targets check wristband's own safe Rust for panics and for wrong
# answers (the oracles in each target); AddressSanitizer would roughly halve the
# executions per second on this 2-core machine and finds memory errors only in unsafe
# code. `FUZZ_SANITIZER=address bash scripts/fuzz.sh` builds with it.
#
# cargo-fuzz itself is installed from crates.io into .tools/cargo-fuzz (git-ignored) on
# first use; later runs find it there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

SECONDS_PER_TARGET="${1:-60}"
shift || true
case "$SECONDS_PER_TARGET" in
  '' | *[!0-9]*) wb_die "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" ;;
esac

CARGO_FUZZ_VERSION="0.13.2"
FUZZ_TOOLS="$ROOT/.tools/cargo-fuzz"
CARGO_FUZZ="$FUZZ_TOOLS/bin/cargo-fuzz"
FUZZ_TARGET_DIR="$ROOT/target/fuzz"
SANITIZER="${FUZZ_SANITIZER:-none}"
NICE="${FUZZ_NICE:-10}"

if [ "$#" -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=()
  for f in fuzz/fuzz_targets/*.rs; do
    TARGETS+=("$(basename "$f" .rs)")
  done
fi

# --- cargo-fuzz ---------------------------------------------------------------------------
if [ ! -x "$CARGO_FUZZ" ] || ! "$CARGO_FUZZ" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  wb_stage "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION (crates.io) into .tools/cargo-fuzz"
  nice -n "$NICE" cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked \
    --root "$FUZZ_TOOLS" --quiet
fi

# --- build ----------------------------------------------------------------------------------
export RUSTC_BOOTSTRAP=1 # stable rustc accepts cargo-fuzz's -Z flags (see above)
HOST="$(rustc -vV | sed -n 's/^host: //p')"
BIN_DIR="$FUZZ_TARGET_DIR/$HOST/release"
LOG_DIR="$FUZZ_TARGET_DIR/logs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$LOG_DIR"
SUMMARY="$LOG_DIR/summary.txt"
wb_stage "fuzz: building ${TARGETS[*]} (sanitizer: $SANITIZER, debug assertions on)"
build_targets=("${TARGETS[@]}")
[ "$#" -gt 0 ] || build_targets=("") # every target in one build
for target in "${build_targets[@]}"; do
  if ! nice -n "$NICE" "$CARGO_FUZZ" build --fuzz-dir fuzz --target-dir "$FUZZ_TARGET_DIR" \
    --sanitizer "$SANITIZER" --debug-assertions ${target:+"$target"} >>"$LOG_DIR/build.log" 2>&1; then
    tail -n 60 "$LOG_DIR/build.log" >&2
    wb_die "fuzz: build failed (log: $LOG_DIR/build.log)"
  fi
done
for target in "${TARGETS[@]}"; do
  [ -x "$BIN_DIR/$target" ] || wb_die "fuzz target $target was not built ($BIN_DIR/$target)"
done

# --- per target: regressions, then a bounded run ---------------------------------------
for target in "${TARGETS[@]}"; do
  bin="$BIN_DIR/$target"
  regressions="fuzz/regressions/$target"
  seeds="fuzz/seeds/$target"
  corpus="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  dict="fuzz/dict/$target.dict"
  mkdir -p "$corpus" "$artifacts" "$regressions"
  flags=(-close_fd_mask=1 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    "-artifact_prefix=$artifacts/")
  [ -f "$dict" ] && flags+=("-dict=$dict")

  mapfile -t kept < <(find "$regressions" -type f ! -name '.*' ! -name 'README*' | sort)
  wb_stage "fuzz $target: replaying ${#kept[@]} regression input(s)"
  if [ "${#kept[@]}" -gt 0 ]; then
    if ! nice -n "$NICE" "$bin" "${flags[@]}" "${kept[@]}" >"$LOG_DIR/$target-regressions.log" 2>&1; then
      tail -n 60 "$LOG_DIR/$target-regressions.log" >&2
      wb_die "fuzz $target: a regression input fails again (log: $LOG_DIR/$target-regressions.log)"
    fi
  fi

  [ "$SECONDS_PER_TARGET" -gt 0 ] || continue
  wb_stage "fuzz $target: ${SECONDS_PER_TARGET}s (corpus $corpus)"
  dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  dirs+=("$regressions")
  log="$LOG_DIR/$target.log"
  start=$SECONDS
  if ! nice -n "$NICE" "$bin" "${flags[@]}" "-max_total_time=$SECONDS_PER_TARGET" "${dirs[@]}" >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    wb_die "fuzz $target found a failure: input in $artifacts/ (log: $log); fix it, then keep the input in $regressions/"
  fi
  elapsed=$((SECONDS - start))
  # libFuzzer's last status line ("#N DONE cov: C ft: F corp: ...") and final stats.
  done_line="$(grep -E '^#[0-9]+' "$log" | tail -n 1)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")"
  corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")"
  line="$target: ${elapsed}s, ${execs:-?} executions (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, crashes 0, regressions ${#kept[@]} passed"
  wb_info "$line"
  echo "$line" >>"$SUMMARY"
done

if [ -f "$SUMMARY" ]; then
  wb_stage "fuzz: summary (log: $LOG_DIR)"
  sed 's/^/    /' "$SUMMARY"
fi

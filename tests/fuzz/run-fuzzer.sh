#!/usr/bin/env bash
# Runs one libFuzzer harness (built by tests/fuzz/meson.build in a -Dfuzzing=true build)
# for a bounded time on a copy of its seed corpus, and says so in TAP. Non-zero when the
# fuzzer finds a crash, a leak or a timeout; the input that did it is printed in base64.
#   run-fuzzer.sh HARNESS CORPUS [SECONDS]      SECONDS: SDVISOR_FUZZ_SECONDS, default 30
set -euo pipefail
harness=$(realpath "$1"); corpus=$2; seconds=${3:-${SDVISOR_FUZZ_SECONDS:-30}}
name=$(basename "$harness")

work=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-$name-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
[ -d "$corpus" ] && cp -r "$corpus/." "$work/corpus/"
echo "# fuzzing $name for ${seconds}s"
status=0
(cd "$work" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
   "$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
   -artifact_prefix="$work/" corpus > "$work/log" 2>&1) || status=$?
grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)" "$work/log" | sed 's/^/# /' || true
if [ $status -ne 0 ]; then
  tail -60 "$work/log" | sed 's/^/# /'
  for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
    [ -f "$a" ] && { echo "# artifact $(basename "$a"):"; base64 -w0 "$a" | sed 's/^/# /'; echo; }
  done
  echo "1..1"; echo "not ok 1 - $name ran ${seconds}s"
  exit 1
fi
echo "1..1"; echo "ok 1 - $name ran ${seconds}s without a finding"

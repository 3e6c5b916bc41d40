#!/bin/bash
# sigterm.sh — SIGTERM to exit: from kill(supervisor, SIGTERM) to waitpid() returning
# its exit status, with an app that exits at once on SIGTERM (termapp). sigterm-exit
# does fork/exec/kill/waitpid with CLOCK_MONOTONIC: RUNS runs each, a random phase
# (0..1 s) after the app is up, the median and spread. Measures, never fails.
#
# sdvisor is measured twice: with RUNTIME_DIRECTORY on a tmpfs (/dev/shm here), as
# under systemd (RuntimeDirectory=, on /run, a tmpfs), where it puts the app's notify
# socket; and without, when the socket's directory is made under $TMPDIR (/tmp), so
# removing it at exit costs whatever the file system charges for an rmdir.
#   BENCH_* environment: see lib.sh. SDVISOR_BENCH_RUNS (default 20; 5 with BENCH_QUICK=1).
. "$(dirname "$0")/lib.sh"

runs=${SDVISOR_BENCH_RUNS:-20}
phase=1000
[ "$BENCH_QUICK" = 1 ] && runs=${SDVISOR_BENCH_RUNS:-5} phase=200
app=$BENCH_BIN/termapp
tmp_fs=$(stat -f -c %T "${TMPDIR:-/tmp}")
rt=$(mktemp -d /dev/shm/sdvisor-bench-rt-XXXXXX)

echo "### SIGTERM to exit"
echo
echo "Target for sdvisor: median ≤ 1 ms. $runs runs each; the kill comes 200 ms plus a"
echo "random 0–${phase} ms after the app is up."
echo
echo "| supervisor | median | min | p90 | max | runs | exit status 0 |"
echo "|---|---:|---:|---:|---:|---:|---|"
measure() {
  local label=$1 out
  shift
  cmd "$BENCH_BIN/sigterm-exit -n $runs -p $phase -s 200 $*"
  out=$("$BENCH_BIN/sigterm-exit" -n "$runs" -p "$phase" -s 200 "$@" 2> "$BENCH_WORK/sigterm-$runs-$RANDOM.log" < /dev/null)
  echo "$out" > "$BENCH_WORK/sigterm-last"
  # runs=N median_us=… min_us=… p90_us=… max_us=… mean_us=… bad_exits=… failed=…
  eval "$(echo "$out" | tr ' ' '\n' | grep -E '^[a-z0-9_]+=[0-9]+$')"
  printf '| %s | %s µs | %s µs | %s µs | %s µs | %s | %s |\n' "$label" "${median_us:-?}" "${min_us:-?}" \
    "${p90_us:-?}" "${max_us:-?}" "${runs:-0}" "$([ "${bad_exits:-1}" = 0 ] && [ "${failed:-1}" = 0 ] && echo yes || echo "no: $out")"
}
measure "sdvisor (RUNTIME_DIRECTORY on tmpfs)" -- env RUNTIME_DIRECTORY="$rt" "$SDVISOR" run -- "$app" @FIFO@
gate sigterm.median "${median_us:-}" us
gate sigterm.bad_runs "$(( ${bad_exits:-0} + ${failed:-1} ))" runs
measure "sdvisor (no RUNTIME_DIRECTORY: \$TMPDIR, $tmp_fs)" -- "$SDVISOR" run -- "$app" @FIFO@
for name in $(peers); do
  case $name in
  tini)
    measure "tini" -- tini -s -- "$app" @FIFO@
    # The floor for any program that links what sdvisor links: tini with sdvisor's
    # shared libraries loaded into it (mapped, relocated, their constructors run and
    # torn down at exit), the app without them.
    libs=$(ldd "$SDVISOR" | awk '/=> \//{print $3}' | grep -v -e '/libc\.so' -e '/ld-linux' | paste -sd:)
    measure "tini + sdvisor's $(echo "$libs" | tr ':' '\n' | grep -c .) shared libraries (LD_PRELOAD)" -- \
      env LD_PRELOAD="$libs" tini -s -- /usr/bin/env -u LD_PRELOAD "$app" @FIFO@
    ;;
  dumb-init) measure "dumb-init" -- dumb-init "$app" @FIFO@ ;;
  supervisord)
    fifo=$BENCH_WORK/supervisord.fifo
    line=$(supervisor_cmd supervisord "$app" "$fifo")
    # shellcheck disable=SC2086 # a command line
    measure "supervisord" -f "$fifo" -- $line
    ;;
  esac
done
rmdir "$rt" 2>/dev/null
print_commands

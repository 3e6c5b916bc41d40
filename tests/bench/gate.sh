#!/bin/bash
# gate.sh — the benchmarks' CI gate (suite bench-gate): the benchmarks of run.sh in their
# quick mode, sdvisor alone, and one TAP line per figure of BENCHMARKS.md's table of
# targets, with the figure, its target and the gate's bound. It fails only on a gross
# regression: a figure where lower is better above twice its target, one where higher is
# better below half of it, any lost log line or job run, any failed start or stop, system
# calls of an idle sdvisor at once a second or more (its target is none). It is not a
# measurement: BENCHMARKS.md's figures come from a full `ninja -C BUILD bench` on a quiet
# machine.
#
# usage: run.sh --gate --build-dir DIR --source-dir DIR --bindir DIR (run.sh sets up the
# benchmarks' environment, then runs this script; the bench-gate test does just that)
#
# A benchmark with a figure over its bound runs once more, and each figure counts its
# better run: a machine busy for a moment does not fail the gate, a regression fails both
# runs. Lost lines, lost runs and failed starts count in either run.
#
# Not gated:
#   - job lateness (median ≤ 10 ms, p99 ≤ 50 ms for 100 jobs every second): on two vCPUs
#     starting 100 processes a second misses it with no supervisor at all (BENCHMARKS.md),
#     so twice the target is noise, not a regression; the gate runs 10 jobs for 5 s and
#     counts lost runs only.
#   - SIGTERM to exit, median (target ≤ 1 ms): sdvisor misses it already (1.58 ms on a quiet
#     machine, BENCHMARKS.md; 2.4-3.3 ms at a load average of 3, where the app alone takes
#     0.5 ms), so twice the target is within a CI machine's noise. Its table is printed, and
#     every run must exit 0; it is gated again once the target is met.
#   - the idle cost under a 30 s watchdog: its window must be 30 s or more to mean anything.
#   - SIGTERM to exit with the notify socket's directory on $TMPDIR: it measures that file
#     system; the figure with RUNTIME_DIRECTORY on tmpfs (as under systemd) is gated.
#   - the scale figures with 10 checks (their first round needs 20 s to settle) and from
#     no jobs (they take in the job code's pages once); from 10 to 1,000 jobs is gated. Nor
#     the system calls with 1,000 jobs: in quick mode's short windows they count GLib's
#     worker threads retiring once (4 calls in 3 s), which the full run waits out.
#   - once per fleet: no target, and it needs PostgreSQL.
#
# Skips (`ok N # SKIP why`): no strace or not root (the system-call count), and for the
# figures measured under systemd (log forwarding, readiness, memory under systemd) not root,
# no systemd-nspawn or ./dev test-fresh's container. Where SDVISOR_SYSTEM_TESTS_REQUIRED=1
# (CI), such a skip is a failure unless .ci/skips-allowed lists it (tests/common/tap.sh).
set -u
: "${SDVISOR:?}" "${BENCH_BIN:?}" "${BENCH_SRC:?}" "${BENCH_BINDIR:?}"

TAP_NUMBERED=1
TAP_REQUIRED_VAR=SDVISOR_SYSTEM_TESTS_REQUIRED
TAP_TEST=bench-gate/bench-gate
. "$BENCH_SRC/../common/tap.sh"

export BENCH_QUICK=1 BENCH_PEERS=0
work=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-bench-gate-XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS
diag "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

# The figures: NAME DIRECTION TARGET UNIT WHAT. DIRECTION: max (lower is better: the bound
# is twice the target), min (higher is better: half), none (a count of losses or failures:
# the bound is 0, and the worse of two runs counts), calls (an idle sdvisor's system calls
# in a window of W s: the target is 0 and the bound W - 1, so a wake-up once a second
# fails). The targets are BENCHMARKS.md's.
figures='
memory.rss                    max   8192  kB        memory of an idle sdvisor: RSS
memory.private_dirty          max   1024  kB        memory of an idle sdvisor: Private_Dirty
idle.syscalls                 calls 0     calls     idle cost with nothing configured: system calls
sigterm.bad_runs              none  0     runs      SIGTERM to exit: runs that did not exit 0
log.rate                      min   90    %         log forwarding into journald: lines/s, of sd_journal_send()
log.lost                      none  0     lines     log forwarding into journald: lines lost
log.cpu                       max   3     us/line   log forwarding into journald: sdvisor CPU per line
ready.median                  max   100   ms        readiness latency: median
ready.failed                  none  0     starts    readiness latency: failed starts
memory.systemd.rss            max   8192  kB        memory of an idle sdvisor under systemd: RSS
memory.systemd.private_dirty  max   1024  kB        memory of an idle sdvisor under systemd: Private_Dirty
scale.rss.checks-0            max   1024  bytes/job scale, 10 to 1000 jobs: RSS per job
scale.private_dirty.checks-0  max   1024  bytes/job scale, 10 to 1000 jobs: Private_Dirty per job
jobs.lost.tmpdir              none  0     runs      10 jobs every second, state directory on $TMPDIR: runs lost
jobs.lost.shm                 none  0     runs      10 jobs every second, state directory on tmpfs: runs lost
'
field() { awk -v n="$1" -v f="$2" '$1 == n { if (f == 5) { $1 = $2 = $3 = $4 = ""; sub(/^ +/, "") ; print } else print $f }' <<< "$figures"; }

# bound_text NAME UNIT: the target and the bound, in words.
bound_text() {
  local target
  target=$(field "$1" 3)
  case $(field "$1" 2) in
  max) echo "target ≤ $target $2, fails above $((target * 2))" ;;
  min) echo "target ≥ $target $2, fails below $((target / 2))" ;;
  none) echo "target 0, fails above 0" ;;
  calls) echo "target 0 in ${2#calls/}, fails at one a second" ;;
  esac
}

# verdict NAME VALUE UNIT: "ok", or "bad" (over the bound, or no figure).
verdict() {
  awk -v v="$2" -v d="$(field "$1" 2)" -v t="$(field "$1" 3)" -v u="$3" 'BEGIN {
    if (v !~ /^-?[0-9]+(\.[0-9]+)?$/) { print "bad"; exit }
    if (d == "calls") { w = u; sub(/^calls\//, "", w); sub(/s$/, "", w) }
    ok = (d == "max") ? v <= 2 * t : (d == "min") ? v >= t / 2 : (d == "none") ? v == 0 : v < w
    print ok ? "ok" : "bad" }'
}

# better DIRECTION A B: the figure that counts of two runs' A and B ("-": none).
better() {
  awk -v d="$1" -v a="$2" -v b="$3" 'BEGIN {
    num = "^-?[0-9]+(\\.[0-9]+)?$"
    if (a !~ num) { print b; exit } if (b !~ num) { print a; exit }
    if (d == "min") print (a + 0 >= b + 0) ? a : b
    else if (d == "none") print (a + 0 >= b + 0) ? a : b
    else print (a + 0 <= b + 0) ? a : b }'
}

# bench NAME SCRIPT FIGURE... -- ENV...: runs SCRIPT (up to twice) and prints a TAP line for
# each FIGURE it must give; its tables go to the log as comments.
bench() {
  local name=$1 script=$2 figs=() envs=() attempt f v u out gates again
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do figs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  envs=("$@")
  declare -A best unit
  for attempt in 1 2; do
    out=$work/$name.$attempt.out gates=$work/$name.$attempt.gate
    : > "$gates"
    local t0=$SECONDS
    env "${envs[@]}" BENCH_WORK="$work/$name.$attempt" BENCH_GATE_OUT="$gates" \
      bash "$BENCH_SRC/$script" > "$out" 2>&1 < /dev/null
    diag "$script (run $attempt, $((SECONDS - t0)) s):"
    grep -v -e '^$' -e '^```' "$out" | sed -n '/^Commands:/q;p' | sed 's/^/#   /'
    again=0
    for f in "${figs[@]}"; do
      read -r _ v u <<< "$(awk -v n="$f" '$1 == n' "$gates" | tail -n 1)"
      [ -n "${u:-}" ] && unit[$f]=$u
      if [ $attempt = 1 ]; then best[$f]=${v:--}; else best[$f]=$(better "$(field "$f" 2)" "${best[$f]}" "${v:--}"); fi
      [ "$(verdict "$f" "${v:--}" "${u:-}")" = ok ] || again=1
    done
    [ $again = 1 ] || break
    [ $attempt = 2 ] || diag "$script: a figure over its bound; once more"
  done
  for f in "${figs[@]}"; do
    v=${best[$f]} u=${unit[$f]:-$(field "$f" 4)}
    if [ "$(verdict "$f" "$v" "$u")" = ok ]; then
      ok "$(field "$f" 5): $v $u ($(bound_text "$f" "$u"))"
    elif [ "$v" = - ]; then
      not_ok "$(field "$f" 5): no figure ($script printed none; its output is above)"
    else
      not_ok "$(field "$f" 5): $v $u ($(bound_text "$f" "$u"))$([ "$attempt" = 2 ] && echo "; the better of two runs")"
    fi
  done
}

# skip_figures REASON FIGURE...
skip_figures() {
  local why=$1 f
  shift
  for f in "$@"; do skip_one "$(field "$f" 5): $why"; done
}

for f in "$SDVISOR" "$BENCH_BIN/termapp" "$BENCH_BIN/sigterm-exit" "$BENCH_BIN/loggen" "$BENCH_BIN/jobstamp"; do
  [ -x "$f" ] || { echo "Bail out! $f is not built"; exit 1; }
done

strace_why=
[ "$(id -u)" = 0 ] || strace_why="needs root (strace -p)"
command -v strace > /dev/null || strace_why="strace is not installed (Debian: strace)"
systemd_why=
[ "$(id -u)" = 0 ] || systemd_why="needs root (systemd-nspawn)"
command -v systemd-nspawn > /dev/null || systemd_why="systemd-nspawn is not installed (Debian: systemd-container)"
[ -d "$BENCH_BINDIR" ] || systemd_why="$BENCH_BINDIR does not exist, so sdvisor cannot be bound there in the container"
[ -z "${SDVISOR_NO_NESTED_CONTAINERS:-}" ] || systemd_why=$SDVISOR_NO_NESTED_CONTAINERS

# Read after 5 s, not quick's 2: a busy machine can still be starting sdvisor at 2 s.
bench memory memory.sh memory.rss memory.private_dirty -- SDVISOR_BENCH_SETTLE=5
if [ -z "$strace_why" ]; then
  bench idle idle.sh idle.syscalls -- SDVISOR_BENCH_IDLE_WATCHDOG=0
else
  skip_figures "$strace_why" idle.syscalls
fi
bench sigterm sigterm.sh sigterm.bad_runs -- SDVISOR_BENCH_RUNS=10
if [ -z "$systemd_why" ]; then
  bench journal journal.sh log.rate log.lost log.cpu ready.median ready.failed \
    memory.systemd.rss memory.systemd.private_dirty
else
  skip_figures "$systemd_why" log.rate log.lost log.cpu ready.median ready.failed \
    memory.systemd.rss memory.systemd.private_dirty
fi
bench scale jobs-idle.sh scale.rss.checks-0 scale.private_dirty.checks-0 -- SDVISOR_BENCH_SCALE_CHECKS=0
bench lateness jobs-lateness.sh jobs.lost.tmpdir jobs.lost.shm -- \
  SDVISOR_BENCH_LATE_JOBS=10 SDVISOR_BENCH_LATE_SECONDS=5 SDVISOR_BENCH_LATE_FLOOR=0

diag "the gate took $((SECONDS - start)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "1..$_tap_n"
exit $_failed

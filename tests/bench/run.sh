#!/bin/bash
# run.sh — every benchmark of sdvisor against its peers, one after the other, each
# printing its table and the exact commands it ran; the whole output is also written to
# BUILD/tests/bench/results.md (the source of BENCHMARKS.md).
#
# usage: run.sh --build-dir DIR --source-dir DIR --bindir DIR [--only NAMES] [--quick]
#        run.sh --gate --build-dir DIR --source-dir DIR --bindir DIR
#   `meson compile -C BUILD bench` (or `ninja -C BUILD bench`) runs it with the build's
#   paths; --gate runs CI's gate instead (gate.sh: TAP, the `bench-gate` test).
#   Environment: SDVISOR_BENCH_ONLY="memory idle sigterm journal lateness scale fleet replace"
#   (any subset, in that order), SDVISOR_BENCH_QUICK=1 (short windows, few runs: to try
#   the harness, not for figures). Each benchmark's script has its own knobs at its top.
#
# Needs root (strace -p, systemd-nspawn); the peers come from Debian:
#   apt-get install tini dumb-init supervisor strace systemd-container
# A peer that is not installed is left out of the tables, and says so.
set -u

build='' source='' bindir='' only=${SDVISOR_BENCH_ONLY:-} quick=${SDVISOR_BENCH_QUICK:-0} gate=0
while [ $# -gt 0 ]; do
  case $1 in
  --build-dir) build=$2; shift ;;
  --source-dir) source=$2; shift ;;
  --bindir) bindir=$2; shift ;;
  --only) only=$2; shift ;;
  --quick) quick=1 ;;
  --gate) gate=1 ;;
  -h | --help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$build" ] || [ -z "$source" ] || [ -z "$bindir" ]; then
  echo "usage: run.sh [--gate] --build-dir DIR --source-dir DIR --bindir DIR [--only NAMES] [--quick]" >&2
  exit 2
fi
build=$(cd "$build" && pwd) source=$(cd "$source" && pwd)
all="memory idle sigterm journal lateness scale fleet replace"
only=${only:-$all}

export SDVISOR=$build/src/sdvisor
export BENCH_BIN=$build/tests/bench
export BENCH_SRC=$source/tests/bench
export BENCH_BUILD=$build
export BENCH_BINDIR=$bindir
export BENCH_QUICK=$quick
# The gate: its own scratch directories, its own checks of what it needs.
[ $gate = 0 ] || exec bash "$BENCH_SRC/gate.sh"
BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-bench-XXXXXX")
export BENCH_WORK
trap 'rm -rf "$BENCH_WORK"' EXIT
for f in "$SDVISOR" "$BENCH_BIN/termapp" "$BENCH_BIN/sigterm-exit" "$BENCH_BIN/loggen" "$BENCH_BIN/jobstamp" "$BENCH_BIN/spawnfloor"; do
  [ -x "$f" ] || { echo "run.sh: $f is not built (ninja -C $build bench builds it)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || echo "run.sh: not root: strace -p and systemd-nspawn will fail or skip" >&2
command -v strace > /dev/null || echo "run.sh: strace is not installed: no system call counts" >&2

out=$build/tests/bench/results.md
mkdir -p "$(dirname "$out")"
pkg() { dpkg-query -W -f='${Version}' "$1" 2> /dev/null || echo "not installed"; }
buildtype=$(sed -n "s/^ *buildtype *= *//p" "$build/meson-private/cmd_line.txt" 2> /dev/null)
[ -n "$buildtype" ] || buildtype=$(grep -o "buildtype=[a-z]*" "$build/build.ninja" 2> /dev/null | head -n 1 | cut -d= -f2)
{
  echo "## Machine"
  echo
  echo "- $(date -u '+%Y-%m-%d %H:%M UTC'); $("$SDVISOR" --version 2> /dev/null | head -n 1) at $(git -C "$source" describe --always --dirty 2> /dev/null || echo '?'), build type ${buildtype:-debugoptimized (the project default)}"
  echo "- nproc: $(nproc); $(free -m | awk '/^Mem:/ {print $2 " MiB of memory"}'); kernel $(uname -r); Debian $(cat /etc/debian_version 2> /dev/null)"
  echo "- peers: tini $(pkg tini), dumb-init $(pkg dumb-init), supervisor $(pkg supervisor); systemd $(pkg systemd), strace $(pkg strace)"
  echo "- load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo '```'
  lscpu | head -n 16
  echo '```'
  echo
  for name in $all; do
    case " $only " in *" $name "*) ;; *) continue ;; esac
    case $name in
    memory) script=memory.sh ;;
    idle) script=idle.sh ;;
    sigterm) script=sigterm.sh ;;
    journal) script=journal.sh ;;
    lateness) script=jobs-lateness.sh ;;
    scale) script=jobs-idle.sh ;;
    fleet) script=fleet.sh ;;
    replace) script=replace.sh ;;
    esac
    start=$SECONDS
    # A benchmark that could not run at all says why and exits non-zero (replace.sh).
    bash "$BENCH_SRC/$script" || echo "$name" >> "$BENCH_WORK/not-run"
    echo
    echo "($name: $((SECONDS - start)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
  done
} 2>&1 | tee "$out"
echo "# written to $out"
if [ -s "$BENCH_WORK/not-run" ]; then
  echo "run.sh: could not run: $(tr '\n' ' ' < "$BENCH_WORK/not-run")(their reasons are in $out)" >&2
  exit 1
fi

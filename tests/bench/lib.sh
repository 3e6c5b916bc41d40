# lib.sh — helpers shared by the benchmarks in tests/bench (sourced, not run).
#
# Every benchmark prints a Markdown table and, under it, the exact commands it ran
# (`cmd` records them), so that its output can be pasted into BENCHMARKS.md as is.
# The environment comes from run.sh: SDVISOR (the binary), BENCH_BIN (the helpers built
# from tests/bench), BENCH_SRC (tests/bench), BENCH_WORK (scratch, removed afterwards),
# BENCH_QUICK=1 (shorter windows and fewer runs: to try the harness, not for figures).
# For the CI gate (gate.sh): BENCH_PEERS=0 measures sdvisor alone, and BENCH_GATE_OUT=FILE
# collects the figures it checks, one `NAME VALUE UNIT` a line (`gate`); neither changes
# what a benchmark prints.

set -u

: "${SDVISOR:?}" "${BENCH_BIN:?}" "${BENCH_SRC:?}" "${BENCH_WORK:?}"
BENCH_QUICK=${BENCH_QUICK:-0}
BENCH_PEERS=${BENCH_PEERS:-1}
mkdir -p "$BENCH_WORK"
_cmds=$BENCH_WORK/commands.$$
: > "$_cmds"

# cmd TEXT...: record a command line for the "commands" list under the table.
cmd() { printf '%s\n' "$*" >> "$_cmds"; }
print_commands() {
  echo
  echo "Commands:"
  echo
  echo '```sh'
  awk '!seen[$0]++' "$_cmds"
  echo '```'
  : > "$_cmds"
}

# gate NAME VALUE UNIT: a figure for the CI gate, written only where it asks for them.
gate() {
  [ -n "${BENCH_GATE_OUT:-}" ] || return 0
  printf '%s %s %s\n' "$1" "${2:--}" "$3" >> "$BENCH_GATE_OUT"
}

# kib PID FIELD: a field of /proc/PID/smaps_rollup, in KiB.
kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }
threads() { ls "/proc/$1/task" | wc -l; }
# Voluntary + involuntary context switches of PID's threads during SECS seconds: its
# wake-ups. Counted per thread (a thread that starts in the window counts from zero; one
# that ends in it takes its switches with it, which a sum over the threads at the two
# readings would turn into a negative figure).
ctxt_snapshot() {
  local t
  for t in /proc/"$1"/task/*; do
    awk -v tid="${t##*/}" '/^(non)?voluntary_ctxt_switches:/ {s += $2} END {print tid, s + 0}' \
      "$t/status" 2>/dev/null
  done
}
ctxt_window() {
  local before
  before=$(ctxt_snapshot "$1")
  sleep "$2"
  ctxt_snapshot "$1" | awk -v before="$before" '
    BEGIN { n = split(before, b, "\n"); for (i = 1; i <= n; i++) { split(b[i], f, " "); c[f[1]] = f[2] } }
    { s += $2 - (($1 in c) ? c[$1] : 0) }
    END { print s + 0 }'
}
# user+system CPU of PID (all threads, dead ones included), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# strace_count PID SECONDS OUT: system calls of every thread of PID for SECONDS, `strace
# -c` summary in OUT; prints "TOTAL NAME:COUNT NAME:COUNT…" (0 and nothing when none).
# OUT.counted exists when strace watched the whole window (timeout's 124): an empty OUT
# is then a real 0, and not a strace that is missing or could not attach.
strace_count() {
  local pid=$1 secs=$2 out=$3 rc=0
  cmd "timeout -s INT $secs strace -c -f -p PID -o OUT   # PID: the supervisor"
  rm -f "$out.counted"
  timeout -s INT "$secs" strace -q -c -f -p "$pid" -o "$out" 2>/dev/null || rc=$?
  [ $rc != 124 ] || : > "$out.counted"
  awk '
    /^-+/ { sep++; next }
    sep == 1 && NF >= 5 { list = list " " $NF ":" $4 }
    sep == 2 && $NF == "total" { total = $4 }
    END { printf "%d%s\n", total + 0, list }' "$out"
}

# Supervisors of the idle app. start_supervisor NAME LOG APP...: starts NAME supervising
# APP in the background, its output in LOG; sets SUP_PID. NAME: sdvisor tini dumb-init
# supervisord.
supervisord_conf() {
  local conf=$1 dir=$2
  shift 2
  cat > "$conf" <<EOF_CONF
[supervisord]
nodaemon=true
logfile=$dir/supervisord.log
logfile_maxbytes=0
pidfile=$dir/supervisord.pid
childlogdir=$dir
loglevel=info

[program:app]
command=$*
startsecs=0
autorestart=false
stopsignal=TERM
stopwaitsecs=10
stdout_logfile=$dir/app.out
stderr_logfile=$dir/app.err
EOF_CONF
}

supervisor_cmd() {
  local name=$1
  shift
  case $name in
  sdvisor) echo "$SDVISOR run -- $*" ;;
  tini) echo "tini -s -- $*" ;;
  dumb-init) echo "dumb-init $*" ;;
  supervisord)
    local dir=$BENCH_WORK/supervisord-$RANDOM
    mkdir -p "$dir"
    supervisord_conf "$dir/supervisord.conf" "$dir" "$@"
    echo "supervisord -n -c $dir/supervisord.conf"
    ;;
  esac
}

start_supervisor() {
  local name=$1 log=$2 line
  shift 2
  line=$(supervisor_cmd "$name" "$@")
  cmd "$line${SUP_NOTE:+   # $SUP_NOTE}"
  # shellcheck disable=SC2086 # a command line
  setsid $line > "$log" 2>&1 < /dev/null &
  SUP_PID=$!
}

stop_supervisor() {
  kill -TERM "$1" 2>/dev/null
  local i
  for i in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

have() { command -v "$1" > /dev/null; }
peers() {
  local p
  [ "$BENCH_PEERS" = 1 ] || return 0
  for p in tini dumb-init supervisord; do
    if have "$p"; then echo "$p"; else echo "# $p is not installed: skipped" >&2; fi
  done
}

# stats: numbers on stdin (one a line) → "n median p90 p99 min max mean" (nearest rank).
stats() {
  sort -n | awk '{v[NR] = $1; s += $1}
    function rank(p,  r) { r = int((p * NR + 99) / 100); if (r < 1) r = 1; return v[r] }
    END {
      if (NR == 0) { print "0 - - - - - -"; exit }
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%d %s %s %s %s %s %.0f\n", NR, med, rank(90), rank(99), v[1], v[NR], s / NR
    }'
}

# Benchmarks under real systemd: one boot of systemd in systemd-nspawn, as
# tests/system/run.sh does it: the host's /usr with an empty /etc and /var
# (--volatile=yes), loopback only; the built sdvisor bound onto its installed path
# (BENCH_BINDIR), the built sdvisor@.service into /etc/systemd/system, tests/apps at
# /srv/sdvisor-bench/apps, tests/bench at /srv/sdvisor-bench/bench, the built helpers at
# /srv/sdvisor-bench/bin; journald with Storage=volatile and no rate limit
# (journald-bench.conf). The container boots into sdvisor-bench@SCRIPT.service, which
# runs tests/bench/SCRIPT and powers the container off.
# container_unusable: why that cannot run here (status 0), or nothing (status 1).
container_unusable() {
  : "${BENCH_BUILD:?}" "${BENCH_BINDIR:?}"
  if [ "$(id -u)" != 0 ]; then
    echo "needs root (systemd-nspawn)"
  elif ! have systemd-nspawn; then
    echo "systemd-nspawn is not installed (Debian: systemd-container)"
  elif case $BENCH_BINDIR in /*) false ;; *) true ;; esac then
    echo "bindir $BENCH_BINDIR: the path sdvisor@.service runs sdvisor from, absolute (PREFIX/bin)"
  elif case $BENCH_BINDIR in /usr/bin | /usr/sbin | /bin) true ;; *) false ;; esac then
    echo "bindir $BENCH_BINDIR: sdvisor cannot be bound over the host's (configure with a /usr/local prefix)"
  elif [ ! -d "$BENCH_BINDIR" ]; then
    echo "$BENCH_BINDIR does not exist here, so sdvisor cannot be bound there in the container"
  elif [ ! -f "$BENCH_BUILD/units/sdvisor@.service" ]; then
    echo "$BENCH_BUILD/units/sdvisor@.service is not built"
  else
    return 1
  fi
}

# container_run SCRIPT RESULTS SECONDS: boots the container into SCRIPT with the directory
# RESULTS bound at /results, for SECONDS at most; nspawn's status, its console in
# RESULTS/nspawn.log. The script writes /results/started first and /results/done last.
container_run() {
  local script=$1 results=$2 limit=$3 source_dir
  source_dir=$(cd "$BENCH_SRC/../.." && pwd)
  local nspawn=(systemd-nspawn --quiet --directory=/ --volatile=yes --register=no
    --machine="sdvisor-bench-$$" --console=pipe --private-network
    --bind-ro="$(dirname "$SDVISOR"):$BENCH_BINDIR"
    --bind-ro="$BENCH_BUILD/units/sdvisor@.service:/etc/systemd/system/sdvisor@.service"
    --bind-ro="$BENCH_SRC:/srv/sdvisor-bench/bench"
    --bind-ro="$BENCH_BIN:/srv/sdvisor-bench/bin"
    --bind-ro="$source_dir/tests/apps:/srv/sdvisor-bench/apps"
    --bind-ro="$BENCH_SRC/sdvisor-bench@.service:/etc/systemd/system/sdvisor-bench@.service"
    --bind-ro="$BENCH_SRC/journald-bench.conf:/etc/systemd/journald.conf.d/bench.conf"
    --bind="$results:/results")
  [ -d /run/systemd/system ] || nspawn+=(--keep-unit)
  nspawn+=(--boot systemd.firstboot=off "systemd.unit=sdvisor-bench@$script.service")
  cmd "${nspawn[*]}"
  cmd "# inside: $BENCH_SRC/$script (every command it runs is in it)"
  timeout -k 15 "$limit" "${nspawn[@]}" > "$results/nspawn.log" 2>&1 < /dev/null
}

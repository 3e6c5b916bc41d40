#!/bin/bash
# fleet.sh — what once-per=fleet costs: the claim overhead per slot (median, p99) on a
# loopback PostgreSQL 15 (a unix socket, started here in $BENCH_WORK, tests/fleet/pg.sh)
# and on a loopback 3-member etcd 3.4 cluster (tests/fleet/etcd.sh), against
# once-per-host; the start lateness of 100 fleet jobs every second; and
# sdvisor's memory (RSS, private dirty) with no [fleet] store, the PostgreSQL store and
# the etcd store, idle and busy, in the same run (libpq and libsoup are dlopen'ed only
# for their store).
# Lateness = start − slot as sdvisor logs it ("…; NNNus after its time", taken right after
# the fork: the claim, in a worker thread (host) or one round trip on the store's
# connection (fleet), is inside it). Measures, never fails.
#   SDVISOR_BENCH_FLEET_SECONDS (default 30) per configuration;
#   SDVISOR_BENCH_FLEET_MEM_SECONDS (default 20) of a job every second before the busy
#   memory figures.
# By hand, as run.sh runs it (root; a built tree):
#   SDVISOR=BUILD/src/sdvisor BENCH_BIN=BUILD/tests/bench BENCH_SRC=tests/bench \
#     BENCH_WORK=$(mktemp -d) bash tests/bench/fleet.sh
. "$(dirname "$0")/lib.sh"
. "$BENCH_SRC/../fleet/pg.sh"
. "$BENCH_SRC/../fleet/etcd.sh"

seconds=${SDVISOR_BENCH_FLEET_SECONDS:-30}
mem_seconds=${SDVISOR_BENCH_FLEET_MEM_SECONDS:-20}
[ "$BENCH_QUICK" = 1 ] && seconds=8 mem_seconds=8

echo "### Once per fleet: claim overhead, lateness, memory"
echo
if ! why=$(pg_usable); then
  echo "skipped: $why"
  exit 0
fi
# initdb runs as postgres (pg.sh), which must reach its data directory in here.
chmod 0755 "$BENCH_WORK"
pgdir=$BENCH_WORK/fleet-pg
pg_start "$pgdir" || { echo "skipped: PostgreSQL does not start"; exit 0; }
trap 'pg_stop "$pgdir"; etcd_stop; rm -rf "$BENCH_WORK"' EXIT
etcd_modes=""
if why=$(etcd_usable) && etcd_start "$BENCH_WORK/fleet-etcd"; then
  etcd_modes=etcd
  cmd "etcd --name mI --listen-client-urls http://127.0.0.1:PORT … --initial-cluster m1=…,m2=…,m3=…   # tests/fleet/etcd.sh, 3 members, data in /dev/shm"
else
  echo "(etcd skipped: ${why:-the cluster does not start})"
fi
cmd "initdb -A trust -D DIR; pg_ctl -D DIR -o \"-k SOCKDIR -c listen_addresses= -c fsync=off\" start   # tests/fleet/pg.sh"

# conf FILE MODE N: N jobs every second, once-per=MODE.
conf() {
  {
    printf '[app]\nname=fleetbench\nexec=/bin/sleep infinity\n'
    if [ "$2" = fleet ]; then printf '[fleet]\nstore=%s\nnode=bench\n' "$(pg_uri)"; fi
    if [ "$2" = etcd ]; then printf '[fleet]\nstore=%s\nnode=bench\n' "$(etcd_uri)"; fi
    for i in $(seq 1 "$3"); do
      printf '\n[job:j%d]\nschedule=every 1s\nexec=/bin/true\nonce-per=%s\n' "$i" "${2/etcd/fleet}"
    done
  } > "$1"
  chmod 0644 "$1"
}
ms() { awk '{printf "%.2f", $1 / 1000}' <<< "$1"; }

echo "Lateness of job starts (ms; start − slot, sdvisor's own figure), $seconds s each:"
echo
echo "| jobs every 1s | once per | runs | median | p90 | p99 | max |"
echo "|---:|---|---:|---:|---:|---:|---:|"
declare -A med p99s
for n in 1 100; do
  modes="host fleet"
  # etcd (store "etcd" below) with one job: its claim overhead against the others
  [ "$n" = 1 ] && modes="host fleet $etcd_modes"
  for mode in $modes; do
    c=$BENCH_WORK/fleet-$mode-$n.conf
    conf "$c" "$mode" "$n"
    state=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-bench-state-XXXXXX")
    log=$BENCH_WORK/fleet-$mode-$n.log
    per=$mode
    [ "$mode" = fleet ] && per="fleet, store=postgresql://…"
    [ "$mode" = etcd ] && per="fleet, store=etcd://…"
    cmd "STATE_DIRECTORY=DIR $SDVISOR run --config CONF   # $n × [job:jN] schedule=every 1s exec=/bin/true once-per=$per; TERM after ${seconds}s"
    STATE_DIRECTORY=$state setsid "$SDVISOR" run --config "$c" > "$log" 2>&1 < /dev/null &
    pid=$!
    sleep "$seconds"
    stop_supervisor "$pid"
    rm -rf "$state"
    # the first second goes to connecting and starting: not a steady-state figure
    grep -o '; [0-9-]*us after its time' "$log" | grep -o '[0-9-]*' | tail -n +$((n + 1)) > "$BENCH_WORK/late"
    read -r cnt m p90 p99 _ max _ <<< "$(stats < "$BENCH_WORK/late")"
    med[$mode-$n]=$m p99s[$mode-$n]=$p99
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$mode" "$cnt" "$(ms "$m")" "$(ms "$p90")" \
      "$(ms "$p99")" "$(ms "$max")"
  done
done
echo
# A median of an even count is a half: awk, not $(( )).
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a - b) / 1000 }'; }
for n in 1 100; do
  for mode in fleet $etcd_modes; do
    [ -n "${med[$mode-$n]:-}" ] || continue
    echo "Claim overhead per slot, $n job(s), $mode (fleet − host lateness; \"fleet\" = PostgreSQL;" \
      "negative: the store's round trip is quicker than the host's lock and fsynced state" \
      "file): median $(diff_ms "${med[$mode-$n]}" "${med[host-$n]}") ms," \
      "p99 $(diff_ms "${p99s[$mode-$n]}" "${p99s[host-$n]}") ms."
  done
done
cmd "grep -o '; [0-9-]*us after its time' LOG   # per run"

echo
# The same sdvisor, idle (a daily job: the store made, for PostgreSQL connected, nothing
# claimed yet: libsoup is loaded but has no connection) and after claiming a slot every
# second for a while (the store's connections, requests and answers in use).
echo "Memory of one sdvisor with one job: idle (5 s after start, schedule=daily) and busy" \
  "(after ${mem_seconds} s of schedule=every 1s):"
echo
echo "| configuration | idle RSS | idle private dirty | busy RSS | busy private dirty | threads (busy) | libpq / libsoup mapped |"
echo "|---|---:|---:|---:|---:|---:|---|"
for mode in host fleet $etcd_modes; do
  declare -A m=()
  for phase in idle busy; do
    c=$BENCH_WORK/fleet-mem-$mode-$phase.conf
    conf "$c" "$mode" 1
    [ "$phase" = idle ] && sed -i 's/^schedule=every 1s/schedule=daily/' "$c"
    state=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-bench-state-XXXXXX")
    STATE_DIRECTORY=$state setsid "$SDVISOR" run --config "$c" > "$BENCH_WORK/mem.log" 2>&1 < /dev/null &
    pid=$!
    sleep "$([ "$phase" = idle ] && echo 5 || echo "$mem_seconds")"
    m[$phase-rss]=$(kib "$pid" Rss) m[$phase-pd]=$(kib "$pid" Private_Dirty)
    m[threads]=$(threads "$pid")
    m[libs]=$(for lib in libpq libsoup; do grep -q "$lib" "/proc/$pid/maps" && echo "$lib"; done | paste -sd, -)
    stop_supervisor "$pid"
    rm -rf "$state"
  done
  case $mode in
  host) label="once-per=host, no [fleet]" ;;
  fleet) label="once-per=fleet, store=postgresql://… (unix socket)" ;;
  etcd) label="once-per=fleet, store=etcd://… (3 members)" ;;
  esac
  printf '| %s | %s KiB | %s KiB | %s KiB | %s KiB | %s | %s |\n' "$label" "${m[idle-rss]}" \
    "${m[idle-pd]}" "${m[busy-rss]}" "${m[busy-pd]}" "${m[threads]}" "${m[libs]:-none}"
  cmd "awk '/^(Rss|Private_Dirty):/' /proc/PID/smaps_rollup; grep -E 'libpq|libsoup' /proc/PID/maps   # $label"
done
print_commands

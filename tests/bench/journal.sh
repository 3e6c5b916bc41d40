#!/bin/bash
# journal.sh — the benchmarks that need real systemd and journald: log forwarding into
# journald, readiness latency, and an idle sdvisor's memory under systemd. One boot of
# systemd in systemd-nspawn, as tests/system/run.sh does it: the host's /usr with an
# empty /etc and /var (--volatile=yes), loopback only; the built sdvisor bound onto its
# installed path (BENCH_BINDIR) and the built sdvisor@.service into /etc/systemd/system;
# journald with Storage=volatile (/run is a tmpfs) and RateLimitIntervalSec=0
# (journald-bench.conf), every unit with LogRateLimitBurst=1000000 per second. The
# container boots into sdvisor-bench@in-container.sh.service (lib.sh, container_run),
# which runs in-container.sh.
#   BENCH_* environment: see lib.sh; also BENCH_BUILD (the build directory) and
#   BENCH_BINDIR (where the unit expects sdvisor). SDVISOR_BENCH_LINES (default 1000000),
#   SDVISOR_BENCH_READY_RUNS (default 20).
# Prints the tables; skips (says why) without root or systemd-nspawn.
. "$(dirname "$0")/lib.sh"
: "${BENCH_BUILD:?}" "${BENCH_BINDIR:?}"
lines=${SDVISOR_BENCH_LINES:-1000000}
ready_runs=${SDVISOR_BENCH_READY_RUNS:-20}
[ "$BENCH_QUICK" = 1 ] && lines=100000 ready_runs=5

skip() {
  echo "### Log forwarding into journald, readiness latency"
  echo
  echo "Not run: $*"
  exit 0
}
if why=$(container_unusable); then skip "$why"; fi

here=$BENCH_BUILD/tests/bench
results=$here/results
rm -rf "$results"
mkdir -p "$results"
{
  printf 'LINES=%q\nREADY_RUNS=%q\n' "$lines" "$ready_runs"
  printf 'BIN=/srv/sdvisor-bench/bin\nAPPS=/srv/sdvisor-bench/apps\n'
} > "$results/bench.env"

container_run in-container.sh "$results" 900
rc=$?
[ -e "$results/started" ] || skip "the container did not boot (systemd-nspawn exit status $rc; $results/nspawn.log)"
[ -e "$results/done" ] || echo "(the in-container run did not finish: status $rc; see $results/driver.log)"

declare -A V
while IFS='=' read -r k v; do V[$k]=$v; done < "$results/results.env"
hz=${V[hz]:-100}

echo "### Log forwarding into journald"
echo
echo "Target for sdvisor: ≥ 90 % of the sd_journal_send() rate, 0 lost, ≤ 3 µs of sdvisor's CPU"
echo "per line. $lines lines of 100 bytes each, journald ${V[systemd]:-?} on tmpfs, rate limits off."
echo
echo "| path | lines/s | vs sd_journal_send | lines in the journal | lost | CPU per line: sdvisor | the writer | journald |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
send_rate=
for v in send sdvisor stdout; do
  [ -n "${V[$v.done_us]:-}" ] && [ -n "${V[$v.start_us]:-}" ] || {
    echo "| $v | no result | | | | | | |"
    continue
  }
  rate=$(awk -v n="$lines" -v a="${V[$v.start_us]}" -v b="${V[$v.done_us]}" 'BEGIN {printf "%.0f", n / ((b - a) / 1e6)}')
  [ $v = send ] && send_rate=$rate
  rel=$([ -n "$send_rate" ] && awk -v r="$rate" -v s="$send_rate" 'BEGIN {printf "%.0f %%", 100 * r / s}')
  per() { awk -v t="$1" -v hz="$hz" -v n="$lines" 'BEGIN {printf "%.2f µs", t / hz * 1e6 / n}'; }
  if [ $v = sdvisor ]; then
    gate log.rate "${rel% %}" %
    gate log.lost "$((lines - ${V[$v.unique]:-0}))" lines
    gate log.cpu "$(per "${V[$v.cpu_ticks]}" | cut -d' ' -f1)" us/line
  fi
  case $v in
  sdvisor) label="sdvisor (app stdout → pipe → sdvisor → native protocol)" sd=$(per "${V[$v.cpu_ticks]}") app="–" ;;
  send) label="sd_journal_send() in the app, same fields" sd="–" app=$(per "${V[$v.cpu_ticks]}") ;;
  stdout) label="StandardOutput=journal" sd="–" app=$(per "${V[$v.cpu_ticks]}") ;;
  esac
  printf '| %s | %s | %s | %s (%s distinct) | %s | %s | %s | %s |\n' "$label" "$rate" "${rel:-}" \
    "${V[$v.found]}" "${V[$v.unique]}" "$((lines - ${V[$v.unique]:-0}))" "$sd" "$app" "$(per "${V[$v.journald_ticks]}")"
done
echo
echo "lines/s: $lines ÷ (journald's receive time of the last line − the writer's clock at its"
echo "first). CPU: utime+stime from /proc/PID/stat over the run (1/$hz s ticks); \"the writer\" is"
echo "loggen itself where it writes to the journal directly (under sdvisor, sdvisor is the writer)."
echo "journald reported $(( ${V[stdout.suppressed]:-0} )) \"Suppressed\" messages. sdvisor after the run: RSS ${V[sdvisor.rss_after_kb]:-?} kB,"
echo "Private_Dirty ${V[sdvisor.dirty_after_kb]:-?} kB, peak RSS (VmHWM) ${V[sdvisor.hwm_kb]:-?} kB."
if [ -s "$results/sdvisor-entry.txt" ]; then
  echo
  echo "The last line as journald stored it from sdvisor (journalctl -o verbose):"
  echo
  echo '```'
  grep -v -E '^\s*_(BOOT_ID|MACHINE_ID|HOSTNAME|TRANSPORT|CAP_EFFECTIVE|SELINUX|SOURCE_REALTIME|AUDIT)' "$results/sdvisor-entry.txt" | head -n 30
  echo '```'
fi
echo
echo "### Readiness latency"
echo
echo "Target for sdvisor: median ≤ 100 ms with the defaults ([ready] check=tcp://… interval=100ms)."
echo "The app (tests/apps/stamp_app.py) listens after a random 0–200 ms and stamps CLOCK_MONOTONIC"
echo "right after listen(); READY's arrival = ActiveEnterTimestampMonotonic of the Type=notify unit."
echo
echo "| starts | failed | median | min | p90 | max |"
echo "|---:|---:|---:|---:|---:|---:|"
read -r n med p90 _ min max _ <<< "$(stats < "$results/ready-latency")"
gate ready.median "$([ "$med" = - ] || awk -v u="$med" 'BEGIN {printf "%.1f", u / 1000}')" ms
gate ready.failed "${V[ready.failed]:-}" starts
msf() { [ "$1" = - ] && echo - || awk -v u="$1" 'BEGIN {printf "%.1f ms", u / 1000}'; }
printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "${V[ready.failed]:-?}" "$(msf "$med")" "$(msf "$min")" "$(msf "$p90")" "$(msf "$max")"
echo
echo "All, in ms: $(awk '{printf "%s%.1f", sep, $1 / 1000; sep = " "}' "$results/ready-latency")."
echo
echo "### Memory of an idle sdvisor under systemd"
echo
echo "sdvisor@idle (exec=/bin/sleep infinity) in the same boot, journal connected: RSS ${V[idle.rss_kb]:-?} kB,"
echo "Private_Dirty ${V[idle.dirty_kb]:-?} kB, ${V[idle.threads]:-?} threads."
gate memory.systemd.rss "${V[idle.rss_kb]:-}" kB
gate memory.systemd.private_dirty "${V[idle.dirty_kb]:-}" kB
print_commands

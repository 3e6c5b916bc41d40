#!/bin/bash
# replace.sh — zero-downtime replacement (issue 21) against its peers, side by side in one
# boot of systemd in systemd-nspawn (lib.sh, container_run; everything, the load too, on
# the container's loopback): the same gunicorn app (2 sync workers, tests/apps/app_flask.py
# and gunicorn.conf.py) replaced N times in a row under a steady hey load by
#   - sdvisor, reload-mode=replace on listen= sockets, [ready] check=notify (`systemctl
#     reload sdvisor@shop`),
#   - plain systemd: `systemctl restart` of a Type=notify unit running gunicorn,
#   - gunicorn alone: USR2, WINCH and TERM to the old master (no supervisor);
# requests sent, answered 200, failed (refused, reset, other) and the latency of the answered
# ones (hey's p50, p99, slowest) over the window; then the memory while two instances are
# alive (the old one draining a slow request): sdvisor's own RSS and Private_Dirty, and
# the PSS of each instance's process tree. Every command is in replace-in-container.sh.
# Measures, never fails on a figure; exits 1 when a case could not run (and says why).
#   BENCH_* environment: see lib.sh; also BENCH_BUILD and BENCH_BINDIR (as journal.sh).
#   SDVISOR_BENCH_REPLACEMENTS (default 10; 3 with BENCH_QUICK=1), SDVISOR_BENCH_REPLACE_CONNS
#   (hey's connections, default 4), SDVISOR_BENCH_REPLACE_QPS (per connection, default 50),
#   SDVISOR_BENCH_REPLACE_TAIL (seconds of load before the first and after the last
#   replacement, default 1), SDVISOR_BENCH_REPLACE_SLOW (the slow request that
#   keeps the old instance alive for the memory reading, seconds, default 8; 6 quick).
. "$(dirname "$0")/lib.sh"
: "${BENCH_BUILD:?}" "${BENCH_BINDIR:?}"
replacements=${SDVISOR_BENCH_REPLACEMENTS:-10}
conns=${SDVISOR_BENCH_REPLACE_CONNS:-4}
qps=${SDVISOR_BENCH_REPLACE_QPS:-50}
tail=${SDVISOR_BENCH_REPLACE_TAIL:-1}
slow=${SDVISOR_BENCH_REPLACE_SLOW:-8}
if [ "$BENCH_QUICK" = 1 ]; then
  replacements=${SDVISOR_BENCH_REPLACEMENTS:-3}
  slow=${SDVISOR_BENCH_REPLACE_SLOW:-6}
fi

echo "### Replacing the app under load: sdvisor reload-mode=replace, systemctl restart, gunicorn USR2"
echo
not_run() {
  echo "Not run: $*"
  exit 1
}
if why=$(container_unusable); then not_run "$why"; fi
for tool in hey curl gunicorn; do
  have "$tool" || not_run "$tool is not installed (Debian: apt-get install $tool)"
done
python3 -c 'import flask' 2> /dev/null || not_run "python3-flask is not installed"

results=$BENCH_BUILD/tests/bench/results-replace
rm -rf "$results"
mkdir -p "$results"
{
  printf 'REPLACEMENTS=%q\nCONNS=%q\nQPS=%q\nTAIL=%q\nSLOW=%q\n' "$replacements" "$conns" "$qps" "$tail" "$slow"
  printf 'APPS=/srv/sdvisor-bench/apps\nBENCH=/srv/sdvisor-bench/bench\n'
} > "$results/bench.env"
container_run replace-in-container.sh "$results" 600
rc=$?
gun="/usr/bin/gunicorn -c gunicorn.conf.py --access-logfile /dev/null"
cmd "hey -z 3600s -c $conns -q $qps -t 10 -disable-keepalive http://127.0.0.1:PORT/health   # ended by SIGINT"
cmd "systemctl reload sdvisor@shop.service   # [app] exec=$gun app_flask:app listen=127.0.0.1:8401 reload-mode=replace stop-timeout=30s, [ready] check=notify"
cmd "systemctl restart bench-gunicorn.service   # Type=notify KillMode=mixed ExecStart=$gun --bind 127.0.0.1:8402 app_flask:app"
cmd "NOTIFY_SOCKET=SOCK $gun --bind 127.0.0.1:8403 app_flask:app &   # then: kill -USR2 OLD; READY=1 from NEW (notify-sink.py --pid); kill -WINCH OLD; kill -TERM OLD"
cmd "awk '\$1 == \"Pss:\"' /proc/PID/smaps_rollup   # each process of an instance's tree; sdvisor: Rss, Private_Dirty"
[ -e "$results/started" ] || not_run "the container did not boot (systemd-nspawn exit status $rc; $results/nspawn.log)"
[ -e "$results/done" ] || echo "(the in-container run did not finish: status $rc; see $results/driver.log)"

declare -A V
while IFS='=' read -r k v; do V[$k]=$v; done < "$results/results.env"

# hey's report → "sent ok refused reset other p50 p99 max" (latencies in ms, of the
# answered requests; "-" when none was answered).
hey_figures() {
  awk '
    /^Status code distribution/ { sec = "status"; next }
    /^Error distribution/ { sec = "errors"; next }
    /^ *Slowest:/ { max = $2 * 1000 }
    /^ *50% in / { p50 = $3 * 1000 }
    /^ *99% in / { p99 = $3 * 1000 }
    sec == "status" && /^ *\[[0-9]+\]/ { n = $2; sent += n; if ($1 == "[200]") ok += n; else other += n }
    sec == "errors" && /^ *\[[0-9]+\]/ {
      n = substr($1, 2) + 0; sent += n
      if (/connection refused/) refused += n; else if (/connection reset/) reset += n; else other += n
    }
    function ms(v) { return (v == "") ? "-" : sprintf("%.1f ms", v) }
    END {
      if (ok + 0 == 0) p50 = p99 = max = ""
      printf "%d %d %d %d %d %s %s %s\n", sent, ok, refused, reset, other, ms(p50), ms(p99), ms(max)
    }' "$1" |
    sed 's/ ms/_ms/g'
}
# times-CASE → "median / max s" of a column (1: to the switch, 2: to the old instance gone).
times_col() {
  [ -s "$1" ] || { echo "-"; return; }
  awk -v c="$2" '{print $c * 1000}' "$1" | stats | awk '{printf "%.2f / %.2f s", $2 / 1000, $6 / 1000}'
}

failed=""
echo "The same app, $replacements replacements in a row, each once both workers of the current"
echo "instance have answered and the replacement before is over: for sdvisor its switch (old"
echo "instances drain meanwhile), for gunicorn the old master gone (its new master ignores USR2"
echo "until then), for systemd the restart. Load: hey, $conns connections at $qps requests/s each,"
echo "a new connection per request, from ${tail} s before the first replacement until ${tail} s after"
echo "the last one's old instance is gone, on loopback in the container. Latency of the requests"
echo "answered (hey's figures); failed = no answer."
echo
echo "| replaced by | replacements | to the switch, median / max | to the old one gone | requests | 200 | refused | reset | other failed | p50 | p99 | max |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in baseline sdvisor systemd gunicorn; do
  case $c in
  baseline) label="nothing (gunicorn alone, no replacement: the baseline)" ran=${V[gunicorn.ran]:-0} ;;
  sdvisor) label="sdvisor reload-mode=replace (\`systemctl reload\`)" ran=${V[sdvisor.ran]:-0} ;;
  systemd) label="systemd 252 \`systemctl restart\` (Type=notify)" ran=${V[systemd.ran]:-0} ;;
  gunicorn) label="gunicorn 20.1 USR2 + WINCH + TERM" ran=${V[gunicorn.ran]:-0} ;;
  esac
  if [ "$ran" != 1 ] || [ ! -s "$results/hey-$c.txt" ]; then
    why=${V[$c.why]:-${V[gunicorn.why]:-no result (see $results/driver.log)}}
    echo "| $label | not run: $why | | | | | | | | | | |"
    failed="$failed $c"
    continue
  fi
  read -r sent ok refused reset other p50 p99 max <<< "$(hey_figures "$results/hey-$c.txt")"
  n=$replacements switch="-" gone="-"
  if [ "$c" = baseline ]; then
    n=0
  else
    n=$(wc -l < "$results/times-$c")
    switch=$(times_col "$results/times-$c" 1)
    gone=$(times_col "$results/times-$c" 2)
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$n" "$switch" \
    "$gone" "$sent" "$ok" "$refused" "$reset" "$other" "${p50/_/ }" "${p99/_/ }" "${max/_/ }"
done
echo
problems=$(grep -E '\.(failed_reload|failed_restart|failed_usr2|not_gone|not_promoted|workers_not_up)\.' "$results/results.env" | tr '\n' ' ')
[ -z "$problems" ] || echo "Replacements that went wrong (results.env): $problems"
echo "Windows: sdvisor ${V[sdvisor.window]:-?} s (${V[sdvisor.replaced]:-?} \"replaced\" entries in its journal),"
echo "systemctl restart ${V[systemd.window]:-?} s, gunicorn ${V[gunicorn.window]:-?} s, baseline ${V[baseline.window]:-?} s."
echo "systemctl restart: \"to the switch\" is the whole restart (stop, then start until READY=1)."
echo "gunicorn's \"--- Logging error ---\" (its SIGCHLD handler's log line interrupting another"
echo "write to stderr; its master then waits graceful_timeout=20s for a worker that is gone):"
echo "${V[sdvisor.reentrant]:-?} under sdvisor, ${V[systemd.reentrant]:-?} under systemd, ${V[gunicorn.reentrant]:-?} alone."
echo "gunicorn sends READY=1 from its master before its workers have loaded the app, so each way"
echo "switches (or returns from the restart) while the new workers still import it."
echo
kb() { [ -n "$1" ] && echo "$1 kB" || echo "-"; }
sum() { [ -n "$1" ] && [ -n "$2" ] && echo "$(($1 + $2)) kB" || echo "-"; }
echo "Memory while two instances are alive: the old one drains a ${slow}-second request (one"
echo "worker busy, its master waiting for it), the new one serves; read at 2/3 of that request."
echo "PSS summed over each instance's process tree (master and workers; gunicorn's new master"
echo "is the old one's child, and counts with the new tree only)."
echo
echo "| | sdvisor RSS / Private_Dirty | old instance PSS (processes) | new instance PSS (processes) | both | one instance, steady |"
echo "|---|---:|---:|---:|---:|---:|"
for c in sdvisor gunicorn systemd; do
  case $c in
  sdvisor) label="sdvisor reload-mode=replace" ;;
  gunicorn) label="gunicorn USR2" ;;
  systemd) label="systemctl restart (never two at once)" ;;
  esac
  [ "${V[$c.ran]:-0}" = 1 ] || continue
  sup="–"
  if [ $c = sdvisor ]; then
    sup="at start: ${V[sdvisor.start.rss_kb]:-?} / ${V[sdvisor.start.dirty_kb]:-?} kB; after the replacements: ${V[sdvisor.before.rss_kb]:-?} / ${V[sdvisor.before.dirty_kb]:-?} kB; during: ${V[sdvisor.during.rss_kb]:-?} / ${V[sdvisor.during.dirty_kb]:-?} kB"
  fi
  old="–" new="–" both="–"
  if [ $c != systemd ]; then
    old="$(kb "${V[$c.old.pss_kb]:-}") (${V[$c.old.procs]:-?})"
    new="$(kb "${V[$c.new.pss_kb]:-}") (${V[$c.new.procs]:-?})"
    both=$(sum "${V[$c.old.pss_kb]:-}" "${V[$c.new.pss_kb]:-}")
    [ -z "${V[$c.mem_missed]:-}" ] || both="not read: ${V[$c.mem_missed]}"
  fi
  printf '| %s | %s | %s | %s | %s | %s (%s) |\n' "$label" "$sup" "$old" "$new" "$both" \
    "$(kb "${V[$c.one.pss_kb]:-}")" "${V[$c.one.procs]:-?}"
done
echo
echo "The slow requests ended with: sdvisor ${V[sdvisor.slow_code]:-?}, gunicorn ${V[gunicorn.slow_code]:-?}."
print_commands
[ -z "$failed" ] || {
  echo "replace.sh: not run:$failed" >&2
  exit 1
}

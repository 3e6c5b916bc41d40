#!/bin/bash
# memory.sh — memory of each supervisor while it supervises an idle app (`sleep
# infinity`): RSS, PSS and Private_Dirty from /proc/PID/smaps_rollup, after SETTLE
# seconds. sdvisor runs as `sdvisor run -- CMD` with nothing configured, its output
# not a terminal (as under systemd or podman). Measures, never fails.
#   BENCH_* environment: see lib.sh. SDVISOR_BENCH_SETTLE (seconds, default 5; 2 with
#   BENCH_QUICK=1).
. "$(dirname "$0")/lib.sh"

settle=${SDVISOR_BENCH_SETTLE:-5}
[ "$BENCH_QUICK" = 1 ] && settle=${SDVISOR_BENCH_SETTLE:-2}

echo "### Memory while supervising an idle app"
echo
echo "Target for sdvisor: RSS ≤ 8 MiB, Private_Dirty ≤ 1 MiB. Read ${settle} s after the start."
echo
echo "| supervisor | RSS | PSS | Private_Dirty | threads | shared libraries mapped |"
echo "|---|---:|---:|---:|---:|---:|"
for name in sdvisor $(peers); do
  log=$BENCH_WORK/memory-$name.log
  start_supervisor "$name" "$log" /bin/sleep infinity
  sleep "$settle"
  pid=$SUP_PID
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "| $name | exited early: $(tail -n 1 "$log") | | | | |"
    continue
  fi
  cmd "grep -E '^(Rss|Pss|Private_Dirty):' /proc/PID/smaps_rollup; ls /proc/PID/task | wc -l"
  libs=$(awk '$6 ~ /\.so/ {print $6}' "/proc/$pid/maps" | sort -u | wc -l)
  printf '| %s | %s (%s kB) | %s kB | %s kB | %s | %s |\n' "$name" "$(mib "$(kib "$pid" Rss)")" \
    "$(kib "$pid" Rss)" "$(kib "$pid" Pss)" "$(kib "$pid" Private_Dirty)" "$(threads "$pid")" "$libs"
  if [ "$name" = sdvisor ]; then
    gate memory.rss "$(kib "$pid" Rss)" kB
    gate memory.private_dirty "$(kib "$pid" Private_Dirty)" kB
    # Where sdvisor's private dirty memory is: the five largest mappings.
    awk '/^[0-9a-f]+-[0-9a-f]+ / {n = ($6 == "") ? "[anonymous]" : $6}
         /^Private_Dirty:/ {d[n] += $2}
         END {for (k in d) if (d[k] > 0) printf "%d %s\n", d[k], k}' "/proc/$pid/smaps" |
      sort -rn > "$BENCH_WORK/memory-sdvisor-mappings"
  fi
  stop_supervisor "$pid"
done
echo
if [ -s "$BENCH_WORK/memory-sdvisor-mappings" ]; then
  total_libs=$(grep -v -e '\[' "$BENCH_WORK/memory-sdvisor-mappings" | grep -v "$(basename "$SDVISOR")\$" | awk '{s += $1} END {print s + 0}')
  echo "sdvisor's Private_Dirty by mapping (/proc/PID/smaps): shared libraries' relocated data and"
  echo "bss ${total_libs} kB in all; largest: $(head -n 6 "$BENCH_WORK/memory-sdvisor-mappings" |
    awk '{n = $2; sub(".*/", "", n); printf "%s%s %s kB", sep, n, $1; sep = ", "}')."
fi
print_commands

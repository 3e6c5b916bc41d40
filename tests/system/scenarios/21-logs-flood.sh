#!/bin/bash
# Issue 6, real journald: 200,000 lines printed by the app as fast as it can all
# arrive, counted and in order. Then measurements, printed and not asserted (issue
# 10's targets: ≥ 90 % of a plain sd_journal_send() program's rate, ≤ 3 µs of
# sdvisor's CPU per line), all in this boot, one after another:
#   1. the app under sdvisor (native protocol, through sdvisor's queue);
#   2. the same app with StandardOutput=journal and no sdvisor (systemd-run);
#   3. a C program calling sd_journal_send() with the same five fields per entry.
# Rates are journald's: entries / (receive time of the last − of the first).
# sdvisor's CPU is the sum over its threads of /proc/PID/task/*/schedstat.
# timeout: 150
. "$(dirname "$0")/../lib.sh"

N=200000
dir=/run/sdvisor-logs-test
install -d -m 0755 "$dir"

# wait_done UNIT MARKER SECONDS: until "MARKER done" is among UNIT's last entries.
wait_done() {
    local deadline=$((SECONDS + $3))
    until journalctl -q -u "$1" -n 3 -o cat 2>/dev/null | grep -qx "$2 done"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# rate UNIT CURSOR MARKER: lines/s between "MARKER 0" and "MARKER done" as journald
# stamped them, and the span in seconds. (No awk in the container: its /etc, and so
# /etc/alternatives/awk, is empty.)
rate() {
    journalctl -q -u "$1" --cursor "$2" -o short-unix | $PY -c '
import sys
marker, n = sys.argv[1], int(sys.argv[2])
first = last = None
for line in sys.stdin:
    if first is None and line.endswith(f": {marker} 0\n"):
        first = float(line.split(" ", 1)[0])
    elif line.endswith(f": {marker} done\n"):
        last = float(line.split(" ", 1)[0])
if first is None or last is None or last <= first:
    print("? ?")
else:
    print(f"{n / (last - first):.0f} {last - first:.3f}")
' "$3" "$N"
}

# cpu_ns PID: CPU time of all of PID's threads so far, in ns.
cpu_ns() {
    local sum=0 t v
    for t in /proc/"$1"/task/*/schedstat; do
        read -r v _ < "$t" && sum=$((sum + v))
    done
    echo "$sum"
}

# ---- 1. through sdvisor ---------------------------------------------------------------------
marker="s$RANDOM"
unit=sdvisor@logs-flood.service
sv_app logs-flood "/usr/bin/python3 burst.py $N $marker" name=flood
mark=$(journal_mark)
start_or_finish "$unit"
pid=$(prop "$unit" MainPID)
check "the last line arrived" wait_done "$unit" "$marker" 60
sv_cpu=$(cpu_ns "$pid")
threads=
for t in /proc/"$pid"/task/*; do
    threads+="$(cat "$t/comm"): $(($(cut -d' ' -f1 "$t/schedstat") / 1000000)) ms, $(sed -n 's/^voluntary_ctxt_switches:\s*//p' "$t/status") waits; "
done
app_cpu=$(cpu_ns "$(pgrep -P "$pid" | head -n 1)")
lines=$(journalctl -q -u "$unit" --cursor "$mark" -o cat | grep "^$marker [0-9]")
is "all $N lines are in the journal" "$(grep -c . <<<"$lines")" "$N"
check "in the order the app printed them" $PY -c '
import sys
for i, line in enumerate(sys.stdin.read().splitlines()):
    if line.split(" ", 1)[1] != str(i):
        sys.exit(f"line {i + 1}: {line!r}")
' <<<"$lines"
check "each one entry of its own, PRIORITY=6, SDVISOR_SOURCE=app" \
    test "$(journalctl -q -u "$unit" --cursor "$mark" -o cat PRIORITY=6 SDVISOR_SOURCE=app \
        SDVISOR_STREAM=stdout | grep -c "^$marker [0-9]")" = "$N"
read -r sv_rate sv_span < <(rate "$unit" "$mark" "$marker")
stop_quietly "$unit"

# ---- 2. StandardOutput=journal, no sdvisor ------------------------------------------------------
dmarker="d$RANDOM"
dunit=logs-direct-$dmarker.service
mark=$(journal_mark)
track "$dunit"
systemd-run --quiet --unit="$dunit" -p LogRateLimitIntervalSec=1s -p LogRateLimitBurst=1000000 \
    -p StandardOutput=journal --working-directory="$APPS" \
    /usr/bin/python3 burst.py "$N" "$dmarker" || not_ok "systemd-run $dunit"
wait_done "$dunit" "$dmarker" 60 || not_ok "the direct run's last line arrived"
d_count=$(journalctl -q -u "$dunit" --cursor "$mark" -o cat | grep -c "^$dmarker [0-9]")
read -r d_rate d_span < <(rate "$dunit" "$mark" "$dmarker")
d_cpu=$(cpu_ns "$(prop "$dunit" MainPID)")
stop_quietly "$dunit"

# ---- 3. sd_journal_send() from C --------------------------------------------------------------
cmarker="c$RANDOM"
c_rate="?" c_span="?" c_count="?"
cat > "$dir/jsend.c" <<'EOF_C'
#include <stdlib.h>
/* sdvisor's fields and no more: no CODE_FILE=, CODE_LINE=, CODE_FUNC=. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  for (long i = 0; i < n; i++)
    sd_journal_send("MESSAGE=%s %ld", argv[2], i, "PRIORITY=6", "SYSLOG_IDENTIFIER=jsend",
                    "SDVISOR_SOURCE=app", "SDVISOR_STREAM=stdout", NULL);
  sd_journal_send("MESSAGE=%s done", argv[2], "PRIORITY=6", "SYSLOG_IDENTIFIER=jsend", NULL);
  return 0;
}
EOF_C
# gcc, not cc: /usr/bin/cc points into /etc/alternatives, empty in the container.
if gcc -O2 -o "$dir/jsend" "$dir/jsend.c" -lsystemd 2> "$dir/jsend.log"; then
    cunit=logs-jsend-$cmarker.service
    mark=$(journal_mark)
    track "$cunit"
    systemd-run --quiet --unit="$cunit" -p LogRateLimitIntervalSec=1s \
        -p LogRateLimitBurst=1000000 "$dir/jsend" "$N" "$cmarker" || not_ok "systemd-run $cunit"
    wait_done "$cunit" "$cmarker" 60 || not_ok "sd_journal_send()'s last entry arrived"
    c_count=$(journalctl -q -u "$cunit" --cursor "$mark" -o cat | grep -c "^$cmarker [0-9]")
    read -r c_rate c_span < <(rate "$cunit" "$mark" "$cmarker")
else
    diag "no C compiler or libsystemd headers here: sd_journal_send() not measured" < "$dir/jsend.log"
fi

diag "measured (not asserted), $N lines each, this boot:" \
    "  sdvisor → journald (native):      $sv_rate lines/s over ${sv_span}s" \
    "  StandardOutput=journal, no sdvisor: $d_rate lines/s over ${d_span}s ($d_count lines)" \
    "  sd_journal_send() from C:          $c_rate lines/s over ${c_span}s ($c_count lines)" \
    "  sdvisor's CPU: $((sv_cpu / 1000000)) ms for $N lines = $((sv_cpu / (N / 100000) / 1000000)) ms per 100,000 lines = $((sv_cpu / N)) ns per line" \
    "  per thread: $threads" \
    "  the app's own CPU: $((app_cpu / 1000000)) ms writing to sdvisor's pipe, $((d_cpu / 1000000)) ms writing to journald's stream" \
    "commands: systemctl start $unit (burst.py $N, [app] only); systemd-run -p StandardOutput=journal" \
    "  python3 burst.py $N; systemd-run jsend $N; rate = N / (last - first) of journalctl -o short-unix;" \
    "  CPU = sum of /proc/PID/task/*/schedstat field 1 when the last line was in the journal"
finish

#!/bin/bash
# in-container.sh — the benchmarks that need real systemd and journald, run inside the
# container journal.sh boots (as sdvisor-bench@in-container.sh.service). Results go to /results as
# KEY=VALUE lines (results.env) for journal.sh to turn into tables; progress to
# /results/driver.log.
#
#   log forwarding: LINES lines of 100 bytes through (1) sdvisor@logbench (the app's
#   stdout through sdvisor, native protocol, sdvisor's fields), (2) a program calling
#   sd_journal_send() with the same fields, (3) the same program's stdout with
#   StandardOutput=journal. Each: lines/s from the program's first line to journald's
#   receive time of its last, lines found in the journal, CPU of sdvisor and journald.
#   readiness latency: as tests/system/scenarios/33-readiness-latency.sh.
#   memory of an idle sdvisor under systemd, the journal connected.
. "$(dirname "$0")/container-common.sh" # LINES READY_RUNS BIN APPS
echo "# systemd $(systemctl --version | head -n 1)"
out systemd "$(systemctl --version | head -n 1 | cut -d' ' -f2)"
jd=$(systemctl show -P MainPID systemd-journald)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

unit_file() { # NAME ARGS...
  local name=$1
  shift
  cat > "/etc/systemd/system/$name.service" <<EOF_UNIT
[Service]
ExecStart=$*
SyslogIdentifier=loggen
StandardOutput=journal
LogRateLimitIntervalSec=1s
LogRateLimitBurst=1000000
EOF_UNIT
}
(umask 022 && cat > /etc/sdvisor/logbench.conf <<EOF_CONF
[app]
name=loggen
exec=$BIN/loggen $LINES MARK-sdvisor /run/bench/go-sdvisor /run/bench/stamp-sdvisor
EOF_CONF
)
unit_file bench-send "$BIN/loggen --send $LINES MARK-send /run/bench/go-send /run/bench/stamp-send"
unit_file bench-stdout "$BIN/loggen $LINES MARK-stdout /run/bench/go-stdout /run/bench/stamp-stdout"
systemctl daemon-reload

for v in sdvisor send stdout; do
  case $v in
  sdvisor) unit=sdvisor@logbench.service ;;
  *) unit=bench-$v.service ;;
  esac
  rm -f "/run/bench/go-$v" "/run/bench/stamp-$v"
  journalctl --rotate > /dev/null 2>&1
  journalctl --vacuum-size=1 > /dev/null 2>&1
  systemctl start "$unit"
  sleep 2
  pid=$(systemctl show -P MainPID "$unit")
  out "$v.pid_comm" "$(cat "/proc/$pid/comm")"
  c0=$(ticks "$pid") j0=$(ticks "$jd")
  touch "/run/bench/go-$v"
  deadline=$((SECONDS + 600))
  until journalctl -q -o cat -n 1 MESSAGE="MARK-$v done" | grep -q done || [ $SECONDS -ge $deadline ]; do
    sleep 0.2
  done
  c1=$(ticks "$pid") j1=$(ticks "$jd")
  done_us=$(journalctl -q -o export -n 1 MESSAGE="MARK-$v done" | sed -n 's/^__REALTIME_TIMESTAMP=//p')
  start_us=$(sed -n 's/^start //p' "/run/bench/stamp-$v")
  end_us=$(sed -n 's/^end //p' "/run/bench/stamp-$v")
  read -r total unique <<< "$(journalctl -q -o cat SYSLOG_IDENTIFIER=loggen |
    awk -v m="MARK-$v" '$1 == m && $2 ~ /^[0-9]+$/ {c++; if (!seen[$2]++) u++} END {print c + 0, u + 0}')"
  out "$v.unit" "$unit"
  out "$v.start_us" "$start_us"
  out "$v.app_end_us" "$end_us"
  out "$v.done_us" "$done_us"
  out "$v.found" "$total"
  out "$v.unique" "$unique"
  out "$v.cpu_ticks" "$((c1 - c0))"
  out "$v.journald_ticks" "$((j1 - j0))"
  out "$v.suppressed" "$(journalctl -q -u systemd-journald -o cat | grep -c "Suppressed" || true)"
  if [ $v = sdvisor ]; then
    out sdvisor.rss_after_kb "$(awk '$1 == "Rss:" {print $2}' "/proc/$pid/smaps_rollup")"
    out sdvisor.dirty_after_kb "$(awk '$1 == "Private_Dirty:" {print $2}' "/proc/$pid/smaps_rollup")"
    out sdvisor.hwm_kb "$(awk '$1 == "VmHWM:" {print $2}' "/proc/$pid/status")"
    # One entry, every field, as journald stored it: the fields sdvisor gave the line.
    journalctl -q -o verbose -n 1 MESSAGE="MARK-sdvisor done" > "$R/sdvisor-entry.txt" 2>&1
  fi
  systemctl stop "$unit"
done
out hz "$hz"
out lines "$LINES"

# Memory of an idle sdvisor under systemd (journal connected, notify socket in
# RuntimeDirectory=).
(umask 022 && printf '[app]\nexec=/bin/sleep infinity\n' > /etc/sdvisor/idle.conf)
systemctl start sdvisor@idle.service
sleep 5
pid=$(systemctl show -P MainPID sdvisor@idle.service)
out idle.rss_kb "$(awk '$1 == "Rss:" {print $2}' "/proc/$pid/smaps_rollup")"
out idle.dirty_kb "$(awk '$1 == "Private_Dirty:" {print $2}' "/proc/$pid/smaps_rollup")"
out idle.threads "$(ls "/proc/$pid/task" | wc -l)"
systemctl stop sdvisor@idle.service

# Readiness latency: listen() → READY=1 processed by systemd, [ready] check=tcp:// with
# its defaults (interval 100ms).
port=8333
stamps=/run/bench/stamps
mkdir -p "$stamps"
(umask 022 && cat > /etc/sdvisor/ready-lat.conf <<EOF_CONF
[app]
exec=/usr/bin/python3 stamp_app.py --port $port --stamps $stamps --jitter 0.2
working-directory=$APPS

[ready]
check=tcp://127.0.0.1:$port
EOF_CONF
)
: > "$R/ready-latency"
failed=0
for _ in $(seq 1 "$READY_RUNS"); do
  : > "$stamps/listen"
  if ! timeout 20 systemctl start sdvisor@ready-lat.service; then
    failed=$((failed + 1))
    continue
  fi
  active=$(systemctl show -P ActiveEnterTimestampMonotonic sdvisor@ready-lat.service)
  read -r listen_ns _ <<< "$(tail -n 1 "$stamps/listen")"
  timeout 20 systemctl stop sdvisor@ready-lat.service
  if [ -z "$listen_ns" ] || [ -z "$active" ] || [ "$active" = 0 ]; then
    failed=$((failed + 1))
    continue
  fi
  echo $((active - listen_ns / 1000)) >> "$R/ready-latency"
done
out ready.failed "$failed"
: > "$R/done"

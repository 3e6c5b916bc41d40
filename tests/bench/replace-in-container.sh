#!/bin/bash
# replace-in-container.sh — replace.sh's measurements, inside the container it boots (as
# sdvisor-bench@replace-in-container.sh.service). One app, gunicorn with 2 sync workers
# (tests/apps/app_flask.py, gunicorn.conf.py, access log to /dev/null), replaced
# REPLACEMENTS times in a row under a steady load from hey on loopback, three ways:
#   sdvisor   sdvisor@shop.service, listen=, reload-mode=replace, [ready] check=notify;
#             `systemctl reload` (ExecReload=sdvisor reload) returns at the switch
#   systemd   a Type=notify unit running gunicorn itself; `systemctl restart`
#   gunicorn  gunicorn alone (no supervisor): USR2, its new master's READY=1, WINCH and
#             TERM to the old master
# Each replacement starts once both workers of the instance it replaces have answered
# (workers_up) and the previous one is over: for sdvisor, its switch (the old instances
# drain meanwhile); for gunicorn, the old master gone (its new master takes no USR2
# before it is promoted); systemctl restart waits for the stop itself.
# Then the memory while two instances are alive (sdvisor and gunicorn's USR2): the old one
# drains a SLOW-second request while the new one serves.
# Results to /results: hey's report per case (hey-CASE.txt), each replacement's seconds
# (times-CASE: until the switch, until the old instance is gone), KEY=VALUE lines
# (results.env); progress to /results/driver.log.
. "$(dirname "$0")/container-common.sh" # REPLACEMENTS CONNS QPS TAIL SLOW APPS BENCH
cd "$APPS" || exit 1
gunicorn="/usr/bin/gunicorn -c gunicorn.conf.py --access-logfile /dev/null"

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}'; }
# until_true SECONDS CMD...: CMD every 50 ms until it succeeds; status 1 after SECONDS.
until_true() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}
serves() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/health"; }
# workers_up PORT MASTER: until both workers of MASTER (gunicorn.conf.py: workers = 2) have
# answered GET /pid ("WORKER MASTER"). gunicorn says READY=1 before its workers load the
# app, and a worker that gets SIGTERM while it loads still has its master's handler, which
# does nothing in it: the master then waits graceful_timeout (20 s) for it. So a
# replacement starts only once the instance it replaces serves with both workers, as a
# deploy would find it.
workers_up() {
  local seen=" " w m deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    read -r w m < <(curl -fsS --max-time 2 "http://127.0.0.1:$1/pid" 2> /dev/null)
    if [ "${m:-}" = "$2" ] && [[ $seen != *" $w "* ]]; then
      seen="$seen$w "
      [ "$(echo "$seen" | wc -w)" -lt 2 ] || return 0
    fi
    sleep 0.02
  done
  return 1
}
gone() { # PID: exited (a zombie counts)
  local s
  s=$(ps -o stat= -p "$1") || return 0
  case $s in Z*) return 0 ;; esac
  return 1
}

# hey at QPS per connection, a new connection per request, from TAIL seconds before the
# first replacement to TAIL seconds after the last; SIGINT ends it and it prints its report.
load_start() { # CASE PORT
  hey -z 3600s -c "$CONNS" -q "$QPS" -t 10 -disable-keepalive "http://127.0.0.1:$2/health" \
    > "$R/hey-$1.txt" 2>&1 &
  LOAD=$!
  LOAD_T0=$EPOCHREALTIME
  sleep "$TAIL"
}
load_stop() { # CASE
  sleep "$TAIL"
  kill -INT "$LOAD"
  wait "$LOAD"
  out "$1.window" "$(since "$LOAD_T0")"
}

# The pids of ROOT's tree, without EXCLUDE's subtree (gunicorn's new master is the old
# one's child until the old one exits).
tree() { # ROOT [EXCLUDE]
  ps -e -o pid=,ppid= | awk -v root="$1" -v ex="${2:-0}" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = 1; q[1] = root
      for (i = 1; i <= n; i++) {
        print q[i]; m = split(kids[q[i]], k, " ")
        for (j = 1; j <= m; j++) if (k[j] != ex) q[++n] = k[j]
      }
    }'
}
pss() { # PID...: the sum of their Pss, kB
  local p sum=0 v
  for p in "$@"; do
    v=$(awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup" 2> /dev/null)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}
kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }
# mem CASE WHICH ROOT [EXCLUDE]: the tree's processes and the sum of their PSS.
mem() {
  local pids
  pids=$(tree "$3" "${4:-}")
  out "$1.$2.procs" "$(echo "$pids" | wc -w)"
  # shellcheck disable=SC2086 # a list of pids
  out "$1.$2.pss_kb" "$(pss $pids)"
}
slow_request() { # PORT: a SLOW-second request, its status in /run/bench/slow-code
  curl -sS -o /dev/null -w '%{http_code}' --max-time 120 "http://127.0.0.1:$1/slow?seconds=$SLOW" \
    > /run/bench/slow-code &
  SLOW_PID=$!
  SLOW_T0=$EPOCHREALTIME
  sleep 0.5
}
# Both instances alive: read at 2/3 of the slow request (the new instance's workers have
# loaded the app by then; the old one still drains).
at_two_thirds() {
  local left
  left=$(awk -v t0="$SLOW_T0" -v now="$EPOCHREALTIME" -v s="$SLOW" 'BEGIN {d = t0 + s * 2 / 3 - now; print (d > 0) ? d : 0}')
  sleep "$left"
}
slow_finish() { # CASE
  wait "$SLOW_PID"
  out "$1.slow_code" "$(cat /run/bench/slow-code)"
}

# 1. sdvisor, reload-mode=replace.
(umask 022 && cat > /etc/sdvisor/shop.conf << EOF_CONF
[app]
name=shop
exec=$gunicorn app_flask:app
working-directory=$APPS
environment=PYTHONDONTWRITEBYTECODE=1
listen=127.0.0.1:8401
reload-mode=replace
stop-timeout=30s

[ready]
check=notify
timeout=60s
EOF_CONF
)
if systemctl start sdvisor@shop.service && until_true 60 serves 8401; then
  sdv=$(systemctl show -P MainPID sdvisor@shop.service)
  out sdvisor.ran 1
  out sdvisor.start.rss_kb "$(kib "$sdv" Rss)"
  out sdvisor.start.dirty_kb "$(kib "$sdv" Private_Dirty)"
  load_start sdvisor 8401
  # sdvisor takes the next reload once the switch is done: the old instances drain
  # meanwhile, each watched by a subshell until it is gone.
  app=$(pgrep -P "$sdv")
  watchers=()
  for i in $(seq 1 "$REPLACEMENTS"); do
    workers_up 8401 "$app" || out sdvisor.workers_not_up."$i" 1
    t0=$EPOCHREALTIME
    systemctl reload sdvisor@shop.service || out sdvisor.failed_reload."$i" "$(systemctl status sdvisor@shop.service | tail -n 3 | tr '\n' ' ')"
    switch=$(since "$t0")
    old=$app
    app=$(pgrep -n -P "$sdv")
    (
      until_true 60 gone "$old" || out sdvisor.not_gone."$i" 1
      echo "$switch $(since "$t0")" > "/run/bench/times-sdvisor.$i"
    ) &
    watchers+=($!)
  done
  wait "${watchers[@]}"
  for i in $(seq 1 "$REPLACEMENTS"); do cat "/run/bench/times-sdvisor.$i"; done > "$R/times-sdvisor"
  load_stop sdvisor
  out sdvisor.replaced "$(journalctl -q -o cat -u sdvisor@shop.service | grep -c 'replaced: the new instance')"

  # Memory: sdvisor idle with one instance, then with the old one draining.
  app=$(pgrep -P "$sdv")
  workers_up 8401 "$app"
  out sdvisor.before.rss_kb "$(kib "$sdv" Rss)"
  out sdvisor.before.dirty_kb "$(kib "$sdv" Private_Dirty)"
  mem sdvisor one "$app"
  slow_request 8401
  systemctl reload sdvisor@shop.service
  new=$(pgrep -P "$sdv" | grep -v -x "$app" | head -n 1)
  at_two_thirds
  if [ -n "$new" ] && ! gone "$app"; then
    out sdvisor.during.rss_kb "$(kib "$sdv" Rss)"
    out sdvisor.during.dirty_kb "$(kib "$sdv" Private_Dirty)"
    mem sdvisor old "$app"
    mem sdvisor new "$new"
  else
    out sdvisor.mem_missed "the old instance was gone before the reading"
  fi
  slow_finish sdvisor
  systemctl stop sdvisor@shop.service
else
  out sdvisor.ran 0
  out sdvisor.why "sdvisor@shop.service did not start or serve: $(journalctl -q -o cat -u sdvisor@shop.service | tail -n 3 | tr '\n' ' ')"
  systemctl stop sdvisor@shop.service
fi

# 2. systemctl restart of gunicorn under plain systemd (KillMode=mixed and Type=notify, as
# gunicorn's own documentation writes the unit).
(umask 022 && cat > /etc/systemd/system/bench-gunicorn.service << EOF_UNIT
[Service]
Type=notify
ExecStart=$gunicorn --bind 127.0.0.1:8402 app_flask:app
WorkingDirectory=$APPS
Environment=PYTHONDONTWRITEBYTECODE=1
KillMode=mixed
TimeoutStopSec=30s
EOF_UNIT
)
systemctl daemon-reload
if systemctl start bench-gunicorn.service && until_true 60 serves 8402; then
  out systemd.ran 1
  main=$(systemctl show -P MainPID bench-gunicorn.service)
  workers_up 8402 "$main"
  mem systemd one "$main"
  load_start systemd 8402
  : > "$R/times-systemd"
  for i in $(seq 1 "$REPLACEMENTS"); do
    workers_up 8402 "$(systemctl show -P MainPID bench-gunicorn.service)" || out systemd.workers_not_up."$i" 1
    t0=$EPOCHREALTIME
    systemctl restart bench-gunicorn.service || out systemd.failed_restart."$i" 1
    t=$(since "$t0")
    echo "$t $t" >> "$R/times-systemd"
  done
  load_stop systemd
else
  out systemd.ran 0
  out systemd.why "bench-gunicorn.service did not start or serve: $(journalctl -q -o cat -u bench-gunicorn.service | tail -n 3 | tr '\n' ' ')"
fi
systemctl stop bench-gunicorn.service

# 3. gunicorn alone: USR2, then WINCH and TERM to the old master once the new one has said
# READY=1 (gunicorn sends it when NOTIFY_SOCKET is set, and its new master inherits the
# variable). gunicorn ignores WINCH unless daemonized (-D); TERM stops the old master's
# workers gracefully either way. A first window without a replacement is the baseline.
sink_log=/run/bench/gunicorn-notify.log
: > "$sink_log"
python3 "$BENCH/notify-sink.py" --pid /run/bench/gunicorn.notify "$sink_log" &
sink=$!
until_true 10 test -S /run/bench/gunicorn.notify
ready_from_other() { # OLD: the pid of a READY=1 sender other than OLD, if any
  awk -v old="$1" '$3 ~ /^READY=1/ && $2 != old {p = $2} END {if (p) print p}' "$sink_log"
}
has_ready_from_other() { [ -n "$(ready_from_other "$1")" ]; }
promoted() { [ "$(grep -c 'Master has been promoted' /run/bench/gunicorn.log)" -ge "$1" ]; }
NOTIFY_SOCKET=/run/bench/gunicorn.notify $gunicorn --bind 127.0.0.1:8403 app_flask:app \
  > /run/bench/gunicorn.log 2>&1 < /dev/null &
master=$!
if until_true 60 serves 8403; then
  out gunicorn.ran 1
  load_start baseline 8403
  load_stop baseline
  load_start gunicorn 8403
  : > "$R/times-gunicorn"
  for i in $(seq 1 "$REPLACEMENTS"); do
    workers_up 8403 "$master" || out gunicorn.workers_not_up."$i" 1
    old=$master
    : > "$sink_log"
    t0=$EPOCHREALTIME
    kill -USR2 "$old"
    if ! until_true 60 has_ready_from_other "$old"; then
      out gunicorn.failed_usr2."$i" 1
      break
    fi
    master=$(ready_from_other "$old")
    kill -WINCH "$old"
    kill -TERM "$old"
    switch=$(since "$t0")
    until_true 60 gone "$old" || out gunicorn.not_gone."$i" 1
    echo "$switch $(since "$t0")" >> "$R/times-gunicorn"
    # Its next USR2 is ignored until the new master sees it has no parent master.
    until_true 10 promoted "$i" || out gunicorn.not_promoted."$i" 1
  done
  load_stop gunicorn

  # Memory: both masters alive, the old one draining the slow request.
  workers_up 8403 "$master"
  mem gunicorn one "$master"
  old=$master
  : > "$sink_log"
  slow_request 8403
  kill -USR2 "$old"
  until_true 60 has_ready_from_other "$old"
  new=$(ready_from_other "$old")
  kill -WINCH "$old"
  kill -TERM "$old"
  at_two_thirds
  if [ -n "$new" ] && ! gone "$old"; then
    mem gunicorn old "$old" "$new"
    mem gunicorn new "$new"
  else
    out gunicorn.mem_missed "the old master was gone before the reading"
  fi
  slow_finish gunicorn
  until_true 60 gone "$old"
  master=${new:-$master}
else
  out gunicorn.ran 0
  out gunicorn.why "gunicorn did not serve: $(tail -n 3 /run/bench/gunicorn.log | tr '\n' ' ')"
fi
kill -TERM "$master"
until_true 30 gone "$master"
kill "$sink"
cp /run/bench/gunicorn.log "$R/gunicorn.log"
journalctl -q -o short-monotonic -u sdvisor@shop.service > "$R/sdvisor-journal.txt"
journalctl -q -o short-monotonic -u bench-gunicorn.service > "$R/systemd-journal.txt"
# gunicorn 20.1 logs from its SIGCHLD handler; when that interrupts another write to
# stderr, the write fails ("reentrant call") and the master loses track of a worker
# that is gone, then waits its graceful_timeout for it.
for c in sdvisor-journal systemd-journal gunicorn; do
  out "${c%-journal}.reentrant" "$(grep -c -e '--- Logging error ---$' "$R/$c.txt" "$R/$c.log" 2> /dev/null | awk -F: '{s += $NF} END {print s + 0}')"
done
: > "$R/done"

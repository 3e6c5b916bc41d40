#!/bin/bash
# Issue 5: `systemctl reload` re-reads /etc/sdvisor/NAME.conf, so a
# `[hook:NAME] when=reload` added to it while the app runs is run by that very
# reload (and by the next ones), before the app gets its reload signal; the unit
# stays active with the same sdvisor and the same app. A reload before the edit
# runs nothing. Without the re-read, the marker file would never appear.
# timeout: 25
. "$(dirname "$0")/../lib.sh"

name=reload-hook
unit=sdvisor@$name.service
port=8334
stamps=$(stamps_dir $name)
marker=$stamps/marker
conf() {
    cat <<EOF_CONF
[app]
exec=/usr/bin/python3 stamp_app.py --port $port --stamps $stamps
working-directory=$APPS
reload-signal=SIGHUP

[ready]
check=tcp://127.0.0.1:$port
timeout=20s
EOF_CONF
}
conf | sv_conf $name

start_or_finish "$unit"
main_pid=$(prop "$unit" MainPID)
app_pid=$(pgrep -P "$main_pid" -f stamp_app.py | head -n 1)

# wait_lines FILE N: until FILE has N lines (5 s at most).
wait_lines() {
    for _ in $(seq 50); do
        [ "$(wc -l < "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
check "a reload without the hook returns 0" timeout 20 systemctl reload "$unit"
check "the app got that reload's SIGHUP" wait_lines "$stamps/hup" 1
check "no marker yet" test ! -e "$marker"

{
    conf
    cat <<EOF_HOOK

[hook:marker]
when=reload
exec=/bin/sh -c 'echo "\$SDVISOR_EVENT \$SDVISOR_HOOK \$(date +%s%N)" >> $marker'
EOF_HOOK
} | sv_conf $name
mark=$(journal_mark)

check "systemctl reload returns 0" timeout 20 systemctl reload "$unit"
check "the new hook wrote its marker" wait_lines "$marker" 1
check "the app got this reload's SIGHUP" wait_lines "$stamps/hup" 2
is "the hook ran for the reload event" "$(cut -d' ' -f1-2 "$marker" 2>/dev/null | head -n 1)" "reload marker"
check "the unit is active (running)" wait_prop "$unit" SubState running 5
is "the unit is active" "$(prop "$unit" ActiveState)" active
is "same sdvisor (MainPID)" "$(prop "$unit" MainPID)" "$main_pid"
is "same app" "$(pgrep -P "$main_pid" -f stamp_app.py | head -n 1)" "$app_pid"
check "sdvisor logged reading the configuration again" \
    journal_wait "$unit" "$mark" 5 "configuration .* read again"
hook_ns=$(head -n 1 "$marker" 2>/dev/null | cut -d' ' -f3)
hup_ns=$(sed -n 2p "$stamps/hup" 2>/dev/null | cut -d' ' -f2)
check "the hook ran before the app got its SIGHUP (hook $hook_ns, SIGHUP ${hup_ns:-none})" \
    test -n "$hook_ns" -a -n "$hup_ns" -a "${hook_ns:-0}" -le "${hup_ns:-0}"

check "a second reload returns 0" timeout 20 systemctl reload "$unit"
wait_lines "$marker" 2
is "the hook ran again, once (2 lines)" "$(wc -l < "$marker" 2>/dev/null)" 2
is "the unit is still active" "$(prop "$unit" ActiveState)" active
stop_quietly "$unit"
finish

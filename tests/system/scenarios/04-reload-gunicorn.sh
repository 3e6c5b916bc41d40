#!/bin/bash
# Issue 3, scenario 4 with gunicorn: `systemctl reload` reaches the gunicorn
# master as SIGHUP (its on_reload hook logs it, and it replaces its 2 workers);
# the unit stays active.
# timeout: 40
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@gunicorn-reload.service
sv_app gunicorn-reload "/usr/bin/python3 -m gunicorn --config gunicorn.conf.py --bind 127.0.0.1:8142 app_flask:app" reload-signal=HUP

start_serving "$unit" 8142
main_pid=$(prop "$unit" MainPID)
mark=$(journal_mark)

check "systemctl reload returns 0" timeout 20 systemctl reload "$unit"
check "the gunicorn master logged the SIGHUP" \
    journal_wait "$unit" "$mark" 5 "received SIGHUP, reloading workers"
check "and booted new workers" journal_wait "$unit" "$mark" 10 "Booting worker with pid"
check "the unit is active (running) again" wait_prop "$unit" SubState running 5
is "sdvisor was not restarted (same MainPID)" "$(prop "$unit" MainPID)" "$main_pid"
check "the app still answers /health" wait_http http://127.0.0.1:8142/health 10
stop_quietly "$unit"
finish

#!/bin/bash
# The example unit as installed (share/doc/sdvisor/examples/gunicorn-app.service),
# unchanged, runs its app: gunicorn with 2 workers under `sdvisor run --`, as a
# dynamic user, and stops cleanly.
# timeout: 40
. "$(dirname "$0")/../lib.sh"

example=$PREFIX/share/doc/sdvisor/examples/gunicorn-app.service
unit=myapp.service
check "the example unit is installed" test -f "$example" || finish

# The app the example expects: /srv/myapp/myapp.py with a Flask `app`.
install -d -m 0755 /srv/myapp
install -m 0644 "$APPS/app_flask.py" /srv/myapp/myapp.py
install -m 0644 "$APPS/apptools.py" /srv/myapp/apptools.py
install -m 0644 "$example" "/etc/systemd/system/$unit"
systemctl daemon-reload
mark=$(journal_mark)

check "systemctl start $unit returns 0" start_unit "$unit"
# The unit's own readiness check, not READY=1 as soon as gunicorn runs: sdvisor
# names the check that passed.
check "READY=1 came after gunicorn's READY=1 and /healthz answered" \
    journal_wait "$unit" "$mark" 5 "is ready: .*http://127.0.0.1:8000/healthz: 200"
is "the unit is active (running)" "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "active (running)"
check "StatusText is set" test -n "$(prop "$unit" StatusText)"
check "the app answers /health on port 8000" wait_http http://127.0.0.1:8000/health 20
main_pid=$(prop "$unit" MainPID)
user=$(ps -o user= -p "$main_pid")
check "sdvisor runs as the dynamic user, not root ($user)" test -n "$user" -a "$user" != root
# The master forks its workers up to 0.1 s apart (gunicorn's spawn_workers),
# so the first one may serve /health before the second exists.
check "gunicorn runs 2 workers under its master" \
    wait_procs '^/usr/bin/python3 -m gunicorn .*myapp:app' 3 10
check "the app's access log is in the unit's journal" \
    journal_wait "$unit" "$mark" 5 '"GET /health HTTP/1.1" 200'

check "systemctl stop returns 0" timeout 40 systemctl stop "$unit"
is "the unit is inactive (dead), not failed" \
    "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "inactive (dead)"
check "gunicorn shut down on sdvisor's SIGTERM" \
    journal_order "$unit" "$mark" 5 "Handling signal: term" "Shutting down: Master"
finish

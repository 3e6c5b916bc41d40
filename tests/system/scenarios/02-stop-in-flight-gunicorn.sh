#!/bin/bash
# Issue 3, scenario 2 (Flask on gunicorn, 2 sync workers): `systemctl stop`
# while a 3-second request is in flight lets it finish; the unit ends inactive.
# timeout: 45
. "$(dirname "$0")/../lib.sh"
. "$SYSTEM_TESTS/stop-in-flight.sh"

stop_in_flight gunicorn-stop 8122 "Handling signal: term" <<EOF_CONF
[app]
exec=/usr/bin/python3 -m gunicorn --config gunicorn.conf.py --bind 127.0.0.1:8122 app_flask:app
working-directory=$APPS
stop-timeout=25s
EOF_CONF
finish

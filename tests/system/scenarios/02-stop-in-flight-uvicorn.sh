#!/bin/bash
# Issue 3, scenario 2 (uvicorn): `systemctl stop` while a 3-second request is in
# flight lets it finish; the unit ends inactive, not failed.
# timeout: 45
. "$(dirname "$0")/../lib.sh"
. "$SYSTEM_TESTS/stop-in-flight.sh"

stop_in_flight uvicorn-stop 8121 "Shutting down" <<EOF_CONF
[app]
exec=/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port 8121
working-directory=$APPS
stop-timeout=20s
EOF_CONF
finish

#!/bin/bash
# Issue 3, scenario 2 (aiohttp): `systemctl stop` while a 3-second request is in
# flight lets it finish; the unit ends inactive, not failed.
# timeout: 45
. "$(dirname "$0")/../lib.sh"
. "$SYSTEM_TESTS/stop-in-flight.sh"

stop_in_flight aiohttp-stop 8123 "shutting down, 1 request\\(s\\) in flight" <<EOF_CONF
[app]
exec=/usr/bin/python3 app_aiohttp.py --port 8123
working-directory=$APPS
stop-timeout=20s
EOF_CONF
finish

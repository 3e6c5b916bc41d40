#!/bin/bash
# `sdvisor check FILE --unit sdvisor@NAME.service` reads the unit as systemd has it
# (`systemctl cat`: the template and the instance's drop-ins), not a file: before
# the drop-in, the template's TimeoutStopSec=90s and missing WatchdogSec= are too
# little for this configuration and check warns; after `systemctl edit`-style
# drop-in (TimeoutStopSec=3min, WatchdogSec=30s) and daemon-reload, it agrees. A
# reader that saw only the template would still warn; one that could not read a
# name at all failed with "Failed to open file" and status 78. A name systemd does
# not know is status 66 (EX_NOINPUT), not 78.
# timeout: 30
. "$(dirname "$0")/../lib.sh"

name=check-dropin
unit=sdvisor@$name.service
sv_conf $name <<EOF_CONF
[app]
exec=/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port 8337
working-directory=$APPS
stop-timeout=100s

[health]
check=http://127.0.0.1:8337/health
EOF_CONF
conf=/etc/sdvisor/$name.conf
dropin=/etc/systemd/system/$unit.d
rm -rf "$dropin"
systemctl daemon-reload

out=$("$SDVISOR" check "$conf" --unit "$unit" 2>&1)
status=$?
is "check --unit $unit exits 0 (warnings are advice)" "$status" 0
check "without the drop-in: the template's TimeoutStopSec=90s is too short" \
    grep -q "$unit: warning: TimeoutStopSec=1min 30s is shorter" <<<"$out"
check "without the drop-in: no WatchdogSec= for [health]" \
    grep -q "$unit: warning: \[health\] is configured but the unit has no WatchdogSec=" <<<"$out" ||
    diag "$out"

install -d -m 0755 "$dropin"
cat > "$dropin/override.conf" <<'EOF_UNIT'
[Service]
TimeoutStopSec=3min
WatchdogSec=30s
EOF_UNIT
systemctl daemon-reload
check "systemctl cat shows the drop-in" grep -q "^# $dropin/override.conf" <<<"$(systemctl cat "$unit")"

out=$("$SDVISOR" check "$conf" --unit "$unit" 2>&1)
status=$?
is "with the drop-in: check exits 0" "$status" 0
is "with the drop-in: no warning" "$(grep -c "warning:" <<<"$out")" 0
check "with the drop-in: the unit agrees" \
    grep -q "the unit's timeouts agree with the configuration" <<<"$out" || diag "$out"

"$SDVISOR" check "$conf" --unit sdvisor-no-such-unit.service >/dev/null 2>&1
is "a unit systemd does not know: status 66" "$?" 66

rm -rf "$dropin"
systemctl daemon-reload
finish

#!/bin/bash
# Issue 6, real journald: what the app writes becomes structured entries.
#  - uvicorn's INFO lines on stderr arrive with PRIORITY=6 (not 3, the stream's
#    default priority-stderr=err here), tagged
#    SDVISOR_SOURCE=app, SDVISOR_STREAM=stderr, the [log] fields= and, because
#    sdvisor passes the app's credentials, _COMM=python3 (as StandardOutput=journal
#    would have it);
#  - a JSON line becomes fields visible in `journalctl -o json`;
#  - a traceback is ONE entry with PRIORITY=3 whose MESSAGE holds all of it;
#  - a hook's output is tagged SDVISOR_SOURCE=hook, SDVISOR_HOOK=NAME, and
#    `journalctl -u` finds it even when the hook (an `echo`) has exited and been
#    reaped before journald looks its pid up (then journald cannot fill
#    _SYSTEMD_UNIT: eight such hooks in a row, each line must be there);
#  - `journalctl -x` shows the catalog text of sdvisor's stop event.
# timeout: 60
. "$(dirname "$0")/../lib.sh"

marker="m$RANDOM$RANDOM"
unit=sdvisor@logs-uvicorn.service
sv_conf logs-uvicorn <<EOF_CONF
[app]
exec=/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port 8201
working-directory=$APPS

[log]
identifier=shop
fields=DEPLOYMENT=systest
# Lines without a level word would be errors: PRIORITY=6 below proves that the level
# was read from the line, not taken from the stream's default.
priority-stderr=err

[hook:hello]
when=pre-start
exec=/bin/echo hook says $marker
$(for n in 1 2 3 4 5 6 7 8; do printf '[hook:burst%s]\nwhen=pre-start\nexec=/bin/echo burst %s %s\n' $n $n "$marker"; done)
EOF_CONF
mark=$(journal_mark)
start_serving "$unit" 8201
check "uvicorn's INFO line on stderr has PRIORITY=6, SDVISOR_STREAM=stderr" \
    journal_wait "$unit" "$mark" 10 "^INFO: +Uvicorn running on" \
    PRIORITY=6 SDVISOR_STREAM=stderr SDVISOR_SOURCE=app SYSLOG_IDENTIFIER=shop DEPLOYMENT=systest
check "... and is the app's own: _COMM=python3, _PID=its pid" \
    journal_wait "$unit" "$mark" 1 "^INFO: +Uvicorn running on" _COMM=python3 \
    "_PID=$(pgrep -f 'uvicorn app_fastapi:app --host 127.0.0.1 --port 8201' | head -n 1)"
check "the app's own logging line (timestamp, INFO) has PRIORITY=6" \
    journal_wait "$unit" "$mark" 1 " INFO app_fastapi: started, pid [0-9]+\$" PRIORITY=6 \
    SDVISOR_STREAM=stderr
check "the hook's output is tagged with the hook" \
    journal_wait "$unit" "$mark" 5 "^hook says $marker\$" SDVISOR_SOURCE=hook SDVISOR_HOOK=hello \
    SDVISOR_STREAM=stdout SYSLOG_IDENTIFIER=shop
bursts=0
for n in 1 2 3 4 5 6 7 8; do
    journalctl -q -u "$unit" --cursor "$mark" -o cat SDVISOR_HOOK="burst$n" |
        grep -qx "burst $n $marker" && bursts=$((bursts + 1))
done
is "journalctl -u finds the line of each of eight short-lived hooks" "$bursts" 8
check "sdvisor's own messages stay SYSLOG_IDENTIFIER=sdvisor, SDVISOR_SOURCE=sdvisor" \
    journal_wait "$unit" "$mark" 1 "@MESSAGE_ID=$MSG_APP_STARTED" SYSLOG_IDENTIFIER=sdvisor \
    SDVISOR_SOURCE=sdvisor DEPLOYMENT=systest _COMM=sdvisor
stop_quietly "$unit"

# A JSON record and a traceback, from a plain script.
unit2=sdvisor@logs-json.service
install -d -m 0755 /run/sdvisor-logs-test
cat > /run/sdvisor-logs-test/json_and_traceback.py <<'EOF_PY'
import json, sys, time, traceback
marker = sys.argv[1]
print(json.dumps({"message": f"order placed {marker}", "level": "warning",
                  "order_id": 4711, "customer": {"name": "acme"}}), flush=True)
def handler():
    raise ValueError(f"boom {marker}")
try:
    handler()
except ValueError:
    traceback.print_exc()
sys.stderr.flush()
print(f"after {marker}", flush=True)
time.sleep(3600)
EOF_PY
sv_app logs-json "/usr/bin/python3 /run/sdvisor-logs-test/json_and_traceback.py $marker" name=jsonapp
mark=$(journal_mark)
start_or_finish "$unit2"
check "the JSON line's message is MESSAGE, its level PRIORITY=4" \
    journal_wait "$unit2" "$mark" 10 "^order placed $marker\$" PRIORITY=4 SYSLOG_IDENTIFIER=jsonapp
json=$(journalctl -q -u "$unit2" --cursor "$mark" -o json MESSAGE="order placed $marker")
check "its keys are fields in journalctl -o json (ORDER_ID=4711, CUSTOMER as JSON text)" \
    $PY -c '
import json, sys
e = json.loads(sys.argv[1].splitlines()[-1])
assert e["ORDER_ID"] == "4711", e
assert json.loads(e["CUSTOMER"]) == {"name": "acme"}, e
' "$json"
check "the traceback arrived" journal_wait "$unit2" "$mark" 10 "^after $marker\$"
tb=$(journalctl -q -u "$unit2" --cursor "$mark" -o json SYSLOG_IDENTIFIER=jsonapp | $PY -c '
import json, sys
marker = sys.argv[1]
hits = []
for line in sys.stdin:
    e = json.loads(line)
    m = e.get("MESSAGE", "")
    if isinstance(m, list):
        m = bytes(m).decode("utf-8", "replace")
    if "Traceback (most recent call last)" in m or f"boom {marker}" in m or "in handler" in m:
        hits.append((e.get("PRIORITY"), m))
print(len(hits))
for p, m in hits:
    print(p)
    print(m)
' "$marker")
is "the traceback is ONE entry" "$(head -n 1 <<<"$tb")" 1
is "... with PRIORITY=3" "$(sed -n 2p <<<"$tb")" 3
expected="Traceback (most recent call last):
  File \"/run/sdvisor-logs-test/json_and_traceback.py\", line 8, in <module>
    handler()
  File \"/run/sdvisor-logs-test/json_and_traceback.py\", line 6, in handler
    raise ValueError(f\"boom {marker}\")
ValueError: boom $marker"
is "... whose MESSAGE holds the whole traceback" "$(sed -n '3,$p' <<<"$tb")" "$expected"

# journalctl -x: the catalog explains sdvisor's stop event.
journalctl --update-catalog >/dev/null 2>&1
mark=$(journal_mark)
check "systemctl stop $unit2" timeout 30 systemctl stop "$unit2"
check "the stop event is logged" journal_wait "$unit2" "$mark" 5 "@MESSAGE_ID=$MSG_STOPPED"
explained=$(journalctl -q -x -u "$unit2" --cursor "$mark" MESSAGE_ID="$MSG_STOPPED" --no-pager 2>&1)
check "journalctl -x shows its catalog text" grep -q "Subject: The app stopped" <<<"$explained" ||
    diag "$explained"
finish

#!/bin/bash
# journal.sh — with journald's socket bound into the container (what the quadlet example
# does with Volume=/run/systemd/journal/socket:…), the app's output arrives in the
# native journal protocol with sdvisor's fields, not as bare lines on conmon's pipe.
#
# Here the "journald" is a datagram socket the test binds (ctlib.py journal-recv), bound
# into the container at /run/systemd/journal/socket; [log] target is left at auto, the
# default, so sdvisor has to notice the socket by itself. The FastAPI app's /echo prints
# a line to stdout and logs one at INFO to stderr.
. "$(dirname "$0")/lib.sh"
ct_require fastapi uvicorn

port=$(free_port)
mark=mark-$$-$RANDOM
# A level word in the line wins over priority-stderr: the INFO line must arrive as PRIORITY=6.
ct_http_app journal fastapi-journal "$port" 10s "$(fastapi_exec "$port")" \
    "[log]" "fields=DEPLOYMENT=container-test" "priority-stderr=err"
jsock=$WORK/journal/journal.sock
jlog=$WORK/journal/journal.log
: > "$jlog"
$CTLIB journal-recv "$jsock" "$jlog" &
_pids+=("$!")
ct_wait_path "$jsock" 5
ct_start_ready journal "the FastAPI container becomes ready" -v "$jsock:/run/systemd/journal/socket"
check "GET /echo answers" curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$port/echo?line=$mark"

# find FIELD=VALUE...: wait up to 5 s for an entry with all of them (a VALUE ending in
# '*' is a prefix, one starting with '~' a substring of MESSAGE); print it.
find_entry() {
    $PY - "$jlog" "$@" <<'PY'
import json, sys, time
log, want = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
def match(fields):
    for name, value in want:
        got = fields.get(name)
        if got is None:
            return False
        got = got if isinstance(got, list) else [got]
        if value.startswith("~"):
            if not any(value[1:] in g for g in got):
                return False
        elif value.endswith("*"):
            if not any(g.startswith(value[:-1]) for g in got):
                return False
        elif value not in got:
            return False
    return True
deadline = time.monotonic() + 5
while True:
    for line in open(log):
        r = json.loads(line)
        if "fields" in r and match(r["fields"]):
            print(json.dumps(r["fields"], sort_keys=True))
            sys.exit(0)
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.05)
PY
}
entry_check() {
    local desc=$1 out
    shift
    if out=$(find_entry "$@"); then
        ok "$desc"
    else
        not_ok "$desc"
        diag "no entry with: $*" "entries received (last 15):" "$(tail -n 15 "$jlog")"
    fi
}

entry_check "the app's stdout line is a journal entry with sdvisor's fields" \
    "MESSAGE=echo stdout: $mark" SYSLOG_IDENTIFIER=fastapi-journal SDVISOR_SOURCE=app \
    SDVISOR_STREAM=stdout PRIORITY=6 DEPLOYMENT=container-test
entry_check "the app's logging line (stderr) is an entry at its own level, INFO (6)" \
    "MESSAGE=~echo stderr: $mark" SYSLOG_IDENTIFIER=fastapi-journal SDVISOR_SOURCE=app \
    SDVISOR_STREAM=stderr PRIORITY=6 DEPLOYMENT=container-test
entry_check "sdvisor's own messages arrive as entries with their MESSAGE_ID" \
    SYSLOG_IDENTIFIER=sdvisor MESSAGE_ID=b10f3ce08b4f4e4d9249d2559fa95ff2
bad=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if "error" in json.loads(l)))' "$jlog")
is "every datagram is in the native protocol (parse errors)" "$bad" 0
if grep -q "echo stdout: $mark" "$WORK/journal/out" "$WORK/journal/err"; then
    not_ok "the app's lines went to the journal, not (also) to conmon's pipe"
else
    ok "the app's lines went to the journal, not (also) to conmon's pipe"
fi

podman stop -t 20 "$(ct_name journal)" > /dev/null 2>&1
ct_wait journal 30
is "the container exits 0 after podman stop" "$CT_RC" 0
entry_check "sdvisor's stop message arrives too" \
    SYSLOG_IDENTIFIER=sdvisor MESSAGE_ID=a13ce7b51caf409db79dab25fa335a02
[ "$_failed" = 0 ] || show_output journal
finish

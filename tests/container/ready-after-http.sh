#!/bin/bash
# ready-after-http.sh — READY=1 reaches the NOTIFY_SOCKET given to podman only once the
# app inside answers HTTP: sdvisor (PID 1) waits for its [ready] check before it says
# READY=1, and conmon relays it.
#
# 1. The FastAPI app starts 2 s late (a shell sleeps first), so a READY=1 sent at spawn,
#    or on the port being bound rather than answering, arrives while /health still
#    fails. At the moment READY=1 arrives the test asks /health once: it must answer.
# 2. An app that first says STATUS=… with the words "READY=1" in the text (through
#    sdvisor's notify proxy), then serves 2 s later. conmon 2.1.6 turns any datagram
#    containing "READY=1" into READY=1 (docs/containers.md), so if sdvisor passed that
#    text on as it is, podman's socket would hear READY=1 before the app answers.
. "$(dirname "$0")/lib.sh"
ct_require fastapi uvicorn

# ready_case NAME DESCRIPTION: NAME's config is written; start it and check READY.
ready_case() {
    local name=$1 what=$2 t0 t_ready code secs n
    ct_notify "$name"
    t0=$(mono_now)
    ct_start "$name" --
    if t_ready=$(notify_wait 40 '^READY=1$'); then
        # Right away, before anything else: the answer must already be there.
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health")
        is "$what: when READY=1 arrives, the app answers 200" "$code" 200
        secs=$(elapsed "$t0" "$t_ready")
        if lt 2 "$secs"; then
            ok "$what: READY=1 came after the app's 2 s start delay (${secs} s after podman run)"
        else
            not_ok "$what: READY=1 came after the app's 2 s start delay (${secs} s after podman run)"
        fi
    else
        not_ok "$what: READY=1 reaches podman's NOTIFY_SOCKET within 40 s"
    fi
    n=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["data"] == "READY=1"))' "$NOTIFY_LOG")
    is "$what: READY=1 arrives once" "$n" 1
    podman stop -t 20 "$(ct_name "$name")" > /dev/null 2>&1
    ct_wait "$name" 30
    is "$what: the container exits 0 after podman stop" "$CT_RC" 0
    [ "$_failed" = 0 ] || show_output "$name"
}

port=$(free_port)
ct_http_app fastapi fastapi-ready "$port" 10s "/bin/sh -c 'sleep 2; exec $(fastapi_exec "$port")'" interval=100ms
ready_case fastapi "FastAPI, 2 s late"

port=$(free_port)
ct_http_app status status-ready "$port" 10s "/usr/bin/python3 $C_CT/ctlib.py status-then-serve $port 2" interval=100ms
ready_case status "an app whose STATUS= text says READY=1"
finish

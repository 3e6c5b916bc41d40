#!/bin/sh
# A quiet app that takes any number of reloads (SIGHUP) and stops on SIGTERM
# (test-faults.c). It creates $SVTEST_DIR/app.ready for a [ready] file: check.
echo "$$" > "$SVTEST_DIR/app.pid"
trap ':' HUP
trap 'exit 0' TERM
: > "$SVTEST_DIR/app.ready"
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

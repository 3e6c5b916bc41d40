#!/bin/sh
# Ignores SIGTERM: only the stop deadline's SIGKILL ends it.
trap '' TERM
echo ready > "$SVTEST_DIR/app.ready"
while :; do sleep 0.05; done

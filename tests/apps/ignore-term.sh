#!/bin/sh
# Ignores SIGTERM: only the stop deadline's SIGKILL ends it.
trap '' TERM
echo ready > "$SVTEST_DIR/app.ready"
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

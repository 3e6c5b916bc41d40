#!/bin/sh
# Runs until a signal ends it; writes its environment for the test to read.
env > "$SVTEST_DIR/app.env"
echo "$$" > "$SVTEST_DIR/app.pid"
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

#!/bin/sh
# Closes its stdout early and goes on living, writing to stderr (test-faults.c):
# sdvisor's reader of the stdout pipe sees EOF while the app still runs.
echo "stdout before close"
exec 1>&-
echo "$$" > "$SVTEST_DIR/app.pid"
trap 'exit 0' TERM
i=0
while [ -d "$SVTEST_DIR" ]; do
  i=$((i + 1))
  echo "stderr tick $i" >&2
  sleep 0.05
done

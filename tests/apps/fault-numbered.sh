#!/bin/sh
# Prints "numbered 0" … "numbered $1-1" (default 300) on stdout, one every 10 ms, then
# lives on quietly (test-faults.c: every line must reach the console or the journal).
n=${1:-300}
trap 'exit 0' TERM
i=0
while [ "$i" -lt "$n" ]; do
  echo "numbered $i"
  i=$((i + 1))
  sleep 0.01
done
: > "$SVTEST_DIR/app.done"
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

#!/bin/sh
# Leaves an orphan behind: a shell starts it in the background and exits at once, so it
# is re-parented to whoever reaps orphans (sdvisor as subreaper, or as PID 1). Once
# re-parented the orphan writes "PID PPID" (as its PID namespace sees them) to
# $SVTEST_DIR/orphan, then exits when the test creates $SVTEST_DIR/orphan.go (or after
# 20 s), so the test can find it alive first and then watch it go.
orphan='
  while set -- $(cat /proc/$$/stat) && [ "$4" = "$0" ]; do sleep 0.01; done
  echo "$$ $4" > "$SVTEST_DIR/orphan.tmp" && mv "$SVTEST_DIR/orphan.tmp" "$SVTEST_DIR/orphan"
  i=0
  while [ ! -e "$SVTEST_DIR/orphan.go" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
'
# $$ in the middle shell is its own pid: the orphan waits until that is no longer its parent.
sh -c 'sh -c "$0" $$ &' "$orphan"
echo ready > "$SVTEST_DIR/app.ready"
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

#!/bin/sh
# A wrapper shell, as `sh -c '…; echo after'` is, with a child that behaves as TREE_MODE
# says (test-tree.c). The child writes its pid to gc.pid; every loop ends when the test's
# directory goes, so nothing outlives a failed test for long.
d="$SVTEST_DIR"
case "$TREE_MODE" in
cleanup) # needs a second of cleanup after SIGTERM
  sh -c 'trap "sleep 1; echo done > \"$SVTEST_DIR/gc.cleanup\"; exit 0" TERM
         echo $$ > "$SVTEST_DIR/gc.pid"
         while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done' &
  ;;
stubborn) # ignores SIGTERM; in a session of its own, out of the wrapper's process group
  setsid sh -c 'trap "" TERM
                echo $$ > "$SVTEST_DIR/gc.pid"
                while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done' &
  ;;
daemon) # setsid + double fork: a daemon re-parented to sdvisor, in a session of its own
  setsid sh -c '(while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done) &
                echo $! > "$SVTEST_DIR/gc.pid"'
  # and the app proper, which the wrapper waits for
  sh -c 'while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done' &
  ;;
leave) # the app exits on its own and leaves a child that says how it was stopped
  sh -c 'trap "echo TERM > \"$SVTEST_DIR/gc.signal\"; exit 0" TERM
         echo $$ > "$SVTEST_DIR/gc.pid"
         while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done' &
  while [ ! -s "$d/gc.pid" ]; do sleep 0.02; done
  exit 3
  ;;
esac
while [ ! -s "$d/gc.pid" ]; do sleep 0.02; done
echo $$ > "$d/app.pid"
# SIGTERM here ends the shell at once, as it ends any wrapper shell.
wait
echo after

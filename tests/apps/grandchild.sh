#!/bin/sh
# A grandchild in the app's process group that records the SIGTERM and SIGUSR1 it gets.
# The app itself survives SIGUSR1 without passing it on: what reaches the grandchild was
# sent to the whole group. (Its traps are set first: the grandchild's readiness is the
# test's cue. exec resets them in the grandchild.)
trap 'wait; exit 0' TERM
trap ':' USR1
sh -c 'trap "echo TERM > \"$SVTEST_DIR/grandchild.term\"; exit 0" TERM
       trap "echo USR1 >> \"$SVTEST_DIR/grandchild.usr1\"" USR1
       echo started > "$SVTEST_DIR/grandchild.ready"
       while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done' &
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

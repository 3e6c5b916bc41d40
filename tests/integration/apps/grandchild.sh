#!/bin/sh
# A grandchild in the app's process group that records the SIGTERM it gets.
sh -c 'trap "echo TERM > \"$SVTEST_DIR/grandchild.term\"; exit 0" TERM
       echo started > "$SVTEST_DIR/grandchild.ready"
       while :; do sleep 0.05; done' &
trap 'wait; exit 0' TERM
while :; do sleep 0.05; done

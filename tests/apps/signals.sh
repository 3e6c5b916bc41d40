#!/bin/sh
# Records every forwardable signal it gets, one line each.
for sig in USR1 USR2 HUP WINCH; do
  trap "echo $sig >> \"\$SVTEST_DIR/signals\"" $sig
done
echo ready > "$SVTEST_DIR/app.ready"
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

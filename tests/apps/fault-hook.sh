#!/bin/sh
# A hook for test-faults.c: logs "EVENT start" and "EVENT end" to $SVTEST_DIR/events;
# with HOOK_CUE set, tells the app to exit (fault-exit-on-cue.sh) and waits until it
# has, then sleeps $HOOK_SLEEP more: the app is gone while this hook still runs.
echo "$SDVISOR_EVENT start" >> "$SVTEST_DIR/events"
if [ -n "$HOOK_CUE" ]; then
  : > "$SVTEST_DIR/app.exit"
  n=0
  while ! grep -q "^app exit" "$SVTEST_DIR/events" && [ "$n" -lt 250 ]; do
    sleep 0.02
    n=$((n + 1))
  done
fi
if [ -n "$HOOK_SLEEP" ]; then sleep "$HOOK_SLEEP"; fi
echo "$SDVISOR_EVENT end" >> "$SVTEST_DIR/events"
exit 0

#!/bin/sh
# An app that exits with $APP_EXIT_CODE (default 3) as soon as $SVTEST_DIR/app.exit
# exists — the cue a hook gives (fault-hook.sh) — so it exits while that hook runs.
# Logs "app start" and "app exit" to $SVTEST_DIR/events; a SIGTERM ends it with 0.
echo "app start" >> "$SVTEST_DIR/events"
echo "$$" > "$SVTEST_DIR/app.pid"
trap 'echo "app term" >> "$SVTEST_DIR/events"; exit 0' TERM
while [ ! -e "$SVTEST_DIR/app.exit" ]; do sleep 0.02; done
echo "app exit" >> "$SVTEST_DIR/events"
exit "${APP_EXIT_CODE:-3}"

#!/bin/sh
# Leaves an orphan behind: the subshell exits at once, its child is re-parented to
# whoever reaps orphans (sdvisor as subreaper, or as PID 1) and exits a moment later.
(sleep 0.2 &)
echo ready > "$SVTEST_DIR/app.ready"
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

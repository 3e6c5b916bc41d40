#!/bin/sh
# Forks $1 (default 1000) short-lived children, then lives on (test-faults.c). Half
# are its own, which it waits for; half are orphans (their parent subshell exits at
# once), which the nearest subreaper — sdvisor — must reap. Each child prints one
# line "fork-child own|orphan N" on stdout: many writers sharing one pipe.
n=${1:-1000}
i=0
while [ "$i" -lt "$n" ]; do
  echo "fork-child own $i" &
  i=$((i + 1))
  (echo "fork-child orphan $i" &)
  i=$((i + 1))
done
wait
echo "$$" > "$SVTEST_DIR/app.forked"
trap 'exit 0' TERM
while [ -d "$SVTEST_DIR" ]; do sleep 0.05; done

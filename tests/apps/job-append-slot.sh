#!/bin/sh
# A scheduled job for tests/integration/test-jobs.c: appends one line
#   SLOT RUN SDVISOR_PID JOB_PID
# to the file $1 (a short write with O_APPEND: lines from concurrent jobs never mix),
# then sleeps $2 seconds if given. $PPID is the sdvisor that spawned it.
echo "$SDVISOR_JOB_SLOT $SDVISOR_JOB_RUN $PPID $$" >> "$1"
if [ -n "$2" ]; then
  sleep "$2"
fi
exit 0

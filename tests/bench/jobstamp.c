/* jobstamp — the job of the job-lateness benchmark: records how late it started.
 *
 *     jobstamp FILE
 *
 * First thing in main(), reads CLOCK_REALTIME, subtracts the slot sdvisor gives the job
 * in SDVISOR_JOB_SLOT ("YYYY-MM-DDTHH:MM:SS[.fff]Z", UTC) and appends "<µs>\n" to FILE
 * (one O_APPEND write, so concurrent jobs do not interleave). This is the job's own view
 * of its lateness: sdvisor's timer, the once-per-host claim, fork and exec included. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strptime, timegm */
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const char *slot = getenv("SDVISOR_JOB_SLOT");
  if (argc != 2 || slot == NULL)
    return 64;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *rest = strptime(slot, "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == NULL)
    return 65;
  long long slot_us = (long long)timegm(&tm) * 1000000LL;
  if (*rest == '.') {
    long frac = 0, scale = 1000000;
    for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
      scale /= 10;
      frac += (*rest - '0') * scale;
    }
    slot_us += frac;
  }
  long long late = (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000 - slot_us;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%lld\n", late);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, buf, (size_t)n) != n)
    return 71;
  return 0;
}

/* loggen — the app of the log-forwarding benchmark: COUNT lines of exactly 100 bytes.
 *
 *     loggen [--send] COUNT MARKER GO_FILE STAMP_FILE
 *
 * Waits until GO_FILE exists (so whoever measures can read its supervisor's CPU time
 * first), appends "start <CLOCK_REALTIME µs>" to STAMP_FILE, then emits COUNT lines
 * "MARKER NNNNNNNN xxx…" of 99 characters (100 bytes with the newline), then one line
 * "MARKER done", appends "end <µs>" to STAMP_FILE, and sleeps until it is stopped (so a
 * supervisor's CPU time can still be read afterwards).
 *
 * Without --send the lines go to stdout, written in 64 KiB chunks (a pipe to sdvisor,
 * or journald's stdout stream with StandardOutput=journal). With --send each line is
 * one sd_journal_send() with the fields sdvisor gives an app's stdout line: MESSAGE,
 * PRIORITY=6, SYSLOG_IDENTIFIER=loggen, SDVISOR_SOURCE=app, SDVISOR_STREAM=stdout and,
 * as sdvisor does for its children's lines when it runs as root, OBJECT_SYSTEMD_UNIT=
 * (here the program's own unit). Nothing more: SD_JOURNAL_SUPPRESS_LOCATION keeps the
 * macro from adding CODE_FILE, CODE_LINE and CODE_FUNC, three fields sdvisor does not
 * send and journald would have to store and index. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Before the header: see the top of the file. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#include <systemd/sd-login.h>
#include <time.h>
#include <unistd.h>

#define LINE_BYTES 100

static long long
realtime_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void
stamp(const char *path, const char *what)
{
  char buf[64];
  int n = snprintf(buf, sizeof buf, "%s %lld\n", what, realtime_us());
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, buf, (size_t)n) != n) {
    perror(path);
    exit(71);
  }
  close(fd);
}

static void
write_all(const char *p, size_t len)
{
  while (len > 0) {
    ssize_t w = write(STDOUT_FILENO, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      perror("write");
      exit(74);
    }
    p += w;
    len -= (size_t)w;
  }
}

int
main(int argc, char **argv)
{
  int send = argc > 1 && strcmp(argv[1], "--send") == 0;
  if (argc != 5 + send) {
    fprintf(stderr, "usage: loggen [--send] COUNT MARKER GO_FILE STAMP_FILE\n");
    return 64;
  }
  long count = atol(argv[1 + send]);
  const char *marker = argv[2 + send], *go = argv[3 + send], *stamps = argv[4 + send];
  if (strlen(marker) > 40) {
    fprintf(stderr, "loggen: marker too long\n");
    return 64;
  }
  while (access(go, F_OK) < 0) {
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
  }
  stamp(stamps, "start");

  char *unit = NULL;
  if (send && sd_pid_get_unit(0, &unit) < 0)
    unit = NULL;
  char unit_field[256];
  snprintf(unit_field, sizeof unit_field, "OBJECT_SYSTEMD_UNIT=%s", unit ? unit : "");

  static char chunk[64 * 1024];
  size_t used = 0;
  char line[LINE_BYTES + 1];
  for (long i = 0; i < count; i++) {
    int n = snprintf(line, sizeof line, "%s %08ld ", marker, i);
    memset(line + n, 'x', LINE_BYTES - 1 - (size_t)n);
    line[LINE_BYTES - 1] = '\n';
    line[LINE_BYTES] = '\0';
    if (send) {
      line[LINE_BYTES - 1] = '\0';
      int r = sd_journal_send("MESSAGE=%s", line, "PRIORITY=6", "SYSLOG_IDENTIFIER=loggen",
                              "SDVISOR_SOURCE=app", "SDVISOR_STREAM=stdout", unit_field, NULL);
      if (r < 0) {
        fprintf(stderr, "sd_journal_send: %s\n", strerror(-r));
        return 74;
      }
      continue;
    }
    if (used + LINE_BYTES > sizeof chunk) {
      write_all(chunk, used);
      used = 0;
    }
    memcpy(chunk + used, line, LINE_BYTES);
    used += LINE_BYTES;
  }
  if (send) {
    char done[64];
    snprintf(done, sizeof done, "%s done", marker);
    sd_journal_send("MESSAGE=%s", done, "PRIORITY=6", "SYSLOG_IDENTIFIER=loggen",
                    "SDVISOR_SOURCE=app", "SDVISOR_STREAM=stdout", unit_field, NULL);
  } else {
    used += (size_t)snprintf(chunk + used, sizeof chunk - used, "%s done\n", marker);
    write_all(chunk, used);
  }
  stamp(stamps, "end");
  free(unit);
  for (;;)
    pause();
}

/* notify.c — sd_notify to sdvisor's own service manager. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <systemd/sd-daemon.h>
#include <string.h>
#include <time.h>

static struct {
  gboolean enabled;
  gint64 watchdog_usec;
} notify;

void
sv_notify_init(void)
{
  notify.enabled = g_getenv("NOTIFY_SOCKET") != NULL;
  /* sd_watchdog_enabled() checks WATCHDOG_PID against our pid, so a value inherited
   * by mistake from a parent is ignored (systemd#25961). 0 leaves the environment as
   * it is: libsystemd reads NOTIFY_SOCKET at every call, and spawn.c keeps these
   * variables away from every child instead. */
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0)
    notify.watchdog_usec = (gint64)usec;
}

gboolean
sv_notify_enabled(void)
{
  return notify.enabled;
}

gint64
sv_notify_watchdog_usec(void)
{
  return notify.watchdog_usec;
}

int
sv_notify_raw(const char *text, const int *fds, guint n_fds)
{
  if (!notify.enabled)
    return 0;
  int r = sd_pid_notify_with_fds(0, 0, text, fds, n_fds);
  if (r < 0)
    g_debug("sd_notify(%s): %s", text, g_strerror(-r));
  return r;
}

/* STATUS= is one line: anything after a newline would be read as another assignment.
 * And conmon (podman --sdnotify=container) relays READY=1 or WATCHDOG=1 when the text
 * appears anywhere in a datagram, so a status that quotes them must not spell them
 * (tests/container/ready-after-http.sh). */
static char *
status_line(const char *status)
{
  char *line = g_strdup(status);
  g_strdelimit(line, "\n\r", ' ');
  static const char *const words[] = {"READY=", "WATCHDOG="};
  for (gsize i = 0; i < G_N_ELEMENTS(words); i++)
    for (char *p = strstr(line, words[i]); p != NULL; p = strstr(p, words[i]))
      p[strlen(words[i]) - 1] = ' ';
  return line;
}

char *
sv_notify_status_text(const char *status)
{
  return status_line(status);
}

void
sv_notify_ready(const char *status)
{
  g_autofree char *line = status ? status_line(status) : NULL;
  g_autofree char *text = line ? g_strdup_printf("READY=1\nSTATUS=%s", line) : g_strdup("READY=1");
  sv_notify_raw(text, NULL, 0);
}

void
sv_notify_reloading(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  guint64 now = (guint64)ts.tv_sec * G_USEC_PER_SEC + (guint64)ts.tv_nsec / 1000;
  g_autofree char *text =
      g_strdup_printf("RELOADING=1\nMONOTONIC_USEC=%" G_GUINT64_FORMAT "\nSTATUS=reloading", now);
  sv_notify_raw(text, NULL, 0);
}

void
sv_notify_stopping(const char *status)
{
  g_autofree char *line = status ? status_line(status) : NULL;
  g_autofree char *text =
      line ? g_strdup_printf("STOPPING=1\nSTATUS=%s", line) : g_strdup("STOPPING=1");
  sv_notify_raw(text, NULL, 0);
}

void
sv_notify_status(const char *format, ...)
{
  if (!notify.enabled)
    return;
  va_list ap;
  va_start(ap, format);
  g_autofree char *status = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_autofree char *line = status_line(status);
  g_autofree char *text = g_strconcat("STATUS=", line, NULL);
  sv_notify_raw(text, NULL, 0);
}

void
sv_notify_watchdog(void)
{
  sv_notify_raw("WATCHDOG=1", NULL, 0);
}

void
sv_notify_watchdog_trigger(void)
{
  sv_notify_raw("WATCHDOG=trigger", NULL, 0);
}

void
sv_notify_extend_timeout(gint64 usec)
{
  if (usec <= 0)
    return;
  g_autofree char *text = g_strdup_printf("EXTEND_TIMEOUT_USEC=%" G_GINT64_FORMAT, usec);
  sv_notify_raw(text, NULL, 0);
}

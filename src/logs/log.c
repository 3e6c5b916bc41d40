/* log.c — the writer for sdvisor's own messages. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define SV_LOG_MAX_FIELDS 16

static struct {
  SvLogTarget target;
  gboolean console_prefix; /* "<N>" before each line: stderr is read by a log collector */
  char *identifier;
  int max_priority;
  SvLogWriteFunc write_func; /* atomic */
  gpointer write_data;
} logger = {.target = SV_LOG_TARGET_CONSOLE, .max_priority = LOG_INFO};

/* stderr is the journal when JOURNAL_STREAM names its device and inode (systemd sets it
 * for StandardError=journal). */
static gboolean
stderr_is_journal(void)
{
  const char *stream = g_getenv("JOURNAL_STREAM");
  if (stream == NULL)
    return FALSE;
  unsigned long long dev, ino;
  if (sscanf(stream, "%llu:%llu", &dev, &ino) != 2)
    return FALSE;
  struct stat st;
  if (fstat(STDERR_FILENO, &st) < 0)
    return FALSE;
  return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

gboolean
sv_log_journal_reachable(void)
{
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_strlcpy(sa.sun_path, "/run/systemd/journal/socket", sizeof sa.sun_path);
  gboolean ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return ok;
}

static int
glib_level_to_priority(GLogLevelFlags level)
{
  switch (level & G_LOG_LEVEL_MASK) {
  case G_LOG_LEVEL_ERROR:
    return LOG_CRIT;
  case G_LOG_LEVEL_CRITICAL:
    return LOG_ERR;
  case G_LOG_LEVEL_WARNING:
    return LOG_WARNING;
  case G_LOG_LEVEL_MESSAGE:
    return LOG_NOTICE;
  case G_LOG_LEVEL_INFO:
    return LOG_INFO;
  default:
    return LOG_DEBUG;
  }
}

static void
write_entry(int priority, const char *message_id, const char *const *fields, const char *message)
{
  if (priority > logger.max_priority)
    return;

  SvLogWriteFunc func = (SvLogWriteFunc)g_atomic_pointer_get(&logger.write_func);
  if (func != NULL) {
    func(priority, message_id, fields, message, logger.write_data);
    return;
  }

  if (logger.target == SV_LOG_TARGET_JOURNAL) {
    struct iovec iov[SV_LOG_MAX_FIELDS + 6];
    g_autofree char *msg = g_strconcat("MESSAGE=", message, NULL);
    char prio[16];
    g_snprintf(prio, sizeof prio, "PRIORITY=%d", priority);
    g_autofree char *ident = g_strconcat("SYSLOG_IDENTIFIER=", logger.identifier, NULL);
    g_autofree char *mid = message_id ? g_strconcat("MESSAGE_ID=", message_id, NULL) : NULL;
    int n = 0;
    iov[n++] = (struct iovec){msg, strlen(msg)};
    iov[n++] = (struct iovec){prio, strlen(prio)};
    iov[n++] = (struct iovec){ident, strlen(ident)};
    iov[n++] = (struct iovec){(char *)"SDVISOR_SOURCE=sdvisor", strlen("SDVISOR_SOURCE=sdvisor")};
    if (mid != NULL)
      iov[n++] = (struct iovec){mid, strlen(mid)};
    for (int i = 0; fields != NULL && fields[i] != NULL && i < SV_LOG_MAX_FIELDS; i++)
      iov[n++] = (struct iovec){(char *)fields[i], strlen(fields[i])};
    if (sd_journal_sendv(iov, n) >= 0)
      return;
    /* journald went away: fall through to stderr rather than lose the message. */
  }

  g_autofree char *line =
      logger.console_prefix ? g_strdup_printf("<%d>%s: %s\n", priority, logger.identifier, message)
                            : g_strdup_printf("%s: %s\n", logger.identifier, message);
  /* One write() per message: lines from several threads never interleave. */
  gsize len = strlen(line);
  const char *p = line;
  while (len > 0) {
    ssize_t w = write(STDERR_FILENO, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    p += w;
    len -= (gsize)w;
  }
}

static GLogWriterOutput
glib_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal(fields[i].key, "MESSAGE") && fields[i].length < 0)
      message = fields[i].value;
  if (message == NULL)
    return G_LOG_WRITER_UNHANDLED;
  int priority = glib_level_to_priority(level);
  /* G_DEBUG=fatal-warnings is honoured by GLib after we return. */
  write_entry(priority, NULL, NULL, message);
  return G_LOG_WRITER_HANDLED;
}

void
sv_log_init(SvLogTarget target, const char *identifier)
{
  g_free(logger.identifier);
  logger.identifier = g_strdup(identifier ? identifier : "sdvisor");

  if (target == SV_LOG_TARGET_AUTO) {
    /* A person at a terminal reads sdvisor's messages there; a service manager or a
     * container runtime reading a pipe gets them in the journal if one is reachable. */
    if (stderr_is_journal())
      target = SV_LOG_TARGET_JOURNAL;
    else if (!isatty(STDERR_FILENO) && sv_log_journal_reachable())
      target = SV_LOG_TARGET_JOURNAL;
    else
      target = SV_LOG_TARGET_CONSOLE;
  }
  logger.target = target;
  logger.console_prefix = !isatty(STDERR_FILENO);

  const char *debug = g_getenv("SDVISOR_DEBUG");
  if (debug != NULL && g_str_equal(debug, "1"))
    logger.max_priority = LOG_DEBUG;

  static gsize installed = 0;
  if (g_once_init_enter(&installed)) {
    g_log_set_writer_func(glib_writer, NULL, NULL);
    g_once_init_leave(&installed, 1);
  }
}

void
sv_log_set_write_func(SvLogWriteFunc func, gpointer user_data)
{
  if (func != NULL)
    logger.write_data = user_data;
  g_atomic_pointer_set(&logger.write_func, func);
}

SvLogTarget
sv_log_get_target(void)
{
  return logger.target;
}

void
sv_log_set_max_priority(int priority)
{
  logger.max_priority = CLAMP(priority, LOG_EMERG, LOG_DEBUG);
}

void
sv_log_full(int priority, const char *message_id, const char *const *fields, const char *format,
            ...)
{
  if (priority > logger.max_priority)
    return;
  if (logger.identifier == NULL)
    logger.identifier = g_strdup("sdvisor");
  va_list ap;
  va_start(ap, format);
  g_autofree char *message = g_strdup_vprintf(format, ap);
  va_end(ap);
  write_entry(priority, message_id, fields, message);
}

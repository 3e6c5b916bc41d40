/* control-client.c — see the header. */
#include "control-client.h"

#include <errno.h>
#include <gio/gio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A status of a thousand jobs is about 300 KiB. */
#define MAX_REPLY (16 * 1024 * 1024)

char *
sv_control_client_instance_path(const char *name)
{
  if (strchr(name, '/') != NULL) {
    if (g_file_test(name, G_FILE_TEST_IS_DIR))
      return g_build_filename(name, "control", NULL);
    return g_strdup(name);
  }
  if (getuid() != 0) {
    const char *xdg = g_getenv("XDG_RUNTIME_DIR");
    if (xdg != NULL && *xdg == '/') {
      g_autofree char *user = g_build_filename(xdg, "sdvisor", name, "control", NULL);
      if (g_file_test(user, G_FILE_TEST_EXISTS))
        return g_steal_pointer(&user);
    }
  }
  return g_build_filename("/run/sdvisor", name, "control", NULL);
}

static gboolean
io_error(GError **error, int errsv, const char *path, const char *what)
{
  g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s: %s", path, what,
              g_strerror(errsv));
  return FALSE;
}

JsonObject *
sv_control_client_call(const char *path, const SvControlRequest *request, guint timeout_ms,
                       GError **error)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  gsize len = strlen(path);
  if (len >= sizeof sa.sun_path) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG, "%s: path too long", path);
    return NULL;
  }
  memcpy(sa.sun_path, path, len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    io_error(error, errno, path, "socket");
    return NULL;
  }
  if (connect(fd, (struct sockaddr *)&sa,
              (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)) < 0) {
    int errsv = errno;
    (void)close(fd);
    io_error(error, errsv, path,
             errsv == ENOENT || errsv == ECONNREFUSED ? "no sdvisor is listening (not running?)"
                                                      : "cannot connect");
    return NULL;
  }
  g_autofree char *line = sv_control_request_format(request);
  gsize done = 0, total = strlen(line);
  while (done < total) {
    ssize_t n = send(fd, line + done, total - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    /* Closed early: sdvisor refused the connection, and its reply says why. */
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
      break;
    if (n < 0) {
      int errsv = errno;
      (void)close(fd);
      io_error(error, errsv, path, "send");
      return NULL;
    }
    done += (gsize)n;
  }

  g_autoptr(GByteArray) reply = g_byte_array_new();
  gint64 deadline = timeout_ms ? g_get_monotonic_time() + (gint64)timeout_ms * 1000 : 0;
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int wait = -1;
    if (deadline) {
      gint64 left = deadline - g_get_monotonic_time();
      if (left <= 0) {
        (void)close(fd);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s: no reply within %u ms", path,
                    timeout_ms);
        return NULL;
      }
      wait = (int)MIN(left / 1000 + 1, G_MAXINT);
    }
    int r = poll(&pfd, 1, wait);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      continue;
    guint8 buf[4096];
    ssize_t n = r < 0 ? -1 : recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int errsv = errno;
      (void)close(fd);
      io_error(error, errsv, path, "receive");
      return NULL;
    }
    if (n == 0)
      break;
    g_byte_array_append(reply, buf, (guint)n);
    if (reply->len > MAX_REPLY) {
      (void)close(fd);
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "%s: reply too large", path);
      return NULL;
    }
    if (memchr(buf, '\n', (gsize)n) != NULL)
      break;
  }
  (void)close(fd);
  gsize rlen = reply->len;
  const char *data = (const char *)reply->data;
  const char *nl = memchr(data, '\n', rlen);
  if (nl != NULL)
    rlen = (gsize)(nl - data);
  if (rlen == 0) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                "%s: sdvisor closed the connection without a reply (stopping?)", path);
    return NULL;
  }
  return sv_control_reply_parse(data, rlen, error);
}

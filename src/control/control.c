/* control.c — the control socket's server on the main loop (see the header). */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

typedef struct SvClient SvClient;

struct SvControl {
  char *path;
  ino_t ino; /* the socket file bound, removed at the end only if it is still this one */
  int fd;
  guint source;
  GList *clients; /* SvClient*, each holding a reference */
  guint n_clients;
  SvControlFunc func;
  gpointer user_data;
};

struct SvClient {
  grefcount ref;
  SvControl *control; /* NULL once closed */
  int fd;
  guint io_source;
  guint timeout_source;
  struct ucred cred;
  GByteArray *in;
  gboolean called; /* the request went to the handler */
  char *out;       /* the reply being written */
  gsize out_len, out_done;
};

struct SvControlCall {
  SvClient *client;
};

static SvClient *
client_ref(SvClient *client)
{
  g_ref_count_inc(&client->ref);
  return client;
}

static void
client_unref(SvClient *client)
{
  if (!g_ref_count_dec(&client->ref))
    return;
  g_byte_array_unref(client->in);
  g_free(client->out);
  g_free(client);
}

static void
client_close(SvClient *client)
{
  SvControl *control = client->control;
  if (control == NULL)
    return;
  client->control = NULL;
  g_clear_handle_id(&client->io_source, g_source_remove);
  g_clear_handle_id(&client->timeout_source, g_source_remove);
  (void)close(client->fd);
  client->fd = -1;
  control->clients = g_list_remove(control->clients, client);
  control->n_clients--;
  client_unref(client);
}

static gboolean on_client_io(int fd, GIOCondition condition, gpointer user_data);

static gboolean
on_client_timeout(gpointer user_data)
{
  SvClient *client = user_data;
  client->timeout_source = 0;
  sv_log(LOG_NOTICE, "control: dropping a client (pid %d) that took longer than %ds",
         (int)client->cred.pid, (int)(SV_CONTROL_CLIENT_TIMEOUT_USEC / G_USEC_PER_SEC));
  client_close(client);
  return G_SOURCE_REMOVE;
}

static void
client_arm_timeout(SvClient *client)
{
  g_clear_handle_id(&client->timeout_source, g_source_remove);
  client->timeout_source =
      g_timeout_add((guint)(SV_CONTROL_CLIENT_TIMEOUT_USEC / 1000), on_client_timeout, client);
}

/* Writes what it can of the reply; FALSE once the client is closed. */
static gboolean
client_flush(SvClient *client)
{
  while (client->out_done < client->out_len) {
    ssize_t n = send(client->fd, client->out + client->out_done, client->out_len - client->out_done,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return TRUE;
    if (n <= 0) {
      client_close(client);
      return FALSE;
    }
    client->out_done += (gsize)n;
  }
  client_close(client);
  return FALSE;
}

/* Starts sending TEXT (taken) and waits for the socket to take it, within the timeout. */
static void
client_send(SvClient *client, char *text)
{
  if (client->control == NULL || client->out != NULL) {
    g_free(text);
    return;
  }
  client->out = text;
  client->out_len = strlen(text);
  client->out_done = 0;
  /* The time to read the reply counts from now, not from the request. */
  client_arm_timeout(client);
  if (!client_flush(client))
    return;
  g_clear_handle_id(&client->io_source, g_source_remove);
  client->io_source = g_unix_fd_add(client->fd, G_IO_OUT, on_client_io, client);
}

static void
client_send_error(SvClient *client, SvControlError code, const char *message)
{
  g_autoptr(GError) error = g_error_new_literal(SV_CONTROL_ERROR, code, message);
  client_send(client, sv_control_reply_error(error));
}

static void
client_dispatch(SvClient *client, const char *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvControlRequest) request = sv_control_request_parse(data, len, &error);
  /* No more reading: one request per connection. */
  g_clear_handle_id(&client->io_source, g_source_remove);
  if (request == NULL) {
    sv_log(LOG_NOTICE, "control: bad request from pid %d: %s", (int)client->cred.pid,
           error->message);
    client_send(client, sv_control_reply_error(error));
    return;
  }
  client->called = TRUE;
  /* The client waits as long as the work takes (a reload, a job run): no timeout now. */
  g_clear_handle_id(&client->timeout_source, g_source_remove);
  SvControlCall *call = g_new0(SvControlCall, 1);
  call->client = client_ref(client);
  SvControl *control = client->control;
  control->func(call, request, control->user_data);
}

static gboolean
on_client_io(int fd, GIOCondition condition, gpointer user_data)
{
  SvClient *client = user_data;
  if (client->out != NULL) {
    if (client_flush(client))
      return G_SOURCE_CONTINUE;
    return G_SOURCE_REMOVE; /* closed: its source id is already cleared */
  }

  guint8 buf[1024];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return G_SOURCE_CONTINUE;
    if (n < 0) {
      client_close(client);
      return G_SOURCE_REMOVE;
    }
    if (n == 0) {
      /* The client shut its side: what came is the request. */
      client->io_source = 0;
      client_dispatch(client, (const char *)client->in->data, client->in->len);
      return G_SOURCE_REMOVE;
    }
    const guint8 *nl = memchr(buf, '\n', (gsize)n);
    g_byte_array_append(client->in, buf, nl ? (guint)(nl - buf) : (guint)n);
    if (client->in->len > SV_CONTROL_MAX_REQUEST) {
      client->io_source = 0;
      g_autofree char *msg =
          g_strdup_printf("the request is longer than %d bytes", SV_CONTROL_MAX_REQUEST);
      sv_log(LOG_NOTICE, "control: bad request from pid %d: %s", (int)client->cred.pid, msg);
      client_send_error(client, SV_CONTROL_ERROR_TOO_LARGE, msg);
      return G_SOURCE_REMOVE;
    }
    if (nl != NULL) {
      client->io_source = 0;
      client_dispatch(client, (const char *)client->in->data, client->in->len);
      return G_SOURCE_REMOVE;
    }
  }
}

static gboolean
on_accept(int fd, GIOCondition condition, gpointer user_data)
{
  SvControl *control = user_data;
  for (;;) {
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        sv_log(LOG_WARNING, "control: accept: %s", g_strerror(errno));
      return G_SOURCE_CONTINUE;
    }
    SvClient *client = g_new0(SvClient, 1);
    g_ref_count_init(&client->ref);
    client->fd = cfd;
    client->control = control;
    client->in = g_byte_array_new();
    socklen_t len = sizeof client->cred;
    control->clients = g_list_prepend(control->clients, client);
    control->n_clients++;

    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &client->cred, &len) < 0) {
      client->cred.pid = 0;
      client->cred.uid = (uid_t)-1;
    }
    if (client->cred.uid != 0 && client->cred.uid != getuid()) {
      sv_log(LOG_WARNING,
             "control: refused a connection from pid %d (uid %u): only root and uid "
             "%u may control this sdvisor",
             (int)client->cred.pid, (unsigned)client->cred.uid, (unsigned)getuid());
      client_send_error(client, SV_CONTROL_ERROR_ACCESS,
                        "access denied: only root and sdvisor's own user may use this socket");
      continue;
    }
    if (control->n_clients > SV_CONTROL_MAX_CLIENTS) {
      client_send_error(client, SV_CONTROL_ERROR_BUSY, "too many connections; try again");
      continue;
    }
    client->io_source = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client_io, client);
    client_arm_timeout(client);
  }
}

/* ---- setting up -------------------------------------------------------------------- */

char *
sv_control_socket_path(const char *app_name, char *const *env)
{
  const char *runtime = g_environ_getenv((char **)env, "RUNTIME_DIRECTORY");
  if (runtime != NULL && *runtime != '\0') {
    /* Several directories: systemd separates them with ':'; the first is ours. */
    g_autofree char *first = g_strndup(runtime, strcspn(runtime, ":"));
    return g_build_filename(first, "control", NULL);
  }
  if (app_name == NULL || *app_name == '\0' || strchr(app_name, '/') != NULL)
    return NULL;
  if (getuid() == 0)
    return g_build_filename("/run/sdvisor", app_name, "control", NULL);
  const char *xdg = g_environ_getenv((char **)env, "XDG_RUNTIME_DIR");
  if (xdg != NULL && *xdg == '/')
    return g_build_filename(xdg, "sdvisor", app_name, "control", NULL);
  return NULL;
}

/* Is someone answering at SA? (Then it is not stale.) */
static gboolean
socket_alive(const struct sockaddr_un *sa, socklen_t sa_len)
{
  /* Non-blocking: a live server with a full backlog answers EAGAIN rather than making
   * this wait. */
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return FALSE;
  gboolean alive = connect(fd, (const struct sockaddr *)sa, sa_len) == 0 || errno == EAGAIN;
  (void)close(fd);
  return alive;
}

SvControl *
sv_control_new(const char *path, SvControlFunc func, gpointer user_data, GError **error)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  gsize plen = strlen(path);
  if (plen >= sizeof sa.sun_path) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                "%s: longer than the %zu bytes a unix socket address holds", path,
                sizeof sa.sun_path - 1);
    return NULL;
  }
  memcpy(sa.sun_path, path, plen + 1);
  socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);

  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot create %s: %s", dir,
                g_strerror(errsv));
    return NULL;
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "socket: %s", g_strerror(errsv));
    return NULL;
  }
  /* The mode is the socket inode's at bind() (less the umask): 0600 from the first
   * moment, with no window and no chmod() of a path someone else could swap. */
  (void)fchmod(fd, 0600);
  int r = bind(fd, (struct sockaddr *)&sa, sa_len);
  if (r < 0 && errno == EADDRINUSE) {
    struct stat st;
    if (socket_alive(&sa, sa_len)) {
      (void)close(fd);
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                  "%s: another process (another sdvisor?) serves this socket", path);
      return NULL;
    }
    /* Only a socket is replaced: anything else there is not ours to remove. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
      (void)unlink(path);
    r = bind(fd, (struct sockaddr *)&sa, sa_len);
  }
  if (r < 0 || listen(fd, SV_CONTROL_MAX_CLIENTS) < 0) {
    int errsv = errno;
    (void)close(fd);
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", path, g_strerror(errsv));
    return NULL;
  }

  SvControl *control = g_new0(SvControl, 1);
  struct stat st;
  if (lstat(path, &st) == 0)
    control->ino = st.st_ino;
  control->path = g_strdup(path);
  control->fd = fd;
  control->func = func;
  control->user_data = user_data;
  control->source = g_unix_fd_add(fd, G_IO_IN, on_accept, control);
  return control;
}

const char *
sv_control_get_path(SvControl *control)
{
  return control->path;
}

static void
call_free(SvControlCall *call)
{
  client_unref(call->client);
  g_free(call);
}

void
sv_control_call_reply(SvControlCall *call, JsonObject *members)
{
  if (call->client->control != NULL)
    client_send(call->client, sv_control_reply_ok(members));
  else if (members != NULL)
    json_object_unref(members);
  call_free(call);
}

void
sv_control_call_fail(SvControlCall *call, const GError *error)
{
  if (call->client->control != NULL)
    client_send(call->client, sv_control_reply_error(error));
  call_free(call);
}

pid_t
sv_control_call_get_pid(SvControlCall *call)
{
  return call->client->cred.pid;
}

uid_t
sv_control_call_get_uid(SvControlCall *call)
{
  return call->client->cred.uid;
}

void
sv_control_free(SvControl *control)
{
  if (control == NULL)
    return;
  while (control->clients != NULL)
    client_close(control->clients->data);
  g_clear_handle_id(&control->source, g_source_remove);
  (void)close(control->fd);
  /* Only if it is still the socket we bound (a newer sdvisor may have replaced it). */
  struct stat st;
  if (lstat(control->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == control->ino)
    (void)unlink(control->path);
  g_free(control->path);
  g_free(control);
}

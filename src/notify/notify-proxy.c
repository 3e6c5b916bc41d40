/* notify-proxy.c — the app's private NOTIFY_SOCKET: receive, verify, parse, hand over. */
#include "notify-proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* Bytes queued before senders wait. The count is bounded first, by
 * net.unix.max_dgram_qlen (10 by default, 512 once systemd has booted), and beyond
 * either limit a sender blocks (sd_notify() uses a blocking socket) rather than lose a
 * datagram. 1 MiB holds a burst from every worker of a busy app; only queued data
 * costs memory, so it is free while idle. systemd gives its own socket 8 MiB. */
#define RCVBUF_SIZE (1024 * 1024)
/* Attempts at a random socket name before giving up (a clash means another proxy). */
#define BIND_ATTEMPTS 16

struct SvNotifyProxy {
  int fd;
  char *path;
  char *own_dir; /* the private directory made for the socket, or NULL */
  GSource *source;
  pid_t app_pid;
  pid_t self;

  SvNotifyProxyFunc func;
  SvNotifyProxyRejectFunc reject;
  gpointer user_data;

  guint64 accepted;
  guint64 barriers;
  guint64 dropped;
  guint64 rejected[SV_NOTIFY_PROXY_N_REJECT];

  /* Callbacks may free the proxy; the free then waits until the dispatch unwinds. */
  guint dispatch_depth;
  gboolean free_pending;
};

static const char *const reject_names[SV_NOTIFY_PROXY_N_REJECT] = {
    [SV_NOTIFY_PROXY_REJECT_NO_APP] = "no-app",
    [SV_NOTIFY_PROXY_REJECT_NO_CREDENTIALS] = "no-credentials",
    [SV_NOTIFY_PROXY_REJECT_OUTSIDE_TREE] = "outside-tree",
    [SV_NOTIFY_PROXY_REJECT_SENDER_GONE] = "sender-gone",
    [SV_NOTIFY_PROXY_REJECT_OVERSIZE] = "oversize",
    [SV_NOTIFY_PROXY_REJECT_TOO_MANY_FDS] = "too-many-fds",
    [SV_NOTIFY_PROXY_REJECT_MALFORMED] = "malformed",
    [SV_NOTIFY_PROXY_REJECT_MAINPID] = "mainpid",
    [SV_NOTIFY_PROXY_REJECT_STRAY_FDS] = "stray-fds",
    [SV_NOTIFY_PROXY_REJECT_BAD_BARRIER] = "bad-barrier",
};

const char *
sv_notify_proxy_reject_to_string(SvNotifyProxyReject reason)
{
  g_return_val_if_fail((guint)reason < SV_NOTIFY_PROXY_N_REJECT, NULL);
  return reject_names[reason];
}

/* ---- /proc ------------------------------------------------------------------------ */

/* One space-separated decimal field of /proc/PID/stat, at *P. */
static gboolean
stat_field(const char **p, const char *end, pid_t *out)
{
  const char *s = *p;
  if (s >= end || *s != ' ')
    return FALSE;
  s++;

  gint64 v = 0;
  const char *digits = s;
  while (s < end && g_ascii_isdigit(*s)) {
    v = v * 10 + (*s - '0');
    if (v > G_MAXINT)
      return FALSE;
    s++;
  }
  if (s == digits)
    return FALSE;
  *out = (pid_t)v;
  *p = s;
  return TRUE;
}

int
sv_notify_proxy_parse_proc_stat(const char *text, gsize size, pid_t *out_ppid, pid_t *out_session)
{
  g_return_val_if_fail(text != NULL || size == 0, -EINVAL);

  /* "PID (COMM) STATE PPID PGRP SESSION …": COMM is whatever the process named itself,
   * ')' and spaces included, so the fields start after the *last* ')'. */
  const char *end = text + size;
  const char *close = NULL;
  for (const char *q = text; q < end; q++)
    if (*q == ')')
      close = q;
  if (!close)
    return -EINVAL;

  const char *p = close + 1;
  /* " S": the state, one letter */
  if (end - p < 2 || p[0] != ' ' || !g_ascii_isalpha(p[1]))
    return -EINVAL;
  p += 2;

  pid_t ppid, pgrp, session;
  if (!stat_field(&p, end, &ppid) || !stat_field(&p, end, &pgrp) || !stat_field(&p, end, &session))
    return -EINVAL;
  if (p < end && *p != ' ' && *p != '\n')
    return -EINVAL;

  *out_ppid = ppid;
  *out_session = session;
  return 0;
}

static int
read_proc_stat(pid_t pid, pid_t *out_ppid, pid_t *out_session)
{
  char path[sizeof("/proc//stat") + 3 * sizeof(pid_t)];
  g_snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);

  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -errno;

  /* The line is a few hundred bytes and COMM short (TASK_COMM_LEN); the fields we need
   * follow COMM, well within the first kilobyte. */
  char buf[1024];
  ssize_t n;
  do
    n = read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  int saved = errno;
  (void)close(fd);
  if (n < 0)
    return -saved;

  return sv_notify_proxy_parse_proc_stat(buf, (gsize)n, out_ppid, out_session);
}

typedef enum {
  TREE_IN,
  TREE_OUT,
  TREE_GONE,
} TreeVerdict;

static TreeVerdict
sender_in_tree(SvNotifyProxy *proxy, pid_t sender)
{
  pid_t app = proxy->app_pid;
  if (sender == app)
    return TREE_IN;

  pid_t ppid, session;
  if (read_proc_stat(sender, &ppid, &session) < 0)
    return TREE_GONE;
  if (session == app)
    return TREE_IN;

  /* A descendant that left the app's session: its parents may still lead to the app. */
  pid_t pid = ppid;
  for (guint depth = 0; depth < SV_NOTIFY_PROXY_ANCESTRY_MAX; depth++) {
    if (pid == app)
      return TREE_IN;
    /* 0: the parent is outside our pid namespace. 1 or sdvisor: the top, or an orphan
     * adopted by the subreaper, whose link to the app is lost. */
    if (pid <= 1 || pid == proxy->self)
      return TREE_OUT;
    /* An ancestor that is gone has re-parented its children already: the chain we
     * read is stale, and the sender is no longer below the app through it. */
    if (read_proc_stat(pid, &ppid, &session) < 0)
      return TREE_OUT;
    if (session == app)
      return TREE_IN;
    pid = ppid;
  }
  return TREE_OUT;
}

/* ---- receiving -------------------------------------------------------------------- */

static void reject(SvNotifyProxy *proxy, pid_t sender, SvNotifyProxyReject reason,
                   const char *format, ...) G_GNUC_PRINTF(4, 5);

static void
reject(SvNotifyProxy *proxy, pid_t sender, SvNotifyProxyReject reason, const char *format, ...)
{
  proxy->rejected[reason]++;
  if (reason < SV_NOTIFY_PROXY_REJECT_MAINPID)
    proxy->dropped++;

  if (!proxy->reject)
    return;
  va_list ap;
  va_start(ap, format);
  g_autofree char *detail = g_strdup_vprintf(format, ap);
  va_end(ap);
  proxy->reject(proxy, sender, reason, detail, proxy->rejected[reason], proxy->user_data);
}

static void
close_fds(int *fds, guint n_fds)
{
  for (guint i = 0; i < n_fds; i++)
    if (fds[i] >= 0) {
      (void)close(fds[i]);
      fds[i] = -1;
    }
}

/* Everything after recvmsg(); FDS are closed by the caller afterwards. */
static void
handle_datagram(SvNotifyProxy *proxy, const char *buf, gsize size, int msg_flags,
                const struct ucred *ucred, int *fds, guint n_fds)
{
  if (!ucred || ucred->pid <= 0) {
    reject(proxy, 0, SV_NOTIFY_PROXY_REJECT_NO_CREDENTIALS, "datagram without sender credentials");
    return;
  }
  pid_t sender = ucred->pid;

  if (proxy->app_pid <= 0) {
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_NO_APP,
           "datagram from pid %d while no app is running", (int)sender);
    return;
  }

  switch (sender_in_tree(proxy, sender)) {
  case TREE_IN:
    break;
  case TREE_OUT:
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_OUTSIDE_TREE,
           "datagram from pid %d, which is not in the process tree of app pid %d", (int)sender,
           (int)proxy->app_pid);
    return;
  case TREE_GONE:
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_SENDER_GONE,
           "datagram from pid %d, which exited before it could be verified", (int)sender);
    return;
  }

  /* With MSG_TRUNC passed in, recvmsg() returns the datagram's real size. */
  if ((msg_flags & MSG_TRUNC) || size > SV_NOTIFY_MESSAGE_MAX) {
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_OVERSIZE,
           "datagram of %" G_GSIZE_FORMAT " bytes from pid %d, more than %d", size, (int)sender,
           SV_NOTIFY_MESSAGE_MAX);
    return;
  }
  if (msg_flags & MSG_CTRUNC) {
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_TOO_MANY_FDS,
           "datagram from pid %d with more than %d file descriptors", (int)sender,
           SV_NOTIFY_PROXY_FDS_MAX);
    return;
  }

  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(buf, size, &error);
  if (!msg) {
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_MALFORMED, "datagram from pid %d: %s", (int)sender,
           error->message);
    return;
  }

  if (msg->fields & SV_NOTIFY_FIELD_BARRIER) {
    /* sd_notify_barrier() waits for POLLHUP on the pipe whose write end it sent: the
     * caller closes FDS right after this returns. Everything the app sent before has
     * been handed to FUNC (and relayed, if FUNC relays) by then. As systemd does, a
     * barrier with company is still answered and the company ignored. */
    proxy->barriers++;
    gboolean alone = msg->fields == SV_NOTIFY_FIELD_BARRIER && msg->n_ignored == 0 &&
                     !msg->private_assignments[0];
    if (!alone || n_fds != 1)
      reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_BAD_BARRIER,
             "BARRIER=1 from pid %d %s, with %u file descriptors (expected alone, with "
             "one): answered, the rest ignored",
             (int)sender, alone ? "alone" : "among other lines", n_fds);
    return;
  }

  if (msg->fields & SV_NOTIFY_FIELD_MAINPID) {
    /* sdvisor is the main process its manager watches; the app cannot move that. */
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_MAINPID,
           "MAINPID=%d from pid %d ignored: sdvisor stays the main process", (int)msg->mainpid,
           (int)sender);
    if (proxy->free_pending)
      return;
  }

  if (n_fds > 0 && !(msg->fields & SV_NOTIFY_FIELD_FDSTORE)) {
    reject(proxy, sender, SV_NOTIFY_PROXY_REJECT_STRAY_FDS,
           "%u file descriptors from pid %d without FDSTORE=1 closed", n_fds, (int)sender);
    close_fds(fds, n_fds);
    n_fds = 0;
    if (proxy->free_pending)
      return;
  }

  proxy->accepted++;
  if (proxy->func)
    proxy->func(proxy, msg, sender, n_fds > 0 ? fds : NULL, n_fds, proxy->user_data);
}

/* Reads and handles one datagram. FALSE when there is nothing more to read. */
static gboolean
receive_one(SvNotifyProxy *proxy)
{
  char buf[SV_NOTIFY_MESSAGE_MAX];
  union {
    struct cmsghdr align;
    char
        space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * SV_NOTIFY_PROXY_FDS_MAX)];
  } control;
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr mh = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = &control,
      .msg_controllen = sizeof control,
  };

  ssize_t n;
  do
    n = recvmsg(proxy->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN)
      g_debug("notify proxy: recvmsg: %s", g_strerror(errno));
    return FALSE;
  }

  struct ucred ucred;
  gboolean have_ucred = FALSE;
  int fds[SV_NOTIFY_PROXY_FDS_MAX];
  guint n_fds = 0;

  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET)
      continue;
    if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
      memcpy(&ucred, CMSG_DATA(c), sizeof ucred);
      have_ucred = TRUE;
    } else if (c->cmsg_type == SCM_RIGHTS) {
      gsize count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (gsize i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        /* The control buffer holds no more than FDS_MAX; stay safe if that changes. */
        if (n_fds < G_N_ELEMENTS(fds))
          fds[n_fds++] = fd;
        else
          (void)close(fd);
      }
    }
  }

  handle_datagram(proxy, buf, (gsize)n, mh.msg_flags, have_ucred ? &ucred : NULL, fds, n_fds);
  close_fds(fds, n_fds);
  return TRUE;
}

static void proxy_destroy(SvNotifyProxy *proxy);

/* Reads up to MAX datagrams (0 = until none is left). FALSE if the proxy was freed. */
static gboolean
drain(SvNotifyProxy *proxy, guint max)
{
  proxy->dispatch_depth++;
  for (guint i = 0; (max == 0 || i < max) && !proxy->free_pending; i++)
    if (!receive_one(proxy))
      break;
  proxy->dispatch_depth--;

  if (proxy->free_pending && proxy->dispatch_depth == 0) {
    proxy_destroy(proxy);
    return FALSE;
  }
  return TRUE;
}

static gboolean
on_readable(gint fd, GIOCondition condition, gpointer user_data)
{
  SvNotifyProxy *proxy = user_data;
  /* Whatever is left after one batch is read at the next iteration: the fd stays
   * readable, and other sources get their turn in between. */
  return drain(proxy, SV_NOTIFY_PROXY_BATCH) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void
sv_notify_proxy_flush(SvNotifyProxy *proxy)
{
  g_return_if_fail(proxy != NULL);
  (void)drain(proxy, 0);
}

/* ---- setup ------------------------------------------------------------------------ */

static int
make_socket(void)
{
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;

  /* Before bind(): the kernel attaches credentials at send time only if the receiver
   * asked for them then, so nothing may be sent before this is on. */
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
    int r = -errno;
    (void)close(fd);
    return r;
  }

  /* FORCE goes past net.core.rmem_max where we may (root, CAP_NET_ADMIN). */
  int size = RCVBUF_SIZE;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

/* chmod() of the socket just bound, never through a symbolic link: whoever can write in
 * the directory (the app's user, when it is $RUNTIME_DIRECTORY) could swap the socket for
 * a link between bind() and here, and sdvisor, often root, would give the link's target
 * mode 0666. The path is opened O_PATH|O_NOFOLLOW (which opens a link itself, not its
 * target), must still be a socket, and its mode is set through /proc/self/fd, which names
 * that very inode. fchmod() does not act on O_PATH descriptors; glibc 2.36's
 * fchmodat(AT_SYMLINK_NOFOLLOW) goes the same way but takes any file type. Not umask()
 * around bind(): it is per process, and the journal writer thread runs meanwhile.
 * -ELOOP: a symbolic link; -ENOTSOCK: anything else that is not a socket. */
static int
chmod_socket_nofollow(const char *path, mode_t mode)
{
  int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  int r = 0;
  if (fstat(fd, &st) < 0)
    r = -errno;
  else if (S_ISLNK(st.st_mode))
    r = -ELOOP;
  else if (!S_ISSOCK(st.st_mode))
    r = -ENOTSOCK;
  else {
    char proc_path[sizeof "/proc/self/fd/" + 3 * sizeof(int)];
    g_snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", fd);
    if (chmod(proc_path, mode) < 0)
      r = -errno;
  }
  (void)close(fd);
  return r;
}

static int
bind_random(int fd, const char *dir, char **out_path)
{
  for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    g_autofree char *path =
        g_strdup_printf("%s/notify-%08" G_GINT32_MODIFIER "x.sock", dir, g_random_int());
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    gsize len = strlen(path);
    if (len >= sizeof sa.sun_path)
      return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, len + 1);

    socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0) {
      if (errno == EADDRINUSE)
        continue;
      return -errno;
    }
    /* Access is decided by credentials, reachability by DIR's mode: an app that
     * switches to another user must still be able to send (see the header). */
    int r = chmod_socket_nofollow(path, 0666);
    if (r < 0) {
      /* What replaced the socket is not sdvisor's to remove. */
      if (r != -ELOOP && r != -ENOTSOCK)
        (void)unlink(path);
      return r;
    }
    *out_path = g_steal_pointer(&path);
    return 0;
  }
  return -EADDRINUSE;
}

SvNotifyProxy *
sv_notify_proxy_new(const char *runtime_dir, SvNotifyProxyFunc func,
                    SvNotifyProxyRejectFunc reject_func, gpointer user_data, GError **error)
{
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autofree char *own_dir = NULL;
  if (!runtime_dir) {
    own_dir = g_dir_make_tmp("sdvisor-notify-XXXXXX", error); /* 0700 */
    if (!own_dir)
      return NULL;
    runtime_dir = own_dir;
  }

  int fd = make_socket();
  if (fd < 0) {
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-fd),
                "cannot create the app's notify socket: %s", g_strerror(-fd));
    if (own_dir)
      (void)g_rmdir(own_dir);
    return NULL;
  }

  g_autofree char *path = NULL;
  int r = bind_random(fd, runtime_dir, &path);
  if (r < 0) {
    if (r == -ENAMETOOLONG)
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                  "cannot create the app's notify socket in %s: the path would be longer "
                  "than the %zu bytes a unix socket address holds",
                  runtime_dir, sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
    else if (r == -ELOOP || r == -ENOTSOCK)
      g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
                  "cannot create the app's notify socket in %s: something replaced it as soon "
                  "as it was bound (%s); refusing to follow it",
                  runtime_dir, r == -ELOOP ? "a symbolic link" : "not a socket");
    else
      g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
                  "cannot create the app's notify socket in %s: %s", runtime_dir, g_strerror(-r));
    (void)close(fd);
    if (own_dir)
      (void)g_rmdir(own_dir);
    return NULL;
  }

  SvNotifyProxy *proxy = g_new0(SvNotifyProxy, 1);
  proxy->fd = fd;
  proxy->path = g_steal_pointer(&path);
  proxy->own_dir = g_steal_pointer(&own_dir);
  proxy->self = getpid();
  proxy->func = func;
  proxy->reject = reject_func;
  proxy->user_data = user_data;

  /* A plain fd source on the loop: GSocket would bring GIO's worker thread along. */
  proxy->source = g_unix_fd_source_new(fd, G_IO_IN);
  g_source_set_callback(proxy->source, G_SOURCE_FUNC(on_readable), proxy, NULL);
  g_source_set_static_name(proxy->source, "sdvisor notify proxy");
  g_source_attach(proxy->source, g_main_context_get_thread_default());
  return proxy;
}

const char *
sv_notify_proxy_get_socket_path(SvNotifyProxy *proxy)
{
  g_return_val_if_fail(proxy != NULL, NULL);
  return proxy->path;
}

void
sv_notify_proxy_set_app_pid(SvNotifyProxy *proxy, pid_t pid)
{
  g_return_if_fail(proxy != NULL);
  proxy->app_pid = pid > 0 ? pid : 0;
}

pid_t
sv_notify_proxy_get_app_pid(SvNotifyProxy *proxy)
{
  g_return_val_if_fail(proxy != NULL, 0);
  return proxy->app_pid;
}

guint64
sv_notify_proxy_get_accepted(SvNotifyProxy *proxy)
{
  g_return_val_if_fail(proxy != NULL, 0);
  return proxy->accepted;
}

guint64
sv_notify_proxy_get_barriers(SvNotifyProxy *proxy)
{
  g_return_val_if_fail(proxy != NULL, 0);
  return proxy->barriers;
}

guint64
sv_notify_proxy_get_dropped(SvNotifyProxy *proxy)
{
  g_return_val_if_fail(proxy != NULL, 0);
  return proxy->dropped;
}

guint64
sv_notify_proxy_get_rejected(SvNotifyProxy *proxy, SvNotifyProxyReject reason)
{
  g_return_val_if_fail(proxy != NULL, 0);
  g_return_val_if_fail((guint)reason < SV_NOTIFY_PROXY_N_REJECT, 0);
  return proxy->rejected[reason];
}

static void
proxy_destroy(SvNotifyProxy *proxy)
{
  if (proxy->source) {
    g_source_destroy(proxy->source);
    g_source_unref(proxy->source);
  }
  if (proxy->fd >= 0)
    (void)close(proxy->fd);
  if (proxy->path)
    (void)unlink(proxy->path);
  if (proxy->own_dir)
    (void)g_rmdir(proxy->own_dir);
  g_free(proxy->path);
  g_free(proxy->own_dir);
  g_free(proxy);
}

void
sv_notify_proxy_free(SvNotifyProxy *proxy)
{
  if (!proxy)
    return;
  if (proxy->dispatch_depth > 0) {
    /* Called from a callback: finish when the dispatch unwinds (drain()). */
    proxy->free_pending = TRUE;
    return;
  }
  proxy_destroy(proxy);
}

/* ---- upstream --------------------------------------------------------------------- */

int
sv_notify_proxy_relay(const SvNotifyMessage *msg, guint32 fields, const int *fds, guint n_fds)
{
  g_return_val_if_fail(msg != NULL, -EINVAL);

  g_autofree char *text = sv_notify_message_format(msg, fields);
  if (!text)
    return 0;

  /* sdvisor's NOTIFY_SOCKET stays in its own environment (notify.c); children never
   * see it, spawn.c strips it. The kernel duplicates FDS into the message: ours stay
   * ours. */
  gboolean with_fds = (msg->fields & fields & SV_NOTIFY_FIELD_FDSTORE) && fds && n_fds > 0;
  return sd_pid_notify_with_fds(0, 0, text, with_fds ? fds : NULL, with_fds ? n_fds : 0);
}

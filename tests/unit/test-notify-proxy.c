/* test-notify-proxy.c — a real proxy on a real main loop, with real processes sending.
 *
 * The test forks its own "app" (in a new session, as spawn.c starts it), descendants of
 * it and unrelated processes; each sends with plain sendmsg() (or libsystemd for the
 * barrier) and then waits until the test releases it, so its /proc entry is there when
 * the proxy checks. No reaper runs here: the test reaps with waitpid() itself, and is a
 * child subreaper like sdvisor, so orphans come back to it. Nothing depends on pid
 * values or on which pid namespace the test runs in. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "notify-proxy.h"

#define WAIT_SECONDS 10

typedef struct {
  guint32 fields;
  pid_t sender;
  char *status;
  char *relayed; /* sv_notify_message_format(msg, everything) */
  guint n_fds;
  char *fd_data; /* what could be read from fds[0] */
  gboolean fd_cloexec;
  ino_t fd_ino;
} Received;

typedef struct {
  SvNotifyProxyReject reason;
  pid_t sender;
  char *detail;
  guint64 count;
} Rejection;

typedef struct Fixture Fixture;
struct Fixture {
  char *dir;
  SvNotifyProxy *proxy;
  const char *path;
  GPtrArray *received;   /* of Received* */
  GPtrArray *rejections; /* of Rejection* */
  int release[2];        /* children wait for EOF on release[0] */
  GArray *children;      /* pids to reap, expecting exit status 0 */
  /* optional extra work in the message callback */
  void (*on_message)(Fixture *f, const SvNotifyMessage *msg, const int *fds, guint n_fds);
  int upstream_fd;
};

static void
received_free(gpointer p)
{
  Received *r = p;
  g_free(r->status);
  g_free(r->relayed);
  g_free(r->fd_data);
  g_free(r);
}

static void
rejection_free(gpointer p)
{
  Rejection *r = p;
  g_free(r->detail);
  g_free(r);
}

static void
on_message(SvNotifyProxy *proxy, const SvNotifyMessage *msg, pid_t sender, const int *fds,
           guint n_fds, gpointer user_data)
{
  Fixture *f = user_data;
  Received *r = g_new0(Received, 1);
  r->fields = msg->fields;
  r->sender = sender;
  r->status = g_strdup(msg->status);
  r->relayed = sv_notify_message_format(msg, G_MAXUINT32);
  r->n_fds = n_fds;
  if (n_fds > 0) {
    char buf[64];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    if (n >= 0)
      r->fd_data = g_strndup(buf, (gsize)n);
    r->fd_cloexec = (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0;
    struct stat st;
    if (fstat(fds[0], &st) == 0)
      r->fd_ino = st.st_ino;
  }
  g_ptr_array_add(f->received, r);
  if (f->on_message)
    f->on_message(f, msg, fds, n_fds);
}

static void
on_reject(SvNotifyProxy *proxy, pid_t sender, SvNotifyProxyReject reason, const char *detail,
          guint64 count, gpointer user_data)
{
  Fixture *f = user_data;
  Rejection *r = g_new0(Rejection, 1);
  r->reason = reason;
  r->sender = sender;
  r->detail = g_strdup(detail);
  r->count = count;
  g_ptr_array_add(f->rejections, r);
  g_test_message("rejected (%s): %s", sv_notify_proxy_reject_to_string(reason), detail);
}

static void
setup(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  f->dir = g_dir_make_tmp("test-notify-proxy-XXXXXX", &error);
  g_assert_no_error(error);
  f->received = g_ptr_array_new_with_free_func(received_free);
  f->rejections = g_ptr_array_new_with_free_func(rejection_free);
  f->children = g_array_new(FALSE, FALSE, sizeof(pid_t));
  f->upstream_fd = -1;
  g_assert_cmpint(pipe2(f->release, O_CLOEXEC), ==, 0);

  f->proxy = sv_notify_proxy_new(f->dir, on_message, on_reject, f, &error);
  g_assert_no_error(error);
  f->path = sv_notify_proxy_get_socket_path(f->proxy);
}

static void
release_children(Fixture *f)
{
  if (f->release[1] >= 0) {
    close(f->release[1]);
    f->release[1] = -1;
  }
}

static void
teardown(Fixture *f, gconstpointer data)
{
  release_children(f);
  for (guint i = 0; i < f->children->len; i++) {
    pid_t pid = g_array_index(f->children, pid_t, i);
    int status;
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
  }
  /* orphans adopted by this (subreaper) process */
  while (waitpid(-1, NULL, 0) > 0)
    ;
  close(f->release[0]);

  sv_notify_proxy_free(f->proxy);
  if (f->upstream_fd >= 0)
    close(f->upstream_fd);
  g_autofree char *upstream = g_build_filename(f->dir, "upstream.sock", NULL);
  (void)g_unlink(upstream);
  g_assert_cmpint(g_rmdir(f->dir), ==, 0); /* the proxy removed its socket */
  g_free(f->dir);
  g_ptr_array_unref(f->received);
  g_ptr_array_unref(f->rejections);
  g_array_unref(f->children);
}

/* ---- an attacker racing the proxy's setup ---- */

/* While set, every successful bind() of a socket path under SWAP_DIR is followed at once
 * by what a process able to write in that directory could do before the proxy's next
 * system call: the socket is replaced by a symbolic link to SWAP_TARGET. The proxy's
 * own bind() goes through here (the test's definition comes before libc's). */
static const char *swap_dir;
static const char *swap_target;

int
bind(int fd, const struct sockaddr *addr, socklen_t len)
{
  static int (*real_bind)(int, const struct sockaddr *, socklen_t);
  if (real_bind == NULL)
    *(void **)&real_bind = dlsym(RTLD_NEXT, "bind");
  int r = real_bind(fd, addr, len);
  if (r == 0 && swap_dir != NULL && addr->sa_family == AF_UNIX) {
    const char *path = ((const struct sockaddr_un *)(const void *)addr)->sun_path;
    if (g_str_has_prefix(path, swap_dir) && path[strlen(swap_dir)] == '/') {
      g_assert_cmpint(unlink(path), ==, 0);
      g_assert_cmpint(symlink(swap_target, path), ==, 0);
    }
  }
  return r;
}

/* ---- senders (they run in forked children, or in the test itself) ---- */

static int
send_datagram(const char *path, const void *data, gsize size, const int *fds, guint n_fds)
{
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = size};
  struct msghdr mh = {
      .msg_name = &sa,
      .msg_namelen = sizeof sa,
      .msg_iov = &iov,
      .msg_iovlen = 1,
  };
  char control[CMSG_SPACE(sizeof(int) * 253)];
  if (n_fds > 0) {
    memset(control, 0, sizeof control);
    mh.msg_control = control;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
  }
  ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
  int r = n < 0 ? -errno : 0;
  close(fd);
  return r;
}

static int
send_text(const char *path, const char *text)
{
  return send_datagram(path, text, strlen(text), NULL, 0);
}

static void
child_wait_release(Fixture *f)
{
  char c;
  while (read(f->release[0], &c, 1) != 0 && errno == EINTR)
    ;
}

/* Waits until FD sees EVENTS, at most WAIT_SECONDS: how a child learns that the proxy
 * closed the fd it was sent. */
static gboolean
child_poll(int fd, short events)
{
  struct pollfd p = {.fd = fd, .events = events};
  int n;
  do
    n = poll(&p, 1, WAIT_SECONDS * 1000);
  while (n < 0 && errno == EINTR);
  return n == 1 && (p.revents & (events | POLLERR | POLLHUP));
}

typedef int (*ChildBody)(Fixture *f, gpointer data);

/* Forks a child that runs BODY, then waits for the release, reaps its own children and
 * exits with BODY's result (0 = fine). NEW_SESSION: setsid() first, as spawn.c does for
 * the app. The test's teardown checks the exit status. */
static pid_t
fork_child(Fixture *f, gboolean new_session, gboolean wait_release, ChildBody body, gpointer data)
{
  pid_t pid = fork();
  g_assert_cmpint(pid, >=, 0);
  if (pid == 0) {
    /* only the test holds the write end; -1 so nested children do not close a reused
     * fd number */
    if (f->release[1] >= 0)
      close(f->release[1]);
    f->release[1] = -1;
    if (new_session && setsid() < 0)
      _exit(90);
    int r = body(f, data);
    if (wait_release)
      child_wait_release(f);
    while (wait(NULL) > 0)
      ;
    _exit(r);
  }
  return pid;
}

static pid_t
fork_app(Fixture *f, gboolean wait_release, ChildBody body, gpointer data)
{
  pid_t pid = fork_child(f, TRUE, wait_release, body, data);
  sv_notify_proxy_set_app_pid(f->proxy, pid);
  g_array_append_val(f->children, pid);
  return pid;
}

static int
body_send_text(Fixture *f, gpointer data)
{
  return send_text(f->path, data) == 0 ? 0 : 91;
}

/* ---- waiting on the loop ---- */

static gboolean
timed_out(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

#define WAIT_FOR(cond)                                                                             \
  G_STMT_START                                                                                     \
  {                                                                                                \
    gboolean timeout_ = FALSE;                                                                     \
    guint id_ = g_timeout_add_seconds(WAIT_SECONDS, timed_out, &timeout_);                         \
    while (!(cond) && !timeout_)                                                                   \
      g_main_context_iteration(NULL, TRUE);                                                        \
    if (!timeout_)                                                                                 \
      g_source_remove(id_);                                                                        \
    g_assert_true(cond);                                                                           \
  }                                                                                                \
  G_STMT_END

#define EVENTS(f) ((f)->received->len + (f)->rejections->len)

static Received *
received(Fixture *f, guint i)
{
  g_assert_cmpuint(i, <, f->received->len);
  return g_ptr_array_index(f->received, i);
}

static Rejection *
rejection(Fixture *f, guint i)
{
  g_assert_cmpuint(i, <, f->rejections->len);
  return g_ptr_array_index(f->rejections, i);
}

/* ---- tests ---- */

static void
test_socket(Fixture *f, gconstpointer data)
{
  struct stat st;
  g_assert_cmpint(stat(f->path, &st), ==, 0);
  g_assert_true(S_ISSOCK(st.st_mode));
  g_assert_cmpint(st.st_mode & 07777, ==, 0666);
  g_autofree char *dir = g_path_get_dirname(f->path);
  g_assert_cmpstr(dir, ==, f->dir);

  /* two proxies in one directory get two sockets */
  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyProxy) other = sv_notify_proxy_new(f->dir, NULL, NULL, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(sv_notify_proxy_get_socket_path(other), !=, f->path);
}

static void
test_own_dir(void)
{
  g_autoptr(GError) error = NULL;
  SvNotifyProxy *proxy = sv_notify_proxy_new(NULL, NULL, NULL, NULL, &error);
  g_assert_no_error(error);
  g_autofree char *path = g_strdup(sv_notify_proxy_get_socket_path(proxy));
  g_autofree char *dir = g_path_get_dirname(path);
  struct stat st;
  g_assert_cmpint(stat(dir, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 07777, ==, 0700);
  g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));

  sv_notify_proxy_free(proxy);
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

/* The socket's runtime directory may be $RUNTIME_DIRECTORY, which the app's user can
 * write in. A symbolic link there at the name the proxy picks, planted beforehand or
 * swapped in for the socket right after bind(), must never make the proxy change the mode
 * of the file it points to (sdvisor is often root: that would be any file on the system
 * made world-writable). */
static void
test_symlinks_never_followed(void)
{
  g_autofree char *base = g_dir_make_tmp("test-notify-proxy-XXXXXX", NULL);
  g_assert_nonnull(base);
  g_autofree char *rt = g_build_filename(base, "rt", NULL);
  g_autofree char *victim = g_build_filename(base, "victim", NULL);
  g_assert_cmpint(g_mkdir(rt, 0700), ==, 0);
  g_assert_true(g_file_set_contents(victim, "precious\n", -1, NULL));
  g_assert_cmpint(g_chmod(victim, 0600), ==, 0);
  struct stat st;

  /* Planted: a link at the very name the proxy draws first (the name comes from GLib's
   * global generator, which a seed makes predictable here, and only here). bind() does
   * not follow it; the proxy draws another name. */
  g_random_set_seed(4242);
  g_autofree char *first =
      g_strdup_printf("%s/notify-%08" G_GINT32_MODIFIER "x.sock", rt, g_random_int());
  g_random_set_seed(4242);
  g_assert_cmpint(symlink(victim, first), ==, 0);
  g_autoptr(GError) error = NULL;
  SvNotifyProxy *proxy = sv_notify_proxy_new(rt, NULL, NULL, NULL, &error);
  g_assert_no_error(error);
  const char *path = sv_notify_proxy_get_socket_path(proxy);
  g_assert_cmpstr(path, !=, first);
  g_assert_cmpint(lstat(path, &st), ==, 0);
  g_assert_true(S_ISSOCK(st.st_mode));
  g_assert_cmpint(st.st_mode & 07777, ==, 0666);
  sv_notify_proxy_free(proxy);
  g_assert_cmpint(lstat(first, &st), ==, 0);
  g_assert_true(S_ISLNK(st.st_mode));
  g_assert_cmpint(stat(victim, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 07777, ==, 0600);
  g_assert_cmpint(unlink(first), ==, 0);

  /* Swapped in between bind() and the chmod: the proxy refuses and says why; the link's
   * target keeps its mode and contents, and the link (not sdvisor's) stays. */
  swap_dir = rt;
  swap_target = victim;
  proxy = sv_notify_proxy_new(rt, NULL, NULL, NULL, &error);
  swap_dir = swap_target = NULL;
  g_assert_cmpint(stat(victim, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 07777, ==, 0600);
  g_assert_null(proxy);
  g_assert_nonnull(error);
  g_test_message("%s", error->message);
  g_assert_nonnull(strstr(error->message, "symbolic link"));
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(victim, &text, NULL, NULL));
  g_assert_cmpstr(text, ==, "precious\n");
  g_autoptr(GDir) dir = g_dir_open(rt, 0, NULL);
  const char *name = g_dir_read_name(dir);
  g_assert_nonnull(name);
  g_autofree char *link = g_build_filename(rt, name, NULL);
  g_assert_cmpint(lstat(link, &st), ==, 0);
  g_assert_true(S_ISLNK(st.st_mode));
  g_assert_null(g_dir_read_name(dir));

  g_assert_cmpint(unlink(link), ==, 0);
  g_assert_cmpint(g_rmdir(rt), ==, 0);
  g_assert_cmpint(unlink(victim), ==, 0);
  g_assert_cmpint(g_rmdir(base), ==, 0);
}

static void
test_path_too_long(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_strnfill(120, 'd');
  g_autofree char *deep = g_strconcat("/tmp/", dir, NULL);
  SvNotifyProxy *proxy = sv_notify_proxy_new(deep, NULL, NULL, NULL, &error);
  g_assert_null(proxy);
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG);
}

static void
test_app_accepted(Fixture *f, gconstpointer data)
{
  pid_t app = fork_app(f, TRUE, body_send_text, "READY=1\nSTATUS=Listening on :8000");
  WAIT_FOR(EVENTS(f) == 1);

  g_assert_cmpuint(f->rejections->len, ==, 0);
  Received *r = received(f, 0);
  g_assert_cmpint(r->sender, ==, app);
  g_assert_cmphex(r->fields, ==, SV_NOTIFY_FIELD_READY | SV_NOTIFY_FIELD_STATUS);
  g_assert_cmpstr(r->status, ==, "Listening on :8000");
  g_assert_cmpuint(sv_notify_proxy_get_accepted(f->proxy), ==, 1);
  g_assert_cmpuint(sv_notify_proxy_get_dropped(f->proxy), ==, 0);
}

/* The app's tree: A stays in the app's session (rule 2); B calls setsid() and is found
 * through its parent (rule 3); C, B's child, is two steps down a foreign session. */
static int
body_setsid_grandchild(Fixture *f, gpointer data)
{
  return send_text(f->path, "STATUS=C") == 0 ? 0 : 92;
}

static int
body_setsid_child(Fixture *f, gpointer data)
{
  if (send_text(f->path, "STATUS=B") < 0)
    return 93;
  (void)fork_child(f, FALSE, TRUE, body_setsid_grandchild, NULL);
  return 0;
}

static int
body_app_with_descendants(Fixture *f, gpointer data)
{
  if (send_text(f->path, "STATUS=app") < 0)
    return 94;
  (void)fork_child(f, FALSE, TRUE, body_send_text, "STATUS=A");
  (void)fork_child(f, TRUE, TRUE, body_setsid_child, NULL);
  return 0;
}

static void
test_descendants_accepted(Fixture *f, gconstpointer data)
{
  pid_t app = fork_app(f, TRUE, body_app_with_descendants, NULL);
  WAIT_FOR(EVENTS(f) == 4);

  g_assert_cmpuint(f->rejections->len, ==, 0);
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  guint from_app = 0;
  for (guint i = 0; i < f->received->len; i++) {
    g_hash_table_add(seen, received(f, i)->status);
    from_app += received(f, i)->sender == app;
  }
  g_assert_cmpuint(from_app, ==, 1);
  g_assert_true(g_hash_table_contains(seen, "app"));
  g_assert_true(g_hash_table_contains(seen, "A"));
  g_assert_true(g_hash_table_contains(seen, "B"));
  g_assert_true(g_hash_table_contains(seen, "C"));
}

/* An orphan: its parent exited, the subreaper (this test, like sdvisor) adopted it, so
 * its parent chain no longer reaches the app — but its session still is the app's. */
static int
body_orphan(Fixture *f, gpointer data)
{
  pid_t parent = *(pid_t *)data; /* getppid() here could already be the adopter */
  for (int i = 0; i < WAIT_SECONDS * 100 && getppid() == parent; i++)
    g_usleep(10000);
  if (getppid() == parent)
    return 95;
  return send_text(f->path, "STATUS=orphan") == 0 ? 0 : 96;
}

static int
body_short_lived_parent(Fixture *f, gpointer data)
{
  pid_t self = getpid();
  (void)fork_child(f, FALSE, TRUE, body_orphan, &self);
  _exit(0); /* at once, without reaping or waiting */
}

static int
body_app_with_orphan(Fixture *f, gpointer data)
{
  pid_t pid = fork_child(f, FALSE, FALSE, body_short_lived_parent, NULL);
  return waitpid(pid, NULL, 0) == pid ? 0 : 97;
}

static void
test_orphan_in_session_accepted(Fixture *f, gconstpointer data)
{
  fork_app(f, TRUE, body_app_with_orphan, NULL);
  WAIT_FOR(EVENTS(f) == 1);
  g_assert_cmpuint(f->rejections->len, ==, 0);
  g_assert_cmpstr(received(f, 0)->status, ==, "orphan");
}

static void
test_outside_tree_dropped(Fixture *f, gconstpointer data)
{
  fork_app(f, TRUE, body_send_text, "STATUS=app");
  WAIT_FOR(EVENTS(f) == 1);

  /* a sibling of the app (like a hook sdvisor runs), one in a session of its own, and
   * sdvisor itself: none of them is the app's */
  pid_t sibling = fork_child(f, FALSE, TRUE, body_send_text, "READY=1");
  g_array_append_val(f->children, sibling);
  WAIT_FOR(EVENTS(f) == 2);
  pid_t loner = fork_child(f, TRUE, TRUE, body_send_text, "READY=1");
  g_array_append_val(f->children, loner);
  WAIT_FOR(EVENTS(f) == 3);
  g_assert_cmpint(send_text(f->path, "READY=1"), ==, 0);
  WAIT_FOR(EVENTS(f) == 4);

  g_assert_cmpuint(f->received->len, ==, 1);
  g_assert_cmpuint(f->rejections->len, ==, 3);
  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_OUTSIDE_TREE);
  g_assert_cmpint(rejection(f, 0)->sender, ==, sibling);
  g_assert_cmpuint(rejection(f, 0)->count, ==, 1);
  g_assert_cmpint(rejection(f, 1)->reason, ==, SV_NOTIFY_PROXY_REJECT_OUTSIDE_TREE);
  g_assert_cmpint(rejection(f, 1)->sender, ==, loner);
  g_assert_cmpuint(rejection(f, 1)->count, ==, 2);
  g_assert_cmpint(rejection(f, 2)->reason, ==, SV_NOTIFY_PROXY_REJECT_OUTSIDE_TREE);
  g_assert_cmpint(rejection(f, 2)->sender, ==, getpid());
  g_autofree char *pid_text = g_strdup_printf("%d", (int)sibling);
  g_assert_nonnull(strstr(rejection(f, 0)->detail, pid_text));

  g_assert_cmpuint(sv_notify_proxy_get_dropped(f->proxy), ==, 3);
  g_assert_cmpuint(sv_notify_proxy_get_rejected(f->proxy, SV_NOTIFY_PROXY_REJECT_OUTSIDE_TREE), ==,
                   3);
  g_assert_cmpuint(sv_notify_proxy_get_accepted(f->proxy), ==, 1);
}

static void
test_no_app(Fixture *f, gconstpointer data)
{
  g_assert_cmpint(sv_notify_proxy_get_app_pid(f->proxy), ==, 0);
  g_assert_cmpint(send_text(f->path, "READY=1"), ==, 0);
  WAIT_FOR(EVENTS(f) == 1);
  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_NO_APP);
  g_assert_cmpint(rejection(f, 0)->sender, ==, getpid());
  g_assert_cmpuint(sv_notify_proxy_get_dropped(f->proxy), ==, 1);
}

/* A descendant that sent, exited and was reaped before the proxy looked: unverifiable. */
static int
body_app_with_vanished_child(Fixture *f, gpointer data)
{
  int *ready = data;
  pid_t pid = fork();
  if (pid == 0) {
    send_text(f->path, "READY=1");
    _exit(0);
  }
  if (pid < 0 || waitpid(pid, NULL, 0) != pid)
    return 98;
  char c = 'x';
  return write(ready[1], &c, 1) == 1 ? 0 : 99;
}

static void
test_sender_gone(Fixture *f, gconstpointer data)
{
  int ready[2];
  g_assert_cmpint(pipe2(ready, O_CLOEXEC), ==, 0);
  fork_app(f, TRUE, body_app_with_vanished_child, ready);
  close(ready[1]);
  char c;
  g_assert_cmpint(read(ready[0], &c, 1), ==, 1); /* the sender is reaped by now */
  close(ready[0]);

  WAIT_FOR(EVENTS(f) == 1);
  g_assert_cmpuint(f->received->len, ==, 0);
  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_SENDER_GONE);
}

/* The app itself needs no /proc entry: what it sent right before exiting still counts,
 * and sv_notify_proxy_flush() reads it without the loop. */
static void
test_app_last_words(Fixture *f, gconstpointer data)
{
  pid_t app = fork_app(f, FALSE, body_send_text, "STOPPING=1\nSTATUS=bye");
  int status;
  g_assert_cmpint(waitpid(app, &status, 0), ==, app);
  g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  g_array_set_size(f->children, 0);

  sv_notify_proxy_flush(f->proxy);
  g_assert_cmpuint(f->received->len, ==, 1);
  g_assert_cmphex(received(f, 0)->fields, ==, SV_NOTIFY_FIELD_STOPPING | SV_NOTIFY_FIELD_STATUS);

  sv_notify_proxy_set_app_pid(f->proxy, 0);
  g_assert_cmpint(send_text(f->path, "READY=1"), ==, 0);
  sv_notify_proxy_flush(f->proxy);
  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_NO_APP);
}

static void
test_mainpid_ignored(Fixture *f, gconstpointer data)
{
  pid_t app = fork_app(f, TRUE, body_send_text, "MAINPID=1\nSTATUS=moving");
  WAIT_FOR(EVENTS(f) == 2);

  /* reported, not dropped: the rest of the datagram is delivered */
  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_MAINPID);
  g_assert_cmpint(rejection(f, 0)->sender, ==, app);
  g_assert_cmpuint(sv_notify_proxy_get_dropped(f->proxy), ==, 0);
  Received *r = received(f, 0);
  g_assert_true(r->fields & SV_NOTIFY_FIELD_MAINPID);
  g_assert_cmpstr(r->relayed, ==, "STATUS=moving");
}

static int
body_send_sizes(Fixture *f, gpointer data)
{
  g_autoptr(GString) s = g_string_new("STATUS=");
  while (s->len < 5000)
    g_string_append_c(s, 'x');
  if (send_datagram(f->path, s->str, s->len, NULL, 0) < 0)
    return 100;
  g_string_truncate(s, SV_NOTIFY_MESSAGE_MAX);
  return send_datagram(f->path, s->str, s->len, NULL, 0) == 0 ? 0 : 101;
}

static void
test_oversize_dropped(Fixture *f, gconstpointer data)
{
  fork_app(f, TRUE, body_send_sizes, NULL);
  WAIT_FOR(EVENTS(f) == 2);

  g_assert_cmpuint(f->rejections->len, ==, 1);
  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_OVERSIZE);
  g_assert_nonnull(strstr(rejection(f, 0)->detail, "5000"));
  g_assert_cmpuint(f->received->len, ==, 1); /* exactly the limit is fine */
  g_assert_cmpuint(strlen(received(f, 0)->status), ==, SV_NOTIFY_MESSAGE_MAX - strlen("STATUS="));
}

static int
body_send_nul(Fixture *f, gpointer data)
{
  return send_datagram(f->path, "READY=1\0X", 9, NULL, 0) == 0 ? 0 : 102;
}

static void
test_malformed_dropped(Fixture *f, gconstpointer data)
{
  fork_app(f, TRUE, body_send_nul, NULL);
  WAIT_FOR(EVENTS(f) == 1);
  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_MALFORMED);
  g_assert_nonnull(strstr(rejection(f, 0)->detail, "NUL"));
  g_assert_cmpuint(f->received->len, ==, 0);
}

/* libsystemd's own client: sd_notify_barrier() returns once the fd it sent is closed. */
static int
body_barrier(Fixture *f, gpointer data)
{
  if (setenv("NOTIFY_SOCKET", f->path, 1) < 0)
    return 103;
  if (sd_notify(0, "STATUS=before barrier") <= 0)
    return 104;
  int r = sd_notify_barrier(0, WAIT_SECONDS * G_USEC_PER_SEC);
  return r >= 0 ? 0 : 105;
}

static void
test_barrier_answered(Fixture *f, gconstpointer data)
{
  pid_t app = fork_app(f, FALSE, body_barrier, NULL);
  WAIT_FOR(sv_notify_proxy_get_barriers(f->proxy) == 1);

  int status;
  g_assert_cmpint(waitpid(app, &status, 0), ==, app);
  g_array_set_size(f->children, 0);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);

  /* what came before the barrier was handed over before it was answered; the barrier
   * itself is not a message */
  g_assert_cmpuint(f->received->len, ==, 1);
  g_assert_cmpstr(received(f, 0)->status, ==, "before barrier");
  g_assert_cmpuint(f->rejections->len, ==, 0);
}

typedef struct {
  const char *text;
  guint n_fds;
} FdCase;

/* Sends TEXT with N_FDS copies of a pipe's read end holding "hello", then waits for the
 * proxy to close them all: the write end sees POLLERR when no reader is left. */
static int
body_send_fds(Fixture *f, gpointer data)
{
  const FdCase *c = data;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0 || write(p[1], "hello", 5) != 5)
    return 106;
  int fds[128];
  g_assert(c->n_fds <= G_N_ELEMENTS(fds));
  for (guint i = 0; i < c->n_fds; i++)
    fds[i] = p[0];
  if (send_datagram(f->path, c->text, strlen(c->text), fds, c->n_fds) < 0)
    return 107;
  close(p[0]);
  return child_poll(p[1], POLLERR) ? 0 : 108;
}

static void
test_fdstore_delivered(Fixture *f, gconstpointer data)
{
  FdCase c = {"FDSTORE=1\nFDNAME=web", 1};
  pid_t app = fork_app(f, FALSE, body_send_fds, &c);
  WAIT_FOR(EVENTS(f) == 1);

  Received *r = received(f, 0);
  g_assert_cmpuint(r->n_fds, ==, 1);
  g_assert_cmpstr(r->fd_data, ==, "hello");
  g_assert_true(r->fd_cloexec); /* MSG_CMSG_CLOEXEC */
  g_assert_cmpstr(r->relayed, ==, "FDSTORE=1\nFDNAME=web");

  /* and the proxy closed it after the callback: the child saw its last reader go */
  int status;
  g_assert_cmpint(waitpid(app, &status, 0), ==, app);
  g_array_set_size(f->children, 0);
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void
test_stray_fds_closed(Fixture *f, gconstpointer data)
{
  FdCase c = {"STATUS=here is an fd", 2};
  pid_t app = fork_app(f, FALSE, body_send_fds, &c);
  WAIT_FOR(EVENTS(f) == 2);

  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_STRAY_FDS);
  g_assert_cmpuint(received(f, 0)->n_fds, ==, 0);
  g_assert_cmpstr(received(f, 0)->status, ==, "here is an fd");
  g_assert_cmpuint(sv_notify_proxy_get_dropped(f->proxy), ==, 0);

  int status;
  g_assert_cmpint(waitpid(app, &status, 0), ==, app);
  g_array_set_size(f->children, 0);
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void
test_too_many_fds_dropped(Fixture *f, gconstpointer data)
{
  FdCase c = {"FDSTORE=1", SV_NOTIFY_PROXY_FDS_MAX + 1};
  pid_t app = fork_app(f, FALSE, body_send_fds, &c);
  WAIT_FOR(EVENTS(f) == 1);

  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_TOO_MANY_FDS);
  g_assert_cmpuint(f->received->len, ==, 0);

  /* the ones that did arrive were closed too */
  int status;
  g_assert_cmpint(waitpid(app, &status, 0), ==, app);
  g_array_set_size(f->children, 0);
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void
test_bad_barrier(Fixture *f, gconstpointer data)
{
  FdCase c = {"BARRIER=1\nREADY=1", 1};
  pid_t app = fork_app(f, FALSE, body_send_fds, &c);
  WAIT_FOR(EVENTS(f) == 1);

  g_assert_cmpint(rejection(f, 0)->reason, ==, SV_NOTIFY_PROXY_REJECT_BAD_BARRIER);
  g_assert_cmpuint(f->received->len, ==, 0); /* READY=1 with it is ignored, as systemd does */
  g_assert_cmpuint(sv_notify_proxy_get_barriers(f->proxy), ==, 1);

  int status;
  g_assert_cmpint(waitpid(app, &status, 0), ==, app);
  g_array_set_size(f->children, 0);
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* ---- relaying upstream ---- */

static void
relay_from_callback(Fixture *f, const SvNotifyMessage *msg, const int *fds, guint n_fds)
{
  g_assert_cmpint(sv_notify_proxy_relay(msg, SV_NOTIFY_FIELDS_RELAY, fds, n_fds), >, 0);
  /* READY held back by the supervisor */
  g_assert_cmpint(
      sv_notify_proxy_relay(msg, SV_NOTIFY_FIELDS_RELAY & ~SV_NOTIFY_FIELD_READY, fds, n_fds), >,
      0);
}

static char *
read_upstream(Fixture *f, ino_t *out_fd_ino)
{
  char buf[SV_NOTIFY_MESSAGE_MAX + 1];
  char control[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf - 1};
  struct msghdr mh = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control,
      .msg_controllen = sizeof control,
  };
  ssize_t n = recvmsg(f->upstream_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  g_assert_cmpint(n, >, 0);
  buf[n] = '\0';

  *out_fd_ino = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      g_assert_cmpuint((c->cmsg_len - CMSG_LEN(0)) / sizeof(int), ==, 1);
      struct stat st;
      g_assert_cmpint(fstat(fd, &st), ==, 0);
      *out_fd_ino = st.st_ino;
      close(fd);
    }
  }
  return g_strdup(buf);
}

static void
test_relay(Fixture *f, gconstpointer data)
{
  g_autofree char *upstream = g_build_filename(f->dir, "upstream.sock", NULL);
  f->upstream_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_strlcpy(sa.sun_path, upstream, sizeof sa.sun_path);
  g_assert_cmpint(bind(f->upstream_fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_setenv("NOTIFY_SOCKET", upstream, TRUE);
  f->on_message = relay_from_callback;

  FdCase c = {"MAINPID=1\nREADY=1\nSTATUS=up\nX_PRIVATE=1\nFOO=bar\nFDSTORE=1\nFDNAME=web", 1};
  pid_t app = fork_app(f, FALSE, body_send_fds, &c);
  WAIT_FOR(f->received->len == 1);
  g_unsetenv("NOTIFY_SOCKET");

  /* the app's pipe went upstream with both (the kernel gave upstream its own copies) */
  ino_t ino;
  g_assert_cmpstr(received(f, 0)->fd_data, ==, "hello");
  g_autofree char *first = read_upstream(f, &ino);
  g_assert_cmpstr(first, ==, "READY=1\nSTATUS=up\nFDSTORE=1\nFDNAME=web");
  g_assert_cmpuint(ino, ==, received(f, 0)->fd_ino);
  g_autofree char *second = read_upstream(f, &ino);
  g_assert_cmpstr(second, ==, "STATUS=up\nFDSTORE=1\nFDNAME=web");
  g_assert_cmpuint(ino, ==, received(f, 0)->fd_ino);

  int status;
  g_assert_cmpint(waitpid(app, &status, 0), ==, app);
  g_array_set_size(f->children, 0);
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void
test_relay_without_socket(void)
{
  g_unsetenv("NOTIFY_SOCKET");
  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse("READY=1", 7, &error);
  g_assert_cmpint(sv_notify_proxy_relay(msg, SV_NOTIFY_FIELDS_RELAY, NULL, 0), ==, 0);
  g_autoptr(SvNotifyMessage) mainpid = sv_notify_message_parse("MAINPID=5", 9, &error);
  g_setenv("NOTIFY_SOCKET", "/nonexistent/socket", TRUE);
  /* nothing relayable: nothing sent, not even an attempt */
  g_assert_cmpint(sv_notify_proxy_relay(mainpid, SV_NOTIFY_FIELDS_RELAY, NULL, 0), ==, 0);
  g_unsetenv("NOTIFY_SOCKET");
}

/* ---- the loop ---- */

static void
count_message(SvNotifyProxy *proxy, const SvNotifyMessage *msg, pid_t sender, const int *fds,
              guint n_fds, gpointer user_data)
{
  (*(guint *)user_data)++;
}

static guint64
max_dgram_qlen(void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/sys/net/unix/max_dgram_qlen", &text, NULL, NULL))
    return 0;
  return g_ascii_strtoull(text, NULL, 10);
}

static void
batch_body(void)
{
  g_autoptr(GError) error = NULL;
  guint n = 0;
  g_autoptr(SvNotifyProxy) proxy = sv_notify_proxy_new(NULL, count_message, NULL, &n, &error);
  g_assert_no_error(error);
  /* the test itself plays the app here: only the batching is under test */
  sv_notify_proxy_set_app_pid(proxy, getpid());
  for (int i = 0; i < SV_NOTIFY_PROXY_BATCH + 8; i++)
    g_assert_cmpint(send_text(sv_notify_proxy_get_socket_path(proxy), "WATCHDOG=1"), ==, 0);

  g_assert_true(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpuint(n, ==, SV_NOTIFY_PROXY_BATCH);
  WAIT_FOR(n == SV_NOTIFY_PROXY_BATCH + 8);
}

/* In a network namespace of our own, net.unix.max_dgram_qlen raised to 512: 0, or what
 * could not be done (the sysctl is per namespace, read when a socket is made). Where the
 * namespace can be made but its sysctl cannot be written (a container without
 * CAP_NET_ADMIN over it, a read-only /proc/sys), the test skips with that reason. */
static const char *
raise_dgram_qlen_in_new_netns(void)
{
  if (unshare(CLONE_NEWNET) != 0)
    return "unshare(CLONE_NEWNET) failed";
  int fd = open("/proc/sys/net/unix/max_dgram_qlen", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return "/proc/sys/net/unix/max_dgram_qlen cannot be opened for writing in a new "
           "network namespace";
  gboolean written = write(fd, "512", 3) == 3;
  close(fd);
  if (!written || max_dgram_qlen() != 512)
    return "net.unix.max_dgram_qlen cannot be raised in a new network namespace";
  return NULL;
}

/* A datagram socket queues at most net.unix.max_dgram_qlen datagrams (the kernel's
 * default is 10; systemd raises it to 512 at boot) and senders block beyond that, so
 * more than a batch can only be queued where it is raised: here, or in a network
 * namespace of our own. A child probes that first, doing exactly what the test does. */
static void
test_batch(void)
{
  if (g_test_subprocess()) {
    g_assert_null(raise_dgram_qlen_in_new_netns());
    batch_body();
    return;
  }
  if (max_dgram_qlen() >= SV_NOTIFY_PROXY_BATCH + 8) {
    batch_body();
    return;
  }

  int pipefd[2];
  g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
  pid_t probe = fork();
  g_assert_cmpint(probe, >=, 0);
  if (probe == 0) {
    const char *why = raise_dgram_qlen_in_new_netns();
    int saved = errno;
    if (why != NULL) {
      g_autofree char *text = g_strdup_printf("%s: %s", why, g_strerror(saved));
      (void)!write(pipefd[1], text, strlen(text));
    }
    _exit(why == NULL ? 0 : 1);
  }
  close(pipefd[1]);
  char why[512] = "";
  ssize_t n = read(pipefd[0], why, sizeof(why) - 1);
  close(pipefd[0]);
  int status;
  g_assert_cmpint(waitpid(probe, &status, 0), ==, probe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    g_autofree char *reason =
        g_strdup_printf("net.unix.max_dgram_qlen (%" G_GUINT64_FORMAT ") is too small to queue "
                        "more than one batch, and it cannot be raised here: %s",
                        max_dgram_qlen(), n > 0 ? why : "the probe died");
    g_test_skip(reason);
    return;
  }
  g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
}

static void
free_from_callback(Fixture *f, const SvNotifyMessage *msg, const int *fds, guint n_fds)
{
  sv_notify_proxy_free(f->proxy);
  f->proxy = NULL;
}

static void
test_free_from_callback(Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_strdup(f->path);
  sv_notify_proxy_set_app_pid(f->proxy, getpid());
  f->on_message = free_from_callback;
  g_assert_cmpint(send_text(path, "READY=1"), ==, 0);
  g_assert_cmpint(send_text(path, "STATUS=never read"), ==, 0);

  WAIT_FOR(f->proxy == NULL);
  /* the second datagram died with the proxy, and the socket file is gone */
  while (g_main_context_iteration(NULL, FALSE))
    ;
  g_assert_cmpuint(f->received->len, ==, 1);
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* ---- /proc/PID/stat ---- */

static void
test_parse_proc_stat(void)
{
  static const struct {
    const char *text;
    int r;
    pid_t ppid, session;
  } cases[] = {
      {"1234 (bash) S 1 1234 1234 34816 1234 4194560 1 0", 0, 1, 1234},
      {"5 (a b) (c) R 7 8 9 0\n", 0, 7, 9},
      {"6 () S 1 2 3) S 10 20 30 0", 0, 10, 30}, /* a name that mimics the fields */
      {"7 (x) Z 0 0 0", 0, 0, 0},
      {"7 (x) S 1 2", -EINVAL, 0, 0},
      {"7 (x) S 1 2 3x", -EINVAL, 0, 0},
      {"7 (x) S -1 2 3", -EINVAL, 0, 0},
      {"7 (x) S 1 2 99999999999", -EINVAL, 0, 0},
      {"7 (x)  S 1 2 3", -EINVAL, 0, 0},
      {"7 x S 1 2 3", -EINVAL, 0, 0},
      {"", -EINVAL, 0, 0},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    pid_t ppid = -5, session = -5;
    int r = sv_notify_proxy_parse_proc_stat(cases[i].text, strlen(cases[i].text), &ppid, &session);
    g_assert_cmpint(r, ==, cases[i].r);
    g_assert_cmpint(ppid, ==, r == 0 ? cases[i].ppid : -5);
    g_assert_cmpint(session, ==, r == 0 ? cases[i].session : -5);
  }

  g_autofree char *text = NULL;
  gsize len;
  g_assert_true(g_file_get_contents("/proc/self/stat", &text, &len, NULL));
  pid_t ppid, session;
  g_assert_cmpint(sv_notify_proxy_parse_proc_stat(text, len, &ppid, &session), ==, 0);
  g_assert_cmpint(ppid, ==, getppid());
  g_assert_cmpint(session, ==, getsid(0));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  /* like sdvisor: orphans of the children come back here and are reaped in teardown */
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1);

#define ADD(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
  ADD("/notify-proxy/socket/created-in-runtime-dir", test_socket);
  g_test_add_func("/notify-proxy/socket/own-private-dir-removed", test_own_dir);
  g_test_add_func("/notify-proxy/socket/path-too-long", test_path_too_long);
  g_test_add_func("/notify-proxy/socket/symlinks-never-followed", test_symlinks_never_followed);
  ADD("/notify-proxy/tree/app-accepted", test_app_accepted);
  ADD("/notify-proxy/tree/descendants-accepted", test_descendants_accepted);
  ADD("/notify-proxy/tree/orphan-in-session-accepted", test_orphan_in_session_accepted);
  ADD("/notify-proxy/tree/outside-dropped", test_outside_tree_dropped);
  ADD("/notify-proxy/tree/no-app-dropped", test_no_app);
  ADD("/notify-proxy/tree/sender-gone-dropped", test_sender_gone);
  ADD("/notify-proxy/tree/app-last-words-kept", test_app_last_words);
  ADD("/notify-proxy/message/mainpid-ignored", test_mainpid_ignored);
  ADD("/notify-proxy/message/oversize-dropped", test_oversize_dropped);
  ADD("/notify-proxy/message/malformed-dropped", test_malformed_dropped);
  ADD("/notify-proxy/barrier/answered", test_barrier_answered);
  ADD("/notify-proxy/barrier/with-company", test_bad_barrier);
  ADD("/notify-proxy/fds/fdstore-delivered", test_fdstore_delivered);
  ADD("/notify-proxy/fds/stray-closed", test_stray_fds_closed);
  ADD("/notify-proxy/fds/too-many-dropped", test_too_many_fds_dropped);
  ADD("/notify-proxy/relay/allow-list-and-fds", test_relay);
  g_test_add_func("/notify-proxy/relay/nothing-to-send", test_relay_without_socket);
  g_test_add_func("/notify-proxy/loop/batch", test_batch);
  ADD("/notify-proxy/loop/free-from-callback", test_free_from_callback);
  g_test_add_func("/notify-proxy/proc-stat/parse", test_parse_proc_stat);
#undef ADD

  return g_test_run();
}

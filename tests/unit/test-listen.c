/* test-listen.c — the app's listening sockets: binding (TCP and unix, mode and owner,
 * stale files), errors that name file:line and key, taking over passed sockets, the fd
 * store messages, the hand-over to a real child (python3 accepts a connection on fd 3),
 * and a replacement's sockets: a sibling in the socket's SO_REUSEPORT group that gets new
 * connections from the switch on. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "listen.h"
#include "listenspec.h"
#include "spawn.h"
#include "testutil.h"

static GPtrArray *
specs_of(const char *value)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *specs = sv_listenspec_parse_list(value, "shop.conf:7", &error);
  g_assert_no_error(error);
  return specs;
}

/* A set of one address, 127.0.0.1 on a free port (*OUT_PORT), bound here. */
static SvListenSet *
bind_loopback(int *out_port)
{
  *out_port = sv_free_port();
  g_autofree char *value = g_strdup_printf("127.0.0.1:%d", *out_port);
  g_autoptr(GPtrArray) specs = specs_of(value);
  g_autoptr(GError) error = NULL;
  SvListenSet *set = sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error);
  g_assert_no_error(error);
  return set;
}

static int
local_port(int fd)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &len), ==, 0);
  return ntohs(sin.sin_port);
}

static gboolean
same_file(int a, int b)
{
  struct stat sa, sb;
  g_assert_cmpint(fstat(a, &sa), ==, 0);
  g_assert_cmpint(fstat(b, &sb), ==, 0);
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ---- binding ---------------------------------------------------------------------- */

static void
test_bind_tcp(void)
{
  int port;
  g_autoptr(SvListenSet) set = bind_loopback(&port);
  g_assert_cmpuint(sv_listen_set_get_n(set), ==, 1);
  int fd = sv_listen_set_get_fds(set)[0];
  g_assert_cmpint(local_port(fd), ==, port);
  g_assert_false(sv_listen_set_get_inherited(set, 0));
  g_autofree char *name = g_strdup_printf("127.0.0.1_%d", port);
  g_assert_cmpstr(sv_listen_set_get_name(set, 0), ==, name);
  /* Close-on-exec in sdvisor: only a spawn that asks hands it on. */
  g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  /* Listening already: a connection waits in the backlog before anyone accepts. */
  int c = sv_test_connect_tcp(port);
  g_assert_cmpint(c, >=, 0);
  close(c);
}

static void
test_bind_in_use(void)
{
  int port = sv_free_port();
  int taken = sv_test_listen_tcp(port);
  g_autofree char *value = g_strdup_printf("127.0.0.1:%d", port);
  g_autoptr(GPtrArray) specs = specs_of(value);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error);
  g_assert_null(set);
  g_assert_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND);
  g_autofree char *start = g_strdup_printf("shop.conf:7: [app] listen: 127.0.0.1:%d: ", port);
  g_assert_true(g_str_has_prefix(error->message, start));
  g_assert_nonnull(strstr(error->message, "another process listens on it"));
  close(taken);
}

static void
test_bind_privileged_port(void)
{
  if (geteuid() == 0) {
    g_test_skip("root may bind any port");
    return;
  }
  g_autoptr(GPtrArray) specs = specs_of("127.0.0.1:1");
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error);
  g_assert_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND);
  g_assert_nonnull(strstr(error->message, "CAP_NET_BIND_SERVICE"));
}

/* A later address failing closes the ones bound before it. */
static void
test_bind_all_or_nothing(void)
{
  int free_port = sv_free_port();
  int busy_port = sv_free_port();
  int taken = sv_test_listen_tcp(busy_port);
  g_autofree char *value = g_strdup_printf("127.0.0.1:%d 127.0.0.1:%d", free_port, busy_port);
  g_autoptr(GPtrArray) specs = specs_of(value);
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error));
  g_assert_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND);
  int again = sv_test_listen_tcp(free_port);
  close(again);
  close(taken);
}

typedef struct {
  char *dir;
  char *path;
  char *value;
} UnixFixture;

static void
unix_setup(UnixFixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("sdvisor-listen-XXXXXX", NULL);
  f->path = g_build_filename(f->dir, "http.sock", NULL);
  f->value = g_strconcat("unix:", f->path, NULL);
}

static void
unix_teardown(UnixFixture *f, gconstpointer data)
{
  sv_test_rm_rf(f->dir);
  g_free(f->dir);
  g_free(f->path);
  g_free(f->value);
}

static void
test_unix_mode_and_owner(UnixFixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) specs = specs_of(f->value);
  g_autofree char *uid = g_strdup_printf("%u", (unsigned)getuid());
  g_autofree char *gid = g_strdup_printf("%u", (unsigned)getgid());
  SvListenOptions options = {0600, uid, gid, "shop.conf"};
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, &options, NULL, NULL, 0, &error);
  g_assert_no_error(error);
  struct stat st;
  g_assert_cmpint(lstat(f->path, &st), ==, 0);
  g_assert_true(S_ISSOCK(st.st_mode));
  g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
  g_assert_cmpuint(st.st_uid, ==, getuid());
  int c = sv_test_connect_unix(f->path);
  g_assert_cmpint(c, >=, 0);
  close(c);
}

static void
test_unix_stale_file_replaced(UnixFixture *f, gconstpointer data)
{
  /* A socket file nobody listens on any more: what a killed run leaves behind. */
  int old = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  g_strlcpy(sun.sun_path, f->path, sizeof sun.sun_path);
  g_assert_cmpint(bind(old, (struct sockaddr *)&sun, sizeof sun), ==, 0);
  close(old);
  g_assert_true(g_file_test(f->path, G_FILE_TEST_EXISTS));
  g_autoptr(GPtrArray) specs = specs_of(f->value);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error);
  g_assert_no_error(error);
  int c = sv_test_connect_unix(f->path);
  g_assert_cmpint(c, >=, 0);
  close(c);
}

static void
test_unix_live_socket_kept(UnixFixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) specs = specs_of(f->value);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) first = sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error);
  g_assert_no_error(error);
  g_autoptr(SvListenSet) second = sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error);
  g_assert_null(second);
  g_assert_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND);
  g_assert_nonnull(strstr(error->message, "another process listens on that socket"));
  /* The first one still answers. */
  int c = sv_test_connect_unix(f->path);
  g_assert_cmpint(c, >=, 0);
  close(c);
}

static void
test_unix_not_a_socket(UnixFixture *f, gconstpointer data)
{
  g_assert_true(g_file_set_contents(f->path, "data", -1, NULL));
  g_autoptr(GPtrArray) specs = specs_of(f->value);
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error));
  g_assert_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND);
  g_assert_nonnull(strstr(error->message, "shop.conf:7: [app] listen: unix:"));
  g_assert_nonnull(strstr(error->message, "not a socket; not removing it"));
  g_autofree char *kept = NULL;
  g_assert_true(g_file_get_contents(f->path, &kept, NULL, NULL));
  g_assert_cmpstr(kept, ==, "data");
}

static void
test_unix_no_directory(UnixFixture *f, gconstpointer data)
{
  g_autofree char *value = g_strconcat("unix:", f->dir, "/missing/http.sock", NULL);
  g_autoptr(GPtrArray) specs = specs_of(value);
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error));
  g_assert_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND);
  g_assert_nonnull(strstr(error->message, "its directory does not exist"));
}

static void
test_unix_unknown_owner(UnixFixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) specs = specs_of(f->value);
  SvListenOptions options = {0660, "no-such-user-sdvisor", NULL, "shop.conf"};
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_listen_set_open_with(specs, &options, NULL, NULL, 0, &error));
  g_assert_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_OWNER);
  g_assert_cmpstr(error->message, ==,
                  "shop.conf: [app] listen-user: no user 'no-such-user-sdvisor' on this host");
  /* Nothing is left behind. */
  g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
}

/* ---- taking over passed sockets ------------------------------------------------------- */

static void
test_take_over_by_address(void)
{
  int port = sv_free_port(), other_port = sv_free_port();
  int mine = sv_test_listen_tcp(port);
  int stale = sv_test_listen_tcp(other_port);
  g_autofree char *value = g_strdup_printf("127.0.0.1:%d", port);
  g_autoptr(GPtrArray) specs = specs_of(value);
  /* The name a .socket unit or a former configuration gave does not matter: the
   * address does. */
  int passed[] = {stale, mine};
  char *names[] = {"127.0.0.1_1", "web.socket", NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, NULL, passed, names, 2, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(sv_listen_set_get_n(set), ==, 1);
  g_assert_cmpint(sv_listen_set_get_fds(set)[0], ==, mine);
  g_assert_true(sv_listen_set_get_inherited(set, 0));
  g_autofree char *name = g_strdup_printf("127.0.0.1_%d", port);
  g_assert_cmpstr(sv_listen_set_get_name(set, 0), ==, name);
  const char *const *dropped = sv_listen_set_get_dropped(set);
  g_assert_cmpstr(dropped[0], ==, "127.0.0.1_1");
  g_assert_null(dropped[1]);
  /* The stale one is closed, and its port free again. */
  g_assert_cmpint(fcntl(stale, F_GETFD), ==, -1);
  close(sv_test_listen_tcp(other_port));
}

/* Unix sockets are matched by path, or by abstract name (exactly: "@ab" is not "@a"). */
static void
test_take_over_unix(UnixFixture *f, gconstpointer data)
{
  g_autofree char *abstract = g_strdup_printf("unix:@sdvisor-test-%d", (int)getpid());
  g_autofree char *prefix = g_strdup_printf("unix:@sdvisor-test-%d-", (int)getpid());
  g_autofree char *value = g_strdup_printf("%s %s", f->value, abstract);
  g_autoptr(GPtrArray) specs = specs_of(value);
  /* What a former run (or a .socket unit) bound: the same path, the same abstract name,
   * and a name that only starts like it. */
  g_autofree char *former_value = g_strdup_printf("%s %s", prefix, value);
  g_autoptr(GPtrArray) former_specs = specs_of(former_value);
  g_autoptr(SvListenSet) former = sv_listen_set_open_with(former_specs, NULL, NULL, NULL, 0, NULL);
  g_assert_nonnull(former);
  int passed[3];
  for (guint i = 0; i < 3; i++)
    passed[i] = dup(sv_listen_set_get_fds(former)[i]);
  char *names[] = {"a", "b", "c", NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, NULL, passed, names, 3, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(sv_listen_set_get_n(set), ==, 2);
  g_assert_cmpint(sv_listen_set_get_fds(set)[0], ==, passed[1]);
  g_assert_cmpint(sv_listen_set_get_fds(set)[1], ==, passed[2]);
  g_assert_true(sv_listen_set_get_inherited(set, 0));
  g_assert_true(sv_listen_set_get_inherited(set, 1));
  g_assert_cmpstr(sv_listen_set_get_dropped(set)[0], ==, "a");
}

static void
test_take_over_without_listen(void)
{
  int a = sv_test_listen_tcp(sv_free_port()), b = sv_test_listen_tcp(sv_free_port());
  int passed[] = {a, b};
  char *names[] = {"web.socket", "admin.socket", NULL};
  g_autoptr(GPtrArray) none = g_ptr_array_new();
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(none, NULL, passed, names, 2, NULL);
  g_assert_cmpuint(sv_listen_set_get_n(set), ==, 2);
  g_assert_cmpint(sv_listen_set_get_fds(set)[1], ==, b);
  g_assert_cmpstr(sv_listen_set_get_name(set, 1), ==, "admin.socket");
  g_autofree char *text = sv_listen_set_describe(set);
  g_assert_cmpstr(text, ==,
                  "web.socket (fd 3, from the service manager), admin.socket (fd 4, from the "
                  "service manager)");
}

/* ---- the fd store ------------------------------------------------------------------------ */

/* A service manager's notify socket in F's directory, in NOTIFY_SOCKET until unset. */
static int
notify_receiver(UnixFixture *f)
{
  g_autofree char *path = g_build_filename(f->dir, "notify", NULL);
  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  g_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
  g_assert_cmpint(bind(sock, (struct sockaddr *)&sun, sizeof sun), ==, 0);
  g_setenv("NOTIFY_SOCKET", path, TRUE);
  return sock;
}

/* Receives one datagram and its fd (-1: none). */
static char *
receive(int sock, int *out_fd)
{
  char buf[4096];
  union {
    struct cmsghdr align;
    char space[CMSG_SPACE(sizeof(int) * 4)];
  } control;
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  g_assert_cmpint(n, >, 0);
  buf[n] = '\0';
  *out_fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      g_assert_cmpuint(c->cmsg_len, ==, CMSG_LEN(sizeof(int)));
      memcpy(out_fd, CMSG_DATA(c), sizeof(int));
    }
  return g_strdup(buf);
}

static void
test_store(UnixFixture *f, gconstpointer data)
{
  int port = sv_free_port();
  g_autofree char *value = g_strdup_printf("127.0.0.1:%d %s", port, f->value);
  g_autoptr(GPtrArray) specs = specs_of(value);
  int stale = sv_test_listen_tcp(sv_free_port());
  int passed[] = {stale};
  char *names[] = {"127.0.0.1_1", NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, NULL, passed, names, 1, &error);
  g_assert_no_error(error);

  /* Nobody listens: nothing sent, no error. */
  g_unsetenv("NOTIFY_SOCKET");
  g_assert_cmpint(sv_listen_set_store(set), ==, 0);

  int sock = notify_receiver(f);
  g_assert_cmpint(sv_listen_set_store(set), ==, 2);
  g_unsetenv("NOTIFY_SOCKET");

  int fd = -1;
  g_autofree char *remove = receive(sock, &fd);
  g_assert_cmpstr(remove, ==, "FDSTOREREMOVE=1\nFDNAME=127.0.0.1_1");
  g_assert_cmpint(fd, ==, -1);
  for (guint i = 0; i < 2; i++) {
    g_autofree char *stored = receive(sock, &fd);
    g_autofree char *expected =
        g_strdup_printf("FDSTORE=1\nFDNAME=%s", sv_listen_set_get_name(set, i));
    g_assert_cmpstr(stored, ==, expected);
    /* The very socket, not a new one: the port stays bound while systemd holds it. */
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(same_file(fd, sv_listen_set_get_fds(set)[i]));
    close(fd);
  }
  close(sock);
}

/* ---- the hand-over to a child ------------------------------------------------------------- */

/* The child checks what systemd's protocol promises (sd_listen_fds(3)) and answers one
 * connection on fd 3 with its pid. */
static const char child_script[] =
    "import os, socket, sys\n"
    "pid = os.getpid()\n"
    "assert os.environ['LISTEN_PID'] == str(pid), os.environ.get('LISTEN_PID')\n"
    "n = int(os.environ['LISTEN_FDS'])\n"
    "names = os.environ['LISTEN_FDNAMES'].split(':')\n"
    "assert len(names) == n\n"
    "try:\n"
    "    os.fstat(3 + n)\n"
    "    sys.exit('an fd beyond LISTEN_FDS is open')\n"
    "except OSError:\n"
    "    pass\n"
    "s = socket.socket(fileno=3)\n"
    "c, _ = s.accept()\n"
    "c.sendall(('%d %d %s\\n' % (pid, n, names[0])).encode())\n"
    "c.close()\n";

static void
test_spawn_child_accepts(void)
{
  g_autofree char *python = g_find_program_in_path("python3");
  if (python == NULL) {
    g_test_skip("no python3");
    return;
  }
  int port;
  g_autoptr(SvListenSet) set = bind_loopback(&port);
  g_autoptr(GError) error = NULL;

  char *argv[] = {python, "-c", (char *)child_script, NULL};
  SvSpawnOptions options = SV_SPAWN_OPTIONS_INIT;
  options.argv = argv;
  /* A LISTEN_PID of somebody else's in the environment given is replaced. */
  char **env = g_environ_setenv(sv_spawn_base_environ(), "LISTEN_PID", "1", TRUE);
  env = sv_listen_set_prepare_spawn(set, &options, env);
  g_auto(GStrv) envp = env;
  options.envp = envp;
  g_assert_cmpstr(g_environ_getenv(envp, "LISTEN_FDS"), ==, "1");
  g_assert_cmpstr(g_environ_getenv(envp, "LISTEN_FDNAMES"), ==, sv_listen_set_get_name(set, 0));
  g_assert_null(g_environ_getenv(envp, "LISTEN_PID"));
  g_assert_true(options.set_listen_pid);

  pid_t pid = 0;
  g_assert_true(sv_spawn(&options, &pid, NULL, &error));
  g_assert_no_error(error);

  int c = sv_test_connect_tcp(port);
  g_assert_cmpint(c, >=, 0);
  char buf[256] = {0};
  gsize got = 0;
  ssize_t n;
  while ((n = read(c, buf + got, sizeof buf - 1 - got)) > 0)
    got += (gsize)n;
  close(c);
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
  g_autofree char *expected =
      g_strdup_printf("%d 1 %s\n", (int)pid, sv_listen_set_get_name(set, 0));
  g_assert_cmpstr(buf, ==, expected);

  /* An empty set takes it all back. */
  g_autoptr(SvListenSet) empty = sv_listen_set_open_with(NULL, NULL, NULL, NULL, 0, NULL);
  g_auto(GStrv) cleared = sv_listen_set_prepare_spawn(empty, &options, g_strdupv(envp));
  g_assert_null(g_environ_getenv(cleared, "LISTEN_FDS"));
  g_assert_null(g_environ_getenv(cleared, "LISTEN_FDNAMES"));
  g_assert_cmpuint(options.n_pass_fds, ==, 0);
  g_assert_false(options.set_listen_pid);
}

/* ---- a replacement's sockets: a sibling in the same SO_REUSEPORT group, steered -------- */

/* Connects N clients to PORT (kept open in CLIENTS) and waits until WHERE's accept queues
 * hold WANT connections, or 5 s. */
static guint
connect_and_count(int port, guint n, GPtrArray *clients, const SvListenSet *where, guint want)
{
  for (guint i = 0; i < n; i++) {
    int c = sv_test_connect_tcp(port);
    g_assert_cmpint(c, >=, 0);
    g_ptr_array_add(clients, GINT_TO_POINTER(c));
  }
  gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
  while (sv_listen_set_get_queued(where) != want && g_get_monotonic_time() < deadline)
    g_usleep(1000);
  return sv_listen_set_get_queued(where);
}

static void
close_clients(GPtrArray *clients)
{
  for (guint i = 0; i < clients->len; i++)
    close(GPOINTER_TO_INT(clients->pdata[i]));
  g_ptr_array_set_size(clients, 0);
}

static void
test_fork_steers(void)
{
  int port;
  SvListenSet *old = bind_loopback(&port);
  g_autoptr(GPtrArray) clients = g_ptr_array_new();
  g_autoptr(GError) error = NULL;
  g_autofree char *shared = NULL;
  SvListenSet *next = sv_listen_set_fork(old, &shared, &error);
  g_assert_no_error(error);
  g_assert_null(shared);
  /* A socket of its own, on the same port, under the same name for the app. */
  g_assert_cmpuint(sv_listen_set_get_n(next), ==, 1);
  g_assert_cmpuint(sv_listen_set_get_n_own(next), ==, 1);
  g_assert_cmpuint(sv_listen_set_get_n_own(old), ==, 1);
  g_assert_false(same_file(sv_listen_set_get_fds(next)[0], sv_listen_set_get_fds(old)[0]));
  g_assert_cmpint(local_port(sv_listen_set_get_fds(next)[0]), ==, port);
  g_assert_cmpstr(sv_listen_set_get_name(next, 0), ==, sv_listen_set_get_name(old, 0));

  /* Until the switch every connection waits for the old instance... */
  g_assert_cmpuint(connect_and_count(port, 20, clients, old, 20), ==, 20);
  g_assert_cmpuint(sv_listen_set_get_queued(next), ==, 0);
  /* ...and after it, none does. */
  g_assert_cmpint(sv_listen_set_steer(next), ==, 0);
  g_assert_cmpuint(connect_and_count(port, 20, clients, next, 20), ==, 20);
  g_assert_cmpuint(sv_listen_set_get_queued(old), ==, 20);

  /* Another replacement while the old socket is still open shares the socket: a third
   * socket in the group could get connections by the kernel's hash when one leaves. */
  g_autofree char *why = NULL;
  SvListenSet *third = sv_listen_set_fork(next, &why, &error);
  g_assert_no_error(error);
  g_assert_nonnull(why);
  g_assert_nonnull(strstr(why, "still open"));
  g_assert_true(sv_listen_set_has_siblings(next));
  g_assert_true(same_file(sv_listen_set_get_fds(third)[0], sv_listen_set_get_fds(next)[0]));
  g_assert_cmpuint(sv_listen_set_get_n_own(third), ==, 0);
  g_assert_cmpuint(sv_listen_set_get_n_own(next), ==, 0);
  sv_listen_set_free(third);
  g_assert_cmpuint(sv_listen_set_get_n_own(next), ==, 1);

  /* The old socket goes: its waiting connections with it, and the next replacement gets
   * a socket of its own again, connections staying with NEXT until it is steered. */
  sv_listen_set_free(old);
  g_assert_false(sv_listen_set_has_siblings(next));
  close_clients(clients);
  g_assert_cmpuint(connect_and_count(port, 5, clients, next, 25), ==, 25);
  g_autofree char *none = NULL;
  SvListenSet *fourth = sv_listen_set_fork(next, &none, &error);
  g_assert_no_error(error);
  g_assert_null(none);
  g_assert_cmpuint(connect_and_count(port, 5, clients, next, 30), ==, 30);
  g_assert_cmpuint(sv_listen_set_get_queued(fourth), ==, 0);
  close_clients(clients);
  sv_listen_set_free(fourth);
  sv_listen_set_free(next);
}

/* Unix sockets have no such group: the new instance shares the socket, and says so. */
static void
test_fork_shares_unix(UnixFixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) specs = specs_of(f->value);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) set = sv_listen_set_open_with(specs, NULL, NULL, NULL, 0, &error);
  g_assert_no_error(error);
  g_autofree char *shared = NULL;
  g_autoptr(SvListenSet) next = sv_listen_set_fork(set, &shared, &error);
  g_assert_no_error(error);
  g_assert_nonnull(shared);
  g_assert_nonnull(strstr(shared, f->path));
  g_assert_true(same_file(sv_listen_set_get_fds(next)[0], sv_listen_set_get_fds(set)[0]));
  g_assert_cmpuint(sv_listen_set_get_n_own(next), ==, 0);
}

/* The fd store after a switch: the old socket taken out by its name, then the new one
 * under a name of its own, so that the store never holds a socket of a gone instance. */
static void
test_store_switch(UnixFixture *f, gconstpointer data)
{
  int port;
  g_autoptr(SvListenSet) old = bind_loopback(&port);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSet) next = sv_listen_set_fork(old, NULL, &error);
  g_assert_no_error(error);

  int sock = notify_receiver(f);
  g_assert_cmpint(sv_listen_set_store_switch(old, next), ==, 1);
  g_unsetenv("NOTIFY_SOCKET");

  int fd = -1;
  const char *name = sv_listen_set_get_name(old, 0);
  g_autofree char *removed = receive(sock, &fd);
  g_autofree char *expected_removed = g_strdup_printf("FDSTOREREMOVE=1\nFDNAME=%s", name);
  g_assert_cmpstr(removed, ==, expected_removed);
  g_assert_cmpint(fd, ==, -1);
  g_autofree char *stored = receive(sock, &fd);
  g_autofree char *expected = g_strdup_printf("FDSTORE=1\nFDNAME=%s+1", name);
  g_assert_cmpstr(stored, ==, expected);
  g_assert_true(same_file(fd, sv_listen_set_get_fds(next)[0]));
  close(fd);
  close(sock);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/listen/bind/tcp", test_bind_tcp);
  g_test_add_func("/listen/bind/in-use-names-file-line-key", test_bind_in_use);
  g_test_add_func("/listen/bind/privileged-port-says-how", test_bind_privileged_port);
  g_test_add_func("/listen/bind/all-or-nothing", test_bind_all_or_nothing);
#define U(path, func) g_test_add(path, UnixFixture, NULL, unix_setup, func, unix_teardown)
  U("/listen/unix/mode-and-owner", test_unix_mode_and_owner);
  U("/listen/unix/stale-socket-file-replaced", test_unix_stale_file_replaced);
  U("/listen/unix/live-socket-left-alone", test_unix_live_socket_kept);
  U("/listen/unix/not-a-socket-left-alone", test_unix_not_a_socket);
  U("/listen/unix/unknown-owner", test_unix_unknown_owner);
  U("/listen/unix/no-directory-says-how", test_unix_no_directory);
  g_test_add_func("/listen/take-over/by-address", test_take_over_by_address);
  U("/listen/take-over/unix-path-and-abstract-name", test_take_over_unix);
  g_test_add_func("/listen/take-over/without-listen-keeps-all", test_take_over_without_listen);
  U("/listen/fd-store/remove-stale-then-store-each", test_store);
  g_test_add_func("/listen/spawn/child-accepts-on-fd-3", test_spawn_child_accepts);
  g_test_add_func("/listen/replace/sibling-steered-at-switch", test_fork_steers);
  U("/listen/replace/unix-socket-shared", test_fork_shares_unix);
  U("/listen/replace/fd-store-switch", test_store_switch);
  return g_test_run();
}

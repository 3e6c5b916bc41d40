/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gint64
sv_now_ms(void)
{
  return g_get_monotonic_time() / 1000;
}

gboolean
sv_test_under_valgrind(void)
{
  return g_strcmp0(g_getenv("SDVISOR_VALGRIND"), "1") == 0;
}

gboolean
sv_test_have_python_module(const char *module)
{
  g_autofree char *code = g_strdup_printf("import %s", module);
  const char *argv[] = {"/usr/bin/python3", "-c", code, NULL};
  int status = 0;
  if (g_spawn_sync(NULL, (char **)argv, NULL,
                   G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                   &status, NULL) &&
      g_spawn_check_wait_status(status, NULL))
    return TRUE;
  g_autofree char *why = g_strdup_printf("/usr/bin/python3 has no %s", module);
  g_test_skip(why);
  return FALSE;
}

gboolean
sv_test_slow(void)
{
  return sv_test_under_valgrind() || g_strcmp0(g_getenv("SDVISOR_TEST_SLOW"), "1") == 0;
}

void
sv_test_rm_rf(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *p = g_build_filename(path, name, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
      sv_test_rm_rf(p);
    else
      (void)g_unlink(p);
  }
  (void)g_rmdir(path);
}

SvTestDir *
sv_test_dir_new(const char *template)
{
  char *dir = g_dir_make_tmp(template, NULL);
  g_assert_nonnull(dir);
  return dir;
}

void
sv_test_dir_free(SvTestDir *dir)
{
  sv_test_rm_rf(dir);
  g_free(dir);
}

gboolean
sv_test_wait_pid_gone(pid_t pid, guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  for (;;) {
    while (g_main_context_iteration(NULL, FALSE))
      ;
    if (kill(pid, 0) < 0 && errno == ESRCH)
      return TRUE;
    if (sv_now_ms() >= deadline)
      return FALSE;
    g_usleep(10 * 1000);
  }
}

char
sv_test_pid_state(pid_t pid, pid_t *ppid)
{
  g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
  g_autofree char *stat = NULL;
  if (!g_file_get_contents(path, &stat, NULL, NULL))
    return 0;
  /* after the command name in parentheses, which may hold anything: state, ppid */
  const char *close = strrchr(stat, ')');
  char state;
  int parent;
  if (close == NULL || sscanf(close + 2, "%c %d", &state, &parent) != 2)
    return 0;
  if (ppid != NULL)
    *ppid = parent;
  return state;
}

gboolean
sv_test_pid_alive(pid_t pid)
{
  char state = sv_test_pid_state(pid, NULL);
  return state != 0 && state != 'Z' && state != 'X';
}

void
sv_test_spin(guint ms)
{
  gint64 until = sv_now_ms() + ms;
  while (sv_now_ms() < until) {
    while (g_main_context_iteration(NULL, FALSE))
      ;
    g_usleep(1000);
  }
}

/* The pids of PARENT's children; ZOMBIES: only those not reaped yet, else only the living. */
static GArray *
children_of(pid_t parent, gboolean zombies)
{
  GArray *children = g_array_new(FALSE, FALSE, sizeof(int));
  g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
  const char *name;
  while (proc != NULL && (name = g_dir_read_name(proc)) != NULL) {
    if (!g_ascii_isdigit(name[0]))
      continue;
    int pid = atoi(name);
    pid_t ppid = 0;
    char state = sv_test_pid_state(pid, &ppid);
    if (ppid != parent)
      continue;
    gboolean alive = state != 0 && state != 'Z' && state != 'X';
    if (zombies ? state == 'Z' : alive)
      g_array_append_val(children, pid);
  }
  return children;
}

GArray *
sv_test_zombies_of(pid_t parent)
{
  return children_of(parent, TRUE);
}

GArray *
sv_test_children_of(pid_t parent)
{
  return children_of(parent, FALSE);
}

/* NULL if ARGV runs and exits 0, else WHAT and its last line of output. */
static char *
probe(const char *what, const char *const *argv)
{
  if (getuid() != 0)
    return g_strdup_printf("%s needs root", what);
  if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup_printf("%s needs %s (util-linux)", what, argv[0]);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &out,
                    &status, &error))
    return g_strdup_printf("%s: %s", what, error->message);
  if (g_spawn_check_wait_status(status, NULL))
    return NULL;
  g_strstrip(out);
  const char *last = strrchr(out, '\n');
  return g_strdup_printf("%s is not possible here: %s", what,
                         last != NULL ? last + 1 : (*out ? out : "no reason given"));
}

char *
sv_test_mount_ns_missing(void)
{
  const char *argv[] = {"/usr/bin/unshare",
                        "-m",
                        "--propagation",
                        "private",
                        "/bin/sh",
                        "-c",
                        "mount -t tmpfs -o size=64k,mode=0755 tmpfs /run",
                        NULL};
  return probe("a private mount namespace with a tmpfs", argv);
}

char *
sv_test_pid_ns_missing(void)
{
  const char *argv[] = {"/usr/bin/unshare", "--fork",    "--pid", "--mount-proc",
                        "--kill-child",     "/bin/true", NULL};
  return probe("a PID namespace", argv);
}

char *
sv_test_mount_small_tmpfs(const char *dir)
{
  g_autofree char *mnt = g_build_filename(dir, "small", NULL);
  g_assert_cmpint(g_mkdir(mnt, 0700), ==, 0);
  if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") < 0) {
    g_autofree char *why = g_strdup_printf("cannot mount a tmpfs here: %s", g_strerror(errno));
    g_test_skip(why);
    return NULL;
  }
  return g_steal_pointer(&mnt);
}

char *
sv_test_fill_up(const char *dir)
{
  char *filler = g_build_filename(dir, "filler", NULL);
  int fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint(fd, >=, 0);
  char block[4096];
  memset(block, 'f', sizeof block);
  while (write(fd, block, sizeof block) > 0)
    ;
  g_assert_cmpint(errno, ==, ENOSPC);
  close(fd);
  return filler;
}

guint
sv_test_count_hidden(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  guint n = 0;
  const char *name;
  while (d && (name = g_dir_read_name(d)) != NULL)
    if (name[0] == '.')
      n++;
  return n;
}

SvTestStateDir *
sv_test_state_dir_new(const char *app)
{
  SvTestStateDir *dir = g_new0(SvTestStateDir, 1);
  dir->base = sv_test_dir_new("sdvisor-test-state-XXXXXX");
  dir->state = g_build_filename(dir->base, "state", NULL);
  dir->app_dir = g_build_filename(dir->state, app, NULL);
  dir->env = g_strconcat("STATE_DIRECTORY=", dir->state, NULL);
  g_assert_cmpint(g_mkdir_with_parents(dir->app_dir, 0700), ==, 0);
  g_assert_cmpint(g_chmod(dir->state, 0700), ==, 0);
  return dir;
}

void
sv_test_state_dir_free(SvTestStateDir *dir)
{
  sv_test_dir_free(dir->base);
  g_free(dir->state);
  g_free(dir->app_dir);
  g_free(dir->env);
  g_free(dir);
}

char *
sv_test_read_until_quiet(int fd, int timeout_ms)
{
  GString *out = g_string_new(NULL);
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0)
      break;
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    g_string_append_len(out, buf, n);
  }
  return g_string_free(out, FALSE);
}

int
sv_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(fd, >=, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
  close(fd);
  return ntohs(sa.sin_port);
}

static struct sockaddr_in
loopback(int port)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((guint16)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

int
sv_test_listen_tcp(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(fd, >=, 0);
  struct sockaddr_in sa = loopback(port);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint(listen(fd, 8), ==, 0);
  return fd;
}

static int
connect_to(int family, const struct sockaddr *sa, socklen_t len)
{
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(fd, >=, 0);
  if (connect(fd, sa, len) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int
sv_test_connect_tcp(int port)
{
  struct sockaddr_in sa = loopback(port);
  return connect_to(AF_INET, (struct sockaddr *)&sa, sizeof sa);
}

int
sv_test_connect_unix(const char *path)
{
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  g_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
  return connect_to(AF_UNIX, (struct sockaddr *)&sun, sizeof sun);
}

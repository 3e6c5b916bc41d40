/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

GArray *
sv_test_zombies_of(pid_t parent)
{
  GArray *zombies = g_array_new(FALSE, FALSE, sizeof(int));
  g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
  const char *name;
  while (proc != NULL && (name = g_dir_read_name(proc)) != NULL) {
    if (!g_ascii_isdigit(name[0]))
      continue;
    g_autofree char *path = g_strdup_printf("/proc/%s/stat", name);
    g_autofree char *stat = NULL;
    if (!g_file_get_contents(path, &stat, NULL, NULL))
      continue;
    /* after the command name in parentheses, which may hold anything: state, ppid */
    const char *close = strrchr(stat, ')');
    char state;
    int ppid;
    if (close && sscanf(close + 2, "%c %d", &state, &ppid) == 2 && state == 'Z' && ppid == parent) {
      int pid = atoi(name);
      g_array_append_val(zombies, pid);
    }
  }
  return zombies;
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

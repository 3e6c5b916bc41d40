/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
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

/* harness.c — drive the built sdvisor binary from a GLib test. */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

gboolean
sv_test_required(void)
{
  return g_strcmp0(g_getenv("SDVISOR_INTEGRATION_TESTS_REQUIRED"), "1") == 0;
}

void
sv_test_skip_unless_required(const char *reason)
{
  if (sv_test_required())
    g_test_fail_printf("cannot run: %s (SDVISOR_INTEGRATION_TESTS_REQUIRED=1: a skip is a failure)",
                       reason);
  else
    g_test_skip(reason);
}

SvRun *
sv_run_start_with_journal(const char *journal_socket, const char *config, const char *pre,
                          const char *wrapper, const char *const *env)
{
  g_autofree char *inner =
      g_strdup_printf("mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/systemd/journal && "
                      ": > /run/systemd/journal/socket && "
                      "mount --bind \"$SVTEST_JOURNAL\" /run/systemd/journal/socket && %s "
                      "exec %s $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run --config "
                      "\"$SVTEST_CONF\"",
                      pre ? pre : "", wrapper ? wrapper : "");
  g_autoptr(GPtrArray) envp = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(envp, g_strconcat("SVTEST_INNER=", inner, NULL));
  g_ptr_array_add(envp, g_strconcat("SVTEST_JOURNAL=", journal_socket, NULL));
  g_ptr_array_add(envp, g_strconcat("SVTEST_CONF=", config, NULL));
  for (const char *const *e = env; e && *e; e++)
    g_ptr_array_add(envp, g_strdup(*e));
  g_ptr_array_add(envp, NULL);
  /* unshare execs the inner shell in its own place: run->pid stays sdvisor's. */
  const char *argv[] = {"-c", "exec unshare -m --propagation private /bin/sh -c \"$SVTEST_INNER\"",
                        NULL};
  return sv_run_start_shell(argv, (const char *const *)envp->pdata);
}

gint64
sv_run_reload(SvRun *run, guint timeout_ms)
{
  guint before = sv_run_count_messages(run, "READY=1", 0);
  sv_run_kill(run, SIGHUP);
  gint64 deadline = sv_now_ms() + timeout_ms;
  while (sv_run_count_messages(run, "READY=1", 10) == before && sv_now_ms() < deadline)
    ;
  gint64 seen = g_get_real_time();
  guint after = sv_run_count_messages(run, "READY=1", 0);
  if (after != before + 1) {
    g_autofree char *err = sv_run_stderr(run);
    g_test_message("%u READY=1 after SIGHUP; sdvisor's stderr:\n%s", after - before, err);
  }
  g_assert_cmpuint(after, ==, before + 1);
  return seen;
}

gboolean
sv_run_wait_ready_in_mount_ns(SvRun *run, guint timeout_ms)
{
  if (sv_run_wait_message(run, "READY=1", timeout_ms) != NULL)
    return TRUE;
  g_autofree char *err = sv_run_stderr(run);
  if (sv_run_wait_exit(run, 0) >= 0 && (strstr(err, "unshare") || strstr(err, "mount"))) {
    sv_test_skip_unless_required("a private mount namespace with a tmpfs is not permitted here");
    return FALSE;
  }
  g_error("sdvisor did not start: %s", err);
}

const char *
sv_test_binary(void)
{
  const char *bin = g_getenv("SDVISOR_BINARY");
  g_assert_nonnull(bin);
  return bin;
}

char *
sv_test_app(const char *name)
{
  return g_test_build_filename(G_TEST_DIST, "apps", name, NULL);
}

static gboolean
expand_app(const GMatchInfo *match, GString *result, gpointer user_data)
{
  g_autofree char *name = g_match_info_fetch(match, 1);
  g_autofree char *path = sv_test_app(name);
  g_string_append(result, path);
  return FALSE;
}

char *
sv_test_expand_apps(const char *text)
{
  g_autoptr(GRegex) app = g_regex_new("@([A-Za-z0-9_.-]+\\.(?:sh|py))@", 0, 0, NULL);
  char *expanded = g_regex_replace_eval(app, text, -1, 0, 0, expand_app, NULL, NULL);
  g_assert_nonnull(expanded);
  return expanded;
}

SvRun *
sv_run_start_config_full(const char *text, const char *const *env, const char *pre,
                         const char *exec_line)
{
  g_autofree char *config = sv_test_expand_apps(text);
  g_autofree char *config_env = g_strconcat("SVTEST_CONFIG=", config, NULL);
  g_autofree char *script =
      g_strdup_printf("printf '%%s\\n' \"$SVTEST_CONFIG\" | sed \"s|@DIR@|$SVTEST_DIR|g\" > "
                      "\"$SVTEST_DIR/sdvisor.conf\" "
                      "&& chmod 0644 \"$SVTEST_DIR/sdvisor.conf\" && unset SVTEST_CONFIG && %s %s",
                      pre ? pre : "", exec_line ? exec_line : SV_EXEC_SDVISOR);
  g_autoptr(GPtrArray) envp = g_ptr_array_new();
  g_ptr_array_add(envp, config_env);
  for (const char *const *e = env; e && *e; e++)
    g_ptr_array_add(envp, (gpointer)*e);
  g_ptr_array_add(envp, NULL);
  const char *argv[] = {"-c", script, NULL};
  return sv_run_start_shell(argv, (const char *const *)envp->pdata);
}

char *
sv_run_path(SvRun *run, const char *name)
{
  return g_build_filename(run->dir, name, NULL);
}

static SvRun *run_start(const char *const *wrapper, gboolean with_binary, const char *const *argv,
                        const char *const *env);

SvRun *
sv_run_start_full(const char *const *wrapper, const char *const *argv, const char *const *env)
{
  return run_start(wrapper, TRUE, argv, env);
}

SvRun *
sv_run_start_shell(const char *const *argv, const char *const *env)
{
  static const char *const sh[] = {"/bin/sh", NULL};
  return run_start(sh, FALSE, argv, env);
}

static SvRun *
run_start(const char *const *wrapper, gboolean with_binary, const char *const *argv,
          const char *const *env)
{
  SvRun *run = g_new0(SvRun, 1);
  run->dir = g_dir_make_tmp("sdvisor-test-XXXXXX", NULL);
  g_assert_nonnull(run->dir);
  run->messages = g_ptr_array_new_with_free_func(g_free);
  run->notify_path = g_build_filename(run->dir, "notify.sock", NULL);
  run->stderr_path = g_build_filename(run->dir, "stderr.log", NULL);

  run->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  g_assert_cmpint(run->notify_fd, >=, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_assert_cmpuint(strlen(run->notify_path), <, sizeof sa.sun_path);
  strcpy(sa.sun_path, run->notify_path);
  g_assert_cmpint(bind(run->notify_fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);

  /* Memcheck on sdvisor itself (not on the apps it runs): a definite leak or an invalid
   * access in its report fails the test (check_valgrind_logs). Each process's report
   * goes to its own file, checked when sdvisor has exited (sv_run_wait_exit): a forked
   * child that fails before execve() exits without freeing the parent's copies, which
   * memcheck would count against sdvisor. */
  g_autoptr(GPtrArray) valgrind = g_ptr_array_new_with_free_func(g_free);
  if (sv_test_under_valgrind()) {
    g_autofree char *valgrind_path = g_find_program_in_path("valgrind");
    g_assert_nonnull(valgrind_path);
    g_ptr_array_add(valgrind, g_steal_pointer(&valgrind_path));
    g_ptr_array_add(valgrind, g_strdup("--child-silent-after-fork=yes"));
    g_ptr_array_add(valgrind, g_strdup_printf("--log-file=%s/valgrind-%%p.log", run->dir));
    g_ptr_array_add(valgrind, g_strdup("--leak-check=full"));
    g_ptr_array_add(valgrind, g_strdup("--errors-for-leak-kinds=definite"));
    g_ptr_array_add(valgrind, g_strdup("--show-leak-kinds=definite"));
    g_ptr_array_add(valgrind, g_strdup("--track-origins=no"));
  }

  g_autoptr(GPtrArray) args = g_ptr_array_new();
  for (const char *const *w = wrapper; w && *w; w++)
    g_ptr_array_add(args, (gpointer)*w);
  if (with_binary) {
    for (guint i = 0; i < valgrind->len; i++)
      g_ptr_array_add(args, valgrind->pdata[i]);
    g_ptr_array_add(args, (gpointer)sv_test_binary());
  }
  for (const char *const *a = argv; *a; a++)
    g_ptr_array_add(args, (gpointer)*a);
  g_ptr_array_add(args, NULL);

  /* A shell that execs sdvisor itself puts this before "$SDVISOR_BINARY", unquoted:
   * `exec $SVTEST_SDVISOR_PREFIX "$SDVISOR_BINARY" …` runs it under the same memcheck
   * (valgrind keeps the pid, so $$ and run->pid are still sdvisor's). The shell splits
   * it at spaces, so none may be inside a word. Empty without valgrind. */
  g_autoptr(GString) prefix = g_string_new(NULL);
  for (guint i = 0; i < valgrind->len; i++) {
    g_assert_null(strpbrk(valgrind->pdata[i], " \t\n'\"\\$*?[&;|<>(){}`"));
    g_string_append_printf(prefix, "%s%s", i > 0 ? " " : "", (char *)valgrind->pdata[i]);
  }

  g_auto(GStrv) envp = g_get_environ();
  envp = g_environ_setenv(envp, "NOTIFY_SOCKET", run->notify_path, TRUE);
  envp = g_environ_setenv(envp, "SVTEST_DIR", run->dir, TRUE);
  envp = g_environ_setenv(envp, "SVTEST_SDVISOR_PREFIX", prefix->str, TRUE);
  envp = g_environ_unsetenv(envp, "G_DEBUG"); /* the apps are not GLib tests */
  /* Under valgrind GLib's slices would hide blocks from memcheck; otherwise sdvisor
   * gets no G_SLICE, as it would from systemd (and takes malloc itself: main.c). */
  if (sv_test_under_valgrind())
    envp = g_environ_setenv(envp, "G_SLICE", "always-malloc", TRUE);
  for (const char *const *e = env; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    g_autofree char *name = g_strndup(*e, (gsize)(eq - *e));
    envp = g_environ_setenv(envp, name, eq + 1, TRUE);
  }

  int err_fd = open(run->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint(err_fd, >=, 0);

  pid_t pid = fork();
  g_assert_cmpint(pid, >=, 0);
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(err_fd, 1);
    dup2(err_fd, 2);
    /* An aborted test takes its sdvisor with it (the apps follow: sdvisor's own stop
     * is not run, but they lose their supervisor's pipes and the test its processes). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The test's own signal mask must not leak into sdvisor. */
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execve(((char **)args->pdata)[0], (char **)args->pdata, envp);
    _exit(127);
  }
  close(err_fd);
  run->pid = pid;
  return run;
}

static gboolean
read_one(SvRun *run, int timeout_ms)
{
  struct pollfd pfd = {run->notify_fd, POLLIN, 0};
  int r = poll(&pfd, 1, MAX(timeout_ms, 0));
  if (r <= 0)
    return FALSE;
  char buf[8192];
  ssize_t n = recv(run->notify_fd, buf, sizeof buf - 1, 0);
  if (n < 0)
    return FALSE;
  buf[n] = '\0';
  g_ptr_array_add(run->messages, g_strdup(buf));
  if (g_test_verbose())
    g_printerr("# notify: %s\n", buf);
  return TRUE;
}

const char *
sv_run_wait_message(SvRun *run, const char *needle, guint timeout_ms)
{
  for (guint i = 0; i < run->messages->len; i++)
    if (strstr(run->messages->pdata[i], needle))
      return run->messages->pdata[i];
  gint64 deadline = sv_now_ms() + timeout_ms;
  for (;;) {
    gint64 left = deadline - sv_now_ms();
    if (left < 0 || !read_one(run, (int)left)) {
      if (sv_now_ms() >= deadline)
        return NULL;
      continue;
    }
    const char *last = run->messages->pdata[run->messages->len - 1];
    if (strstr(last, needle))
      return last;
  }
}

guint
sv_run_count_messages(SvRun *run, const char *needle, guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  while (sv_now_ms() < deadline)
    (void)read_one(run, (int)(deadline - sv_now_ms()));
  /* What is queued now counts too (TIMEOUT_MS 0 included), and leaves room in the
   * socket's queue: a full one blocks sdvisor, as a service manager that stopped
   * reading would. */
  while (read_one(run, 0))
    ;
  guint count = 0;
  for (guint i = 0; i < run->messages->len; i++)
    if (strstr(run->messages->pdata[i], needle))
      count++;
  return count;
}

/* sdvisor's memcheck reports: no definite leak, no invalid access, no use of
 * uninitialised memory. Reports of children that exited before execve() are left out
 * by --child-silent-after-fork. */
static void
check_valgrind_logs(SvRun *run)
{
  g_autoptr(GDir) dir = g_dir_open(run->dir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name(dir)) != NULL) {
    if (!g_str_has_prefix(name, "valgrind-"))
      continue;
    g_autofree char *path = g_build_filename(run->dir, name, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
      continue;
    if (strstr(text, "definitely lost in") || strstr(text, "Invalid read") ||
        strstr(text, "Invalid write") || strstr(text, "Invalid free") ||
        strstr(text, "uninitialised value") || strstr(text, "Conditional jump or move depends")) {
      g_printerr("# %s:\n%s", name, text);
      g_error("memcheck found a problem in sdvisor (%s)", name);
    }
  }
}

int
sv_run_wait_exit(SvRun *run, guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  while (!run->exited) {
    pid_t r = waitpid(run->pid, &run->wait_status, WNOHANG);
    if (r == run->pid) {
      run->exited = TRUE;
      break;
    }
    if (sv_now_ms() >= deadline)
      return -1;
    /* Keep the socket drained while waiting: messages stay in order. */
    (void)read_one(run, 5);
  }
  while (read_one(run, 0))
    ;
  if (sv_test_under_valgrind())
    check_valgrind_logs(run);
  if (WIFEXITED(run->wait_status))
    return WEXITSTATUS(run->wait_status);
  return 128 + WTERMSIG(run->wait_status);
}

void
sv_run_kill(SvRun *run, int sig)
{
  if (!run->exited)
    g_assert_cmpint(kill(run->pid, sig), ==, 0);
}

char *
sv_run_stderr(SvRun *run)
{
  char *text = NULL;
  if (!g_file_get_contents(run->stderr_path, &text, NULL, NULL))
    return g_strdup("");
  return text;
}

char *
sv_run_wait_file(SvRun *run, const char *name, guint timeout_ms)
{
  g_autofree char *path = sv_run_path(run, name);
  gint64 deadline = sv_now_ms() + timeout_ms;
  do {
    char *text = NULL;
    gsize len = 0;
    if (g_file_get_contents(path, &text, &len, NULL) && len > 0)
      return text;
    g_free(text);
    g_usleep(10000);
  } while (sv_now_ms() < deadline);
  return NULL;
}

void
sv_run_free(SvRun *run)
{
  if (run == NULL)
    return;
  if (!run->exited && run->pid > 0) {
    kill(run->pid, SIGKILL);
    waitpid(run->pid, NULL, 0);
  }
  if (g_test_failed() || g_test_verbose()) {
    g_autofree char *err = sv_run_stderr(run);
    g_printerr("# sdvisor stderr:\n%s", err);
  }
  close(run->notify_fd);
  sv_test_rm_rf(run->dir);
  g_free(run->dir);
  g_free(run->notify_path);
  g_free(run->stderr_path);
  g_ptr_array_unref(run->messages);
  g_free(run);
}

const char *
sv_run_wait_message_fd(SvRun *run, const char *needle, guint timeout_ms, int *out_fd)
{
  *out_fd = -1;
  gint64 deadline = sv_now_ms() + timeout_ms;
  for (;;) {
    gint64 left = deadline - sv_now_ms();
    struct pollfd pfd = {run->notify_fd, POLLIN, 0};
    if (left < 0 || poll(&pfd, 1, (int)left) <= 0)
      return NULL;
    char buf[8192];
    union {
      struct cmsghdr align;
      char space[CMSG_SPACE(sizeof(int) * 16)];
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf - 1};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof control};
    ssize_t n = recvmsg(run->notify_fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0)
      continue;
    buf[n] = '\0';
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        continue;
      gsize count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (gsize i = 0; i < count; i++) {
        int one;
        memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof one);
        if (fd < 0)
          fd = one;
        else
          close(one);
      }
    }
    g_ptr_array_add(run->messages, g_strdup(buf));
    if (g_test_verbose())
      g_printerr("# notify (fd %d): %s\n", fd, buf);
    if (strstr(buf, needle)) {
      *out_fd = fd;
      return run->messages->pdata[run->messages->len - 1];
    }
    if (fd >= 0)
      close(fd);
  }
}

gint64
sv_message_number(const char *message, const char *name)
{
  g_autofree char *prefix = g_strconcat(name, "=", NULL);
  gsize len = strlen(prefix);
  for (const char *line = message; line != NULL; line = strchr(line, '\n')) {
    if (*line == '\n')
      line++;
    if (strncmp(line, prefix, len) != 0)
      continue;
    guint64 value = 0;
    const char *end = line + len + strcspn(line + len, "\n");
    g_autofree char *digits = g_strndup(line + len, (gsize)(end - line - len));
    if (!g_ascii_string_to_unsigned(digits, 10, 0, G_MAXINT64, &value, NULL))
      return -1;
    return (gint64)value;
  }
  return -1;
}

gboolean
sv_run_wait_stderr(SvRun *run, const char *needle, guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  do {
    g_autofree char *err = sv_run_stderr(run);
    if (strstr(err, needle) != NULL)
      return TRUE;
    (void)sv_run_count_messages(run, "", 20); /* keep the notify socket drained */
  } while (sv_now_ms() < deadline);
  return FALSE;
}

void
sv_run_write_config(SvRun *run, const char *text)
{
  g_autofree char *path = sv_run_path(run, "sdvisor.conf");
  g_autofree char *tmp = g_strconcat(path, ".new", NULL);
  g_assert_true(g_file_set_contents(tmp, text, -1, NULL));
  g_assert_cmpint(g_chmod(tmp, 0644), ==, 0);
  g_assert_cmpint(g_rename(tmp, path), ==, 0);
}

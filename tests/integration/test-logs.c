/* test-logs.c — the app's output through sdvisor (issue 6), on the console target:
 * levels as "<N>" prefixes, a traceback as one entry, every line of a flood, hooks'
 * output, no JOURNAL_STREAM for the app, a pipe held open after the app's exit, and
 * SIGTERM handled at once while the sink cannot write (checks and jobs going on
 * meanwhile). Through a journald socket of the test's own (in a mount namespace):
 * the fields of exec: checks' and jobs' output. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_under_valgrind() ? 120000 : 20000)

static const char *const console_env[] = {"SDVISOR_LOG_TARGET=console", NULL};

static gboolean
has_line(const char *text, const char *line)
{
  g_autofree char *needle = g_strconcat("\n", line, "\n", NULL);
  g_autofree char *padded = g_strconcat("\n", text, NULL);
  return strstr(padded, needle) != NULL;
}

#define assert_line(text, line)                                                                    \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!has_line((text), (line)))                                                                 \
      g_error("no line '%s' in:\n%s", (line), (text));                                             \
  }                                                                                                \
  G_STMT_END

/* The level of each kind of line survives as a "<N>" prefix on the console. */
static void
test_priorities(void)
{
  g_autofree char *app = sv_test_app("log-mixed.py");
  const char *argv[] = {"run", "--", "/usr/bin/python3", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, console_env);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *err = sv_run_stderr(run);
  assert_line(err, "<6>plain stdout line");
  assert_line(err, "<2>critical by prefix");
  assert_line(err, "<3>json record");
  /* uvicorn's and logging's INFO on stderr stay INFO (gunicorn#2453). */
  assert_line(err, "<6>INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)");
  assert_line(err, "<4>WARNING:root:careful now");
  assert_line(err, "<6>INFO:app:request served");
  /* sdvisor's own messages go the same way, after the app's output it read before. */
  g_assert_nonnull(strstr(err, "sdvisor: app (pid"));
}

/* The whole traceback is one entry: every line of it has ERR, which the line
 * "Traceback (most recent call last):" alone would not get. */
static void
test_traceback(void)
{
  g_autofree char *app = sv_test_app("log-mixed.py");
  const char *argv[] = {"run", "--", "/usr/bin/python3", app, "raise", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, console_env);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 1);
  g_autofree char *err = sv_run_stderr(run);
  assert_line(err, "<3>Traceback (most recent call last):");
  g_autofree char *frame = g_strdup_printf("<3>  File \"%s\", line 24, in handler", app);
  assert_line(err, frame);
  assert_line(err, "<3>    raise ValueError(\"boom\")");
  assert_line(err, "<3>ValueError: boom");
  /* What the app wrote last comes before sdvisor's news of its exit. */
  const char *exited = strstr(err, "exited on its own with status 1");
  g_assert_nonnull(exited);
  g_assert_true(strstr(err, "<3>ValueError: boom") < exited);
}

/* Every line of a flood arrives, in order, before sdvisor exits. */
static void
test_flood_nothing_lost(void)
{
  const guint count = 200000;
  g_autofree char *app = sv_test_app("log-flood.py");
  g_autofree char *n = g_strdup_printf("%u", count);
  const char *argv[] = {"run", "--", "/usr/bin/python3", app, n, NULL};
  gint64 start = g_get_monotonic_time();
  g_autoptr(SvRun) run = sv_run_start(argv, console_env);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS * 3), ==, 0);
  gint64 took = g_get_monotonic_time() - start;
  g_autofree char *err = sv_run_stderr(run);
  guint next = 0;
  for (char *line = err; line != NULL && *line != '\0';) {
    char *nl = strchr(line, '\n');
    if (nl != NULL)
      *nl = '\0';
    if (g_str_has_prefix(line, "<6>flood ")) {
      g_assert_cmpuint((guint)strtoul(line + 9, NULL, 10), ==, next);
      next++;
    }
    line = nl != NULL ? nl + 1 : NULL;
  }
  g_assert_cmpuint(next, ==, count);
  g_test_message("%u lines through sdvisor to a file in %.2f s (%.0f lines/s, app start included)",
                 count, took / 1e6, count / (took / 1e6));
}

/* A hook's output goes the same way; the app does not get sdvisor's JOURNAL_STREAM. */
static void
test_hook_output_and_no_journal_stream(void)
{
  g_autofree char *dir = g_dir_make_tmp("sv-logs-XXXXXX", NULL);
  g_autofree char *conf = g_build_filename(dir, "app.conf", NULL);
  g_autofree char *app = sv_test_app("sleeper.sh");
  g_autofree char *text = g_strdup_printf(
      "[app]\nexec=%s\n\n"
      "[hook:greet]\nwhen=pre-start\n"
      "exec=/bin/sh -c 'echo hello from the hook; echo ERROR: hook complains >&2'\n",
      app);
  g_assert_true(g_file_set_contents(conf, text, -1, NULL));
  g_assert_cmpint(g_chmod(conf, 0644), ==, 0);
  const char *argv[] = {"run", "--config", conf, NULL};
  const char *env[] = {"SDVISOR_LOG_TARGET=console", "JOURNAL_STREAM=8:12345", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *app_env = sv_run_wait_file(run, "app.env", WAIT_MS);
  g_assert_nonnull(app_env);
  g_assert_null(strstr(app_env, "JOURNAL_STREAM"));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *err = sv_run_stderr(run);
  assert_line(err, "<6>hello from the hook");
  assert_line(err, "<3>ERROR: hook complains");
  g_unlink(conf);
  g_rmdir(dir);
}

/* A process that left the app's group keeps the pipe open: sdvisor still exits, about a
 * second after the app, with what was written before. */
static void
test_pipe_held_open(void)
{
  const char *argv[] = {"run",
                        "--",
                        "/bin/sh",
                        "-c",
                        "echo before; setsid sleep 30 & echo $! > \"$SVTEST_DIR/bg.pid\"; "
                        "echo last; exit 0",
                        NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, console_env);
  gint64 start = g_get_monotonic_time();
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  gint64 took = g_get_monotonic_time() - start;
  g_assert_cmpint(took, <, (sv_test_slow() ? 30 : 5) * G_USEC_PER_SEC);
  g_autofree char *err = sv_run_stderr(run);
  assert_line(err, "<6>before");
  assert_line(err, "<6>last");
  g_autofree char *bg = sv_run_wait_file(run, "bg.pid", 1000);
  if (bg != NULL && atoi(bg) > 0)
    kill(atoi(bg), SIGKILL);
}

/* ---- fields, through a journald of the test's own ------------------------------------------ */

typedef struct {
  char *dir;          /* the test's own: journal.sock, sdvisor.conf */
  int fd;             /* the fake journald's socket */
  GPtrArray *entries; /* of GHashTable *, in the order received */
  SvRun *run;
} FakeJournal;

/* Reads every datagram waiting (up to TIMEOUT_MS for the first). */
static void
fake_journal_read(FakeJournal *j, int timeout_ms)
{
  (void)sv_fake_journal_read(j->fd, j->entries, timeout_ms);
}

static void fake_journal_free(FakeJournal *j);

/* Starts sdvisor, app "logfields" (sleeper.sh) logging to the journal, with SECTIONS
 * added to its configuration ("@DIR@" becomes the test's directory), in a mount
 * namespace of its own where /run/systemd/journal/socket is the test's socket: every
 * entry arrives here with its fields. FALSE (the test skipped, J freed) where that
 * namespace cannot be made. */
static gboolean
fake_journal_start(FakeJournal *j, const char *sections)
{
  g_autofree char *missing = sv_test_mount_ns_missing();
  if (missing != NULL) {
    sv_test_skip_unless_required(missing);
    fake_journal_free(j);
    return FALSE;
  }
  j->dir = g_dir_make_tmp("sv-logs-XXXXXX", NULL);
  g_assert_nonnull(j->dir);
  j->entries = sv_journal_entries_new();
  g_autofree char *sock = g_build_filename(j->dir, "journal.sock", NULL);
  j->fd = sv_fake_journal_bind(sock);

  g_autofree char *conf = g_build_filename(j->dir, "sdvisor.conf", NULL);
  g_autofree char *app = sv_test_app("sleeper.sh");
  g_autoptr(GString) text =
      g_string_new("[app]\nname=logfields\nexec=@APP@\n[log]\ntarget=journal\n");
  g_string_append(text, sections);
  g_string_replace(text, "@DIR@", j->dir, 0);
  g_string_replace(text, "@APP@", app, 0);
  g_assert_true(g_file_set_contents(conf, text->str, -1, NULL));
  g_assert_cmpint(g_chmod(conf, 0644), ==, 0);

  j->run = sv_run_start_with_journal(sock, conf, "export STATE_DIRECTORY=\"$SVTEST_DIR/state\" &&",
                                     NULL, NULL);
  if (sv_run_wait_ready_in_mount_ns(j->run, WAIT_MS))
    return TRUE;
  fake_journal_free(j);
  return FALSE;
}

/* Reads until an entry has MESSAGE=MESSAGE; returns it (owned by J) or NULL. */
static GHashTable *
fake_journal_wait(FakeJournal *j, const char *message)
{
  gint64 deadline = sv_now_ms() + WAIT_MS;
  guint seen = 0;
  do {
    fake_journal_read(j, 20);
    for (; seen < j->entries->len; seen++)
      if (g_strcmp0(sv_journal_entry_field(j->entries->pdata[seen], "MESSAGE"), message) == 0)
        return j->entries->pdata[seen];
    (void)sv_run_count_messages(j->run, "", 0);
  } while (sv_now_ms() < deadline);
  return NULL;
}

/* SIGTERM, reading the journal until sdvisor exits 0. */
static void
fake_journal_stop(FakeJournal *j)
{
  sv_run_kill(j->run, SIGTERM);
  int code = -1;
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while ((code = sv_run_wait_exit(j->run, 0)) < 0 && sv_now_ms() < deadline)
    fake_journal_read(j, 20);
  fake_journal_read(j, 0);
  g_assert_cmpint(code, ==, 0);
}

static void
fake_journal_free(FakeJournal *j)
{
  g_clear_pointer(&j->run, sv_run_free);
  if (j->dir == NULL)
    return;
  close(j->fd);
  g_ptr_array_unref(j->entries);
  g_autofree char *sock = g_build_filename(j->dir, "journal.sock", NULL);
  g_autofree char *conf = g_build_filename(j->dir, "sdvisor.conf", NULL);
  g_unlink(sock);
  g_unlink(conf);
  g_rmdir(j->dir);
  g_free(j->dir);
}

#define assert_field(entry, name, value)                                                           \
  g_assert_cmpstr(sv_journal_entry_field((entry), (name)), ==, (value))

/* What an exec: check prints is its own entry: SDVISOR_SOURCE=check, and SDVISOR_CHECK=
 * names the check (as [health] check= spelt it, normalised by the parser). */
static void
test_fields_check_output(void)
{
  FakeJournal j = {0};
  if (!fake_journal_start(&j, "[health]\ncheck='exec:/bin/echo check-MARK'\ninterval=200ms\n"))
    return;
  GHashTable *e = fake_journal_wait(&j, "check-MARK");
  g_assert_nonnull(e);
  assert_field(e, "SDVISOR_SOURCE", "check");
  assert_field(e, "SDVISOR_CHECK", "exec:/bin/echo check-MARK");
  assert_field(e, "SDVISOR_STREAM", "stdout");
  assert_field(e, "SYSLOG_IDENTIFIER", "logfields");
  assert_field(e, "PRIORITY", "6");
  g_assert_null(sv_journal_entry_field(e, "SDVISOR_JOB"));
  g_assert_null(sv_journal_entry_field(e, "SDVISOR_HOOK"));
  fake_journal_stop(&j);
  fake_journal_free(&j);
}

/* A job's output, through the real jobs path: SDVISOR_SOURCE=job, SDVISOR_JOB= its
 * name, and the SDVISOR_JOB_RUN= of the run that wrote it — the same run id as sdvisor's
 * own "job t started" entry for it. */
static void
test_fields_job_output(void)
{
  FakeJournal j = {0};
  if (!fake_journal_start(&j, "[job:t]\nschedule=every 1s\nexec=/bin/echo job-MARK\n"))
    return;
  GHashTable *e = fake_journal_wait(&j, "job-MARK");
  g_assert_nonnull(e);
  assert_field(e, "SDVISOR_SOURCE", "job");
  assert_field(e, "SDVISOR_JOB", "t");
  assert_field(e, "SDVISOR_STREAM", "stdout");
  assert_field(e, "SYSLOG_IDENTIFIER", "logfields");
  const char *run_id = sv_journal_entry_field(e, "SDVISOR_JOB_RUN");
  g_assert_nonnull(run_id);
  g_assert_cmpstr(run_id, !=, "");
  fake_journal_stop(&j);

  /* sdvisor announced that very run (its own entry, not the job's). */
  guint started = 0;
  for (guint i = 0; i < j.entries->len; i++) {
    GHashTable *own = j.entries->pdata[i];
    const char *message = sv_journal_entry_field(own, "MESSAGE");
    if (g_strcmp0(sv_journal_entry_field(own, "SDVISOR_JOB_RUN"), run_id) != 0 || message == NULL ||
        !g_str_has_prefix(message, "job t started"))
      continue;
    assert_field(own, "SDVISOR_SOURCE", "sdvisor");
    assert_field(own, "SDVISOR_JOB", "t");
    started++;
  }
  g_assert_cmpuint(started, ==, 1);
  fake_journal_free(&j);
}

/* ---- SIGTERM while the sink is blocked ----------------------------------------------------- */

typedef struct {
  char *dir;
  int notify_fd;
  int err_fd; /* read end of sdvisor's stderr: the console sdvisor writes to */
  pid_t pid;
} Plumbing;

/* Starts sdvisor with CONFIG ("@DIR@" becomes its directory, "@FLOOD@" log-flood.py) on
 * the console, a pipe the test reads only when it wants to, and under a systemd watchdog
 * of WATCHDOG_USEC. */
static void
plumbing_start(Plumbing *p, const char *config, guint watchdog_usec)
{
  p->dir = g_dir_make_tmp("sv-logs-XXXXXX", NULL);
  g_autofree char *notify = g_build_filename(p->dir, "notify.sock", NULL);
  p->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_strlcpy(sa.sun_path, notify, sizeof sa.sun_path);
  g_assert_cmpint(bind(p->notify_fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  int fds[2];
  g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
  p->err_fd = fds[0];

  g_autofree char *conf = g_build_filename(p->dir, "sdvisor.conf", NULL);
  g_autofree char *flood = sv_test_app("log-flood.py");
  g_autoptr(GString) text = g_string_new(config);
  g_string_replace(text, "@DIR@", p->dir, 0);
  g_string_replace(text, "@FLOOD@", flood, 0);
  g_assert_true(g_file_set_contents(conf, text->str, -1, NULL));
  g_assert_cmpint(g_chmod(conf, 0644), ==, 0);

  g_auto(GStrv) envp = g_get_environ();
  envp = g_environ_setenv(envp, "NOTIFY_SOCKET", notify, TRUE);
  envp = g_environ_setenv(envp, "SVTEST_DIR", p->dir, TRUE);
  envp = g_environ_setenv(envp, "SDVISOR_LOG_TARGET", "console", TRUE);
  envp = g_environ_setenv(envp, "STATE_DIRECTORY", p->dir, TRUE);
  envp = g_environ_unsetenv(envp, "G_DEBUG");
  envp = g_environ_unsetenv(envp, "WATCHDOG_PID");
  envp = g_environ_unsetenv(envp, "WATCHDOG_USEC");
  if (watchdog_usec > 0) {
    g_autofree char *usec = g_strdup_printf("%u", watchdog_usec);
    envp = g_environ_setenv(envp, "WATCHDOG_USEC", usec, TRUE);
    /* Filled in with sdvisor's pid in the child: the watchdog is for sdvisor's own. */
    envp = g_environ_setenv(envp, "WATCHDOG_PID", "0000000000", TRUE);
  }
  char *watchdog_pid = NULL;
  for (char **e = envp; *e != NULL; e++)
    if (g_str_has_prefix(*e, "WATCHDOG_PID="))
      watchdog_pid = *e + strlen("WATCHDOG_PID=");
  const char *argv[] = {sv_test_binary(), "run", "--config", conf, NULL};

  p->pid = fork();
  g_assert_cmpint(p->pid, >=, 0);
  if (p->pid == 0) {
    if (watchdog_pid != NULL)
      snprintf(watchdog_pid, 11, "%d", (int)getpid());
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(fds[1], 2);
    /* An aborted test takes its sdvisor with it (and the app its pipe). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execve(argv[0], (char **)argv, envp);
    _exit(127);
  }
  close(fds[1]);
}

/* Reads the next notify datagram into BUF (NUL-terminated) before DEADLINE (monotonic
 * µs); FALSE if none came by then. */
static gboolean
plumbing_recv_notify(Plumbing *p, char *buf, gsize size, gint64 deadline)
{
  while (g_get_monotonic_time() < deadline) {
    struct pollfd pfd = {.fd = p->notify_fd, .events = POLLIN};
    if (poll(&pfd, 1, 10) <= 0)
      continue;
    ssize_t n = recv(p->notify_fd, buf, size - 1, 0);
    if (n <= 0)
      continue;
    buf[n] = '\0';
    return TRUE;
  }
  return FALSE;
}

/* Waits for a notify datagram containing NEEDLE; the time it came, or -1. */
static gint64
plumbing_wait_notify(Plumbing *p, const char *needle, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
  char buf[4096];
  while (plumbing_recv_notify(p, buf, sizeof buf, deadline))
    if (strstr(buf, needle) != NULL)
      return g_get_monotonic_time();
  return -1;
}

/* Reads notify datagrams for MS; how many contained NEEDLE. */
static guint
plumbing_count_notify(Plumbing *p, const char *needle, guint ms)
{
  guint count = 0;
  gint64 deadline = g_get_monotonic_time() + ms * 1000;
  char buf[4096];
  while (plumbing_recv_notify(p, buf, sizeof buf, deadline))
    if (strstr(buf, needle) != NULL)
      count++;
  return count;
}

static guint
count_file_lines(const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return 0;
  guint n = 0;
  for (const char *c = text; (c = strchr(c, '\n')) != NULL; c++)
    n++;
  return n;
}

/* With the console not read (journald stalled, in effect), the app floods: sdvisor's
 * queue fills, it stops reading, the app blocks. Meanwhile the main loop goes on: the
 * exec: health check runs and WATCHDOG=1 keeps coming, the job keeps running. SIGTERM
 * is still answered at once (STOPPING=1, the app stopped); once the console is read
 * again every line the app wrote arrives, without a gap, and sdvisor exits. */
static void
test_sigterm_while_sink_blocked(void)
{
  Plumbing p = {0};
  plumbing_start(&p,
                 "[app]\nexec=/usr/bin/python3 @FLOOD@ 0\n"
                 "[health]\ncheck=exec:/bin/true\ninterval=100ms\n"
                 "[job:tick]\nschedule=every 1s\n"
                 "exec=/bin/sh -c 'echo tick >> @DIR@/ticks'\n",
                 1000 * 1000);
  g_assert_cmpint(plumbing_wait_notify(&p, "READY=1", WAIT_MS), >, 0);
  /* The console (a pipe: 64 KiB) and then sdvisor's queue fill within this time. */
  g_usleep(1000 * 1000);

  /* The sink is stuck: the console is full (64 KiB of pages, some of them partly used),
   * and the test alone could empty it. */
  int unread = 0;
  g_assert_cmpint(ioctl(p.err_fd, FIONREAD, &unread), ==, 0);
  g_assert_cmpint(unread, >=, 32 * 1024);
  /* Checks and jobs go on: a ping every 0.5 s (half the watchdog), only after a passing
   * check; a job run every second. */
  g_autofree char *ticks = g_build_filename(p.dir, "ticks", NULL);
  guint ticks_before = count_file_lines(ticks);
  guint pings = plumbing_count_notify(&p, "WATCHDOG=1", 3000);
  guint runs = count_file_lines(ticks) - ticks_before;
  g_test_message("while the sink was blocked for 3 s: %u WATCHDOG=1, %u job runs", pings, runs);
  g_assert_cmpuint(pings, >=, 3);
  g_assert_cmpuint(runs, >=, 2);

  gint64 term = g_get_monotonic_time();
  g_assert_cmpint(kill(p.pid, SIGTERM), ==, 0);
  gint64 stopping = plumbing_wait_notify(&p, "STOPPING=1", WAIT_MS);
  g_assert_cmpint(stopping, >, 0);
  g_test_message("STOPPING=1 %.1f ms after SIGTERM, with the sink blocked",
                 (stopping - term) / 1e3);
  g_assert_cmpint(stopping - term, <, 500 * 1000);
  /* The app stopped (it was killed by the signal while blocked in write()). */
  gint64 stopped = plumbing_wait_notify(&p, "STATUS=stopped", WAIT_MS);
  g_assert_cmpint(stopped, >, 0);
  g_assert_cmpint(stopped - term, <, 2 * G_USEC_PER_SEC);
  /* sdvisor itself waits to write everything it read. */
  g_assert_cmpint(waitpid(p.pid, NULL, WNOHANG), ==, 0);
  gint64 stalled = g_get_monotonic_time() - term;
  if (stalled < 2 * G_USEC_PER_SEC)
    g_usleep((gulong)(2 * G_USEC_PER_SEC - stalled));

  /* Now read the console: every line, in order, and sdvisor exits 0. */
  GString *out = g_string_new(NULL);
  char buf[65536];
  ssize_t n;
  while ((n = read(p.err_fd, buf, sizeof buf)) > 0)
    g_string_append_len(out, buf, n);
  int status = 0;
  g_assert_cmpint(waitpid(p.pid, &status, 0), ==, p.pid);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);

  /* Consecutive numbers; only the app's very last write may have been cut short by
   * its death, so the last line may be the start of the next number. */
  g_auto(GStrv) lines = g_strsplit(out->str, "\n", -1);
  g_autoptr(GPtrArray) flood = g_ptr_array_new();
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix(*l, "<6>flood "))
      g_ptr_array_add(flood, *l + 9);
  guint next = 0;
  for (; next < flood->len; next++) {
    g_autofree char *expect = g_strdup_printf("%u", next);
    if (next + 1 == flood->len)
      g_assert_true(g_str_has_prefix(expect, flood->pdata[next]));
    else
      g_assert_cmpstr(flood->pdata[next], ==, expect);
  }
  g_test_message("%u lines, none lost", next);
  g_assert_cmpuint(next, >, 10000);
  g_assert_nonnull(strstr(out->str, "sdvisor: app (pid"));
  g_string_free(out, TRUE);
  close(p.err_fd);
  close(p.notify_fd);
  sv_test_rm_rf(p.dir);
  g_free(p.dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (!g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
    /* A skip in TAP (meson runs this with protocol tap, where exit 77 is an error). */
    g_print("1..0 # SKIP needs /usr/bin/python3\n");
    return 0;
  }
  g_test_add_func("/logs/priorities", test_priorities);
  g_test_add_func("/logs/traceback-one-entry", test_traceback);
  g_test_add_func("/logs/flood-nothing-lost", test_flood_nothing_lost);
  g_test_add_func("/logs/hook-output-and-no-journal-stream",
                  test_hook_output_and_no_journal_stream);
  g_test_add_func("/logs/pipe-held-open", test_pipe_held_open);
  g_test_add_func("/logs/fields/check-output", test_fields_check_output);
  g_test_add_func("/logs/fields/job-output", test_fields_job_output);
  g_test_add_func("/logs/sigterm-while-sink-blocked", test_sigterm_while_sink_blocked);
  return g_test_run();
}

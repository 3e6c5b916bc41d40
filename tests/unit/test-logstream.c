/* test-logstream.c — children's pipes into the sink: lines across reads, line-max
 * pieces, bytes kept as they are, EOF, tags, backpressure, timers only when needed,
 * and the final drain. The sink writes to a fake journal socket (to see each entry's
 * fields) or to a console pipe (to see the order). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "logstream.h"
#include "fakejournal.h"
#include "testutil.h"

/* ---- fixture ---------------------------------------------------------------------------------- */

typedef struct {
  SvFakeJournal *fj; /* journal target */
  int console[2];    /* console target: the test reads [0] */
  SvLogConfig config;
  gsize queue_max_bytes;
  SvJournal *sink;
  SvLogStreams *streams;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
  f->console[0] = f->console[1] = -1;
  f->config = (SvLogConfig){
      .line_max = 48 * 1024,
      .parse_json = TRUE,
      .detect_levels = TRUE,
      .priority_stdout = LOG_INFO,
      .priority_stderr = LOG_INFO,
      .merge_tracebacks = TRUE,
      .merge_continuations = TRUE,
      .merge_window_usec = 50 * G_TIME_SPAN_MILLISECOND,
      .entry_max = 64 * 1024,
  };
  if (data != NULL && g_str_equal(data, "console")) {
    g_assert_cmpint(pipe2(f->console, O_CLOEXEC), ==, 0);
  } else {
    f->fj = sv_fake_journal_new(TRUE);
  }
}

/* After the test has adjusted f->config. */
static void
start(Fixture *f)
{
  SvJournalOptions o = {
      .target = f->fj != NULL ? SV_JOURNAL_TARGET_JOURNAL : SV_JOURNAL_TARGET_CONSOLE,
      .identifier = "app",
      .console_fd = f->console[1],
      .journal_socket = f->fj != NULL ? f->fj->path : NULL,
      .queue_max_bytes = f->queue_max_bytes,
  };
  f->sink = sv_journal_new(&o, NULL);
  g_assert_nonnull(f->sink);
  f->streams = sv_logstream_new(f->sink, &f->config);
}

static void
teardown(Fixture *f, gconstpointer data)
{
  sv_logstream_free(f->streams);
  sv_journal_free(f->sink);
  sv_fake_journal_free(f->fj);
  for (int i = 0; i < 2; i++)
    if (f->console[i] >= 0)
      close(f->console[i]);
  /* Nothing of a test may stay on the loop for the next one. */
  while (g_main_context_iteration(NULL, FALSE))
    ;
}

/* Runs the loop until every reader has seen EOF, then flushes the sink. */
static void
run_until_closed(Fixture *f, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
  while (sv_logstream_count(f->streams) > 0) {
    g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    g_main_context_iteration(NULL, TRUE);
  }
  g_assert_true(sv_journal_flush(f->sink, 5 * G_USEC_PER_SEC));
}

static void
write_str(int fd, const char *s, gssize len)
{
  gsize n = len < 0 ? strlen(s) : (gsize)len;
  g_assert_cmpint(write(fd, s, n), ==, (gssize)n);
}

static char *
console_take(Fixture *f)
{
  return sv_test_read_until_quiet(f->console[0], 50);
}

static SvLogPipes
open_pipes(Fixture *f, SvLogSource source, const char *const *fields)
{
  SvLogPipes pipes;
  g_autoptr(GError) error = NULL;
  g_assert_true(sv_logstream_open(f->streams, source, fields, &pipes, &error));
  g_assert_no_error(error);
  g_assert_cmpint(pipes.stdout_fd, >=, 0);
  g_assert_cmpint(pipes.stderr_fd, >=, 0);
  return pipes;
}

/* ---- lines ------------------------------------------------------------------------------------ */

static void
test_lines_across_reads(Fixture *f, gconstpointer data)
{
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd);
  sv_logstream_started(&p, 0);
  write_str(out, "hel", -1);
  sv_test_spin(20);
  write_str(out, "lo\nwor", -1);
  sv_test_spin(20);
  write_str(out, "ld\n\nERROR: third\n", -1);
  close(out);
  run_until_closed(f, 5000);
  g_autofree char *text = console_take(f);
  /* The empty line is a line too (journald keeps it as an entry). */
  g_assert_cmpstr(text, ==, "<6>hello\n<6>world\n<6>\n<3>ERROR: third\n");
}

static void
test_line_max_pieces(Fixture *f, gconstpointer data)
{
  f->config.line_max = 100;
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd);
  sv_logstream_started(&p, 0);
  g_autofree char *longline = g_strnfill(250, 'a');
  g_autofree char *exact = g_strnfill(100, 'b');
  g_autofree char *text = g_strdup_printf("%s\n%s\nshort\n", longline, exact);
  /* In pieces smaller than line-max, so the cut happens across reads too. */
  for (const char *q = text; *q != '\0'; q += MIN(strlen(q), 37)) {
    write_str(out, q, (gssize)MIN(strlen(q), 37));
    sv_test_spin(2);
  }
  close(out);
  run_until_closed(f, 5000);

  const struct {
    guint len;
    char c;
    gboolean cut;
  } expect[] = {
      {100, 'a', TRUE}, {100, 'a', TRUE}, {50, 'a', FALSE}, {100, 'b', FALSE}, {5, 's', FALSE}};
  for (gsize i = 0; i < G_N_ELEMENTS(expect); i++) {
    g_autoptr(SvJournalEntry) e = sv_fake_journal_recv(f->fj, 1000);
    g_assert_nonnull(e);
    g_autofree char *msg = sv_journal_entry_dup(e, "MESSAGE");
    g_assert_cmpuint(strlen(msg), ==, expect[i].len);
    g_assert_cmpint(msg[0], ==, expect[i].c);
    g_autofree char *lb = sv_journal_entry_dup(e, "SDVISOR_LINE_BREAK");
    g_assert_cmpstr(lb, ==, expect[i].cut ? "line-max" : NULL);
  }
  g_assert_null(sv_fake_journal_recv(f->fj, 20));
}

static void
test_nul_and_invalid_utf8_kept(Fixture *f, gconstpointer data)
{
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd);
  sv_logstream_started(&p, 0);
  static const char line[] = "a\0b\xff\xfe \xc3(c";
  write_str(out, line, sizeof line - 1);
  write_str(out, "\nnext\n", -1);
  close(out);
  run_until_closed(f, 5000);
  g_autoptr(SvJournalEntry) e = sv_fake_journal_recv(f->fj, 1000);
  g_assert_nonnull(e);
  GBytes *m = g_hash_table_lookup(e->fields, "MESSAGE");
  gsize len;
  const void *bytes = g_bytes_get_data(m, &len);
  g_assert_cmpmem(bytes, len, line, sizeof line - 1);
  g_autoptr(SvJournalEntry) e2 = sv_fake_journal_recv(f->fj, 1000);
  sv_assert_journal_field(e2, "MESSAGE", "next");
}

/* At EOF the unterminated last line and whatever logmerge holds go out at once, not
 * after the merge window. */
static void
test_eof_flushes(Fixture *f, gconstpointer data)
{
  f->config.merge_window_usec = 30 * G_USEC_PER_SEC;
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int err = dup(p.stderr_fd);
  sv_logstream_started(&p, 0);
  write_str(err,
            "Traceback (most recent call last):\n"
            "  File \"app.py\", line 3, in <module>\n"
            "    main()\n"
            "ValueError: boom",
            -1);
  sv_test_spin(30);
  g_assert_null(sv_fake_journal_recv(f->fj, 0)); /* held: the window is long */
  gint64 start_time = g_get_monotonic_time();
  close(err);
  run_until_closed(f, 5000);
  g_autoptr(SvJournalEntry) e = sv_fake_journal_recv(f->fj, 1000);
  g_assert_nonnull(e);
  g_assert_cmpint(g_get_monotonic_time() - start_time, <, G_USEC_PER_SEC);
  sv_assert_journal_field(e, "MESSAGE",
                          "Traceback (most recent call last):\n"
                          "  File \"app.py\", line 3, in <module>\n"
                          "    main()\n"
                          "ValueError: boom");
  sv_assert_journal_field(e, "PRIORITY", "3");
  sv_assert_journal_field(e, "SDVISOR_STREAM", "stderr");
  g_assert_null(sv_fake_journal_recv(f->fj, 20));
}

static void
test_traceback_one_entry(Fixture *f, gconstpointer data)
{
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int err = dup(p.stderr_fd);
  sv_logstream_started(&p, 0);
  static const char tb[] = "ERROR:root:request failed\n"
                           "Traceback (most recent call last):\n"
                           "  File \"/srv/app.py\", line 10, in handler\n"
                           "    1 / 0\n"
                           "ZeroDivisionError: division by zero\n";
  write_str(err, tb, -1);
  write_str(err, "INFO:     127.0.0.1:5000 - \"GET / HTTP/1.1\" 200 OK\n", -1);
  close(err);
  run_until_closed(f, 5000);
  g_autoptr(SvJournalEntry) e = sv_fake_journal_recv(f->fj, 1000);
  g_assert_nonnull(e);
  g_autofree char *msg = sv_journal_entry_dup(e, "MESSAGE");
  g_assert_cmpstr(msg, ==,
                  "ERROR:root:request failed\n"
                  "Traceback (most recent call last):\n"
                  "  File \"/srv/app.py\", line 10, in handler\n"
                  "    1 / 0\n"
                  "ZeroDivisionError: division by zero");
  sv_assert_journal_field(e, "PRIORITY", "3");
  g_autoptr(SvJournalEntry) e2 = sv_fake_journal_recv(f->fj, 1000);
  g_assert_nonnull(e2);
  sv_assert_journal_field(e2, "PRIORITY", "6");
  g_assert_null(sv_fake_journal_recv(f->fj, 20));
}

static void
test_json_fields(Fixture *f, gconstpointer data)
{
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd);
  sv_logstream_started(&p, 0);
  write_str(out, "{\"message\": \"order placed\", \"levelname\": \"WARNING\", \"order_id\": 17}\n",
            -1);
  close(out);
  run_until_closed(f, 5000);
  g_autoptr(SvJournalEntry) e = sv_fake_journal_recv(f->fj, 1000);
  g_assert_nonnull(e);
  sv_assert_journal_field(e, "MESSAGE", "order placed");
  sv_assert_journal_field(e, "PRIORITY", "4");
  sv_assert_journal_field(e, "ORDER_ID", "17");
  sv_assert_journal_field(e, "SDVISOR_SOURCE", "app");
}

/* Every entry says where it came from; a hook's carry its name. */
static void
test_tags_and_credentials(Fixture *f, gconstpointer data)
{
  start(f);
  const char *fields[] = {"SDVISOR_HOOK=migrate", NULL};
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_HOOK, fields);
  pid_t child = fork();
  g_assert_cmpint(child, >=, 0);
  if (child == 0) {
    dup2(p.stdout_fd, 1);
    dup2(p.stderr_fd, 2);
    (void)!write(1, "to stdout\n", 10);
    (void)!write(2, "to stderr\n", 10);
    /* Alive (a zombie at worst) until the test has read both. */
    pause();
    _exit(0);
  }
  sv_logstream_started(&p, child);
  g_assert_cmpint(p.stdout_fd, ==, -1);

  GHashTable *by_stream =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sv_journal_entry_free);
  gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  while (g_hash_table_size(by_stream) < 2 && g_get_monotonic_time() < deadline) {
    g_main_context_iteration(NULL, FALSE);
    SvJournalEntry *e = sv_fake_journal_recv(f->fj, 10);
    if (e != NULL)
      g_hash_table_replace(by_stream, sv_journal_entry_dup(e, "SDVISOR_STREAM"), e);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  SvJournalEntry *out = g_hash_table_lookup(by_stream, "stdout");
  SvJournalEntry *err = g_hash_table_lookup(by_stream, "stderr");
  g_assert_nonnull(out);
  g_assert_nonnull(err);
  sv_assert_journal_field(out, "MESSAGE", "to stdout");
  sv_assert_journal_field(err, "MESSAGE", "to stderr");
  for (SvJournalEntry **e = (SvJournalEntry *[]){out, err, NULL}; *e != NULL; e++) {
    sv_assert_journal_field(*e, "SDVISOR_SOURCE", "hook");
    sv_assert_journal_field(*e, "SDVISOR_HOOK", "migrate");
    sv_assert_journal_field(*e, "SYSLOG_IDENTIFIER", "app");
    if (geteuid() == 0)
      g_assert_cmpint((*e)->pid, ==, child); /* journald's _PID, _COMM: the hook's */
  }
  g_hash_table_unref(by_stream);
  run_until_closed(f, 5000);
}

static void
test_job_output(Fixture *f, gconstpointer data)
{
  start(f);
  const char *fields[] = {"SDVISOR_JOB=nightly", "SDVISOR_JOB_RUN=42", NULL};
  int out = -1, err = -1;
  sv_logstream_job_output("nightly", fields, &out, &err, f->streams);
  g_assert_cmpint(out, >=, 0);
  g_assert_cmpint(err, >=, 0);
  write_str(err, "job says hi\n", -1);
  close(out);
  close(err);
  run_until_closed(f, 5000);
  g_autoptr(SvJournalEntry) e = sv_fake_journal_recv(f->fj, 1000);
  g_assert_nonnull(e);
  sv_assert_journal_field(e, "MESSAGE", "job says hi");
  sv_assert_journal_field(e, "SDVISOR_SOURCE", "job");
  sv_assert_journal_field(e, "SDVISOR_JOB", "nightly");
  sv_assert_journal_field(e, "SDVISOR_JOB_RUN", "42");
  sv_assert_journal_field(e, "SDVISOR_STREAM", "stderr");
}

/* ---- reload ------------------------------------------------------------------------------------- */

/* Runs the loop until the fake journal has an entry, or fails after TIMEOUT_MS. */
static SvJournalEntry *
wait_entry(Fixture *f, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
  while (g_get_monotonic_time() < deadline) {
    g_main_context_iteration(NULL, FALSE);
    SvJournalEntry *e = sv_fake_journal_recv(f->fj, 10);
    if (e != NULL)
      return e;
  }
  g_error("no entry within %u ms", timeout_ms);
  return NULL;
}

/* At reload a pipe opened before (the running app's) takes the new identifier, fields,
 * default priority, JSON and merge settings for what it reads from then on, and keeps
 * its child's pid. */
static void
test_reconfigure_open_pipe(Fixture *f, gconstpointer data)
{
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd);
  sv_logstream_started(&p, getpid());

  write_str(out, "first\n  continued\n{\"message\": \"json\", \"order\": 1}\n", -1);
  g_autoptr(SvJournalEntry) first = wait_entry(f, 5000);
  sv_assert_journal_field(first, "MESSAGE", "first\n  continued");
  sv_assert_journal_field(first, "SYSLOG_IDENTIFIER", "app");
  sv_assert_journal_field(first, "PRIORITY", "6");
  g_assert_null(g_hash_table_lookup(first->fields, "X"));
  g_autoptr(SvJournalEntry) json = wait_entry(f, 5000);
  sv_assert_journal_field(json, "MESSAGE", "json");
  sv_assert_journal_field(json, "ORDER", "1");

  const char *fields[] = {"X=2", NULL};
  sv_journal_set_identity(f->sink, "app-new", fields);
  f->config.priority_stdout = LOG_NOTICE;
  f->config.parse_json = FALSE;
  f->config.merge_continuations = FALSE;
  sv_logstream_reconfigure(f->streams, &f->config);

  write_str(out, "second\n  not joined\n{\"message\": \"json\", \"order\": 2}\n", -1);
  close(out);
  g_autoptr(SvJournalEntry) second = wait_entry(f, 5000);
  g_autoptr(SvJournalEntry) indented = wait_entry(f, 5000);
  g_autoptr(SvJournalEntry) text = wait_entry(f, 5000);
  run_until_closed(f, 5000);
  sv_assert_journal_field(second, "MESSAGE", "second");
  sv_assert_journal_field(indented, "MESSAGE", "  not joined");
  sv_assert_journal_field(text, "MESSAGE", "{\"message\": \"json\", \"order\": 2}");
  g_assert_null(g_hash_table_lookup(text->fields, "ORDER"));
  for (SvJournalEntry **e = (SvJournalEntry *[]){second, indented, text, NULL}; *e != NULL; e++) {
    sv_assert_journal_field(*e, "SYSLOG_IDENTIFIER", "app-new");
    sv_assert_journal_field(*e, "X", "2");
    sv_assert_journal_field(*e, "PRIORITY", "5");
    sv_assert_journal_field(*e, "SDVISOR_SOURCE", "app");
    sv_assert_journal_field(*e, "SDVISOR_STREAM", "stdout");
    if (geteuid() == 0)
      g_assert_cmpint((*e)->pid, ==, getpid());
  }
}

/* ---- timers ------------------------------------------------------------------------------------- */

/* The poll timeout the default context would use now: -1 = no timer at all. */
static gint
loop_timeout(void)
{
  GMainContext *ctx = g_main_context_default();
  g_assert_true(g_main_context_acquire(ctx));
  gint max_priority, timeout;
  GPollFD fds[64];
  g_main_context_prepare(ctx, &max_priority);
  gint n = g_main_context_query(ctx, max_priority, &timeout, fds, G_N_ELEMENTS(fds));
  g_assert_cmpint(n, <=, (gint)G_N_ELEMENTS(fds));
  g_main_context_check(ctx, max_priority, fds, n);
  g_main_context_release(ctx);
  return timeout;
}

/* A timer exists only while logmerge holds an entry: an idle sdvisor has none. */
static void
test_timer_only_when_held(Fixture *f, gconstpointer data)
{
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd);
  sv_logstream_started(&p, 0);
  g_assert_cmpint(loop_timeout(), ==, -1);
  write_str(out, "a line that may get continuation lines\n", -1);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  gint t = loop_timeout();
  g_assert_cmpint(t, >=, 0); /* held, with a deadline */
  g_assert_cmpint(t, <=, 50);
  g_assert_null(sv_fake_journal_recv(f->fj, 0));
  g_autoptr(SvJournalEntry) e = NULL;
  gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
  while (e == NULL && g_get_monotonic_time() < deadline) {
    g_main_context_iteration(NULL, TRUE);
    e = sv_fake_journal_recv(f->fj, 5);
  }
  g_assert_nonnull(e);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  g_assert_cmpint(loop_timeout(), ==, -1);
  close(out);
  run_until_closed(f, 5000);
}

/* ---- backpressure ------------------------------------------------------------------------------- */

static gpointer
count_console_lines(gpointer data)
{
  int fd = GPOINTER_TO_INT(data);
  guint64 lines = 0;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++)
      lines += buf[i] == '\n';
  }
  return g_memdup2(&lines, sizeof lines);
}

/* A sink that cannot write: the readers stop reading (the loop stays idle, it does not
 * spin on the pipes), the child's writes block; once the sink writes again, everything
 * arrives, in full. */
static void
test_backpressure(Fixture *f, gconstpointer data)
{
  f->queue_max_bytes = 32 * 1024;
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd);
  sv_logstream_started(&p, 0);
  g_assert_cmpint(fcntl(out, F_SETFL, O_NONBLOCK), ==, 0);

  const guint total = 20000;
  guint sent = 0;
  char line[128];
  gint64 blocked_since = 0;
  /* Write until the pipe has stayed full for 300 ms. */
  while (sent < total) {
    int len = g_snprintf(line, sizeof line, "%08u %s\n", sent,
                         "the quick brown fox jumps over the lazy dog, again and again");
    ssize_t w = write(out, line, (size_t)len);
    if (w == len) {
      sent++;
      blocked_since = 0;
    } else {
      g_assert_cmpint(w, <, 0);
      g_assert_cmpint(errno, ==, EAGAIN);
      if (blocked_since == 0)
        blocked_since = g_get_monotonic_time();
      if (g_get_monotonic_time() - blocked_since > 300 * 1000)
        break;
    }
    while (g_main_context_iteration(NULL, FALSE))
      ;
    if (w != len)
      g_usleep(1000);
  }
  g_assert_cmpuint(sent, <, total);
  /* Stopped: console pipe, writer's buffer, queue, the app's pipe — a few hundred KiB. */
  g_assert_cmpuint(sent, <, 10000);
  /* (stderr's write end was closed at once: that reader saw EOF and is gone.) */
  g_assert_cmpuint(sv_logstream_count(f->streams), ==, 1);
  g_assert_cmpuint(sv_logstream_count_suspended(f->streams), ==, 1);
  /* Nothing to do for the loop while stopped: no busy polling of the pipe. */
  g_assert_false(g_main_context_iteration(NULL, FALSE));

  GThread *reader = g_thread_new("console", count_console_lines, GINT_TO_POINTER(f->console[0]));
  while (sent < total) {
    int len = g_snprintf(line, sizeof line, "%08u %s\n", sent,
                         "the quick brown fox jumps over the lazy dog, again and again");
    ssize_t w = write(out, line, (size_t)len);
    if (w == len)
      sent++;
    else if (!g_main_context_iteration(NULL, FALSE))
      g_usleep(500);
  }
  close(out);
  run_until_closed(f, 20000);
  g_assert_cmpuint(sv_logstream_count_suspended(f->streams), ==, 0);
  sv_logstream_free(f->streams);
  f->streams = NULL;
  sv_journal_free(f->sink);
  f->sink = NULL;
  close(f->console[1]);
  f->console[1] = -1;
  g_autofree guint64 *lines = g_thread_join(reader);
  g_assert_cmpuint(*lines, ==, total);
}

/* ---- the end ------------------------------------------------------------------------------------ */

/* What is in the pipes is read without the loop; a pipe still held open by someone
 * (a grandchild that left the group) is given up on after the bound. */
static void
test_drain(Fixture *f, gconstpointer data)
{
  start(f);
  SvLogPipes p = open_pipes(f, SV_LOG_SOURCE_APP, NULL);
  int out = dup(p.stdout_fd), err = dup(p.stderr_fd);
  sv_logstream_started(&p, 0);
  for (int i = 0; i < 1000; i++) {
    g_autofree char *text = g_strdup_printf("line %d\n", i);
    write_str(err, text, -1);
  }
  close(err);
  write_str(out, "held open\nno newline", -1);
  gint64 start_time = g_get_monotonic_time();
  g_assert_cmpuint(sv_logstream_drain(f->streams, 200 * 1000), ==, 1);
  gint64 took = g_get_monotonic_time() - start_time;
  g_assert_cmpint(took, >=, 200 * 1000);
  g_assert_cmpint(took, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint(sv_logstream_count(f->streams), ==, 0);
  g_assert_true(sv_journal_flush(f->sink, 5 * G_USEC_PER_SEC));
  close(out);

  g_autofree char *text = console_take(f);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 1003);
  guint err_lines = 0;
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
    if (g_str_has_prefix(lines[i], "<6>line "))
      g_assert_cmpint(atoi(lines[i] + 8), ==, err_lines++);
  }
  g_assert_cmpuint(err_lines, ==, 1000);
  g_assert_nonnull(strstr(text, "<6>held open\n"));
  g_assert_nonnull(strstr(text, "<6>no newline\n"));
}

/* ---- the splitter alone ---------------------------------------------------------------------- */

static void
on_piece(const guint8 *line, gsize len, guint flags, gpointer user_data)
{
  GString *out = user_data;
  g_string_append_printf(out, "%s%.*s%s|", (flags & SV_LOG_ENTRY_CONTINUED) ? "+" : "", (int)len,
                         (const char *)line, (flags & SV_LOG_ENTRY_PARTIAL) ? "+" : "");
}

/* Pieces in order with their flags ("+" where a cut is), the same whatever the reads. */
static void
test_splitter_pieces(void)
{
  static const char text[] = "abcdefghij\nabcd\n\nabcdef\nxyz";
  for (gsize step = 1; step <= sizeof text - 1; step++) {
    g_autoptr(GString) out = g_string_new(NULL);
    SvLineSplitter sp;
    sv_logstream_splitter_init(&sp, 4, on_piece, out);
    for (gsize at = 0; at < sizeof text - 1; at += step)
      sv_logstream_split(&sp, (const guint8 *)text + at, MIN(step, sizeof text - 1 - at));
    g_assert_cmpstr(out->str, ==, "abcd+|+efgh+|+ij|abcd||abcd+|+ef|");
    sv_logstream_split_end(&sp);
    g_assert_cmpstr(out->str, ==, "abcd+|+efgh+|+ij|abcd||abcd+|+ef|xyz|");
    sv_logstream_splitter_clear(&sp);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  signal(SIGPIPE, SIG_IGN);
#define ADD(path, data, func) g_test_add(path, Fixture, data, setup, func, teardown)
  ADD("/logstream/lines/across-reads", "console", test_lines_across_reads);
  ADD("/logstream/lines/line-max-pieces-marked", NULL, test_line_max_pieces);
  ADD("/logstream/lines/nul-and-invalid-utf8-kept", NULL, test_nul_and_invalid_utf8_kept);
  ADD("/logstream/lines/eof-flushes-at-once", NULL, test_eof_flushes);
  ADD("/logstream/merge/traceback-one-entry", NULL, test_traceback_one_entry);
  ADD("/logstream/parse/json-fields", NULL, test_json_fields);
  ADD("/logstream/tags/hook-fields-and-credentials", NULL, test_tags_and_credentials);
  ADD("/logstream/tags/job-output", NULL, test_job_output);
  ADD("/logstream/reload/open-pipe-takes-new-settings", NULL, test_reconfigure_open_pipe);
  ADD("/logstream/timers/only-while-held", NULL, test_timer_only_when_held);
  ADD("/logstream/backpressure/stops-and-resumes", "console", test_backpressure);
  ADD("/logstream/drain/reads-rest-and-gives-up", "console", test_drain);
  g_test_add_func("/logstream/split/pieces-flags-and-any-reads", test_splitter_pieces);
  return g_test_run();
}

/* test-journal.c — the sink: console format, the native protocol on a fake journal
 * socket, switching between them, the bounded queue and its flush. */
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
#include "log.h"
#include "fakejournal.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static SvLogEntry *
make_entry(const char *message, gssize len, int priority)
{
  SvLogEntry *entry = sv_log_entry_new();
  g_byte_array_append(entry->message, (const guint8 *)message,
                      len < 0 ? (guint)strlen(message) : (guint)len);
  entry->priority = priority;
  entry->n_lines = 1;
  return entry;
}

typedef struct {
  int fds[2]; /* the console: the test reads [0] */
} Console;

static void
console_open(Console *c)
{
  g_assert_cmpint(pipe2(c->fds, O_CLOEXEC), ==, 0);
}

/* Everything on the console until the write end closes or TIMEOUT_MS of silence. */
static char *
console_read(Console *c, int timeout_ms)
{
  return sv_test_read_until_quiet(c->fds[0], timeout_ms);
}

static void
console_close(Console *c)
{
  for (int i = 0; i < 2; i++)
    if (c->fds[i] >= 0)
      close(c->fds[i]);
}

/* ---- console ------------------------------------------------------------------------------- */

/* A journal of identifier "app" that writes to the console C alone (opened here). */
static SvJournal *
console_journal_new(Console *c)
{
  console_open(c);
  SvJournalOptions o = {
      .target = SV_JOURNAL_TARGET_CONSOLE, .identifier = "app", .console_fd = c->fds[1]};
  return sv_journal_new(&o, NULL);
}

/* A journal of identifier "app" that writes to FJ alone. */
static SvJournal *
journal_new(SvFakeJournal *fj)
{
  SvJournalOptions o = {.target = SV_JOURNAL_TARGET_JOURNAL,
                        .identifier = "app",
                        .journal_socket = fj->path,
                        .console_fd = -1};
  return sv_journal_new(&o, NULL);
}

static void
test_console_each_line_prefixed(void)
{
  Console c;
  g_autoptr(SvJournal) j = console_journal_new(&c);
  g_assert_cmpint(sv_journal_get_target(j), ==, SV_JOURNAL_TARGET_CONSOLE);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDERR, NULL);

  g_autoptr(SvLogEntry) tb =
      make_entry("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                 "ValueError: boom",
                 -1, 3);
  g_autoptr(SvLogEntry) info = make_entry("INFO: started", -1, 6);
  sv_journal_add(j, tags, tb);
  sv_journal_add(j, tags, info);
  sv_journal_log(j, 5, NULL, NULL, "own message");
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));

  g_autofree char *out = console_read(&c, 100);
  /* One console line per line of the entry, every one with the entry's level: a
   * stream reader starts a record at each newline. sdvisor's own messages say so. */
  g_assert_cmpstr(out, ==,
                  "<3>Traceback (most recent call last):\n"
                  "<3>  File \"x.py\", line 1\n"
                  "<3>ValueError: boom\n"
                  "<6>INFO: started\n"
                  "<5>sdvisor: own message\n");
  SvJournalStats st;
  sv_journal_get_stats(j, &st);
  g_assert_cmpuint(st.entries_written, ==, 3);
  g_assert_cmpuint(st.entries_console, ==, 3);
  console_close(&c);
}

static void
test_console_keeps_bytes(void)
{
  Console c;
  g_autoptr(SvJournal) j = console_journal_new(&c);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);
  static const char bytes[] = "a\0b\xff\xfe"
                              "c";
  g_autoptr(SvLogEntry) e = make_entry(bytes, sizeof bytes - 1, 6);
  sv_journal_add(j, tags, e);
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  char buf[64];
  ssize_t n = read(c.fds[0], buf, sizeof buf);
  g_assert_cmpint(n, ==, 3 + (gssize)sizeof bytes - 1 + 1);
  g_assert_cmpmem(buf, (gsize)n,
                  "<6>a\0b\xff\xfe"
                  "c\n",
                  3 + sizeof bytes - 1 + 1);
  console_close(&c);
}

/* ---- the native protocol --------------------------------------------------------------------- */

static void
test_native_fields(void)
{
  SvFakeJournal *fj = sv_fake_journal_new(TRUE);
  const char *statics[] = {"DEPLOYMENT=prod", "TEAM=web", "MESSAGE=ignored", "bad=1", NULL};
  SvJournalOptions o = {.target = SV_JOURNAL_TARGET_JOURNAL,
                        .identifier = "shop",
                        .fields = statics,
                        .journal_socket = fj->path,
                        .console_fd = -1};
  g_autoptr(SvJournal) j = sv_journal_new(&o, NULL);
  g_assert_cmpint(sv_journal_get_target(j), ==, SV_JOURNAL_TARGET_JOURNAL);

  const char *hook_fields[] = {"SDVISOR_HOOK=migrate", NULL};
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_HOOK, SV_LOG_STREAM_STDERR, hook_fields);
  static const char msg[] = "line one\nline\0two \xff";
  g_autoptr(SvLogEntry) e = make_entry(msg, sizeof msg - 1, 3);
  sv_log_entry_add_field(e, "REQUEST_ID", 10, "abc\ndef", 7);
  sv_log_entry_add_field(e, "USER", 4, "bob", 3);
  e->flags |= SV_LOG_ENTRY_PARTIAL;
  sv_journal_add(j, tags, e);
  const char *own_fields[] = {"SDVISOR_APP_PID=42", NULL};
  sv_journal_log(j, 6, "a13ce7b51caf409db79dab25fa335a02", own_fields, "app stopped");
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));

  g_autoptr(SvJournalEntry) got = sv_fake_journal_recv(fj, 1000);
  g_assert_nonnull(got);
  GBytes *m = g_hash_table_lookup(got->fields, "MESSAGE");
  g_assert_nonnull(m);
  gsize mlen;
  const void *mdata = g_bytes_get_data(m, &mlen);
  g_assert_cmpmem(mdata, mlen, msg, sizeof msg - 1);
  sv_assert_journal_field(got, "PRIORITY", "3");
  sv_assert_journal_field(got, "SYSLOG_IDENTIFIER", "shop");
  sv_assert_journal_field(got, "SDVISOR_SOURCE", "hook");
  sv_assert_journal_field(got, "SDVISOR_STREAM", "stderr");
  sv_assert_journal_field(got, "SDVISOR_HOOK", "migrate");
  sv_assert_journal_field(got, "DEPLOYMENT", "prod");
  sv_assert_journal_field(got, "TEAM", "web");
  sv_assert_journal_field(got, "REQUEST_ID", "abc\ndef");
  sv_assert_journal_field(got, "USER", "bob");
  sv_assert_journal_field(got, "SDVISOR_LINE_BREAK", "line-max");
  g_assert_false(g_hash_table_contains(got->fields, "bad"));
  g_assert_cmpuint(g_hash_table_size(got->fields), ==, 11);

  g_autoptr(SvJournalEntry) own = sv_fake_journal_recv(fj, 1000);
  g_assert_nonnull(own);
  sv_assert_journal_field(own, "MESSAGE", "app stopped");
  sv_assert_journal_field(own, "PRIORITY", "6");
  sv_assert_journal_field(own, "SYSLOG_IDENTIFIER", "sdvisor");
  sv_assert_journal_field(own, "SDVISOR_SOURCE", "sdvisor");
  sv_assert_journal_field(own, "MESSAGE_ID", "a13ce7b51caf409db79dab25fa335a02");
  sv_assert_journal_field(own, "SDVISOR_APP_PID", "42");
  sv_assert_journal_field(own, "DEPLOYMENT", "prod");
  g_assert_false(g_hash_table_contains(own->fields, "SDVISOR_STREAM"));
  g_assert_cmpint(own->pid, ==, getpid());

  g_assert_null(sv_fake_journal_recv(fj, 50));
  sv_fake_journal_free(fj);
}

static void
test_native_many_in_order(void)
{
  SvFakeJournal *fj = sv_fake_journal_new(TRUE);
  g_autoptr(SvJournal) j = journal_new(fj);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);
  const guint n = 3000;
  guint received = 0;
  g_autoptr(SvLogEntry) e = sv_log_entry_new();
  for (guint i = 0; i < n; i++) {
    g_byte_array_set_size(e->message, 0);
    g_autofree char *text = g_strdup_printf("line %u", i);
    g_byte_array_append(e->message, (const guint8 *)text, (guint)strlen(text));
    e->priority = 6;
    sv_journal_add(j, tags, e);
    if (i % 100 == 99)
      sv_journal_commit(j);
    /* The fake journal's queue is short: read as we go, as journald would. */
    SvJournalEntry *got;
    while ((got = sv_fake_journal_recv(fj, 0)) != NULL) {
      g_autofree char *expect = g_strdup_printf("line %u", received++);
      sv_assert_journal_field(got, "MESSAGE", expect);
      sv_journal_entry_free(got);
    }
  }
  sv_journal_commit(j);
  while (received < n) {
    g_autoptr(SvJournalEntry) got = sv_fake_journal_recv(fj, 2000);
    g_assert_nonnull(got);
    g_autofree char *expect = g_strdup_printf("line %u", received++);
    sv_assert_journal_field(got, "MESSAGE", expect);
  }
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  SvJournalStats st;
  sv_journal_get_stats(j, &st);
  g_assert_cmpuint(st.entries_written, ==, n);
  g_assert_cmpuint(st.entries_console, ==, 0);
  sv_fake_journal_free(fj);
}

static void
test_native_large_entry_memfd(void)
{
  SvFakeJournal *fj = sv_fake_journal_new(TRUE);
  g_autoptr(SvJournal) j = journal_new(fj);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);
  /* Larger than any send buffer sdvisor can get (8 MiB with CAP_NET_ADMIN). */
  gsize big = 9 * 1024 * 1024;
  g_autofree char *text = g_malloc(big);
  memset(text, 'x', big);
  text[100] = '\n';
  g_autoptr(SvLogEntry) e = make_entry(text, (gssize)big, 6);
  sv_journal_add(j, tags, e);
  g_assert_true(sv_journal_flush(j, 10 * G_USEC_PER_SEC));
  g_autoptr(SvJournalEntry) got = sv_fake_journal_recv(fj, 2000);
  g_assert_nonnull(got);
  g_assert_true(got->via_memfd);
  /* journald accepts only a sealed memfd, in a datagram that carries nothing else */
  g_assert_cmpuint(got->datagram_size, ==, 0);
  g_assert_cmpint(got->memfd_seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), ==,
                  F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);
  GBytes *m = g_hash_table_lookup(got->fields, "MESSAGE");
  g_assert_cmpuint(g_bytes_get_size(m), ==, big);
  sv_assert_journal_field(got, "SDVISOR_SOURCE", "app");
  SvJournalStats st;
  sv_journal_get_stats(j, &st);
  g_assert_cmpuint(st.entries_memfd, ==, 1);
  sv_fake_journal_free(fj);
}

/* The child's pid goes to journald in SCM_CREDENTIALS when sdvisor may say so; once
 * the child is reaped the kernel refuses it, and sdvisor's own pid is used. */
static void
test_native_child_credentials(void)
{
  SvFakeJournal *fj = sv_fake_journal_new(TRUE);
  g_autoptr(SvJournal) j = journal_new(fj);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);
  pid_t child = fork();
  g_assert_cmpint(child, >=, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  sv_journal_tags_set_pid(tags, child);
  g_autoptr(SvLogEntry) e = make_entry("from the child", -1, 6);
  sv_journal_add(j, tags, e);
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  g_autoptr(SvJournalEntry) first = sv_fake_journal_recv(fj, 1000);
  g_assert_nonnull(first);
  if (geteuid() == 0)
    g_assert_cmpint(first->pid, ==, child);
  else
    g_assert_cmpint(first->pid, ==, getpid()); /* EPERM: sdvisor's own */

  kill(child, SIGKILL);
  g_assert_cmpint(waitpid(child, NULL, 0), ==, child);
  sv_journal_add(j, tags, e);
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  g_autoptr(SvJournalEntry) second = sv_fake_journal_recv(fj, 1000);
  g_assert_nonnull(second);
  g_assert_cmpint(second->pid, ==, getpid());
  sv_assert_journal_field(second, "MESSAGE", "from the child");
  sv_fake_journal_free(fj);
}

/* ---- switching -------------------------------------------------------------------------------- */

static void
add_line(SvJournal *j, SvJournalTags *tags, const char *text)
{
  g_autoptr(SvLogEntry) e = make_entry(text, -1, 6);
  sv_journal_add(j, tags, e);
  sv_journal_commit(j);
}

/* journald absent at start, then present: console first, then the journal; none lost. */
static void
test_auto_absent_then_present(void)
{
  SvFakeJournal *fj = sv_fake_journal_new(FALSE);
  Console c;
  console_open(&c);
  SvJournalOptions o = {.target = SV_JOURNAL_TARGET_AUTO,
                        .identifier = "app",
                        .journal_socket = fj->path,
                        .console_fd = c.fds[1]};
  g_autoptr(SvJournal) j = sv_journal_new(&o, NULL);
  g_assert_cmpint(sv_journal_get_target(j), ==, SV_JOURNAL_TARGET_CONSOLE);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);

  add_line(j, tags, "before 1");
  add_line(j, tags, "before 2");
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  g_autofree char *before = console_read(&c, 50);
  g_assert_cmpstr(before, ==, "<6>before 1\n<6>before 2\n");

  sv_fake_journal_listen(fj);
  /* Tried again at most once a second, and only when there is something to write. */
  gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  guint sent = 0;
  g_autoptr(SvJournalEntry) got = NULL;
  while (got == NULL && g_get_monotonic_time() < deadline) {
    g_autofree char *text = g_strdup_printf("after %u", sent++);
    add_line(j, tags, text);
    g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
    got = sv_fake_journal_recv(fj, 100);
  }
  g_assert_nonnull(got);
  g_assert_cmpint(sv_journal_get_target(j), ==, SV_JOURNAL_TARGET_JOURNAL);
  /* Every line went somewhere: the console up to the switch, the journal from it. */
  g_autofree char *console = console_read(&c, 50);
  g_autofree char *expect_first = g_strdup_printf("after %u", sent - 1);
  sv_assert_journal_field(got, "MESSAGE", expect_first);
  g_auto(GStrv) lines = g_strsplit(console, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, sent); /* sent-1 lines and "" */
  for (guint i = 0; i + 1 < sent; i++) {
    g_autofree char *expect = g_strdup_printf("<6>after %u", i);
    g_assert_cmpstr(lines[i], ==, expect);
  }
  SvJournalStats st;
  sv_journal_get_stats(j, &st);
  g_assert_cmpuint(st.entries_written, ==, sent + 2);
  console_close(&c);
  sv_fake_journal_free(fj);
}

/* journald goes away (the console takes over) and comes back on a new socket. */
static void
test_journal_restart(void)
{
  SvFakeJournal *fj = sv_fake_journal_new(TRUE);
  Console c;
  console_open(&c);
  SvJournalOptions o = {.target = SV_JOURNAL_TARGET_JOURNAL,
                        .identifier = "app",
                        .journal_socket = fj->path,
                        .console_fd = c.fds[1]};
  g_autoptr(SvJournal) j = sv_journal_new(&o, NULL);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);
  add_line(j, tags, "one");
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  g_autoptr(SvJournalEntry) e1 = sv_fake_journal_recv(fj, 1000);
  sv_assert_journal_field(e1, "MESSAGE", "one");

  sv_fake_journal_close(fj);
  add_line(j, tags, "two");
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  g_autofree char *console = console_read(&c, 50);
  g_assert_cmpstr(console, ==, "<6>two\n");
  g_assert_cmpint(sv_journal_get_target(j), ==, SV_JOURNAL_TARGET_CONSOLE);

  sv_fake_journal_listen(fj);
  g_autoptr(SvJournalEntry) e3 = NULL;
  for (int i = 0; i < 30 && e3 == NULL; i++) {
    add_line(j, tags, "three");
    g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
    e3 = sv_fake_journal_recv(fj, 100);
  }
  g_assert_nonnull(e3);
  sv_assert_journal_field(e3, "MESSAGE", "three");
  console_close(&c);
  sv_fake_journal_free(fj);
}

/* ---- the queue --------------------------------------------------------------------------------- */

typedef struct {
  guint calls;
} SpaceData;

static void
on_space(SvJournal *j, gpointer user_data)
{
  SpaceData *d = user_data;
  d->calls++;
}

static gpointer
drain_console_thread(gpointer data)
{
  Console *c = data;
  return console_read(c, 2000);
}

/* A writer that cannot write (a console nobody reads): the queue fills to its bound and
 * says so; the main loop never blocks; once the console is read, the space callback
 * runs and every entry arrives. */
static void
test_queue_bound_and_space(void)
{
  Console c;
  console_open(&c);
  SvJournalOptions o = {.target = SV_JOURNAL_TARGET_CONSOLE,
                        .identifier = "app",
                        .console_fd = c.fds[1],
                        .queue_max_bytes = 64 * 1024,
                        .queue_max_entries = 100000};
  g_autoptr(SvJournal) j = sv_journal_new(&o, NULL);
  SpaceData sd = {0};
  sv_journal_set_space_func(j, on_space, &sd);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);

  /* A 100-byte line: 64 KiB of pipe, then 64 KiB of queue. */
  char line[101];
  memset(line, 'y', 100);
  line[100] = '\0';
  guint added = 0;
  gint64 start = g_get_monotonic_time();
  while (!sv_journal_is_full(j)) {
    g_autoptr(SvLogEntry) e = make_entry(line, -1, 6);
    sv_journal_add(j, tags, e);
    sv_journal_commit(j);
    added++;
    g_assert_cmpuint(added, <, 100000);
    if (added % 100 == 0)
      g_usleep(1000); /* let the writer fill the pipe */
  }
  /* Never blocked: it took as long as adding, not as long as a timeout. */
  g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
  SvJournalStats st;
  sv_journal_get_stats(j, &st);
  g_assert_cmpuint(st.times_full, ==, 1);
  g_assert_cmpuint(st.bytes_queued, >=, 64 * 1024);
  g_assert_false(sv_journal_flush(j, 100 * 1000)); /* stuck: nobody reads the console */
  g_assert_cmpuint(sd.calls, ==, 0);

  GThread *reader = g_thread_new("console", drain_console_thread, &c);
  gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  while (sd.calls == 0 && g_get_monotonic_time() < deadline)
    g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(sd.calls, ==, 1);
  g_assert_false(sv_journal_is_full(j));
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  close(c.fds[1]);
  c.fds[1] = -1;
  g_autofree char *out = g_thread_join(reader);
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, added + 1);
  console_close(&c);
}

/* sdvisor's own messages from another thread arrive, and never wait for the writer. */
static gpointer
log_from_thread(gpointer data)
{
  SvJournal *j = data;
  for (int i = 0; i < 100; i++) {
    g_autofree char *text = g_strdup_printf("thread %d", i);
    sv_journal_log(j, 6, NULL, NULL, text);
  }
  return NULL;
}

static void
test_log_from_threads(void)
{
  Console c;
  g_autoptr(SvJournal) j = console_journal_new(&c);
  GThread *t = g_thread_new("logger", log_from_thread, j);
  for (int i = 0; i < 100; i++) {
    g_autofree char *text = g_strdup_printf("main %d", i);
    sv_journal_log(j, 6, NULL, NULL, text);
  }
  g_thread_join(t);
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  g_autofree char *out = console_read(&c, 50);
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 201);
  /* Each thread's own order is kept. */
  int next_main = 0, next_thread = 0;
  for (guint i = 0; i < 200; i++) {
    int k;
    if (sscanf(lines[i], "<6>sdvisor: main %d", &k) == 1)
      g_assert_cmpint(k, ==, next_main++);
    else if (sscanf(lines[i], "<6>sdvisor: thread %d", &k) == 1)
      g_assert_cmpint(k, ==, next_thread++);
    else
      g_assert_not_reached();
  }
  console_close(&c);
}

/* log.c routed through the sink: sv_log() lands in the queue, in order. */
static void
test_log_c_routed(void)
{
  Console c;
  g_autoptr(SvJournal) j = console_journal_new(&c);
  g_autoptr(SvJournalTags) tags =
      sv_journal_tags_new(j, SV_LOG_SOURCE_APP, SV_LOG_STREAM_STDOUT, NULL);
  sv_log_set_write_func(sv_journal_log_func, j);
  add_line(j, tags, "app line");
  sv_log(LOG_WARNING, "sdvisor says %d", 42);
  sv_log_set_write_func(NULL, NULL);
  g_assert_true(sv_journal_flush(j, 5 * G_USEC_PER_SEC));
  g_autofree char *out = console_read(&c, 50);
  g_assert_cmpstr(out, ==, "<6>app line\n<4>sdvisor: sdvisor says 42\n");
  console_close(&c);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  signal(SIGPIPE, SIG_IGN);
  g_test_add_func("/journal/console/each-line-prefixed", test_console_each_line_prefixed);
  g_test_add_func("/journal/console/keeps-nul-and-invalid-utf8", test_console_keeps_bytes);
  g_test_add_func("/journal/native/fields", test_native_fields);
  g_test_add_func("/journal/native/many-in-order", test_native_many_in_order);
  g_test_add_func("/journal/native/large-entry-as-memfd", test_native_large_entry_memfd);
  g_test_add_func("/journal/native/child-credentials", test_native_child_credentials);
  g_test_add_func("/journal/auto/absent-then-present", test_auto_absent_then_present);
  g_test_add_func("/journal/journal/restart", test_journal_restart);
  g_test_add_func("/journal/queue/bound-and-space", test_queue_bound_and_space);
  g_test_add_func("/journal/log/from-threads", test_log_from_threads);
  g_test_add_func("/journal/log/log-c-routed", test_log_c_routed);
  return g_test_run();
}

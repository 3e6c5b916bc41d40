/* test-jobs.c — scheduled jobs on a real main loop: timers, once-per-host between two
 * SvJobs in one process, timeouts, overlap, stop, catch-up, retry; plus the listing. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "jobstate.h"
#include "log.h"
#include "message-ids.h"
#include "reaper.h"
#include "testutil.h"

#define SEC G_GINT64_CONSTANT(1000000)

/* ---- journal entries: every sv_log_full() of the module, kept for the tests to read ---- */

typedef struct {
  int priority;
  char *message_id;
  char **fields;
  char *message;
} Entry;

static GPtrArray *entries;

static void
entry_free(Entry *e)
{
  g_free(e->message_id);
  g_strfreev(e->fields);
  g_free(e->message);
  g_free(e);
}

static void
capture(int priority, const char *message_id, const char *const *fields, const char *message,
        gpointer user_data)
{
  Entry *e = g_new0(Entry, 1);
  e->priority = priority;
  e->message_id = g_strdup(message_id);
  e->fields = g_strdupv((char **)fields);
  e->message = g_strdup(message);
  g_ptr_array_add(entries, e);
  if (g_test_verbose())
    g_printerr("# <%d> %s\n", priority, message);
}

static const char *
entry_field(const Entry *e, const char *name)
{
  gsize len = strlen(name);
  for (char **f = e->fields; f && *f; f++)
    if (strncmp(*f, name, len) == 0 && (*f)[len] == '=')
      return *f + len + 1;
  return NULL;
}

/* Entries with MESSAGE_ID ID (and, if given, field NAME=VALUE). */
static guint
count_entries(const char *id, const char *name, const char *value)
{
  guint n = 0;
  for (guint i = 0; i < entries->len; i++) {
    const Entry *e = entries->pdata[i];
    if (g_strcmp0(e->message_id, id) != 0)
      continue;
    if (name != NULL && g_strcmp0(entry_field(e, name), value) != 0)
      continue;
    n++;
  }
  return n;
}

static const Entry *
last_entry(const char *id)
{
  for (guint i = entries->len; i > 0; i--)
    if (g_strcmp0(((Entry *)entries->pdata[i - 1])->message_id, id) == 0)
      return entries->pdata[i - 1];
  return NULL;
}

typedef struct {
  char *dir; /* state directory */
  char *out; /* where the jobs write */
  GPtrArray *configs;
} Fixture;

static void
config_free(SvJobConfig *c)
{
  g_free(c->name);
  g_free(c->schedule);
  g_strfreev(c->exec);
  g_free(c->timezone);
  g_free(c->working_directory);
  g_strfreev(c->environment);
  g_free(c);
}

static void
setup(Fixture *f, gconstpointer data)
{
  g_ptr_array_set_size(entries, 0);
  f->dir = g_dir_make_tmp("sv-jobs-XXXXXX", NULL);
  f->out = g_dir_make_tmp("sv-jobs-out-XXXXXX", NULL);
  f->configs = g_ptr_array_new_with_free_func((GDestroyNotify)config_free);
}

static void
teardown(Fixture *f, gconstpointer data)
{
  g_ptr_array_unref(f->configs);
  sv_test_rm_rf(f->dir);
  sv_test_rm_rf(f->out);
  g_free(f->dir);
  g_free(f->out);
}

static SvJobConfig *
add_job(Fixture *f, const char *name, const char *schedule, const char *script)
{
  SvJobConfig *c = g_new0(SvJobConfig, 1);
  c->name = g_strdup(name);
  c->schedule = g_strdup(schedule);
  c->exec = g_new0(char *, 4);
  c->exec[0] = g_strdup("/bin/sh");
  c->exec[1] = g_strdup("-c");
  c->exec[2] = g_strdup(script);
  c->timeout_usec = G_MAXINT64;
  c->overlap = SV_OVERLAP_SKIP;
  c->once_per_host = TRUE;
  c->environment = g_new0(char *, 2);
  c->environment[0] = g_strdup_printf("OUT=%s", f->out);
  g_ptr_array_add(f->configs, c);
  return c;
}

static char *
out_path(Fixture *f, const char *name)
{
  return g_build_filename(f->out, name, NULL);
}

static char *
read_out(Fixture *f, const char *name)
{
  g_autofree char *p = out_path(f, name);
  char *text = NULL;
  if (!g_file_get_contents(p, &text, NULL, NULL))
    return g_strdup("");
  return text;
}

static guint
count_lines(const char *text)
{
  guint n = 0;
  for (const char *p = text; *p; p++)
    if (*p == '\n')
      n++;
  return n;
}

static void
spin(gint64 usec)
{
  gint64 end = g_get_monotonic_time() + usec;
  while (g_get_monotonic_time() < end)
    g_main_context_iteration(NULL, FALSE) || (g_usleep(2000), TRUE);
}

typedef gboolean (*Cond)(gpointer);

static gboolean
spin_until(Cond cond, gpointer data, gint64 timeout_usec)
{
  gint64 end = g_get_monotonic_time() + timeout_usec;
  while (!cond(data)) {
    if (g_get_monotonic_time() > end)
      return FALSE;
    if (!g_main_context_iteration(NULL, FALSE))
      g_usleep(2000);
  }
  return TRUE;
}

/* Waits until the wall clock is just past a whole second: every-1s tests then see their
 * slots at predictable moments. */
static void
align_to_second(gint64 offset_usec)
{
  gint64 now = g_get_real_time();
  gint64 next = (now / SEC + 1) * SEC + offset_usec;
  spin(next - now);
}

/* Waits past the next hour when it is less than 30 s away (what the tests of hourly jobs
 * take, with room for a slowed-down run). They take the latest slot once, at their start:
 * a regular run on the hour during the test (CI crossed one) would add a slot they do not
 * expect. */
static void
clear_of_the_hour(void)
{
  gint64 hour = 3600 * SEC;
  gint64 now = g_get_real_time();
  gint64 next = (now / hour + 1) * hour;
  if (next - now < 30 * SEC)
    spin(next - now + SEC);
}

static void
on_done(gpointer user_data)
{
  (*(int *)user_data)++;
}

static gboolean
int_nonzero(gpointer p)
{
  return *(int *)p != 0;
}

/* The jobs of F's configuration, for app "web", its state in F's directory. */
static SvJobs *
jobs_new(Fixture *f)
{
  g_autoptr(GError) error = NULL;
  SvJobs *jobs = sv_jobs_new("web", f->configs, f->dir, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(jobs);
  return jobs;
}

static SvJobs *
start_jobs(Fixture *f)
{
  SvJobs *jobs = jobs_new(f);
  sv_jobs_start(jobs);
  return jobs;
}

static void
stop_and_free(SvJobs *jobs)
{
  int done = 0;
  sv_jobs_stop(jobs, SIGTERM, g_get_monotonic_time() + 5 * SEC, on_done, &done);
  g_assert_true(spin_until(int_nonzero, &done, 10 * SEC));
  g_assert_cmpint(done, ==, 1);
  g_assert_cmpuint(sv_jobs_get_n_running(jobs), ==, 0);
  sv_jobs_free(jobs);
}

static SvJobRecord *
read_state(Fixture *f, const char *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", FALSE, &error);
  g_assert_no_error(error);
  SvJobRecord *r = sv_job_store_read(store, job, &error);
  g_assert_no_error(error);
  return r;
}

/* ---- pure parts ----------------------------------------------------------------------------- */

static void
test_randomized_delay(void)
{
  gint64 max = 3600 * SEC;
  gint64 a = sv_jobs_randomized_delay("m1", "web", "backup", max);
  g_assert_cmpint(a, ==, sv_jobs_randomized_delay("m1", "web", "backup", max));
  g_assert_cmpint(a, >=, 0);
  g_assert_cmpint(a, <, max);
  g_assert_cmpint(sv_jobs_randomized_delay("m1", "web", "backup", 0), ==, 0);
  /* Another host, another app, another job: another delay (with overwhelming odds). */
  g_assert_cmpint(a, !=, sv_jobs_randomized_delay("m2", "web", "backup", max));
  g_assert_cmpint(a, !=, sv_jobs_randomized_delay("m1", "api", "backup", max));
  g_assert_cmpint(a, !=, sv_jobs_randomized_delay("m1", "web", "report", max));
  /* Separators matter: ("web","backup") is not ("webb","ackup"). */
  g_assert_cmpint(a, !=, sv_jobs_randomized_delay("m1", "webb", "ackup", max));
  /* Spread: 100 jobs over an hour land in many different minutes. */
  g_autoptr(GHashTable) minutes = g_hash_table_new(NULL, NULL);
  for (int i = 0; i < 100; i++) {
    g_autofree char *name = g_strdup_printf("job%d", i);
    gint64 d = sv_jobs_randomized_delay("m1", "web", name, max);
    g_assert_cmpint(d, <, max);
    g_hash_table_add(minutes, GINT_TO_POINTER((int)(d / (60 * SEC))));
  }
  g_assert_cmpuint(g_hash_table_size(minutes), >, 40);
  /* This host's machine id is read when none is given. */
  g_assert_cmpint(sv_jobs_randomized_delay(NULL, "web", "backup", max), ==,
                  sv_jobs_randomized_delay(NULL, "web", "backup", max));
}

static void
test_next_runs(Fixture *f, gconstpointer data)
{
  SvJobConfig *c = add_job(f, "tick", "every 10s", "true");
  gint64 now = G_GINT64_CONSTANT(1763805603) * SEC; /* …:00:03 */
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) runs = sv_jobs_next_runs("web", c, now, 3, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(runs->len, ==, 3);
  g_assert_cmpint(g_array_index(runs, gint64, 0), ==, now + 7 * SEC);
  g_assert_cmpint(g_array_index(runs, gint64, 1), ==, now + 17 * SEC);
  g_assert_cmpint(g_array_index(runs, gint64, 2), ==, now + 27 * SEC);

  /* With a randomized delay: slot + the host's fixed delay, never before NOW. */
  c->randomized_delay_usec = 10 * SEC;
  gint64 d = sv_jobs_randomized_delay(NULL, "web", "tick", 10 * SEC);
  g_autoptr(GArray) delayed = sv_jobs_next_runs("web", c, now, 3, &error);
  g_assert_cmpuint(delayed->len, ==, 3);
  for (guint i = 0; i < 3; i++) {
    gint64 at = g_array_index(delayed, gint64, i);
    g_assert_cmpint(at, >, now);
    g_assert_cmpint((at - d) % (10 * SEC), ==, 0);
    if (i > 0)
      g_assert_cmpint(at - g_array_index(delayed, gint64, i - 1), ==, 10 * SEC);
  }

  /* A calendar schedule in a named zone. */
  SvJobConfig *daily = add_job(f, "daily", "*-*-* 03:00:00", "true");
  daily->timezone = g_strdup("UTC");
  g_autoptr(GArray) days = sv_jobs_next_runs("web", daily, now, 2, &error);
  g_assert_no_error(error);
  g_assert_cmpint(g_array_index(days, gint64, 1) - g_array_index(days, gint64, 0), ==, 86400 * SEC);
  g_autofree char *first = sv_jobstate_format_time(g_array_index(days, gint64, 0));
  g_assert_cmpstr(first, ==, "2025-11-23T03:00:00Z");

  /* check prints each job's runs in its own zone, with the offset. */
  SvJobConfig *seoul = add_job(f, "seoul", "30 3 * * *", "true");
  seoul->timezone = g_strdup("Asia/Seoul");
  g_autofree char *text = sv_jobs_describe_next_runs("web", f->configs, now, 2, &error);
  g_assert_no_error(error);
  g_assert_nonnull(strstr(text, "daily: next runs 2025-11-23T03:00:00+00:00, "
                                "2025-11-24T03:00:00+00:00 (time zone UTC)\n"));
  g_assert_nonnull(strstr(text, "seoul: next runs 2025-11-23T03:30:00+09:00, "
                                "2025-11-24T03:30:00+09:00 (time zone Asia/Seoul)\n"));
  g_assert_nonnull(strstr(text, "randomized delay on this host"));
}

static void
test_describe(Fixture *f, gconstpointer data)
{
  add_job(f, "backup", "every 1h", "true");
  add_job(f, "never-ran", "@daily", "true");
  add_job(f, "broken", "@daily", "true");
  gint64 now = G_GINT64_CONSTANT(1763805603) * SEC;

  /* No state directory yet: listed, nothing created. */
  g_autofree char *missing = g_build_filename(f->dir, "nope", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *empty = sv_jobs_describe("web", f->configs, missing, now, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(strstr(empty, "none yet"));
  g_assert_nonnull(strstr(empty, "never-ran"));
  g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));

  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autoptr(SvJobRecord) t = sv_job_record_new();
  t->run_id = g_strdup("r");
  t->instance_id = g_strdup("i");
  t->pid = 31337;
  t->host = g_strdup("h");
  t->boot_id = g_strdup("b");
  t->started_usec = now - 3600 * SEC;
  g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", now - 3603 * SEC, t);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_OK);
  g_assert_true(sv_job_claim_finish(c, SV_JOB_RESULT_FAILED, 2, 100, 1500 * 1000, &error));
  g_autofree char *broken = g_build_filename(f->dir, "web", "broken.state", NULL);
  g_assert_true(g_file_set_contents(broken, "garbage\n", -1, NULL));

  g_autofree char *text = sv_jobs_describe("web", f->configs, f->dir, now, NULL, &error);
  g_assert_no_error(error);
  if (g_test_verbose())
    g_printerr("%s", text);
  g_assert_nonnull(strstr(text, "JOB"));
  g_assert_nonnull(strstr(text, "LAST SLOT"));
  g_autofree char *line = NULL;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix(*l, "backup "))
      line = g_strdup(*l);
  g_assert_nonnull(line);
  g_assert_nonnull(strstr(line, "2025-11-22T09:00:00Z")); /* last slot */
  g_assert_nonnull(strstr(line, "failed (2)"));
  g_assert_nonnull(strstr(line, "1.500s"));
  g_assert_nonnull(strstr(line, "31337"));
  g_assert_nonnull(strstr(line, "2025-11-22T11:00:00Z")); /* next run */
  g_assert_nonnull(strstr(line, "in 59min 57s"));
  g_assert_nonnull(strstr(text, "unreadable"));
  g_assert_nonnull(strstr(text, "broken: "));
  /* Listing moves nothing aside. */
  g_assert_true(g_file_test(broken, G_FILE_TEST_EXISTS));
}

/* ---- on the main loop ----------------------------------------------------------------------- */

typedef struct {
  Fixture *f;
  const char *file;
  guint lines;
} WaitLines;

static gboolean
has_lines(gpointer p)
{
  WaitLines *w = p;
  g_autofree char *text = read_out(w->f, w->file);
  return count_lines(text) >= w->lines;
}

static gboolean
wait_lines(Fixture *f, const char *file, guint lines, gint64 timeout)
{
  WaitLines w = {f, file, lines};
  return spin_until(has_lines, &w, timeout);
}

static void
test_every_second_two_instances(Fixture *f, gconstpointer data)
{
  add_job(f, "tick", "every 1s",
          "echo \"$SDVISOR_JOB_SLOT $SDVISOR_JOB $SDVISOR_APP_NAME\" >> \"$OUT/slots\"");
  g_autoptr(GError) error = NULL;
  /* Two instances in one process: two stores, two open file descriptions per lock. */
  SvJobs *a = jobs_new(f);
  SvJobs *b = jobs_new(f);
  align_to_second(200000);
  sv_jobs_start(a);
  sv_jobs_start(b);
  spin(4 * SEC);
  stop_and_free(a);
  stop_and_free(b);

  g_autofree char *text = read_out(f, "slots");
  g_auto(GStrv) lines = g_strsplit(g_strstrip(text), "\n", -1);
  guint n = g_strv_length(lines);
  g_assert_cmpuint(n, >=, 3);
  g_assert_cmpuint(n, <=, 5);
  for (guint i = 0; i < n; i++) {
    g_assert_true(g_str_has_suffix(lines[i], "Z tick web"));
    if (i == 0)
      continue;
    /* Every slot once, in order, none missing. */
    g_autofree char *cur_text = g_strndup(lines[i], strchr(lines[i], ' ') - lines[i]);
    g_autofree char *prev_text = g_strndup(lines[i - 1], strchr(lines[i - 1], ' ') - lines[i - 1]);
    g_autoptr(GDateTime) p = g_date_time_new_from_iso8601(prev_text, NULL);
    g_autoptr(GDateTime) c = g_date_time_new_from_iso8601(cur_text, NULL);
    g_assert_nonnull(p);
    g_assert_nonnull(c);
    g_assert_cmpint(g_date_time_difference(c, p), ==, SEC);
  }
  g_autoptr(SvJobRecord) r = read_state(f, "tick");
  g_assert_false(r->running);
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_SUCCESS);

  /* Journal: one start and one finish per run, with the run's fields; the other
   * instance's skips say why. */
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_STARTED, "SDVISOR_JOB", "tick"), ==, n);
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_FINISHED, "SDVISOR_JOB_RESULT", "success"), ==, n);
  const Entry *started = last_entry(SV_MESSAGE_JOB_STARTED);
  g_assert_cmpuint(strlen(entry_field(started, "SDVISOR_JOB_RUN")), ==, 32);
  g_assert_true(g_str_has_suffix(entry_field(started, "SDVISOR_JOB_SLOT"), "Z"));
  g_assert_nonnull(entry_field(started, "SDVISOR_JOB_PID"));
  g_assert_nonnull(entry_field(started, "SDVISOR_JOB_LATENESS_USEC"));
  guint elsewhere =
      count_entries(SV_MESSAGE_JOB_SKIPPED, "SDVISOR_JOB_SKIP_REASON", "running-elsewhere") +
      count_entries(SV_MESSAGE_JOB_SKIPPED, "SDVISOR_JOB_SKIP_REASON", "ran-elsewhere");
  g_assert_cmpuint(elsewhere, >=, n - 1);
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_SKIPPED, NULL, NULL), ==, elsewhere);
}

static void
test_not_once_per_host(Fixture *f, gconstpointer data)
{
  SvJobConfig *c = add_job(f, "tick", "every 1s", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/slots\"");
  c->once_per_host = FALSE;
  SvJobs *a = jobs_new(f);
  SvJobs *b = jobs_new(f);
  align_to_second(200000);
  sv_jobs_start(a);
  sv_jobs_start(b);
  spin(2 * SEC + 500000);
  stop_and_free(a);
  stop_and_free(b);
  g_autofree char *text = read_out(f, "slots");
  g_auto(GStrv) lines = g_strsplit(g_strstrip(text), "\n", -1);
  /* Both instances run every slot. */
  g_assert_cmpuint(g_strv_length(lines) % 2, ==, 0);
  g_assert_cmpuint(g_strv_length(lines), >=, 4);
  /* No lock file: nothing is claimed. The last run is recorded for `sdvisor jobs`. */
  g_autofree char *lock = g_build_filename(f->dir, "web", "tick.lock", NULL);
  g_assert_false(g_file_test(lock, G_FILE_TEST_EXISTS));
  g_autoptr(SvJobRecord) r = read_state(f, "tick");
  g_assert_nonnull(r);
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_SUCCESS);
}

typedef struct {
  Fixture *f;
  const char *job;
  SvJobResult result;
} WaitResult;

static gboolean
has_result(gpointer p)
{
  WaitResult *w = p;
  g_autoptr(SvJobStore) store = sv_job_store_open(w->f->dir, "web", FALSE, NULL);
  if (store == NULL)
    return FALSE;
  g_autoptr(SvJobRecord) r = sv_job_store_read(store, w->job, NULL);
  return r != NULL && !r->running && r->result == w->result;
}

static void
test_timeout(Fixture *f, gconstpointer data)
{
  /* The job's group is signalled: the background sleep goes too. */
  SvJobConfig *c = add_job(f, "slow", "every 1s",
                           "sleep 30 & echo $! > \"$OUT/bg\"; echo $$ > \"$OUT/pid\"; wait");
  c->timeout_usec = 1 * SEC;
  SvJobs *jobs = start_jobs(f);
  WaitResult w = {f, "slow", SV_JOB_RESULT_TIMEOUT};
  g_assert_true(spin_until(has_result, &w, 5 * SEC));
  g_autofree char *bg = read_out(f, "bg");
  pid_t bg_pid = (pid_t)atoi(bg);
  g_assert_cmpint(bg_pid, >, 0);
  spin(200000);
  g_assert_false(sv_test_pid_alive(bg_pid));
  g_autoptr(SvJobRecord) r = read_state(f, "slow");
  g_assert_cmpint(r->exit_code, ==, 128 + SIGTERM);
  g_assert_cmpint(r->duration_usec, >=, 900000);
  g_assert_cmpint(r->duration_usec, <, 3 * SEC);
  g_autofree char *pid = read_out(f, "pid");
  g_assert_cmpint(r->job_pid, ==, atoi(pid));
  stop_and_free(jobs);
  const Entry *e = last_entry(SV_MESSAGE_JOB_TIMEOUT);
  g_assert_nonnull(e);
  g_assert_cmpstr(entry_field(e, "SDVISOR_JOB_RESULT"), ==, "timeout");
  g_assert_cmpstr(entry_field(e, "SDVISOR_JOB_PID"), ==, g_strstrip(pid));
  g_assert_cmpint(e->priority, ==, LOG_WARNING);
}

/* The man page's promise: SIGTERM at timeout=, SIGKILL 5 s later. The job ignores TERM, so
 * only the KILL ends it: its record says 128+SIGKILL, after the timeout and the whole grace
 * (not sooner, which would be a shorter grace, nor much later). About 6 s. */
static void
test_timeout_kill(Fixture *f, gconstpointer data)
{
  SvJobConfig *c = add_job(f, "stubborn", "every 1s",
                           "trap '' TERM; echo $$ > \"$OUT/pid\"; while :; do sleep 0.1; done");
  c->timeout_usec = 1 * SEC;
  SvJobs *jobs = start_jobs(f);
  WaitResult w = {f, "stubborn", SV_JOB_RESULT_TIMEOUT};
  g_assert_true(spin_until(has_result, &w, 15 * SEC));
  g_autoptr(SvJobRecord) r = read_state(f, "stubborn");
  g_assert_cmpint(r->exit_code, ==, 128 + SIGKILL);
  g_assert_cmpint(r->duration_usec, >=, 6 * SEC);
  g_assert_cmpint(r->duration_usec, <, 9 * SEC);
  g_autofree char *pid = read_out(f, "pid");
  g_assert_false(sv_test_pid_alive((pid_t)atoi(pid)));
  stop_and_free(jobs);
}

static void
test_exec_failed(Fixture *f, gconstpointer data)
{
  SvJobConfig *c = add_job(f, "missing", "every 1s", "true");
  g_free(c->exec[0]);
  c->exec[0] = g_strdup("/nonexistent/program");
  SvJobs *jobs = start_jobs(f);
  WaitResult w = {f, "missing", SV_JOB_RESULT_EXEC_FAILED};
  g_assert_true(spin_until(has_result, &w, 3 * SEC));
  g_autoptr(SvJobRecord) r = read_state(f, "missing");
  g_assert_cmpint(r->exit_code, ==, 127);
  stop_and_free(jobs);
  const Entry *e = last_entry(SV_MESSAGE_JOB_FAILED);
  g_assert_nonnull(e);
  g_assert_nonnull(strstr(e->message, "/nonexistent/program"));
}

/* Each run logs "start SLOT T_START" and "end SLOT T_END" (monotonic-ish: date +%s%N). */
#define RUN_LOG_SCRIPT(sleep)                                                                      \
  "echo \"start $SDVISOR_JOB_SLOT $(date +%s%N)\" >> \"$OUT/runs\"; sleep " sleep "; "             \
  "echo \"end $SDVISOR_JOB_SLOT $(date +%s%N)\" >> \"$OUT/runs\""

typedef struct {
  char *slot;
  gint64 start, end;
} Run;

static GArray *
parse_runs(Fixture *f)
{
  g_autofree char *text = read_out(f, "runs");
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  GArray *runs = g_array_new(FALSE, TRUE, sizeof(Run));
  for (char **l = lines; *l && **l; l++) {
    g_auto(GStrv) w = g_strsplit(*l, " ", 3);
    g_assert_cmpuint(g_strv_length(w), ==, 3);
    if (g_str_equal(w[0], "start")) {
      Run r = {g_strdup(w[1]), g_ascii_strtoll(w[2], NULL, 10), 0};
      g_array_append_val(runs, r);
    } else {
      Run *last = &g_array_index(runs, Run, runs->len - 1);
      g_assert_cmpstr(last->slot, ==, w[1]); /* never two at once */
      last->end = g_ascii_strtoll(w[2], NULL, 10);
    }
  }
  return runs;
}

static gint64
slot_seconds(const char *iso)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(iso, NULL);
  g_assert_nonnull(dt);
  return g_date_time_to_unix(dt);
}

static void
free_runs(GArray *runs)
{
  for (guint i = 0; i < runs->len; i++)
    g_free(g_array_index(runs, Run, i).slot);
  g_array_unref(runs);
}

static void
test_overlap_skip(Fixture *f, gconstpointer data)
{
#define ADD(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
  add_job(f, "long", "every 1s", RUN_LOG_SCRIPT("1.5"));
  SvJobs *jobs = jobs_new(f);
  align_to_second(200000);
  sv_jobs_start(jobs);
  spin(5 * SEC);
  stop_and_free(jobs);

  GArray *runs = parse_runs(f);
  g_assert_cmpuint(runs->len, >=, 2);
  for (guint i = 1; i < runs->len; i++) {
    Run *p = &g_array_index(runs, Run, i - 1), *c = &g_array_index(runs, Run, i);
    g_assert_cmpint(c->start, >=, p->end);
    /* The slot that came while the previous run ran was skipped, not queued. */
    g_assert_cmpint(slot_seconds(c->slot) - slot_seconds(p->slot), ==, 2);
  }
  g_assert_cmpuint(
      count_entries(SV_MESSAGE_JOB_SKIPPED, "SDVISOR_JOB_SKIP_REASON", "still-running"), >=,
      runs->len - 1);
  free_runs(runs);
}

static void
test_overlap_queue(Fixture *f, gconstpointer data)
{
  SvJobConfig *c = add_job(f, "long", "every 1s", RUN_LOG_SCRIPT("1.5"));
  c->overlap = SV_OVERLAP_QUEUE;
  SvJobs *jobs = jobs_new(f);
  align_to_second(200000);
  sv_jobs_start(jobs);
  spin(4 * SEC);
  stop_and_free(jobs);

  GArray *runs = parse_runs(f);
  g_assert_cmpuint(runs->len, >=, 2);
  for (guint i = 1; i < runs->len; i++) {
    Run *p = &g_array_index(runs, Run, i - 1), *r = &g_array_index(runs, Run, i);
    g_assert_cmpint(r->start, >=, p->end);
    /* Queued: the next slot runs right after, none is lost between them. */
    g_assert_cmpint(slot_seconds(r->slot) - slot_seconds(p->slot), ==, 1);
    g_assert_cmpint(r->start - p->end, <, 300 * 1000 * 1000);
  }
  free_runs(runs);
}

static gboolean
file_exists(gpointer p)
{
  return g_file_test(p, G_FILE_TEST_EXISTS);
}

static void
test_stop_signals_job(Fixture *f, gconstpointer data)
{
  add_job(f, "graceful", "every 1s",
          "trap 'echo term >> \"$OUT/term\"; exit 3' TERM; touch \"$OUT/started\"; "
          "sleep 30 & wait");
  SvJobs *jobs = start_jobs(f);
  g_autofree char *started = out_path(f, "started");
  g_assert_true(spin_until(file_exists, started, 3 * SEC));
  spin(100000);
  g_assert_cmpuint(sv_jobs_get_n_running(jobs), ==, 1);

  int done = 0;
  gint64 t0 = g_get_monotonic_time();
  sv_jobs_stop(jobs, SIGTERM, t0 + 10 * SEC, on_done, &done);
  g_assert_true(spin_until(int_nonzero, &done, 5 * SEC));
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * SEC);
  g_autofree char *term = read_out(f, "term");
  g_assert_cmpstr(term, ==, "term\n");
  g_autoptr(SvJobRecord) r = read_state(f, "graceful");
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_STOPPED);
  g_assert_cmpint(r->exit_code, ==, 3);
  sv_jobs_free(jobs);
}

static void
test_stop_deadline(Fixture *f, gconstpointer data)
{
  add_job(f, "deaf", "every 1s",
          "trap '' TERM; touch \"$OUT/started\"; while :; do sleep 0.1; done");
  SvJobs *jobs = start_jobs(f);
  g_autofree char *started = out_path(f, "started");
  g_assert_true(spin_until(file_exists, started, 3 * SEC));

  int done = 0;
  gint64 t0 = g_get_monotonic_time();
  sv_jobs_stop(jobs, SIGTERM, t0 + SEC, on_done, &done);
  g_assert_true(spin_until(int_nonzero, &done, 5 * SEC));
  gint64 took = g_get_monotonic_time() - t0;
  g_assert_cmpint(took, >=, 900000);
  g_assert_cmpint(took, <, 3 * SEC);
  g_autoptr(SvJobRecord) r = read_state(f, "deaf");
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_STOPPED);
  g_assert_cmpint(r->exit_code, ==, 128 + SIGKILL);
  sv_jobs_free(jobs);
}

/* Signal 0 (a set retired at reload): no new runs, the running one ends on its own; a
 * real stop afterwards still signals it. */
static void
test_stop_retire(Fixture *f, gconstpointer data)
{
  add_job(f, "slow", "every 1s", "touch \"$OUT/started\"; sleep 0.7; echo done >> \"$OUT/done\"");
  SvJobs *jobs = start_jobs(f);
  g_autofree char *started = out_path(f, "started");
  g_assert_true(spin_until(file_exists, started, 3 * SEC));
  int done = 0;
  sv_jobs_stop(jobs, 0, G_MAXINT64, on_done, &done);
  g_assert_true(spin_until(int_nonzero, &done, 3 * SEC));
  g_autofree char *text = read_out(f, "done");
  g_assert_cmpstr(text, ==, "done\n");
  g_autoptr(SvJobRecord) r = read_state(f, "slow");
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_SUCCESS);
  spin(1200000); /* no new run */
  g_autofree char *after = read_out(f, "done");
  g_assert_cmpstr(after, ==, "done\n");
  sv_jobs_free(jobs);

  /* Retired, then stopped for real while the run still runs. */
  g_unlink(started);
  jobs = start_jobs(f);
  g_assert_true(spin_until(file_exists, started, 3 * SEC));
  done = 0;
  sv_jobs_stop(jobs, 0, G_MAXINT64, on_done, &done);
  sv_jobs_stop(jobs, SIGTERM, g_get_monotonic_time() + 5 * SEC, on_done, &done);
  g_assert_true(spin_until(int_nonzero, &done, 3 * SEC));
  g_autoptr(SvJobRecord) r2 = read_state(f, "slow");
  g_assert_cmpint(r2->result, ==, SV_JOB_RESULT_STOPPED);
  sv_jobs_free(jobs);
}

static void
test_stop_idle(Fixture *f, gconstpointer data)
{
  add_job(f, "hourly", "every 1h", "true");
  SvJobs *jobs = start_jobs(f);
  stop_and_free(jobs);

  /* No jobs at all: no state directory is needed or created. */
  g_autoptr(GPtrArray) none = g_ptr_array_new();
  g_autofree char *missing = g_build_filename(f->dir, "not-created", NULL);
  g_autoptr(GError) error = NULL;
  SvJobs *empty = sv_jobs_new("web", none, missing, NULL, &error);
  g_assert_no_error(error);
  sv_jobs_start(empty);
  stop_and_free(empty);
  g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
}

/* A finished record for SLOT, as an earlier instance would have left it. */
static void
write_record(Fixture *f, const char *job, gint64 slot, gboolean running)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autoptr(SvJobRecord) t = sv_job_record_new();
  t->run_id = g_strdup("earlier");
  t->instance_id = g_strdup("earlier-instance");
  t->pid = 1;
  t->host = g_strdup("h");
  t->boot_id = g_strdup(sv_jobstate_boot_id());
  t->started_usec = slot;
  SvJobClaim *c = sv_job_store_claim(store, job, slot, t);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_OK);
  if (!running)
    g_assert_true(sv_job_claim_finish(c, SV_JOB_RESULT_SUCCESS, 0, 2, SEC, &error));
  sv_job_claim_free(c); /* running: the lock goes, the claim stays: an interrupted run */
}

static void
test_persistent_catch_up(Fixture *f, gconstpointer data)
{
  clear_of_the_hour();
  gint64 hour = 3600 * SEC;
  gint64 now = g_get_real_time();
  gint64 latest = now / hour * hour;
  SvJobConfig *p = add_job(f, "persistent", "every 1h", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/p\"");
  p->persistent = TRUE;
  add_job(f, "plain", "every 1h", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/plain\"");
  SvJobConfig *fresh =
      add_job(f, "fresh", "every 1h", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/fresh\"");
  fresh->persistent = TRUE;
  /* Last run five hours ago: four slots missed. */
  write_record(f, "persistent", latest - 5 * hour, FALSE);
  write_record(f, "plain", latest - 5 * hour, FALSE);

  SvJobs *jobs = start_jobs(f);
  g_assert_true(wait_lines(f, "p", 1, 3 * SEC));
  spin(500000);
  stop_and_free(jobs);

  /* Exactly one catch-up, for the latest missed slot; none without persistent=, none
   * for a job that never ran. */
  g_autofree char *text = read_out(f, "p");
  g_autofree char *expected_slot = sv_jobstate_format_time(latest);
  g_autofree char *expected = g_strconcat(expected_slot, "\n", NULL);
  g_assert_cmpstr(text, ==, expected);
  g_autofree char *plain = read_out(f, "plain");
  g_assert_cmpstr(plain, ==, "");
  g_autofree char *fresh_text = read_out(f, "fresh");
  g_assert_cmpstr(fresh_text, ==, "");

  /* Started again: up to date now, nothing more. */
  jobs = start_jobs(f);
  spin(500000);
  stop_and_free(jobs);
  g_autofree char *again = read_out(f, "p");
  g_assert_cmpstr(again, ==, expected);
}

/* More jobs than start checks run at once (jobs.c begins four, the rest wait): every
 * persistent job still catches up once, a slow catch-up (`sleep`) does not hold back the
 * other jobs' checks, and a stop while checks wait drops them without a run. */
static void
test_many_start_checks(Fixture *f, gconstpointer data)
{
  clear_of_the_hour();
  gint64 hour = 3600 * SEC;
  gint64 latest = g_get_real_time() / hour * hour;
  for (int i = 0; i < 6; i++) {
    g_autofree char *name = g_strdup_printf("slow%d", i);
    SvJobConfig *c = add_job(f, name, "every 1h", "sleep 30");
    c->persistent = TRUE;
    write_record(f, name, latest - 2 * hour, FALSE);
  }
  for (int i = 0; i < 12; i++) {
    g_autofree char *name = g_strdup_printf("quick%d", i);
    SvJobConfig *c = add_job(f, name, "every 1h", "echo \"$SDVISOR_JOB\" >> \"$OUT/quick\"");
    c->persistent = TRUE;
    write_record(f, name, latest - 2 * hour, FALSE);
  }

  SvJobs *jobs = start_jobs(f);
  g_assert_true(wait_lines(f, "quick", 12, 5 * SEC));
  spin(300000);
  g_assert_cmpuint(sv_jobs_get_n_running(jobs), ==, 6); /* the six sleeps */
  stop_and_free(jobs);
  g_autofree char *text = read_out(f, "quick");
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 13); /* twelve, and the empty tail */
  for (int i = 0; i < 12; i++) {
    g_autofree char *name = g_strdup_printf("quick%d", i);
    g_assert_true(g_strv_contains((const char *const *)lines, name));
  }

  /* Started and stopped at once: the waiting checks are dropped, the stop completes,
   * nothing runs (the catch-ups are done). */
  jobs = start_jobs(f);
  stop_and_free(jobs);
  g_autofree char *after = read_out(f, "quick");
  g_assert_cmpstr(after, ==, text);
}

static void
test_interrupted_retry(Fixture *f, gconstpointer data)
{
  clear_of_the_hour();
  gint64 hour = 3600 * SEC;
  gint64 slot = g_get_real_time() / hour * hour;
  SvJobConfig *retry =
      add_job(f, "retry", "every 1h", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/retry\"");
  retry->retry_interrupted = TRUE;
  add_job(f, "noretry", "every 1h", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/noretry\"");
  write_record(f, "retry", slot, TRUE);
  write_record(f, "noretry", slot, TRUE);

  SvJobs *jobs = start_jobs(f);
  g_assert_true(wait_lines(f, "retry", 1, 3 * SEC));
  spin(500000);
  stop_and_free(jobs);

  g_autofree char *text = read_out(f, "retry");
  g_autofree char *expected_slot = sv_jobstate_format_time(slot);
  g_autofree char *expected = g_strconcat(expected_slot, "\n", NULL);
  g_assert_cmpstr(text, ==, expected);
  g_autofree char *none = read_out(f, "noretry");
  g_assert_cmpstr(none, ==, "");
  g_autoptr(SvJobRecord) r = read_state(f, "noretry");
  g_assert_false(r->running);
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_INTERRUPTED);
  g_autoptr(SvJobRecord) r2 = read_state(f, "retry");
  g_assert_cmpint(r2->result, ==, SV_JOB_RESULT_SUCCESS);
  g_assert_cmpint(r2->slot_usec, ==, slot);

  /* Reported once each, with the interrupted run's own id. */
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_INTERRUPTED, "SDVISOR_JOB", "retry"), ==, 1);
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_INTERRUPTED, "SDVISOR_JOB", "noretry"), ==, 1);
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_INTERRUPTED, "SDVISOR_JOB_RUN", "earlier"), ==, 2);

  /* Started again: nothing more to report or retry. */
  g_ptr_array_set_size(entries, 0);
  jobs = start_jobs(f);
  spin(500000);
  stop_and_free(jobs);
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_INTERRUPTED, NULL, NULL), ==, 0);
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_STARTED, NULL, NULL), ==, 0);
}

static void
test_corrupt_state(Fixture *f, gconstpointer data)
{
  add_job(f, "tick", "every 1s", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/slots\"");
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autofree char *st = g_build_filename(f->dir, "web", "tick.state", NULL);
  g_assert_true(g_file_set_contents(st, "version=1\napp=web\njob=ti", -1, NULL));

  SvJobs *jobs = start_jobs(f);
  g_assert_true(wait_lines(f, "slots", 1, 3 * SEC));
  spin(300000);
  stop_and_free(jobs);

  /* Reported, set aside, and replaced by a good state at the next run. */
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_STATE_INVALID, "SDVISOR_JOB", "tick"), ==, 1);
  const Entry *e = last_entry(SV_MESSAGE_JOB_STATE_INVALID);
  g_assert_nonnull(strstr(e->message, "tick.state"));
  g_autofree char *aside = g_build_filename(f->dir, "web", "tick.state.corrupt", NULL);
  g_assert_true(g_file_test(aside, G_FILE_TEST_IS_REGULAR));
  g_autoptr(SvJobRecord) r = read_state(f, "tick");
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_SUCCESS);
}

/* The state directory on a size-limited tmpfs that fills up: the job is skipped with one
 * clear error (not one per slot), the state file stays valid, and jobs run again once
 * there is room, which is said too. */
static void
test_full_state_directory(Fixture *f, gconstpointer data)
{
  g_autofree char *mnt = sv_test_mount_small_tmpfs(f->dir);
  if (mnt == NULL)
    return;
  add_job(f, "tick", "every 1s", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/slots\"");
  g_autoptr(GError) error = NULL;
  SvJobs *jobs = sv_jobs_new("web", f->configs, mnt, NULL, &error);
  g_assert_no_error(error);
  sv_jobs_start(jobs);
  g_assert_true(wait_lines(f, "slots", 1, 3 * SEC));
  spin(300000);

  g_autofree char *filler = sv_test_fill_up(mnt);
  g_autofree char *before = read_out(f, "slots");
  spin(2 * SEC + 200000);
  g_autofree char *during = read_out(f, "slots");
  g_assert_cmpstr(during, ==, before); /* nothing ran without its claim */
  /* Two slots went by: one entry, with the skip reason scripts already match. */
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_CANNOT_RUN, "SDVISOR_JOB", "tick"), ==, 1);
  g_assert_cmpuint(
      count_entries(SV_MESSAGE_JOB_CANNOT_RUN, "SDVISOR_JOB_SKIP_REASON", "state-error"), ==, 1);
  const Entry *e = last_entry(SV_MESSAGE_JOB_CANNOT_RUN);
  g_assert_cmpint(e->priority, ==, LOG_ERR);
  g_assert_nonnull(strstr(e->message, "No space left on device"));
  {
    g_autoptr(SvJobStore) store = sv_job_store_open(mnt, "web", FALSE, &error);
    g_autoptr(SvJobRecord) r = sv_job_store_read(store, "tick", &error);
    g_assert_no_error(error);
    g_assert_false(r->running);
  }

  g_unlink(filler);
  g_assert_true(wait_lines(f, "slots", count_lines(during) + 1, 3 * SEC));
  stop_and_free(jobs);
  g_assert_cmpuint(count_entries(SV_MESSAGE_JOB_CANNOT_RUN, "SDVISOR_JOB", "tick"), ==, 1);
  g_assert_nonnull(strstr(last_entry(SV_MESSAGE_JOB_SKIPPED)->message, "can run again"));
  g_assert_cmpint(umount(mnt), ==, 0);
}

/* Setting the clock (to the time it already has: no test should move the host's clock)
 * cancels the timerfd; the jobs are re-planned and keep their slots. */
static void
test_clock_set(Fixture *f, gconstpointer data)
{
  if (geteuid() != 0) {
    g_test_skip("sets the system clock (to the time it has), which needs root");
    return;
  }
  add_job(f, "tick", "every 1s", "echo \"$SDVISOR_JOB_SLOT\" >> \"$OUT/slots\"");
  SvJobs *jobs = jobs_new(f);
  align_to_second(300000);
  sv_jobs_start(jobs);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (clock_settime(CLOCK_REALTIME, &now) < 0) {
    g_autofree char *why = g_strdup_printf("clock_settime: %s", g_strerror(errno));
    stop_and_free(jobs);
    g_test_skip(why);
    return;
  }
  spin(2 * SEC + 500000);
  stop_and_free(jobs);
  gboolean replanned = FALSE;
  for (guint i = 0; i < entries->len; i++)
    replanned |= strstr(((Entry *)entries->pdata[i])->message, "clock was set") != NULL;
  g_assert_true(replanned);
  g_autofree char *text = read_out(f, "slots");
  g_assert_cmpuint(count_lines(text), >=, 2);
  /* Re-planned, not restarted: every slot once, one second apart. */
  g_auto(GStrv) slots = g_strsplit(g_strstrip(text), "\n", -1);
  for (guint i = 1; slots[i] != NULL; i++) {
    g_autoptr(GDateTime) a = g_date_time_new_from_iso8601(slots[i - 1], NULL);
    g_autoptr(GDateTime) b = g_date_time_new_from_iso8601(slots[i], NULL);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_cmpint(g_date_time_difference(b, a), ==, G_USEC_PER_SEC);
  }
}

static void
test_environment_and_directory(Fixture *f, gconstpointer data)
{
  SvJobConfig *c = add_job(f, "env", "every 1s",
                           "{ pwd; echo \"$SDVISOR_JOB_RUN\"; echo \"$EXTRA\"; echo \"$BASE\"; } "
                           "> \"$OUT/env.tmp\"; mv \"$OUT/env.tmp\" \"$OUT/env\"");
  c->working_directory = g_strdup(f->out);
  g_strfreev(c->environment);
  c->environment = g_new0(char *, 3);
  c->environment[0] = g_strdup_printf("OUT=%s", f->out);
  c->environment[1] = g_strdup("EXTRA=from job");
  const char *base[] = {"BASE=from base", "PATH=/usr/bin:/bin", NULL};
  g_autoptr(GError) error = NULL;
  SvJobs *jobs = sv_jobs_new("web", f->configs, f->dir, (char *const *)base, &error);
  sv_jobs_start(jobs);
  g_autofree char *env_path = out_path(f, "env");
  g_assert_true(spin_until(file_exists, env_path, 3 * SEC));
  stop_and_free(jobs);
  g_autofree char *text = read_out(f, "env");
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_assert_cmpstr(lines[0], ==, f->out);
  g_assert_cmpuint(strlen(lines[1]), ==, 32); /* 128-bit run id */
  g_assert_cmpstr(lines[2], ==, "from job");
  g_assert_cmpstr(lines[3], ==, "from base");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autoptr(GError) error = NULL;
  if (!sv_reaper_init(&error))
    g_error("reaper: %s", error->message);
  entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
  sv_log_set_write_func(capture, NULL);

  g_test_add_func("/jobs/randomized-delay", test_randomized_delay);
  ADD("/jobs/next-runs", test_next_runs);
  ADD("/jobs/describe", test_describe);
  ADD("/jobs/run/every-second-two-instances", test_every_second_two_instances);
  ADD("/jobs/run/not-once-per-host", test_not_once_per_host);
  ADD("/jobs/run/timeout-term", test_timeout);
  ADD("/jobs/run/timeout-kill", test_timeout_kill);
  ADD("/jobs/run/exec-failed", test_exec_failed);
  ADD("/jobs/run/environment-and-directory", test_environment_and_directory);
  ADD("/jobs/overlap/skip", test_overlap_skip);
  ADD("/jobs/overlap/queue", test_overlap_queue);
  ADD("/jobs/stop/signals-running-job", test_stop_signals_job);
  ADD("/jobs/stop/kills-at-deadline", test_stop_deadline);
  ADD("/jobs/stop/idle", test_stop_idle);
  ADD("/jobs/stop/retire-lets-runs-finish", test_stop_retire);
  ADD("/jobs/start/persistent-catch-up", test_persistent_catch_up);
  ADD("/jobs/start/more-checks-than-run-at-once", test_many_start_checks);
  ADD("/jobs/start/interrupted-retry", test_interrupted_retry);
  ADD("/jobs/state/corrupt-reported-and-replaced", test_corrupt_state);
  ADD("/jobs/state/full-directory", test_full_state_directory);
  ADD("/jobs/timer/clock-set", test_clock_set);
  return g_test_run();
}

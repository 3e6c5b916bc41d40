/* jobs.c — scheduled jobs: one realtime timerfd, once-per-host claims, runs, stop. */
#include "jobs.h"

#include <errno.h>
#include <gio/gio.h>
#include <malloc.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobstate.h"
#include "jobfailure.h"
#include "log.h"
#include "proctree.h"
#include "message-ids.h"
#include "reaper.h"
#include "schedule.h"
#include "spawn.h"
#include "fleet.h"
#include "store.h"
#include "timespan.h"

/* After SIGTERM at timeout=, how long a job gets before SIGKILL. */
#define SV_JOB_KILL_GRACE_USEC (5 * SV_USEC_PER_SEC)
/* Temporary state files older than this were left by a dead instance. */
#define SV_JOB_STALE_TEMP_USEC (10 * 60 * SV_USEC_PER_SEC)

typedef enum {
  SV_RUN_CLAIMING,  /* a worker thread is taking the lock and writing the claim */
  SV_RUN_RUNNING,   /* the job's process is alive */
  SV_RUN_FINISHING, /* a worker thread is writing the result */
} SvRunPhase;

typedef enum {
  SV_SKIP_RUNNING_ELSEWHERE,
  SV_SKIP_RAN_ELSEWHERE,
  SV_SKIP_ALREADY_DONE,
  SV_SKIP_STILL_RUNNING,
  SV_SKIP_STATE_ERROR,
  SV_SKIP_STORE_UNAVAILABLE,
} SvSkipReason;

static const char *const skip_reason_names[] = {
    "running-elsewhere", "ran-elsewhere", "already-done",
    "still-running",     "state-error",   "store-unavailable",
};

typedef struct SvJob SvJob;

typedef struct {
  SvJob *job;
  SvRunPhase phase;
  gboolean at_start;          /* the start-up check (interrupted runs, catch-up, retry) */
  gint64 catch_up_slot;       /* at_start: persistent catch-up candidate, or -1 */
  gboolean retry_interrupted; /* at_start: copied from the config for the worker thread */
  gboolean read_only_start;   /* at_start, once-per-host=false: read the state, claim nothing */
  gint64 slot;                /* the slot this run is for; -1 until the start check decides */
  char *run_id;
  SvJobRecord *template_record;
  SvJobClaim *claim;        /* once-per-host */
  gboolean host_record_old; /* once-per-host=false start check: the host's last run is older */
  GError *read_error;       /* once-per-host=false start check */

  pid_t pid;
  SvProcTree *tree; /* everything the run started (proctree.h) */
  gint64 started_mono;
  gint64 started_real;
  guint timeout_source;
  guint kill_source;
  gboolean exec_failed;
  gboolean timed_out;
  gboolean stop_signalled;
  SvJobResult result;
  int exit_code;
  gint64 duration_usec;
  GError *write_error;

  /* once-per=fleet (store.h) */
  gboolean fleet;            /* claimed (or being claimed) in the fleet store */
  gint64 fence;              /* GRANTED: the claim's fence; 0 = none */
  GCancellable *cancellable; /* the store's callbacks for this run */
  gint64 lease_from;         /* boottime µs when the last claim/renewal that succeeded was SENT */
  gint64 renew_sent;         /* boottime µs of the renewal in flight, 0 = none */
  guint renew_source;
  guint fence_source; /* the self-fence deadline */
  gboolean fenced;    /* killed by the self-fence: its result is not recorded */
  gboolean recheck;   /* a second look at a slot (fleet_again): skips are not news */
  guint finish_attempts;
  gboolean detached; /* in jobs->finishing: its process ended, the store does not have its
                      * result yet, and the job went on to its next slots */
  gboolean manual;   /* sdvisor run-job: SDVISOR_JOB_MANUAL=1 in its entries and environment */
  char *refused;     /* manual: why it does not run */
  SvJobsRunFunc run_func;
  gpointer run_data;
} SvJobRun;

struct SvJob {
  SvJobs *jobs;
  SvJobConfig *config; /* own deep copy: a reload may free the supervisor's */
  char *name;          /* = config->name */
  SvSchedule *schedule;
  gint64 delay_usec;
  gint64 slot;         /* next planned slot, -1 = none ever */
  SvJobRun *run;       /* this instance's run in progress */
  gint64 queued_slot;  /* overlap=queue (and slots due during the start check), or -1 */
  gint64 waiting_last; /* once-per=fleet: the last slot due while a claim waited for the store
                        * (queued_slot is the first; each one in between waits too), or -1 */
  gboolean start_check_waiting; /* its start check is in jobs->start_waiting */
  gint64 start_catch_up;        /* for that check: the missed slot to catch up, or -1 */
  /* once-per=fleet: a slot to claim again later (an interrupted claim to retry when its
   * lease ends, or overlap=queue behind a run elsewhere), or -1. */
  gint64 fleet_again_slot;
  guint fleet_again_source;
  gboolean fleet_again_queued; /* fleet_again_slot waits behind a run elsewhere (overlap=queue) */
  gint64 failed_since;         /* CLOCK_REALTIME: since when it cannot run; 0 = it can */
  char *failure;               /* why it cannot */
  /* This instance's last finished run, for `sdvisor status`. */
  SvJobResult last_result; /* NONE: none yet */
  int last_exit_code;
  gint64 last_started_usec;
  gint64 last_duration_usec;
  gboolean last_manual;
};

struct SvJobs {
  int ref; /* the object, plus one per worker task in flight */
  char *app;
  GPtrArray *jobs;   /* SvJob* */
  SvJobStore *store; /* NULL when there are no jobs */
  char **base_env;
  char *instance_id;
  char *host;

  int timer_fd;
  guint timer_source;

  gboolean started;
  guint n_start_checks; /* start-up checks (catch-up, interrupted runs) not ended yet */
  GQueue start_waiting; /* SvJob* whose start check has not begun */
  guint start_claiming; /* start checks reading the state files now */
  gboolean stopping;
  gboolean disposed;
  int stop_signal;
  gint64 stop_deadline; /* monotonic */
  guint stop_kill_source;
  SvJobsDoneFunc done;
  gpointer done_data;
  guint done_idle;
  guint n_runs;     /* job->run of every job, and the runs in finishing */
  GQueue finishing; /* SvJobRun*: fleet runs that are over, their results not yet stored */

  SvJobsOutputFunc output_func;
  gpointer output_data;

  SvClaimStore *claim_store; /* once-per=fleet jobs; NULL = none configured or unusable */
  GError *claim_store_error; /* why there is none although fleet jobs are configured */
  char *runtime_dir;         /* where failures are published for `sdvisor jobs`; NULL = nowhere */
  SvJobsFailureFunc failure_func;
  gpointer failure_data;
};

/* ---- small helpers -------------------------------------------------------------------------- */

static char *
random_id(void)
{
  guint8 bytes[16];
  if (getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != (ssize_t)sizeof bytes)
    for (gsize i = 0; i < sizeof bytes; i++)
      bytes[i] = (guint8)g_random_int_range(0, 256);
  char *out = g_malloc(33);
  for (gsize i = 0; i < sizeof bytes; i++)
    g_snprintf(out + 2 * i, 3, "%02x", bytes[i]);
  return out;
}

static gint64
floor_div(gint64 a, gint64 b)
{
  gint64 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

/* The latest slot ≤ X, or -1. Intervals are k·interval since the epoch; anything else is
 * found by widening a window backwards until a slot falls in it, then walking forward,
 * which costs a handful of next() calls whatever the schedule. */
static gint64
prev_slot(const SvSchedule *schedule, gint64 x)
{
  if (sv_schedule_is_interval(schedule)) {
    gint64 iv = sv_schedule_interval_usec(schedule);
    return floor_div(x, iv) * iv;
  }
  for (gint64 w = SV_USEC_PER_SEC; w < SV_USEC_PER_SEC * 86400 * 366 * 500; w *= 2) {
    gint64 t = sv_schedule_next(schedule, x - w);
    if (t >= 0 && t <= x) {
      for (gint64 n; (n = sv_schedule_next(schedule, t)) >= 0 && n <= x;)
        t = n;
      return t;
    }
  }
  return -1;
}

static guint
add_timeout_usec(gint64 usec, GSourceFunc func, gpointer data)
{
  usec = MAX(usec, 0);
  if (usec / 1000 <= G_MAXUINT)
    return g_timeout_add_full(G_PRIORITY_HIGH, (guint)(usec / 1000), func, data, NULL);
  return g_timeout_add_seconds_full(G_PRIORITY_HIGH, (guint)MIN(usec / SV_USEC_PER_SEC, G_MAXUINT),
                                    func, data, NULL);
}

static const char *
machine_id(void)
{
  static char *id;
  if (g_once_init_enter(&id)) {
    char *text = NULL;
    if (!g_file_get_contents("/etc/machine-id", &text, NULL, NULL))
      text = g_strdup("");
    g_strstrip(text);
    g_once_init_leave(&id, text);
  }
  return id;
}

gint64
sv_jobs_randomized_delay(const char *mid, const char *app_name, const char *job_name,
                         gint64 max_usec)
{
  if (max_usec <= 0)
    return 0;
  if (mid == NULL)
    mid = machine_id();
  g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
  /* NUL separators: ("ab", "c") and ("a", "bc") must not hash alike. */
  g_checksum_update(sum, (const guchar *)mid, (gssize)strlen(mid) + 1);
  g_checksum_update(sum, (const guchar *)app_name, (gssize)strlen(app_name) + 1);
  g_checksum_update(sum, (const guchar *)job_name, (gssize)strlen(job_name) + 1);
  guint8 digest[32];
  gsize len = sizeof digest;
  g_checksum_get_digest(sum, digest, &len);
  guint64 v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | digest[i];
  /* Whole milliseconds: finer would only make the times people read longer. */
  if (max_usec < 1000)
    return (gint64)(v % (guint64)max_usec);
  return (gint64)(v % (guint64)(max_usec / 1000)) * 1000;
}

static SvSchedule *
parse_schedule(const SvJobConfig *config, GError **error)
{
  g_autoptr(GTimeZone) tz = NULL;
  if (config->timezone != NULL) {
    tz = g_time_zone_new_identifier(config->timezone);
    if (tz == NULL) {
      g_set_error(error, SV_SCHEDULE_ERROR, SV_SCHEDULE_ERROR_INVALID,
                  _("job %s: '%s' is not a time zone"), config->name, config->timezone);
      return NULL;
    }
  }
  g_autoptr(GError) local = NULL;
  SvSchedule *s = sv_schedule_parse(config->schedule, tz, &local);
  if (s == NULL)
    g_set_error(error, SV_SCHEDULE_ERROR, SV_SCHEDULE_ERROR_INVALID, _("job %s: %s"), config->name,
                local->message);
  return s;
}

/* Journal fields of a job entry; the strings live as long as the array. */
static GPtrArray *
job_fields(SvJob *job, const char *run_id, gint64 slot)
{
  GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(f, g_strconcat("SDVISOR_JOB=", job->name, NULL));
  if (run_id != NULL)
    g_ptr_array_add(f, g_strconcat("SDVISOR_JOB_RUN=", run_id, NULL));
  if (slot >= 0) {
    g_autofree char *t = sv_jobstate_format_time(slot);
    g_ptr_array_add(f, g_strconcat("SDVISOR_JOB_SLOT=", t, NULL));
  }
  return f;
}

static void
run_fleet_fields(SvJobRun *run, GPtrArray *f)
{
  if (run->fence <= 0 || run->job->jobs->claim_store == NULL)
    return;
  g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_FENCE=%" G_GINT64_FORMAT, run->fence));
  g_ptr_array_add(f, g_strconcat("SDVISOR_FLEET_NODE=", run->job->jobs->claim_store->node, NULL));
}

/* A run's fields: with its fence and node when the fleet granted it; a manual run says so
 * in every entry. */
static GPtrArray *
run_fields(SvJobRun *run)
{
  GPtrArray *f = job_fields(run->job, run->run_id, run->slot);
  run_fleet_fields(run, f);
  if (run->manual)
    g_ptr_array_add(f, g_strdup("SDVISOR_JOB_MANUAL=1"));
  return f;
}

static void log_job(int priority, const char *message_id, GPtrArray *fields, const char *format,
                    ...) G_GNUC_PRINTF(4, 5);

static void
log_job(int priority, const char *message_id, GPtrArray *fields, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  g_autofree char *message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_ptr_array_add(fields, NULL);
  sv_log_full(priority, message_id, (const char *const *)fields->pdata, "%s", message);
  g_ptr_array_remove_index(fields, fields->len - 1);
}

/* ---- object lifetime ------------------------------------------------------------------------ */

static void
run_free(SvJobRun *run)
{
  if (run == NULL)
    return;
  if (run->run_func != NULL) {
    /* The one final event an operator's run-job waits for. */
    SvJobsRunFunc func = g_steal_pointer(&run->run_func);
    if (run->phase == SV_RUN_CLAIMING)
      func(SV_JOBS_RUN_REFUSED, run->run_id, 0, SV_JOB_RESULT_NONE, -1,
           run->refused ? run->refused : "sdvisor is stopping", run->run_data);
    else
      func(SV_JOBS_RUN_FINISHED, run->run_id, run->pid, run->result, run->exit_code, NULL,
           run->run_data);
  }
  g_free(run->refused);
  g_clear_handle_id(&run->timeout_source, g_source_remove);
  g_clear_handle_id(&run->kill_source, g_source_remove);
  g_clear_handle_id(&run->renew_source, g_source_remove);
  g_clear_handle_id(&run->fence_source, g_source_remove);
  if (run->cancellable != NULL) {
    g_cancellable_cancel(run->cancellable);
    g_object_unref(run->cancellable);
  }
  g_clear_pointer(&run->tree, sv_proctree_free);
  g_free(run->run_id);
  sv_job_record_free(run->template_record);
  sv_job_claim_free(run->claim);
  g_clear_error(&run->read_error);
  g_clear_error(&run->write_error);
  g_free(run);
}

static SvJobConfig *
job_config_copy(const SvJobConfig *c)
{
  SvJobConfig *copy = g_memdup2(c, sizeof *c);
  copy->name = g_strdup(c->name);
  copy->schedule = g_strdup(c->schedule);
  copy->exec = g_strdupv(c->exec);
  copy->timezone = g_strdup(c->timezone);
  copy->working_directory = g_strdup(c->working_directory);
  copy->environment = g_strdupv(c->environment);
  return copy;
}

static void
job_config_free(SvJobConfig *c)
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
job_free(SvJob *job)
{
  g_clear_handle_id(&job->fleet_again_source, g_source_remove);
  job_config_free(job->config);
  sv_schedule_free(job->schedule);
  g_free(job->failure);
  g_free(job);
}

static SvJobs *
jobs_ref(SvJobs *jobs)
{
  jobs->ref++;
  return jobs;
}

static void
jobs_unref(SvJobs *jobs)
{
  if (--jobs->ref > 0)
    return;
  g_clear_handle_id(&jobs->timer_source, g_source_remove);
  g_clear_handle_id(&jobs->stop_kill_source, g_source_remove);
  g_clear_handle_id(&jobs->done_idle, g_source_remove);
  if (jobs->timer_fd >= 0)
    close(jobs->timer_fd);
  g_queue_clear(&jobs->start_waiting); /* emptied when stopping; the jobs are not its */
  if (jobs->runtime_dir != NULL)       /* this set's failures end with it */
    (void)sv_job_failures_publish(jobs->runtime_dir, jobs->instance_id, jobs->app, NULL, NULL);
  g_free(jobs->runtime_dir);
  g_ptr_array_unref(jobs->jobs);
  sv_job_store_unref(jobs->store);
  sv_claim_store_free(jobs->claim_store);
  g_clear_error(&jobs->claim_store_error);
  g_strfreev(jobs->base_env);
  g_free(jobs->app);
  g_free(jobs->instance_id);
  g_free(jobs->host);
  g_free(jobs);
}

static void check_done(SvJobs *jobs);
static SvJobRun *run_new(SvJob *job, gint64 slot);
static void claim_thread(GTask *task, gpointer source, gpointer task_data,
                         GCancellable *cancellable);
static void on_claimed(GObject *source, GAsyncResult *result, gpointer user_data);
static void job_fire(SvJob *job, gint64 slot);
static void log_skip(SvJob *job, gint64 slot, SvSkipReason reason, const char *detail);
static void run_spawn(SvJobRun *run);
static void run_finish(SvJobRun *run);
static void fleet_claim(SvJobRun *run, gboolean retry);

/* Worker tasks: the thread function gets the run; the callback runs on the main loop. */
static void
run_in_thread(SvJobRun *run, GTaskThreadFunc thread_func, GAsyncReadyCallback callback)
{
  jobs_ref(run->job->jobs);
  GTask *task = g_task_new(NULL, NULL, callback, run);
  g_task_set_task_data(task, run, NULL);
  g_task_run_in_thread(task, thread_func);
  g_object_unref(task);
}

/* Start-up checks reading the state files at once. Each is a run, a worker task and the
 * reads: begun all together, 1,000 jobs took 1.9 MB of heap at the peak, and GLib's
 * slice allocator kept most of it (its magazines, per worker thread) after they ended.
 * A check that goes on to run a catch-up has stopped reading: it does not hold back the
 * other jobs' checks while the catch-up runs. */
#define SV_START_CHECKS_IN_FLIGHT 4

static void
start_check_begin(SvJob *job)
{
  SvJobRun *run = run_new(job, -1);
  run->at_start = TRUE;
  run->catch_up_slot = job->start_catch_up;
  run->retry_interrupted = job->config->retry_interrupted;
  run->read_only_start = !job->config->once_per_host;
  job->jobs->start_claiming++;
  run_in_thread(run, claim_thread, on_claimed);
}

/* Begins waiting start checks while fewer than SV_START_CHECKS_IN_FLIGHT run; once
 * stopping, drops them (nothing starts then, and a catch-up would be killed). */
static void
start_checks_begin(SvJobs *jobs)
{
  while (jobs->start_waiting.length > 0 &&
         (jobs->stopping || jobs->start_claiming < SV_START_CHECKS_IN_FLIGHT)) {
    SvJob *job = g_queue_pop_head(&jobs->start_waiting);
    job->start_check_waiting = FALSE;
    if (jobs->stopping)
      jobs->n_start_checks--;
    else
      start_check_begin(job);
  }
}

/* The job is free again: the slots held while it was busy, in turn. */
static void
job_fire_held(SvJob *job)
{
  SvJobs *jobs = job->jobs;
  while (job->queued_slot >= 0 && !jobs->stopping) {
    gint64 slot = job->queued_slot;
    gint64 last = job->waiting_last;
    job->queued_slot = job->waiting_last = -1;
    if (last > slot) {
      /* Slots that came while a fleet claim waited for the store: each in turn. */
      gint64 next = sv_schedule_next(job->schedule, slot);
      if (next >= 0 && next <= last) {
        job->queued_slot = next;
        job->waiting_last = last;
      }
    }
    gint64 late = g_get_real_time() - (slot + job->delay_usec);
    if (last >= 0 && jobs->claim_store != NULL && late > jobs->claim_store->lease_usec / 2) {
      /* Its claim would come later than a claim may take: the store is away or slow. */
      log_skip(job, slot, SV_SKIP_STORE_UNAVAILABLE,
               "the fleet store kept the claim or the result of an earlier slot waiting past "
               "this slot's time by more than half the lease");
      continue;
    }
    job_fire(job, slot);
    break;
  }
}

/* The run is over (or never started): the job is free for its next slot. */
static void
run_end(SvJobRun *run)
{
  SvJob *job = run->job;
  SvJobs *jobs = job->jobs;
  gboolean detached = run->detached;
  if (detached) {
    g_queue_remove(&jobs->finishing, run);
  } else {
    g_assert(job->run == run);
    job->run = NULL;
  }
  jobs->n_runs--;
  gboolean at_start = run->at_start;
  run_free(run);
  /* With many jobs, the start-up checks leave some of sdvisor's heap free but mapped:
   * give it back once they are all over. */
  if (at_start && --jobs->n_start_checks == 0)
    (void)malloc_trim(0);
  if (!detached) /* a detached run's job went on without it */
    job_fire_held(job);
  check_done(jobs);
}

/* ---- skips and reports ---------------------------------------------------------------------- */

/* "job tick cannot run: …", or "2 jobs cannot run (tick, backup): …" with the first reason;
 * NULL when every job can. For STATUS= and the failure func. */
static char *
failure_summary(SvJobs *jobs)
{
  g_autoptr(GString) names = g_string_new(NULL);
  const char *first = NULL;
  guint n = 0;
  for (guint i = 0; i < jobs->jobs->len; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    if (job->failed_since == 0)
      continue;
    g_string_append_printf(names, "%s%s", n++ > 0 ? ", " : "", job->name);
    first = first ? first : job->failure;
  }
  if (n == 0)
    return NULL;
  if (n == 1)
    return g_strdup_printf("job %s cannot run: %s", names->str, first);
  return g_strdup_printf("%u jobs cannot run (%s): %s", n, names->str, first);
}

static void
publish_failures(SvJobs *jobs)
{
  if (jobs->runtime_dir != NULL) {
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)sv_job_failure_free);
    for (guint i = 0; i < jobs->jobs->len; i++) {
      SvJob *job = jobs->jobs->pdata[i];
      if (job->failed_since != 0)
        g_ptr_array_add(list, sv_job_failure_new(job->name, job->failed_since, job->failure));
    }
    g_autoptr(GError) error = NULL;
    if (!sv_job_failures_publish(jobs->runtime_dir, jobs->instance_id, jobs->app, list, &error))
      sv_log(LOG_WARNING, "jobs: cannot tell `sdvisor jobs` which jobs cannot run: %s",
             error->message);
  }
  if (jobs->failure_func != NULL) {
    g_autofree char *summary = failure_summary(jobs);
    jobs->failure_func(summary, jobs->failure_data);
  }
}

/* The job's lock or state cannot be used: one error entry when that starts (not one per
 * slot: a broken state directory would fill the journal and say nothing new), a visible
 * state (STATUS=, `sdvisor jobs`), and quiet skips until it can run again. */
static void
job_cannot_run(SvJob *job, gint64 slot, const char *reason)
{
  g_autoptr(GPtrArray) f = job_fields(job, NULL, slot);
  g_ptr_array_add(
      f, g_strconcat("SDVISOR_JOB_SKIP_REASON=", skip_reason_names[SV_SKIP_STATE_ERROR], NULL));
  g_autofree char *t = slot >= 0 ? sv_jobstate_format_time(slot) : g_strdup("at start");
  if (job->failed_since != 0) {
    log_job(LOG_DEBUG, SV_MESSAGE_JOB_SKIPPED, f, "job %s: slot %s skipped: %s", job->name, t,
            reason);
    return;
  }
  job->failed_since = g_get_real_time();
  job->failure = g_strdup(reason);
  g_ptr_array_add(f, g_strconcat("SDVISOR_APP=", job->jobs->app, NULL));
  log_job(LOG_ERR, SV_MESSAGE_JOB_CANNOT_RUN, f,
          "job %s cannot run (slot %s): %s; its slots are skipped until its state can be used "
          "again",
          job->name, t, reason);
  publish_failures(job->jobs);
}

static void
job_can_run(SvJob *job)
{
  if (job->failed_since == 0)
    return;
  g_autofree char *since = sv_jobstate_format_time(job->failed_since);
  g_autoptr(GPtrArray) f = job_fields(job, NULL, -1);
  log_job(LOG_NOTICE, SV_MESSAGE_JOB_SKIPPED, f, "job %s can run again (it could not since %s)",
          job->name, since);
  job->failed_since = 0;
  g_clear_pointer(&job->failure, g_free);
  publish_failures(job->jobs);
}

static void
log_skip(SvJob *job, gint64 slot, SvSkipReason reason, const char *detail)
{
  g_autoptr(GPtrArray) f = job_fields(job, NULL, slot);
  g_ptr_array_add(f, g_strconcat("SDVISOR_JOB_SKIP_REASON=", skip_reason_names[reason], NULL));
  g_autofree char *t = sv_jobstate_format_time(slot);
  int priority =
      reason == SV_SKIP_STATE_ERROR || reason == SV_SKIP_STORE_UNAVAILABLE ? LOG_ERR : LOG_INFO;
  log_job(priority, SV_MESSAGE_JOB_SKIPPED, f, "job %s: slot %s skipped: %s", job->name, t, detail);
}

static gboolean
record_is_ours(SvJobs *jobs, const SvJobRecord *r)
{
  return r->instance_id != NULL && g_str_equal(r->instance_id, jobs->instance_id);
}

static void
report_corrupt(SvJob *job, const GError *corrupt)
{
  g_autoptr(GPtrArray) f = job_fields(job, NULL, -1);
  log_job(LOG_WARNING, SV_MESSAGE_JOB_STATE_INVALID, f,
          "job %s: invalid state file: %s; moved aside (to .corrupt) and continuing without it",
          job->name, corrupt->message);
}

static void
report_interrupted(SvJob *job, const SvJobRecord *prev, gboolean retrying)
{
  g_autoptr(GPtrArray) f = job_fields(job, prev->run_id, prev->slot_usec);
  g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_INSTANCE_PID=%d", (int)prev->pid));
  g_ptr_array_add(f, g_strdup("SDVISOR_JOB_RESULT=interrupted"));
  g_autofree char *slot = sv_jobstate_format_time(prev->slot_usec);
  g_autofree char *started = sv_jobstate_format_time(prev->started_usec);
  gboolean rebooted = prev->boot_id != NULL && *prev->boot_id != '\0' &&
                      !g_str_equal(prev->boot_id, sv_jobstate_boot_id());
  log_job(LOG_WARNING, SV_MESSAGE_JOB_INTERRUPTED, f,
          "job %s: the run for slot %s (started %s by sdvisor pid %d on %s) was interrupted: %s; "
          "%s",
          job->name, slot, started, (int)prev->pid, prev->host ? prev->host : "?",
          rebooted ? "the host rebooted while it ran" : "its sdvisor died while it ran",
          retrying ? "running it again (retry-interrupted=true)"
                   : "not running it again (retry-interrupted=false)");
}

/* ---- claiming ------------------------------------------------------------------------------- */

static void
claim_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SvJobRun *run = task_data;
  SvJob *job = run->job;
  SvJobStore *store = job->jobs->store;
  if (run->at_start && run->read_only_start) {
    /* once-per-host=false: only the host's last run decides a persistent catch-up. */
    g_autoptr(SvJobRecord) r = sv_job_store_read(store, job->name, &run->read_error);
    if (run->read_error != NULL &&
        g_error_matches(run->read_error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT))
      (void)sv_job_store_quarantine(store, job->name, NULL);
    run->host_record_old = r != NULL && r->slot_usec < run->catch_up_slot;
  } else if (run->at_start) {
    run->claim = sv_job_store_claim_at_start(store, job->name, run->catch_up_slot,
                                             run->retry_interrupted, run->template_record);
  } else if (run->manual) {
    run->claim = sv_job_store_claim_manual(store, job->name, run->slot, run->template_record);
  } else {
    run->claim = sv_job_store_claim(store, job->name, run->slot, run->template_record);
  }
  g_task_return_boolean(task, TRUE);
}

static void
abandon_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SvJobRun *run = task_data;
  (void)sv_job_claim_abandon(run->claim, &run->write_error);
  g_task_return_boolean(task, TRUE);
}

static void
on_abandoned(GObject *source, GAsyncResult *result, gpointer user_data)
{
  SvJobRun *run = user_data;
  SvJobs *jobs = run->job->jobs;
  (void)g_task_propagate_boolean(G_TASK(result), NULL);
  if (run->write_error != NULL && !jobs->disposed)
    sv_log(LOG_WARNING, "job %s: cannot take back the claim for a run not started: %s",
           run->job->name, run->write_error->message);
  if (jobs->disposed)
    run_free(run);
  else
    run_end(run);
  jobs_unref(jobs);
}

static void
on_claimed(GObject *source, GAsyncResult *result, gpointer user_data)
{
  SvJobRun *run = user_data;
  SvJob *job = run->job;
  SvJobs *jobs = job->jobs;
  (void)g_task_propagate_boolean(G_TASK(result), NULL);
  if (run->at_start) {
    jobs->start_claiming--;
    start_checks_begin(jobs);
  }

  SvJobClaim *c = run->claim;
  if (jobs->disposed || jobs->stopping) {
    /* Claimed while stopping: give the slot back rather than start what we would kill. */
    if (c != NULL && c->status == SV_JOB_CLAIM_OK) {
      if (jobs->disposed) {
        (void)sv_job_claim_abandon(c, NULL);
      } else {
        run_in_thread(run, abandon_thread, on_abandoned);
        jobs_unref(jobs);
        return;
      }
    }
    if (jobs->disposed)
      run_free(run);
    else
      run_end(run);
    jobs_unref(jobs);
    return;
  }

  if (c == NULL) {
    /* once-per-host=false start check */
    if (run->read_error != NULL) {
      if (g_error_matches(run->read_error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT))
        report_corrupt(job, run->read_error);
      else
        sv_log(LOG_WARNING, "job %s: cannot read its state: %s", job->name,
               run->read_error->message);
    }
    if (run->host_record_old) {
      run->slot = run->catch_up_slot;
      run_spawn(run);
    } else {
      run_end(run);
    }
    jobs_unref(jobs);
    return;
  }

  if (c->corrupt != NULL)
    report_corrupt(job, c->corrupt);
  if (c->interrupted && c->previous != NULL)
    report_interrupted(job, c->previous,
                       run->at_start && c->status == SV_JOB_CLAIM_OK &&
                           c->record->slot_usec == c->previous->slot_usec);

  if (c->status != SV_JOB_CLAIM_ERROR)
    job_can_run(job);
  switch (c->status) {
  case SV_JOB_CLAIM_OK:
    run->slot = c->record->slot_usec;
    run_spawn(run);
    jobs_unref(jobs);
    return;
  case SV_JOB_CLAIM_BUSY:
    if (run->manual) {
      run->refused = g_strdup_printf("job %s is running in another instance on this host "
                                     "(its lock is held)",
                                     job->name);
      sv_log(LOG_NOTICE, "job %s: manual run refused: %s", job->name, run->refused);
    } else if (!run->at_start)
      log_skip(job, run->slot, SV_SKIP_RUNNING_ELSEWHERE, "another instance is running this job");
    break;
  case SV_JOB_CLAIM_DONE: {
    const SvJobRecord *p = c->previous;
    g_autofree char *done_slot = sv_jobstate_format_time(p->slot_usec);
    g_autofree char *detail = NULL;
    if (record_is_ours(jobs, p)) {
      detail = g_strdup_printf("this instance already ran slot %s", done_slot);
      log_skip(job, run->slot, SV_SKIP_ALREADY_DONE, detail);
    } else {
      detail = g_strdup_printf("sdvisor pid %d on %s already ran slot %s", (int)p->pid,
                               p->host ? p->host : "?", done_slot);
      log_skip(job, run->slot, SV_SKIP_RAN_ELSEWHERE, detail);
    }
    break;
  }
  case SV_JOB_CLAIM_NOTHING:
    if (c->error != NULL)
      sv_log(LOG_WARNING, "job %s: %s", job->name, c->error->message);
    break;
  case SV_JOB_CLAIM_ERROR:
    if (run->manual) {
      run->refused =
          g_strdup_printf("cannot claim job %s: %s", job->name, c->error ? c->error->message : "?");
      sv_log(LOG_WARNING, "job %s: manual run refused: %s", job->name, run->refused);
    } else {
      job_cannot_run(job, run->at_start ? -1 : run->slot, c->error ? c->error->message : "?");
    }
    break;
  }
  run_end(run);
  jobs_unref(jobs);
}

/* A start-up run of the very slot an interrupted run had (retry-interrupted=true). */
static gboolean
run_is_retry(const SvJobRun *run)
{
  const SvJobClaim *c = run->claim;
  return run->at_start && c != NULL && c->interrupted && c->previous != NULL &&
         c->previous->slot_usec == run->slot;
}

static SvJobRun *
run_new(SvJob *job, gint64 slot)
{
  SvJobs *jobs = job->jobs;
  SvJobRun *run = g_new0(SvJobRun, 1);
  run->job = job;
  run->slot = slot;
  run->catch_up_slot = -1;
  run->phase = SV_RUN_CLAIMING;
  run->run_id = random_id();
  run->exit_code = -1;
  run->duration_usec = -1;

  SvJobRecord *t = sv_job_record_new();
  t->app = g_strdup(jobs->app);
  t->job = g_strdup(job->name);
  t->run_id = g_strdup(run->run_id);
  t->pid = getpid();
  t->instance_id = g_strdup(jobs->instance_id);
  t->host = g_strdup(jobs->host);
  t->boot_id = g_strdup(sv_jobstate_boot_id());
  t->started_usec = g_get_real_time();
  run->template_record = t;

  job->run = run;
  jobs->n_runs++;
  return run;
}

/* A slot is due: the overlap policy, then the claim (or, without once-per-host, the run). */
static void
job_fire(SvJob *job, gint64 slot)
{
  SvJobs *jobs = job->jobs;
  if (jobs->stopping)
    return;

  if (job->start_check_waiting) {
    job->queued_slot = MAX(job->queued_slot, slot);
    return;
  }
  if (job->run != NULL) {
    SvJobRun *cur = job->run;
    if (cur->at_start && cur->phase == SV_RUN_CLAIMING) {
      /* The start check decides whether anything runs; hold the slot until it has. */
      job->queued_slot = MAX(job->queued_slot, slot);
      return;
    }
    g_autofree char *cur_slot = sv_jobstate_format_time(cur->slot);
    g_autofree char *detail = NULL;
    if (cur->fleet && cur->phase != SV_RUN_RUNNING) {
      /* Its claim still waits for the store (a leader election, a member that went away):
       * nothing runs here yet, so the slot is claimed once the answer came (run_end()),
       * not skipped here, as every node waiting alike would lose it fleet-wide.
       * run_spawn() skips it (overlap=skip) should the earlier slot turn out to be ours
       * and start. Or its process is over and its result waits for the store: nothing
       * runs either, and the slot goes on once the store took the result or did not
       * answer (on_fleet_finished()). */
      if (job->queued_slot < 0)
        job->queued_slot = slot;
      job->waiting_last = MAX(job->waiting_last, slot);
      g_autofree char *t = sv_jobstate_format_time(slot);
      sv_log(LOG_DEBUG, "job %s: slot %s waits for the store's answer on slot %s", job->name, t,
             cur_slot);
      return;
    }
    if (job->config->overlap == SV_OVERLAP_QUEUE && job->queued_slot < 0) {
      job->queued_slot = slot;
      g_autofree char *t = sv_jobstate_format_time(slot);
      sv_log(LOG_DEBUG, "job %s: slot %s queued behind the run for slot %s", job->name, t,
             cur_slot);
      return;
    } else if (job->config->overlap == SV_OVERLAP_QUEUE)
      detail = g_strdup_printf("the run for slot %s still runs and one more is already queued",
                               cur_slot);
    else if (cur->pid > 0)
      detail = g_strdup_printf("the run for slot %s (pid %d) still runs (overlap=skip)", cur_slot,
                               (int)cur->pid);
    else
      detail = g_strdup_printf("the run for slot %s still runs (overlap=skip)", cur_slot);
    log_skip(job, slot, SV_SKIP_STILL_RUNNING, detail);
    return;
  }

  SvJobRun *run = run_new(job, slot);
  if (job->config->once_per == SV_ONCE_PER_FLEET)
    fleet_claim(run, job->config->retry_interrupted);
  else if (job->config->once_per_host)
    run_in_thread(run, claim_thread, on_claimed);
  else
    run_spawn(run);
}

/* ---- once per fleet ------------------------------------------------------------------------- */

/* The lease is counted on CLOCK_BOOTTIME: it goes on through a suspend, as the store's
 * clock does, where CLOCK_MONOTONIC would stop and let a suspended node think it still
 * holds a claim that has long expired. */
static gint64
boottime_usec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (gint64)ts.tv_sec * SV_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* The stop signal goes at five sixths of the lease after the last renewal that succeeded
 * was sent, SIGKILL at the lease's end: the database's lease_until is at least that late
 * (it is the server's now() + lease when the statement ran, after it was sent), so the
 * job is gone before any other node can take the slot over. */
#define FENCE_AT(run, lease) ((run)->lease_from + (lease)*5 / 6)

static void fleet_renew(SvJobRun *run);

static gboolean
on_fence_kill(gpointer user_data)
{
  SvJobRun *run = user_data;
  run->kill_source = 0;
  if (run->pid > 0 && run->phase == SV_RUN_RUNNING) {
    sv_log(LOG_ERR, "job %s (pid %d): its lease ends now: SIGKILL to its process group",
           run->job->name, (int)run->pid);
    (void)sv_kill_group(run->pid, SIGKILL);
  }
  return G_SOURCE_REMOVE;
}

/* Self-fencing: this node can no longer show that it holds the slot, so the job must end
 * before the lease does and another node may take over. */
static void
fleet_self_fence(SvJobRun *run, const char *why)
{
  if (run->fenced || run->phase != SV_RUN_RUNNING)
    return;
  run->fenced = TRUE;
  g_clear_handle_id(&run->renew_source, g_source_remove);
  g_clear_handle_id(&run->fence_source, g_source_remove);
  SvJob *job = run->job;
  gint64 lease = job->jobs->claim_store->lease_usec;
  g_autoptr(GPtrArray) f = run_fields(run);
  g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_PID=%d", (int)run->pid));
  g_autofree char *slot = sv_jobstate_format_time(run->slot);
  log_job(LOG_ERR, SV_MESSAGE_JOB_FENCED, f,
          "job %s (pid %d, slot %s, fence %" G_GINT64_FORMAT "): %s; stopping it before its lease "
          "ends (self-fence): SIGTERM now, SIGKILL at the lease's end",
          job->name, (int)run->pid, slot, run->fence, why);
  (void)sv_kill_group(run->pid, SIGTERM);
  g_clear_handle_id(&run->kill_source, g_source_remove);
  gint64 left = run->lease_from + lease - boottime_usec();
  run->kill_source = add_timeout_usec(MAX(left, 0), on_fence_kill, run);
}

static gboolean
on_fence_deadline(gpointer user_data)
{
  SvJobRun *run = user_data;
  run->fence_source = 0;
  gint64 lease = run->job->jobs->claim_store->lease_usec;
  gint64 now = boottime_usec();
  if (now >= FENCE_AT(run, lease))
    fleet_self_fence(run, "its lease could not be renewed in time");
  else
    run->fence_source = add_timeout_usec(FENCE_AT(run, lease) - now, on_fence_deadline, run);
  return G_SOURCE_REMOVE;
}

static void
fleet_arm_fence(SvJobRun *run)
{
  gint64 lease = run->job->jobs->claim_store->lease_usec;
  g_clear_handle_id(&run->fence_source, g_source_remove);
  run->fence_source =
      add_timeout_usec(FENCE_AT(run, lease) - boottime_usec(), on_fence_deadline, run);
}

static gboolean
on_renew_due(gpointer user_data)
{
  SvJobRun *run = user_data;
  run->renew_source = 0;
  fleet_renew(run);
  return G_SOURCE_REMOVE;
}

static void
on_renewed(gboolean ok, const GError *error, gpointer user_data)
{
  SvJobRun *run = user_data;
  gint64 lease = run->job->jobs->claim_store->lease_usec;
  gint64 sent = run->renew_sent;
  run->renew_sent = 0;
  if (run->phase != SV_RUN_RUNNING || run->fenced)
    return;
  if (ok) {
    run->lease_from = MAX(run->lease_from, sent);
    fleet_arm_fence(run);
    run->renew_source = add_timeout_usec(sent + lease / 3 - boottime_usec(), on_renew_due, run);
    return;
  }
  if (error == NULL) {
    fleet_self_fence(run, "the store no longer holds its claim (its lease ended or the slot was "
                          "taken over)");
    return;
  }
  /* Not answered: try again soon, while the lease lasts (the fence deadline decides). */
  sv_log(LOG_WARNING, "job %s: cannot renew its lease: %s", run->job->name, error->message);
  run->renew_source = add_timeout_usec(MIN(lease / 10, SV_USEC_PER_SEC), on_renew_due, run);
}

static void
fleet_renew(SvJobRun *run)
{
  if (run->phase != SV_RUN_RUNNING || run->fenced || run->renew_sent != 0)
    return;
  SvClaimStore *store = run->job->jobs->claim_store;
  gint64 now = boottime_usec();
  if (now >= FENCE_AT(run, store->lease_usec)) {
    /* Late (sdvisor was stopped or starved): whatever the store says now, the lease may
     * already have ended. */
    fleet_self_fence(run, "its lease could not be renewed in time");
    return;
  }
  run->renew_sent = now;
  sv_claim_store_renew(store, run->job->name, run->slot, run->fence, run->cancellable, on_renewed,
                       run);
}

static gboolean
on_fleet_again(gpointer user_data)
{
  SvJob *job = user_data;
  job->fleet_again_source = 0;
  gint64 slot = job->fleet_again_slot;
  if (slot < 0 || job->jobs->stopping)
    return G_SOURCE_REMOVE;
  if (job->run != NULL) {
    /* Our own run of a later slot goes on: after it. */
    job->fleet_again_source = add_timeout_usec(SV_USEC_PER_SEC, on_fleet_again, job);
    return G_SOURCE_REMOVE;
  }
  job->fleet_again_slot = -1;
  job->fleet_again_queued = FALSE;
  SvJobRun *run = run_new(job, slot);
  run->recheck = TRUE;
  fleet_claim(run, job->config->retry_interrupted);
  return G_SOURCE_REMOVE;
}

static void
fleet_again(SvJob *job, gint64 slot, gint64 delay_usec)
{
  if (job->fleet_again_slot > slot)
    return; /* a later slot is already waiting */
  job->fleet_again_slot = slot;
  job->fleet_again_queued = FALSE;
  g_clear_handle_id(&job->fleet_again_source, g_source_remove);
  job->fleet_again_source = add_timeout_usec(delay_usec, on_fleet_again, job);
}

static void
on_fleet_claimed(const SvClaimReply *reply, gpointer user_data)
{
  SvJobRun *run = user_data;
  SvJob *job = run->job;
  SvJobs *jobs = job->jobs;
  gint64 lease = jobs->claim_store ? jobs->claim_store->lease_usec : 0;
  g_autofree char *slot = sv_jobstate_format_time(run->slot);

  if (jobs->stopping) {
    if (reply->outcome == SV_CLAIM_GRANTED) {
      /* Claimed while stopping: not started, so nothing ran; said so in the store. */
      run->fence = reply->fence;
      run->result = SV_JOB_RESULT_STOPPED;
      run->duration_usec = 0;
      run_finish(run);
      return;
    }
    run_end(run);
    return;
  }

  switch (reply->outcome) {
  case SV_CLAIM_GRANTED:
    run->fence = reply->fence;
    run_spawn(run);
    if (run->phase == SV_RUN_RUNNING && run->pid > 0) {
      fleet_arm_fence(run);
      run->renew_source =
          add_timeout_usec(run->lease_from + lease / 3 - boottime_usec(), on_renew_due, run);
    }
    return;

  case SV_CLAIM_TAKEN: {
    g_autofree char *detail = NULL;
    if (reply->node == NULL)
      detail = g_strdup("another node claimed it at the same moment");
    else if (reply->result != NULL)
      detail = g_strdup_printf("node %s ran it (fence %" G_GINT64_FORMAT ", result %s)",
                               reply->node, reply->fence, reply->result);
    else if (reply->lease_left_usec >= 0)
      detail = g_strdup_printf("node %s runs it (fence %" G_GINT64_FORMAT ")", reply->node,
                               reply->fence);
    else
      detail = g_strdup_printf(
          "node %s claimed it (fence %" G_GINT64_FORMAT ") and was interrupted%s", reply->node,
          reply->fence,
          job->config->retry_interrupted ? (reply->retried ? "; it was retried once already" : "")
                                         : "; not run again (retry-interrupted=false)");
    if (!run->at_start && !run->recheck)
      log_skip(job, run->slot, SV_SKIP_RAN_ELSEWHERE, detail);
    else
      sv_log(LOG_DEBUG, "job %s: slot %s: %s", job->name, slot, detail);
    /* retry-interrupted=true: watch an unfinished claim, and take it over once its lease
     * has ended without a renewal (the claim statement decides, by the store's clock). */
    if (job->config->retry_interrupted && reply->node == NULL)
      /* Claimed by a statement that committed while ours waited: look again once its
       * lease could have ended. */
      fleet_again(job, run->slot, lease + MIN(lease / 10, SV_USEC_PER_SEC / 2));
    else if (job->config->retry_interrupted && reply->result == NULL && !reply->retried)
      fleet_again(job, run->slot,
                  MAX(reply->lease_left_usec, 0) + MIN(lease / 10, SV_USEC_PER_SEC / 2));
    break;
  }

  case SV_CLAIM_BUSY: {
    g_autofree char *busy = sv_jobstate_format_time(reply->busy_slot);
    if (job->config->overlap == SV_OVERLAP_QUEUE && job->fleet_again_queued &&
        job->fleet_again_slot >= 0 && job->fleet_again_slot < run->slot) {
      /* One slot waits already. Keep the first, as the node that runs the job does
       * (job_fire): every node then claims the same slot when the run ends, and its
       * unique key lets one of them have it. Keeping the latest instead, nodes would
       * claim different slots at once, which nothing serialises. */
      g_autofree char *waiting = sv_jobstate_format_time(job->fleet_again_slot);
      g_autofree char *detail =
          g_strdup_printf("the run for slot %s still runs on node %s (fence %" G_GINT64_FORMAT
                          ") and slot %s is already queued (overlap=queue)",
                          busy, reply->node, reply->fence, waiting);
      log_skip(job, run->slot, SV_SKIP_STILL_RUNNING, detail);
    } else if (job->config->overlap == SV_OVERLAP_QUEUE) {
      sv_log(LOG_DEBUG, "job %s: slot %s queued behind slot %s on node %s", job->name, slot, busy,
             reply->node);
      fleet_again(job, run->slot, MIN(lease / 3, SV_USEC_PER_SEC));
      job->fleet_again_queued = TRUE;
    } else if (reply->busy_since_usec > run->slot) {
      /* That run was claimed only after this slot was due (the store kept the claims
       * waiting, in a leader election say): it did not overlap this slot's time, so this
       * slot is not skipped but claimed again as soon as that run is over. */
      sv_log(LOG_DEBUG, "job %s: slot %s waits for the late run of slot %s on node %s", job->name,
             slot, busy, reply->node);
      fleet_again(job, run->slot, MIN(lease / 10, SV_USEC_PER_SEC / 5));
    } else {
      g_autofree char *detail = g_strdup_printf(
          "the run for slot %s still runs on node %s (fence %" G_GINT64_FORMAT ", overlap=skip)",
          busy, reply->node, reply->fence);
      log_skip(job, run->slot, SV_SKIP_STILL_RUNNING, detail);
    }
    break;
  }

  case SV_CLAIM_UNAVAILABLE: {
    const char *why = reply->error ? reply->error->message : "?";
    if (job->config->on_store_unavailable == SV_STORE_UNAVAILABLE_LOCAL) {
      g_autoptr(GPtrArray) f = job_fields(job, NULL, run->slot);
      log_job(LOG_WARNING, SV_MESSAGE_JOB_SKIPPED, f,
              "job %s: slot %s: the fleet store cannot be used (%s); running it once per host "
              "instead (on-store-unavailable=local)",
              job->name, slot, why);
      run->fleet = FALSE;
      run_in_thread(run, claim_thread, on_claimed);
      return;
    }
    g_autofree char *detail =
        g_strdup_printf("the fleet store cannot be used (%s; on-store-unavailable=skip)", why);
    log_skip(job, run->slot, SV_SKIP_STORE_UNAVAILABLE, detail);
    break;
  }
  }
  run_end(run);
}

/* Claims RUN's slot in the fleet store (RETRY: over an interrupted claim whose lease ended). */
static void
fleet_claim(SvJobRun *run, gboolean retry)
{
  SvJobs *jobs = run->job->jobs;
  run->fleet = TRUE;
  if (run->cancellable == NULL)
    run->cancellable = g_cancellable_new();
  if (jobs->claim_store == NULL) {
    SvClaimReply reply = {.outcome = SV_CLAIM_UNAVAILABLE, .error = jobs->claim_store_error};
    if (run->job->config->on_store_unavailable == SV_STORE_UNAVAILABLE_LOCAL) {
      on_fleet_claimed(&reply, run);
    } else {
      g_autofree char *detail =
          g_strdup_printf("no fleet store (%s)", reply.error ? reply.error->message : "?");
      log_skip(run->job, run->slot, SV_SKIP_STORE_UNAVAILABLE, detail);
      run_end(run);
    }
    return;
  }
  SvClaimRequest request = {
      .job = run->job->name,
      .slot = run->slot,
      .retry = retry,
      .skip_if_running = TRUE,
  };
  run->lease_from = boottime_usec();
  sv_claim_store_claim(jobs->claim_store, &request, run->cancellable, on_fleet_claimed, run);
}

static void fleet_finish(SvJobRun *run);

static gboolean
on_finish_again(gpointer user_data)
{
  SvJobRun *run = user_data;
  run->renew_source = 0;
  fleet_finish(run);
  return G_SOURCE_REMOVE;
}

static void
on_fleet_finished(gboolean ok, const GError *error, gpointer user_data)
{
  SvJobRun *run = user_data;
  SvJob *job = run->job;
  if (!ok && error != NULL && ++run->finish_attempts < 5) {
    /* Keep trying for a few seconds: a finish that never lands leaves the slot
     * "interrupted", and with retry-interrupted=true another node would run it again. */
    sv_log(LOG_WARNING, "job %s: cannot record its result yet: %s", job->name, error->message);
    g_clear_handle_id(&run->renew_source, g_source_remove);
    run->renew_source = add_timeout_usec(SV_USEC_PER_SEC, on_finish_again, run);
    if (!run->detached) {
      /* Meanwhile the job's next slots go on as due: its process is over, and they would
       * otherwise be skipped as overlapping a run that no longer runs (with
       * on-store-unavailable=local, the very slots that are to run once per host). */
      run->detached = TRUE;
      job->run = NULL;
      g_queue_push_tail(&job->jobs->finishing, run);
      job_fire_held(job);
    }
    return;
  }
  if (!ok) {
    g_autoptr(GPtrArray) f = run_fields(run);
    g_autofree char *slot = sv_jobstate_format_time(run->slot);
    if (error != NULL)
      log_job(LOG_ERR, SV_MESSAGE_JOB_STATE_INVALID, f,
              "job %s: cannot record the result of slot %s in the fleet store: %s", job->name, slot,
              error->message);
    else
      log_job(LOG_ERR, SV_MESSAGE_JOB_FENCED, f,
              "job %s: the result of slot %s (fence %" G_GINT64_FORMAT
              ") is not recorded: this node no longer holds the claim",
              job->name, slot, run->fence);
  }
  run_end(run);
}

static void
fleet_finish(SvJobRun *run)
{
  SvJobs *jobs = run->job->jobs;
  if (run->fenced) {
    g_autoptr(GPtrArray) f = run_fields(run);
    g_autofree char *slot = sv_jobstate_format_time(run->slot);
    log_job(LOG_WARNING, SV_MESSAGE_JOB_FENCED, f,
            "job %s: the run for slot %s ended after its self-fence; its result is not recorded",
            run->job->name, slot);
    run_end(run);
    return;
  }
  sv_claim_store_finish(jobs->claim_store, run->job->name, run->slot, run->fence,
                        sv_job_result_name(run->result), run->exit_code, run->cancellable,
                        on_fleet_finished, run);
}

static void
on_interrupted_found(gint64 slot, gpointer user_data)
{
  SvJobRun *run = user_data;
  if (slot < 0 || run->job->jobs->stopping) {
    run_end(run);
    return;
  }
  run->slot = slot;
  fleet_claim(run, TRUE);
}

/* At start: a missed slot (persistent=true) is claimed like any slot, so it is caught up
 * once across the fleet; with retry-interrupted=true, the job's latest interrupted claim
 * is taken over once. */
static void
fleet_start(SvJob *job, gint64 catch_up)
{
  SvJobs *jobs = job->jobs;
  SvJobRun *run = run_new(job, catch_up);
  run->at_start = TRUE;
  jobs->n_start_checks++;
  if (catch_up >= 0 || jobs->claim_store == NULL) {
    if (catch_up < 0) {
      run_end(run);
      return;
    }
    fleet_claim(run, job->config->retry_interrupted);
    return;
  }
  run->fleet = TRUE;
  run->cancellable = g_cancellable_new();
  jobs->claim_store->klass->find_interrupted(jobs->claim_store, job->name, run->cancellable,
                                             on_interrupted_found, run);
}

/* ---- running -------------------------------------------------------------------------------- */

static char **
job_environment(SvJobRun *run)
{
  SvJob *job = run->job;
  SvJobs *jobs = job->jobs;
  char **env = jobs->base_env ? g_strdupv(jobs->base_env) : sv_spawn_base_environ();
  for (char **e = job->config->environment; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL)
      continue;
    g_autofree char *name = g_strndup(*e, (gsize)(eq - *e));
    env = g_environ_setenv(env, name, eq + 1, TRUE);
  }
  g_autofree char *slot = sv_jobstate_format_time(run->slot);
  env = g_environ_setenv(env, "SDVISOR_JOB", job->name, TRUE);
  env = g_environ_setenv(env, "SDVISOR_JOB_RUN", run->run_id, TRUE);
  env = g_environ_setenv(env, "SDVISOR_JOB_SLOT", slot, TRUE);
  env = g_environ_setenv(env, "SDVISOR_APP_NAME", jobs->app, TRUE);
  if (run->fence > 0 && jobs->claim_store != NULL) {
    g_autofree char *fence = g_strdup_printf("%" G_GINT64_FORMAT, run->fence);
    env = g_environ_setenv(env, "SDVISOR_JOB_FENCE", fence, TRUE);
    env = g_environ_setenv(env, "SDVISOR_FLEET_NODE", jobs->claim_store->node, TRUE);
  }
  if (run->manual)
    env = g_environ_setenv(env, "SDVISOR_JOB_MANUAL", "1", TRUE);
  else
    env = g_environ_unsetenv(env, "SDVISOR_JOB_MANUAL");
  return env;
}

static gboolean
on_run_kill(gpointer user_data)
{
  SvJobRun *run = user_data;
  run->kill_source = 0;
  if (run->pid > 0) {
    sv_log(LOG_WARNING, "job %s (pid %d) still running: killing its process tree", run->job->name,
           (int)run->pid);
    (void)sv_proctree_signal(run->tree, SIGKILL);
  }
  return G_SOURCE_REMOVE;
}

static gboolean
on_run_timeout(gpointer user_data)
{
  SvJobRun *run = user_data;
  run->timeout_source = 0;
  run->timed_out = TRUE;
  g_autofree char *span = sv_timespan_format(run->job->config->timeout_usec);
  sv_log(LOG_NOTICE,
         "job %s (pid %d) ran longer than its timeout of %s: sending SIGTERM to its "
         "process tree",
         run->job->name, (int)run->pid, span);
  (void)sv_proctree_signal(run->tree, SIGTERM);
  if (run->kill_source == 0)
    run->kill_source = add_timeout_usec(SV_JOB_KILL_GRACE_USEC, on_run_kill, run);
  return G_SOURCE_REMOVE;
}

static void
on_run_exit(pid_t pid, int status, gpointer user_data)
{
  SvJobRun *run = user_data;
  SvJob *job = run->job;
  g_clear_handle_id(&run->timeout_source, g_source_remove);
  g_clear_handle_id(&run->kill_source, g_source_remove);
  /* What the job left in its tree goes with it: a background process still working
   * after the lock is released would overlap the next run. */
  g_clear_pointer(&run->tree, sv_proctree_free);

  run->duration_usec = g_get_monotonic_time() - run->started_mono;
  run->exit_code = sv_wait_status_to_exit_code(status);
  gboolean clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (run->exec_failed)
    run->result = SV_JOB_RESULT_EXEC_FAILED;
  else if (run->timed_out)
    run->result = SV_JOB_RESULT_TIMEOUT;
  else if (clean)
    run->result = SV_JOB_RESULT_SUCCESS;
  else if (run->stop_signalled)
    run->result = SV_JOB_RESULT_STOPPED;
  else
    run->result = SV_JOB_RESULT_FAILED;

  g_autoptr(GPtrArray) f = run_fields(run);
  g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_PID=%d", (int)pid));
  g_ptr_array_add(f, g_strdup_printf("SDVISOR_EXIT_CODE=%d", run->exit_code));
  g_ptr_array_add(f, g_strdup_printf("SDVISOR_EXIT_STATUS=%s", sv_wait_status_kind(status)));
  g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_RESULT=%s",
                                     run->fenced ? "fenced" : sv_job_result_name(run->result)));
  g_ptr_array_add(
      f, g_strdup_printf("SDVISOR_JOB_DURATION_USEC=%" G_GINT64_FORMAT, run->duration_usec));
  g_autofree char *took = sv_timespan_format(run->duration_usec / 1000 * 1000);
  g_autofree char *slot = sv_jobstate_format_time(run->slot);
  const char *signame = WIFSIGNALED(status) ? sv_signal_name(WTERMSIG(status)) : NULL;
  g_autofree char *how = WIFSIGNALED(status)
                             ? g_strdup_printf("was killed by %s", signame ? signame : "a signal")
                             : g_strdup_printf("exited with status %d", run->exit_code);

  if (run->fenced) {
    log_job(LOG_ERR, SV_MESSAGE_JOB_FENCED, f,
            "job %s (pid %d) %s after %s, stopped by its self-fence (slot %s)", job->name, (int)pid,
            how, took, slot);
    run_finish(run);
    return;
  }
  switch (run->result) {
  case SV_JOB_RESULT_SUCCESS:
    log_job(LOG_INFO, SV_MESSAGE_JOB_FINISHED, f, "job %s (pid %d) finished after %s (slot %s)",
            job->name, (int)pid, took, slot);
    break;
  case SV_JOB_RESULT_TIMEOUT: {
    g_autofree char *limit = sv_timespan_format(job->config->timeout_usec);
    log_job(LOG_WARNING, SV_MESSAGE_JOB_TIMEOUT, f,
            "job %s (pid %d) timed out after %s and %s (slot %s)", job->name, (int)pid, limit, how,
            slot);
    break;
  }
  case SV_JOB_RESULT_STOPPED:
    log_job(LOG_NOTICE, SV_MESSAGE_JOB_FINISHED, f,
            "job %s (pid %d) stopped with sdvisor: %s after %s (slot %s)", job->name, (int)pid, how,
            took, slot);
    break;
  case SV_JOB_RESULT_EXEC_FAILED:
    /* Already reported when the spawn failed. */
    break;
  default:
    log_job(LOG_WARNING, SV_MESSAGE_JOB_FAILED, f, "job %s (pid %d) failed: %s after %s (slot %s)",
            job->name, (int)pid, how, took, slot);
    break;
  }
  run_finish(run);
}

static void
run_spawn(SvJobRun *run)
{
  SvJob *job = run->job;
  SvJobs *jobs = job->jobs;
  run->phase = SV_RUN_RUNNING;

  if ((run->at_start || run->fleet) && job->queued_slot >= 0 &&
      job->config->overlap == SV_OVERLAP_SKIP) {
    /* A slot came while the start check or the fleet claim ran, and this run now starts. */
    g_autofree char *cur_slot = sv_jobstate_format_time(run->slot);
    g_autofree char *detail =
        run->at_start ? g_strdup_printf("the %s run still runs (overlap=skip)",
                                        run_is_retry(run) ? "retried" : "catch-up")
                      : g_strdup_printf("the run for slot %s still runs (overlap=skip)", cur_slot);
    for (gint64 t = job->queued_slot; t >= 0 && t <= MAX(job->queued_slot, job->waiting_last);
         t = sv_schedule_next(job->schedule, t))
      log_skip(job, t, SV_SKIP_STILL_RUNNING, detail);
    job->queued_slot = job->waiting_last = -1;
  }

  g_auto(GStrv) env = job_environment(run);
  g_autoptr(GPtrArray) f = run_fields(run);
  int out_fd = -1, err_fd = -1;
  if (jobs->output_func != NULL) {
    g_ptr_array_add(f, NULL);
    jobs->output_func(job->name, (const char *const *)f->pdata, &out_fd, &err_fd,
                      jobs->output_data);
    g_ptr_array_remove_index(f, f->len - 1);
  }

  SvSpawnOptions options = SV_SPAWN_OPTIONS_INIT;
  options.argv = job->config->exec;
  options.envp = env;
  options.working_directory = job->config->working_directory;
  options.stdout_fd = out_fd;
  options.stderr_fd = err_fd;
  run->tree = sv_proctree_new("job", job->name, FALSE);
  options.cgroup_procs_fd = sv_proctree_procs_fd(run->tree);

  g_autoptr(GError) error = NULL;
  pid_t pid = 0;
  run->started_real = g_get_real_time();
  run->started_mono = g_get_monotonic_time();
  gboolean ok = sv_spawn(&options, &pid, NULL, &error);
  if (out_fd >= 0)
    close(out_fd);
  if (err_fd >= 0)
    close(err_fd);

  g_autofree char *slot = sv_jobstate_format_time(run->slot);
  if (!ok) {
    log_job(LOG_ERR, SV_MESSAGE_JOB_FAILED, f, "job %s: cannot start the run for slot %s: %s",
            job->name, slot, error->message);
    if (pid <= 0) {
      run->result = SV_JOB_RESULT_EXEC_FAILED;
      run->duration_usec = 0;
      run_finish(run);
      return;
    }
    /* The child exits 127/126 on its own; the reaper reports it. */
    run->exec_failed = TRUE;
  }
  run->pid = pid;
  sv_proctree_set_leader(run->tree, pid);
  sv_reaper_watch(pid, on_run_exit, run);

  if (ok && run->manual) {
    g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_PID=%d", (int)pid));
    log_job(LOG_INFO, SV_MESSAGE_JOB_STARTED, f,
            "job %s started (pid %d) by hand (sdvisor run-job), standing for slot %s", job->name,
            (int)pid, slot);
  } else if (ok) {
    gint64 lateness = run->started_real - (run->slot + job->delay_usec);
    g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_PID=%d", (int)pid));
    g_ptr_array_add(f, g_strdup_printf("SDVISOR_JOB_LATENESS_USEC=%" G_GINT64_FORMAT, lateness));
    const char *why = "";
    if (run->at_start)
      why = run_is_retry(run) ? ", again: its earlier run was interrupted"
                              : ", to catch up: it was missed while no instance ran";
    log_job(LOG_INFO, SV_MESSAGE_JOB_STARTED, f,
            "job %s started (pid %d) for slot %s%s; %" G_GINT64_FORMAT "us after its time",
            job->name, (int)pid, slot, why, lateness);
  }

  if (ok && run->run_func != NULL)
    run->run_func(SV_JOBS_RUN_STARTED, run->run_id, pid, SV_JOB_RESULT_NONE, -1, NULL,
                  run->run_data);
  if (job->config->timeout_usec != G_MAXINT64 && job->config->timeout_usec > 0)
    run->timeout_source = add_timeout_usec(job->config->timeout_usec, on_run_timeout, run);
  if (jobs->stopping && jobs->stop_signal != 0) {
    /* Cannot happen through the loop (claims finishing while stopping are abandoned),
     * but a stop signal to a run that started after the stop began is what stop means. */
    run->stop_signalled = TRUE;
    (void)sv_proctree_signal(run->tree, jobs->stop_signal);
  }
}

static void
finish_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SvJobRun *run = task_data;
  SvJob *job = run->job;
  pid_t job_pid = run->pid;
  if (run->claim != NULL) {
    (void)sv_job_claim_finish(run->claim, run->result, run->exit_code, job_pid, run->duration_usec,
                              &run->write_error);
  } else if (job->jobs->store != NULL) {
    /* once-per-host=false: only a record of the host's last run, for `sdvisor jobs` and
     * persistent=. */
    g_autoptr(SvJobRecord) r = sv_job_record_copy(run->template_record);
    r->slot_usec = run->slot;
    r->running = FALSE;
    r->result = run->result;
    r->exit_code = run->exit_code;
    r->job_pid = job_pid;
    r->started_usec = run->started_real ? run->started_real : r->started_usec;
    r->duration_usec = MAX(run->duration_usec, 0);
    (void)sv_job_store_write(job->jobs->store, job->name, r, &run->write_error);
  }
  g_task_return_boolean(task, TRUE);
}

static void
on_finished(GObject *source, GAsyncResult *result, gpointer user_data)
{
  SvJobRun *run = user_data;
  SvJobs *jobs = run->job->jobs;
  (void)g_task_propagate_boolean(G_TASK(result), NULL);
  if (run->write_error != NULL && !jobs->disposed) {
    /* The state went bad under the run: the same failure as a slot that cannot claim,
     * reported once with it. */
    g_autofree char *reason = g_strdup_printf(
        "cannot record the result of its run (%s); the next start will report it as interrupted",
        run->write_error->message);
    job_cannot_run(run->job, run->slot, reason);
  }
  SvJob *job = run->job;
  job->last_result = run->result;
  job->last_exit_code = run->exit_code;
  job->last_started_usec = run->started_real;
  job->last_duration_usec = run->duration_usec;
  job->last_manual = run->manual;
  if (jobs->disposed)
    run_free(run);
  else
    run_end(run);
  jobs_unref(jobs);
}

static void
run_finish(SvJobRun *run)
{
  run->phase = SV_RUN_FINISHING;
  g_clear_handle_id(&run->renew_source, g_source_remove);
  g_clear_handle_id(&run->fence_source, g_source_remove);
  if (run->fleet) {
    fleet_finish(run);
    return;
  }
  run_in_thread(run, finish_thread, on_finished);
}

/* ---- the timer ------------------------------------------------------------------------------ */

static void
timer_arm(SvJobs *jobs)
{
  if (jobs->timer_fd < 0)
    return;
  gint64 next = G_MAXINT64;
  if (!jobs->stopping)
    for (guint i = 0; i < jobs->jobs->len; i++) {
      SvJob *job = jobs->jobs->pdata[i];
      if (job->slot >= 0)
        next = MIN(next, job->slot + job->delay_usec);
    }
  struct itimerspec its = {0};
  if (next != G_MAXINT64) {
    next = MAX(next, 1); /* 0 would disarm */
    its.it_value.tv_sec = (time_t)(next / SV_USEC_PER_SEC);
    its.it_value.tv_nsec = (long)(next % SV_USEC_PER_SEC) * 1000;
  }
  if (timerfd_settime(jobs->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
    sv_log(LOG_ERR, "cannot arm the job timer: %s", g_strerror(errno));
}

static gboolean
on_timer(int fd, GIOCondition condition, gpointer user_data)
{
  SvJobs *jobs = user_data;
  guint64 expirations;
  ssize_t n = read(fd, &expirations, sizeof expirations);
  gboolean clock_set = n < 0 && errno == ECANCELED;
  if (n < 0 && !clock_set)
    return G_SOURCE_CONTINUE; /* EAGAIN: nothing yet */

  gint64 now = g_get_real_time();
  if (clock_set)
    sv_log(LOG_INFO, "the system clock was set: re-planning %u job(s)", jobs->jobs->len);

  for (guint i = 0; i < jobs->jobs->len && !jobs->stopping; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    if (job->slot < 0)
      continue;
    if (job->slot + job->delay_usec <= now) {
      /* Due. After a suspend or a clock set forward several slots may have passed: run
       * the latest one only, as systemd does for OnCalendar= timers. */
      gint64 slot = prev_slot(job->schedule, now - job->delay_usec);
      if (slot < job->slot)
        slot = job->slot;
      job->slot = sv_schedule_next(job->schedule, slot);
      job_fire(job, slot);
    } else if (clock_set) {
      /* Set back: slots between the new now and the old plan come again (the state file
       * knows which already ran). */
      job->slot = sv_schedule_next(job->schedule, now - job->delay_usec);
    }
  }
  timer_arm(jobs);
  return G_SOURCE_CONTINUE;
}

/* ---- public --------------------------------------------------------------------------------- */

SvJobs *
sv_jobs_new(const char *app_name, GPtrArray *job_configs, const char *state_dir,
            char *const *base_env, GError **error)
{
  g_return_val_if_fail(app_name != NULL, NULL);

  SvJobs *jobs = g_new0(SvJobs, 1);
  jobs->ref = 1;
  jobs->app = g_strdup(app_name);
  jobs->jobs = g_ptr_array_new_with_free_func((GDestroyNotify)job_free);
  jobs->timer_fd = -1;
  jobs->base_env = base_env ? g_strdupv((char **)base_env) : NULL;
  jobs->instance_id = random_id();
  jobs->host = g_strdup(g_get_host_name());
  const char *runtime = g_getenv("RUNTIME_DIRECTORY");
  if (runtime != NULL && *runtime != '\0') {
    g_auto(GStrv) dirs = g_strsplit(runtime, ":", 2);
    jobs->runtime_dir = g_strdup(dirs[0]);
  }

  for (guint i = 0; job_configs != NULL && i < job_configs->len; i++) {
    const SvJobConfig *config = job_configs->pdata[i];
    SvSchedule *schedule = parse_schedule(config, error);
    if (schedule == NULL) {
      jobs_unref(jobs);
      return NULL;
    }
    SvJob *job = g_new0(SvJob, 1);
    job->jobs = jobs;
    job->config = job_config_copy(config);
    job->name = job->config->name;
    job->schedule = schedule;
    job->delay_usec =
        sv_jobs_randomized_delay(NULL, app_name, config->name, config->randomized_delay_usec);
    job->slot = -1;
    job->queued_slot = -1;
    job->waiting_last = -1;
    job->fleet_again_slot = -1;
    g_ptr_array_add(jobs->jobs, job);
    if (config->once_per == SV_ONCE_PER_FLEET && jobs->claim_store_error == NULL)
      jobs->claim_store_error =
          g_error_new(SV_FLEET_ERROR, SV_FLEET_ERROR_URI, "no [fleet] store= configured");
  }

  if (jobs->jobs->len == 0)
    return jobs; /* no state directory, no timer: nothing to do */

  jobs->store = sv_job_store_open(state_dir, app_name, TRUE, error);
  if (jobs->store == NULL) {
    jobs_unref(jobs);
    return NULL;
  }
  jobs->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
  if (jobs->timer_fd < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "timerfd_create: %s",
                g_strerror(errsv));
    jobs_unref(jobs);
    return NULL;
  }
  return jobs;
}

void
sv_jobs_start(SvJobs *jobs)
{
  g_return_if_fail(!jobs->started);
  jobs->started = TRUE;
  if (jobs->jobs->len == 0)
    return;

  sv_job_store_clean_temporaries(jobs->store, SV_JOB_STALE_TEMP_USEC);
  gint64 now = g_get_real_time();
  for (guint i = 0; i < jobs->jobs->len; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    job->slot = sv_schedule_next(job->schedule, now - job->delay_usec);
    gint64 catch_up = -1;
    if (job->config->persistent)
      catch_up = prev_slot(job->schedule, now - job->delay_usec);
    if (job->config->once_per == SV_ONCE_PER_FLEET) {
      if (catch_up >= 0 || job->config->retry_interrupted)
        fleet_start(job, catch_up);
      continue;
    }
    if (!job->config->once_per_host && catch_up < 0)
      continue;
    job->start_catch_up = catch_up;
    job->start_check_waiting = TRUE;
    g_queue_push_tail(&jobs->start_waiting, job);
    jobs->n_start_checks++;
  }
  start_checks_begin(jobs);
  jobs->timer_source =
      g_unix_fd_add_full(G_PRIORITY_HIGH, jobs->timer_fd, G_IO_IN, on_timer, jobs, NULL);
  timer_arm(jobs);
}

static gboolean
on_done_idle(gpointer user_data)
{
  SvJobs *jobs = user_data;
  jobs->done_idle = 0;
  SvJobsDoneFunc done = jobs->done;
  jobs->done = NULL;
  if (done != NULL)
    done(jobs->done_data);
  return G_SOURCE_REMOVE;
}

static void
check_done(SvJobs *jobs)
{
  if (!jobs->stopping || jobs->disposed || jobs->n_runs > 0 || jobs->done == NULL ||
      jobs->done_idle != 0)
    return;
  g_clear_handle_id(&jobs->stop_kill_source, g_source_remove);
  jobs->done_idle = g_idle_add_full(G_PRIORITY_HIGH, on_done_idle, jobs, NULL);
}

static gboolean
on_stop_deadline(gpointer user_data)
{
  SvJobs *jobs = user_data;
  jobs->stop_kill_source = 0;
  for (guint i = 0; i < jobs->jobs->len; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    if (job->run != NULL && job->run->phase == SV_RUN_RUNNING && job->run->pid > 0) {
      sv_log(LOG_WARNING,
             "job %s (pid %d) still running at the stop deadline: killing its "
             "process tree",
             job->name, (int)job->run->pid);
      (void)sv_proctree_signal(job->run->tree, SIGKILL);
    }
  }
  return G_SOURCE_REMOVE;
}

/* SIG to every run in progress (once: a later, real signal after a 0 is still sent). */
static void
signal_runs(SvJobs *jobs, int sig)
{
  if (sig == 0 || jobs->stop_signal != 0)
    return;
  jobs->stop_signal = sig;
  for (guint i = 0; i < jobs->jobs->len; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    SvJobRun *run = job->run;
    if (run == NULL || run->phase != SV_RUN_RUNNING || run->pid <= 0)
      continue;
    sv_log(LOG_INFO, "job %s (pid %d): sending %s to its process tree", job->name, (int)run->pid,
           sv_signal_name(sig) ? sv_signal_name(sig) : "a signal");
    run->stop_signalled = TRUE;
    (void)sv_proctree_signal(run->tree, sig);
  }
}

void
sv_jobs_stop(SvJobs *jobs, int sig, gint64 deadline_usec, SvJobsDoneFunc done, gpointer user_data)
{
  g_return_if_fail(jobs != NULL);
  jobs->done = done;
  jobs->done_data = user_data;
  if (!jobs->stopping) {
    jobs->stopping = TRUE;
    jobs->stop_deadline = G_MAXINT64;
    timer_arm(jobs); /* disarms */
    for (guint i = 0; i < jobs->jobs->len; i++) {
      SvJob *job = jobs->jobs->pdata[i];
      job->queued_slot = job->waiting_last = -1;
    }
    start_checks_begin(jobs); /* drops the waiting ones */
  }
  if (!jobs->disposed) {
    signal_runs(jobs, sig);
    if (deadline_usec < jobs->stop_deadline) {
      /* First asked, or asked again more urgently (a second SIGTERM): the deadline only
       * ever comes closer. */
      jobs->stop_deadline = deadline_usec;
      g_clear_handle_id(&jobs->stop_kill_source, g_source_remove);
      if (jobs->n_runs > 0)
        jobs->stop_kill_source =
            add_timeout_usec(deadline_usec - g_get_monotonic_time(), on_stop_deadline, jobs);
    }
  }
  check_done(jobs);
}

guint
sv_jobs_get_n_running(SvJobs *jobs)
{
  return jobs->n_runs;
}

gboolean
sv_jobs_set_fleet(SvJobs *jobs, const SvFleetConfig *fleet, GError **error)
{
  if (jobs->claim_store_error == NULL || fleet->store == NULL)
    return TRUE; /* no once-per=fleet job */
  g_clear_error(&jobs->claim_store_error);
  jobs->claim_store = sv_claim_store_new(fleet, jobs->app, &jobs->claim_store_error);
  if (jobs->claim_store == NULL) {
    g_propagate_error(error, g_error_copy(jobs->claim_store_error));
    return FALSE;
  }
  return TRUE;
}

void
sv_jobs_set_output_func(SvJobs *jobs, SvJobsOutputFunc func, gpointer user_data)
{
  jobs->output_func = func;
  jobs->output_data = user_data;
}

void
sv_jobs_free(SvJobs *jobs)
{
  if (jobs == NULL)
    return;
  jobs->disposed = TRUE;
  jobs->stopping = TRUE;
  start_checks_begin(jobs); /* drops the waiting ones */
  g_clear_handle_id(&jobs->timer_source, g_source_remove);
  g_clear_handle_id(&jobs->stop_kill_source, g_source_remove);
  g_clear_handle_id(&jobs->done_idle, g_source_remove);
  for (SvJobRun *run; (run = g_queue_pop_head(&jobs->finishing)) != NULL;) {
    /* Its result waits for the store: the request is cancelled (run_free), and the
     * slot stays interrupted in the store, as when sdvisor dies. */
    jobs->n_runs--;
    run_free(run);
  }
  for (guint i = 0; i < jobs->jobs->len; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    SvJobRun *run = job->run;
    if (run != NULL && run->fleet && run->phase != SV_RUN_RUNNING) {
      /* A store request in flight: cancelled (run_free), its callback never comes. */
      job->run = NULL;
      jobs->n_runs--;
      run_free(run);
      continue;
    }
    if (run == NULL || run->phase != SV_RUN_RUNNING)
      continue; /* claiming/finishing: the worker's callback cleans up */
    /* Nobody will reap it for us any more: kill it and say so in the state. */
    sv_reaper_unwatch(run->pid);
    (void)sv_proctree_signal(run->tree, SIGKILL);
    if (run->claim != NULL)
      (void)sv_job_claim_finish(run->claim, SV_JOB_RESULT_STOPPED, -1, run->pid,
                                g_get_monotonic_time() - run->started_mono, NULL);
    job->run = NULL;
    jobs->n_runs--;
    run_free(run);
  }
  jobs_unref(jobs);
}

void
sv_jobs_set_failure_func(SvJobs *jobs, SvJobsFailureFunc func, gpointer user_data)
{
  jobs->failure_func = func;
  jobs->failure_data = user_data;
}

char *
sv_jobs_report_unusable(const char *app_name, GPtrArray *job_configs, const GError *error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)sv_job_failure_free);
  gint64 now = g_get_real_time();
  for (guint i = 0; job_configs != NULL && i < job_configs->len; i++)
    g_ptr_array_add(list, sv_job_failure_new(((SvJobConfig *)job_configs->pdata[i])->name, now,
                                             error->message));
  g_autofree char *app_field = g_strconcat("SDVISOR_APP=", app_name, NULL);
  const char *fields[] = {app_field, NULL};
  sv_log_full(LOG_ERR, SV_MESSAGE_JOB_CANNOT_RUN, fields, "jobs: %s; no job will run",
              error->message);
  const char *runtime = g_getenv("RUNTIME_DIRECTORY");
  if (runtime != NULL && *runtime != '\0' && list->len > 0) {
    g_auto(GStrv) dirs = g_strsplit(runtime, ":", 2);
    g_autofree char *id = random_id();
    (void)sv_job_failures_publish(dirs[0], id, app_name, list, NULL);
  }
  return g_strdup_printf("%u job%s cannot run: %s", list->len, list->len == 1 ? "" : "s",
                         error->message);
}

/* ---- without running ------------------------------------------------------------------------ */

GArray *
sv_jobs_next_runs(const char *app_name, const SvJobConfig *job, gint64 now_usec, guint n,
                  GError **error)
{
  g_autoptr(SvSchedule) schedule = parse_schedule(job, error);
  if (schedule == NULL)
    return NULL;
  gint64 delay = sv_jobs_randomized_delay(NULL, app_name, job->name, job->randomized_delay_usec);
  GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
  gint64 slot = sv_schedule_next(schedule, now_usec - delay);
  for (guint i = 0; i < n && slot >= 0; i++) {
    gint64 at = slot + delay;
    g_array_append_val(out, at);
    slot = sv_schedule_next(schedule, slot);
  }
  return out;
}

/* USEC (since the epoch) as ISO 8601 in TZ, with its offset: 2026-12-08T03:30:00+09:00;
 * milliseconds when there are any (a randomized delay). */
static char *
format_time_in(gint64 usec, GTimeZone *tz)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) dt = utc ? g_date_time_to_timezone(utc, tz) : NULL;
  if (dt == NULL || usec < 0)
    return sv_jobstate_format_time(usec);
  g_autofree char *base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
  g_autofree char *offset = g_date_time_format(dt, "%:z");
  int ms = (int)(usec % G_USEC_PER_SEC / 1000);
  return ms ? g_strdup_printf("%s.%03d%s", base, ms, offset) : g_strconcat(base, offset, NULL);
}

char *
sv_jobs_describe_next_runs(const char *app_name, GPtrArray *job_configs, gint64 now_usec, guint n,
                           GError **error)
{
  GString *out = g_string_new(NULL);
  for (guint i = 0; job_configs != NULL && i < job_configs->len; i++) {
    const SvJobConfig *job = job_configs->pdata[i];
    g_autoptr(GArray) runs = sv_jobs_next_runs(app_name, job, now_usec, n, error);
    if (runs == NULL) {
      g_string_free(out, TRUE);
      return NULL;
    }
    g_string_append_printf(out, "%s: ", job->name);
    if (runs->len == 0)
      g_string_append(out, _("never runs again"));
    /* In the job's own time zone (validated by sv_jobs_next_runs): "30 3 * * *" in
     * Asia/Seoul reads 03:30+09:00, not 18:30Z the day before. */
    g_autoptr(GTimeZone) tz =
        job->timezone ? g_time_zone_new_identifier(job->timezone) : g_time_zone_new_local();
    for (guint k = 0; k < runs->len; k++) {
      g_autofree char *t = format_time_in(g_array_index(runs, gint64, k), tz);
      g_string_append_printf(out, "%s%s", k ? ", " : _("next runs "), t);
    }
    if (runs->len > 0 && job->timezone != NULL)
      g_string_append_printf(out, _(" (time zone %s)"), job->timezone);
    gint64 delay = sv_jobs_randomized_delay(NULL, app_name, job->name, job->randomized_delay_usec);
    if (job->randomized_delay_usec > 0) {
      g_autofree char *d = sv_timespan_format(delay / 1000 * 1000);
      g_string_append_printf(out, _(" (randomized delay on this host: %s)"), d);
    }
    g_string_append_c(out, '\n');
  }
  return g_string_free(out, FALSE);
}

/* Whether the instance that wrote "running" is still alive (for display only: a pid can
 * be reused, and the claim logic never relies on this). */
static gboolean
record_owner_alive(const SvJobRecord *r)
{
  if (r->boot_id == NULL || !g_str_equal(r->boot_id, sv_jobstate_boot_id()))
    return FALSE;
  return kill(r->pid, 0) == 0 || errno == EPERM;
}

/* The RESULT column, in the reader's language. The journal's SDVISOR_JOB_RESULT= and the
 * state files keep sv_job_result_name()'s words, which scripts match. */
static const char *
result_label(SvJobResult result)
{
  switch (result) {
  case SV_JOB_RESULT_NONE:
    /* TRANSLATORS: the RESULT column of `sdvisor jobs`: a run without a result. */
    return _("none");
  case SV_JOB_RESULT_SUCCESS:
    /* TRANSLATORS: the RESULT column of `sdvisor jobs`: the job exited 0. */
    return _("success");
  case SV_JOB_RESULT_FAILED:
    /* TRANSLATORS: the RESULT column of `sdvisor jobs`: non-zero exit or killed. */
    return _("failed");
  case SV_JOB_RESULT_TIMEOUT:
    /* TRANSLATORS: the RESULT column of `sdvisor jobs`: killed at its timeout=. */
    return _("timeout");
  case SV_JOB_RESULT_EXEC_FAILED:
    /* TRANSLATORS: the RESULT column of `sdvisor jobs`: the command could not be executed. */
    return _("exec-failed");
  case SV_JOB_RESULT_STOPPED:
    /* TRANSLATORS: the RESULT column of `sdvisor jobs`: ended by sdvisor's own stop. */
    return _("stopped");
  case SV_JOB_RESULT_INTERRUPTED:
    /* TRANSLATORS: the RESULT column of `sdvisor jobs`: its sdvisor died mid-run. */
    return _("interrupted");
  }
  return _("unknown");
}

/* Terminal columns TEXT takes: Hangul, kana and CJK ideographs take two, so a table with
 * translated headers lines up only when counted this way, not in characters. */
static glong
display_width(const char *text)
{
  glong width = 0;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_iszerowidth(c))
      continue;
    width += g_unichar_iswide(c) ? 2 : 1;
  }
  return width;
}

/* Short enough for a table column: "250ms", "1.500s", "2min 5s". */
static char *
format_duration(gint64 usec)
{
  if (usec < 1000 * 1000)
    return g_strdup_printf("%dms", (int)(usec / 1000));
  if (usec < 60 * SV_USEC_PER_SEC)
    return g_strdup_printf("%d.%03ds", (int)(usec / SV_USEC_PER_SEC),
                           (int)(usec % SV_USEC_PER_SEC / 1000));
  return sv_timespan_format(usec / SV_USEC_PER_SEC * SV_USEC_PER_SEC);
}

static char *
format_left(gint64 usec)
{
  if (usec <= 0)
    return g_strdup(_("now"));
  gint64 rounded = (usec + SV_USEC_PER_SEC - 1) / SV_USEC_PER_SEC * SV_USEC_PER_SEC;
  g_autofree char *span = sv_timespan_format(rounded);
  return g_strdup_printf(_("in %s"), span);
}

char *
sv_jobs_describe(const char *app_name, GPtrArray *job_configs, const char *state_dir,
                 gint64 now_usec, gboolean *out_trouble, GError **error)
{
  g_autoptr(GError) store_error = NULL;
  g_autoptr(SvJobStore) store = NULL;
  gboolean trouble = FALSE;
  if (job_configs != NULL && job_configs->len > 0)
    store = sv_job_store_open(state_dir, app_name, FALSE, &store_error);
  trouble |= store_error != NULL &&
             !g_error_matches(store_error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_NOT_FOUND);
  /* What the state directory cannot say: jobs a running instance could not run. */
  g_autoptr(GPtrArray) failures = sv_job_failures_find(NULL, app_name);

  enum { COLS = 8 };
  const char *header[COLS] = {N_("JOB"), N_("LAST SLOT"), N_("RESULT"), N_("DURATION"),
                              N_("PID"), N_("NEXT RUN"),  N_("LEFT"),   N_("SCHEDULE")};
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
  char **h = g_new0(char *, COLS + 1);
  for (int c = 0; c < COLS; c++)
    h[c] = g_strdup(_(header[c]));
  g_ptr_array_add(rows, h);
  g_autoptr(GString) notes = g_string_new(NULL);

  for (guint i = 0; job_configs != NULL && i < job_configs->len; i++) {
    const SvJobConfig *job = job_configs->pdata[i];
    g_autoptr(GArray) next = sv_jobs_next_runs(app_name, job, now_usec, 1, error);
    if (next == NULL)
      return NULL;
    char **row = g_new0(char *, COLS + 1);
    row[0] = g_strdup(job->name);

    g_autoptr(GError) read_error = NULL;
    g_autoptr(SvJobRecord) r = store ? sv_job_store_read(store, job->name, &read_error) : NULL;
    if (r != NULL) {
      row[1] = sv_jobstate_format_time(r->slot_usec);
      if (r->running)
        row[2] = g_strdup(record_owner_alive(r) ? _("running") : _("interrupted"));
      else if (r->result == SV_JOB_RESULT_FAILED && r->exit_code >= 0)
        /* TRANSLATORS: the RESULT column of `sdvisor jobs`: failed with exit code %d. */
        row[2] = g_strdup_printf(_("failed (%d)"), r->exit_code);
      else
        row[2] = g_strdup(result_label(r->result));
      row[3] =
          r->running || r->duration_usec < 0 ? g_strdup("-") : format_duration(r->duration_usec);
      row[4] = g_strdup_printf("%d", (int)r->pid);
    } else {
      row[1] = g_strdup("-");
      row[2] = g_strdup(read_error ? _("unreadable") : "-");
      row[3] = g_strdup("-");
      row[4] = g_strdup("-");
      if (read_error != NULL)
        g_string_append_printf(notes, "%s: %s\n", job->name, read_error->message);
      trouble |= read_error != NULL;
    }
    for (guint k = 0; k < failures->len; k++) {
      const SvJobFailure *fail = failures->pdata[k];
      if (!g_str_equal(fail->job, job->name))
        continue;
      g_free(row[2]);
      /* TRANSLATORS: the RESULT column of `sdvisor jobs`: its last slot could not run. */
      row[2] = g_strdup(_("cannot run"));
      g_autofree char *since = sv_jobstate_format_time(fail->since_usec);
      /* TRANSLATORS: "tick: cannot run since 2026-…Z (sdvisor pid 42): cannot open …". */
      g_string_append_printf(notes, _("%s: cannot run since %s (sdvisor pid %d): %s\n"), job->name,
                             since, (int)fail->pid, fail->reason);
      trouble = TRUE;
    }
    if (next->len > 0) {
      gint64 at = g_array_index(next, gint64, 0);
      row[5] = sv_jobstate_format_time(at);
      row[6] = format_left(at - now_usec);
    } else {
      row[5] = g_strdup(_("never"));
      row[6] = g_strdup("-");
    }
    row[7] = g_strdup(job->schedule);
    g_ptr_array_add(rows, row);
  }

  glong width[COLS] = {0};
  for (guint i = 0; i < rows->len; i++)
    for (int c = 0; c < COLS; c++)
      width[c] = MAX(width[c], display_width(((char **)rows->pdata[i])[c]));

  GString *out = g_string_new(NULL);
  if (store != NULL)
    g_string_append_printf(out, _("State directory: %s\n"), sv_job_store_get_path(store));
  else if (store_error != NULL &&
           g_error_matches(store_error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_NOT_FOUND))
    g_string_append_printf(out, _("State directory: none yet (%s)\n"), store_error->message);
  else if (store_error != NULL)
    g_string_append_printf(out, _("State directory: cannot be read: %s\n"), store_error->message);
  if (job_configs == NULL || job_configs->len == 0) {
    g_string_append(out, _("No jobs configured.\n"));
    return g_string_free(out, FALSE);
  }
  for (guint i = 0; i < rows->len; i++) {
    char **row = rows->pdata[i];
    for (int c = 0; c < COLS; c++) {
      g_string_append(out, row[c]);
      if (c < COLS - 1)
        for (glong pad = display_width(row[c]); pad < width[c] + 2; pad++)
          g_string_append_c(out, ' ');
    }
    g_string_append_c(out, '\n');
  }
  g_string_append(out, notes->str);
  if (out_trouble != NULL)
    *out_trouble = trouble;
  return g_string_free(out, FALSE);
}

/* ---- the control socket --------------------------------------------------------------- */

static SvJob *
find_job(SvJobs *jobs, const char *name)
{
  for (guint i = 0; i < jobs->jobs->len; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    if (g_str_equal(job->name, name))
      return job;
  }
  return NULL;
}

gboolean
sv_jobs_run_now(SvJobs *jobs, const char *name, SvJobsRunFunc func, gpointer user_data,
                GError **error)
{
  SvJob *job = find_job(jobs, name);
  if (job == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no job %s in the running configuration",
                name);
    return FALSE;
  }
  if (jobs->stopping || !jobs->started || jobs->store == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "job %s: sdvisor is %s", name,
                jobs->stopping ? "stopping" : "not running its jobs yet");
    return FALSE;
  }
  if (job->start_check_waiting || (job->run != NULL && job->run->at_start)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
                "job %s: its start-up check (catch-up, interrupted runs) is not over; try again",
                name);
    return FALSE;
  }
  if (job->run != NULL) {
    g_autofree char *slot = sv_jobstate_format_time(job->run->slot);
    if (job->run->pid > 0)
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                  "job %s is running in this instance (pid %d, slot %s)", name, (int)job->run->pid,
                  slot);
    else
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                  "job %s is running in this instance (slot %s)", name, slot);
    return FALSE;
  }
  gint64 now = g_get_real_time();
  gint64 slot = prev_slot(job->schedule, now - job->delay_usec);
  if (slot < 0)
    slot = now;
  SvJobRun *run = run_new(job, slot);
  run->manual = TRUE;
  run->run_func = func;
  run->run_data = user_data;
  if (job->config->once_per_host)
    run_in_thread(run, claim_thread, on_claimed);
  else
    run_spawn(run);
  return TRUE;
}

GArray *
sv_jobs_get_status(SvJobs *jobs)
{
  GArray *out = g_array_new(FALSE, TRUE, sizeof(SvJobStatus));
  for (guint i = 0; i < jobs->jobs->len; i++) {
    SvJob *job = jobs->jobs->pdata[i];
    SvJobRun *run = job->run;
    SvJobStatus st = {
        .name = job->name,
        .next_usec = job->slot >= 0 && !jobs->stopping ? job->slot + job->delay_usec : -1,
        .running = run != NULL && !(run->at_start && run->phase == SV_RUN_CLAIMING),
        .checking = job->start_check_waiting || (run != NULL && run->at_start),
        .running_manual = run != NULL && run->manual,
        .running_pid = run != NULL ? run->pid : 0,
        .running_since_usec = run != NULL ? run->started_real : 0,
        .last_result = job->last_result,
        .last_exit_code = job->last_exit_code,
        .last_started_usec = job->last_started_usec,
        .last_duration_usec = job->last_duration_usec,
        .last_manual = job->last_manual,
    };
    if (job->config->once_per == SV_ONCE_PER_FLEET && jobs->claim_store != NULL) {
      st.fleet_node = jobs->claim_store->node;
      st.running_fence = run != NULL && run->fleet ? run->fence : 0;
    }
    g_array_append_val(out, st);
  }
  return out;
}

gboolean
sv_jobs_query_fleet_runs(SvJobs *jobs, GCancellable *cancellable, SvStoreRunsFunc func,
                         gpointer user_data, GError **error)
{
  gboolean any = FALSE;
  for (guint i = 0; i < jobs->jobs->len && !any; i++)
    any = ((SvJob *)jobs->jobs->pdata[i])->config->once_per == SV_ONCE_PER_FLEET;
  if (!any)
    return FALSE;
  if (jobs->claim_store == NULL) {
    if (jobs->claim_store_error != NULL)
      g_propagate_error(error, g_error_copy(jobs->claim_store_error));
    else
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, "no fleet store");
    return FALSE;
  }
  sv_claim_store_query_runs(jobs->claim_store, cancellable, func, user_data);
  return TRUE;
}

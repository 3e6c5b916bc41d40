/* jobs.h — scheduled jobs ([job:NAME]): timers, once-per-host claims, runs.
 *
 * One CLOCK_REALTIME timerfd for all jobs, armed at the earliest next slot with
 * TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET: an idle sdvisor wakes only when a job is due,
 * slots are recomputed from the schedule each time (no drift), a slot that passed during
 * a suspend fires once on resume, and setting the clock re-plans every job.
 *
 * Once per host (README, [job:NAME]): for each slot T, flock() <job>.lock without waiting (busy:
 * another instance runs it, skip), read <job>.state (slot ≥ T: already run, skip), write
 * the claim, run holding the lock, write the result. The file work (with its fsyncs) runs
 * in worker threads; spawning and reaping stay on the main loop.
 *
 * randomized-delay= is derived from the machine id, the app and the job, so every
 * instance on a host fires at the same moment and the lock decides; different hosts and
 * different jobs spread out.
 *
 * once-per-host=false: no lock and no claim; each instance runs every slot. The result of
 * each run is still written to <job>.state (last writer wins) for `sdvisor jobs`, and
 * persistent= then means "missed by every instance": an instance that starts and finds
 * the host's last run older than the latest slot runs it once. */
#pragma once
#include <glib.h>

#include "config.h"
#include "store.h"

typedef struct SvJobs SvJobs;

/* APP_NAME keys the state directory (<state-dir>/<app>/); JOB_CONFIGS holds SvJobConfig*
 * (copied: a configuration re-read on reload does not change the jobs of this object).
 * STATE_DIR NULL = $STATE_DIRECTORY, else /var/lib/sdvisor; it is opened (created 0700 if
 * missing) only when there are jobs, and refused if it is on a network file system or
 * belongs to another user. BASE_ENV is the environment every job starts from (NULL =
 * sv_spawn_base_environ()). */
SvJobs *sv_jobs_new(const char *app_name, GPtrArray *job_configs, const char *state_dir,
                    char *const *base_env, GError **error);

/* Reports runs that an earlier instance left interrupted, runs persistent catch-ups and
 * retries, and arms the timer. Call once the app is up; needs sv_reaper_init(). */
void sv_jobs_start(SvJobs *jobs);

typedef void (*SvJobsDoneFunc)(gpointer user_data);

/* No new runs from now on. SIG goes to the process group of every running job (SIG 0:
 * none, the runs end on their own — for a set retired at reload); any still running at
 * DEADLINE_USEC (g_get_monotonic_time() clock; G_MAXINT64 = none) gets SIGKILL. DONE runs
 * from the main loop once every run has ended and its result is written — at once (from
 * an idle) if nothing runs. Calling it again replaces DONE, sends SIG if no signal was
 * sent yet, and can only bring the deadline closer (a second SIGTERM: pass now). */
void sv_jobs_stop(SvJobs *jobs, int sig, gint64 deadline_usec, SvJobsDoneFunc done,
                  gpointer user_data);

/* The store of once-per=fleet jobs ([fleet], store.h). Call before sv_jobs_start(); without
 * it (or when it fails: ERROR says why, and the jobs' on-store-unavailable= applies to
 * every slot) those jobs have no store. Does nothing when no job is once-per=fleet. */
gboolean sv_jobs_set_fleet(SvJobs *jobs, const SvFleetConfig *fleet, GError **error);

/* How many runs are in progress (claiming, running or writing their result). */
guint sv_jobs_get_n_running(SvJobs *jobs);

/* Where the job's stdout and stderr go. Called for each run before it starts, with the
 * run's journal fields (SDVISOR_JOB=, SDVISOR_JOB_RUN=, SDVISOR_JOB_SLOT=, NULL-ended);
 * sets *OUT_STDOUT / *OUT_STDERR to fds that sv_jobs closes after the spawn, or leaves
 * them -1 to inherit sdvisor's. For the log module (issue 6). */
typedef void (*SvJobsOutputFunc)(const char *job, const char *const *fields, int *out_stdout,
                                 int *out_stderr, gpointer user_data);
void sv_jobs_set_output_func(SvJobs *jobs, SvJobsOutputFunc func, gpointer user_data);

/* Called whenever the set of jobs that cannot run changes (their lock or state cannot be
 * used), with a one-line summary for STATUS= ("job tick cannot run: …"), NULL once every
 * job can run again. Each such job is also one error entry (SV_MESSAGE_JOB_CANNOT_RUN) and,
 * with $RUNTIME_DIRECTORY, published for `sdvisor jobs` (jobfailure.h). */
typedef void (*SvJobsFailureFunc)(const char *summary, gpointer user_data);
void sv_jobs_set_failure_func(SvJobs *jobs, SvJobsFailureFunc func, gpointer user_data);

/* sv_jobs_new() failed with ERROR (the state directory cannot be used): logs it once as
 * SV_MESSAGE_JOB_CANNOT_RUN, publishes every job of JOB_CONFIGS as failing for
 * `sdvisor jobs`, and returns the summary for STATUS=. */
char *sv_jobs_report_unusable(const char *app_name, GPtrArray *job_configs, const GError *error);

/* ---- for the control socket (issue 20) ------------------------------------------------ */

typedef enum {
  SV_JOBS_RUN_STARTED,  /* the job's process runs: PID, RUN_ID */
  SV_JOBS_RUN_FINISHED, /* final: RESULT (an SvJobResult), EXIT_CODE */
  SV_JOBS_RUN_REFUSED,  /* final: it did not run; DETAIL says why */
} SvJobsRunEvent;
typedef void (*SvJobsRunFunc)(SvJobsRunEvent event, const char *run_id, pid_t pid, int result,
                              int exit_code, const char *detail, gpointer user_data);

/* Runs job NAME now, as a scheduled run would (claim, environment, state, journal
 * fields) but marked manual: SDVISOR_JOB_MANUAL=1 in its journal entries and its
 * environment. Its claim stands for the latest slot due (never a future one), so the next
 * scheduled slot still runs. FUNC hears STARTED, then FINISHED; or REFUSED alone (another
 * instance holds the job's lock, or sdvisor stops first); exactly one final event, also
 * when JOBS is freed. FALSE with ERROR when it cannot even try: G_IO_ERROR_NOT_FOUND (no
 * such job), G_IO_ERROR_EXISTS (it runs in this instance now), G_IO_ERROR_BUSY (stopping,
 * or its start-up check is not over). */
gboolean sv_jobs_run_now(SvJobs *jobs, const char *name, SvJobsRunFunc func, gpointer user_data,
                         GError **error);

/* Each job's state in this instance, for `sdvisor status`: an array of SvJobStatus whose
 * strings are borrowed from JOBS. */
typedef struct {
  const char *name;
  gint64 next_usec;  /* the next planned run (slot + randomized delay), µs since the
                          * epoch; -1 = none */
  gboolean running;  /* a run is in progress here (claiming, running or recording) */
  gboolean checking; /* its start-up check (catch-up, interrupted runs) is not over: a
                      * manual run is refused until it is */
  gboolean running_manual;
  pid_t running_pid; /* 0 while claiming */
  gint64 running_since_usec;
  int last_result; /* SvJobResult of this instance's last finished run; NONE = none */
  int last_exit_code;
  gint64 last_started_usec;
  gint64 last_duration_usec;
  gboolean last_manual;
  /* once-per=fleet with a usable store: this node's name (else NULL), and the fence of
   * the run in progress here (0 = none, or its claim is not granted yet). */
  const char *fleet_node;
  gint64 running_fence;
} SvJobStatus;
GArray *sv_jobs_get_status(SvJobs *jobs);

/* Asks the fleet store for the latest slot of each job of the app (who ran it, its fence
 * and result: what `sdvisor jobs` shows), for `sdvisor status`. FUNC runs later from the
 * main loop, unless CANCELLABLE is cancelled first or JOBS is freed first (then never: the
 * caller keeps a deadline of its own). FALSE when there is nothing to ask: no job is
 * once-per=fleet (ERROR unset), or the store cannot be used (ERROR says why). */
gboolean sv_jobs_query_fleet_runs(SvJobs *jobs, GCancellable *cancellable, SvStoreRunsFunc func,
                                  gpointer user_data, GError **error);

/* Kills what still runs (SIGKILL), records it as stopped, and frees. Call sv_jobs_stop()
 * first for an orderly end. NULL-safe. */
void sv_jobs_free(SvJobs *jobs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJobs, sv_jobs_free)

/* ---- without running anything (sdvisor jobs, sdvisor check) ---------------------------- */

/* The `sdvisor jobs` table: each job with its last run (slot, result, duration, pid of the
 * instance that ran it) from the state directory, and its next run after NOW_USEC
 * (CLOCK_REALTIME); a job that a running sdvisor cannot run (jobfailure.h) says so, why and
 * since when. Creates nothing; a missing state directory means "never ran".
 * *OUT_TROUBLE: the state directory or a job's state cannot be read, or a job cannot run. */
char *sv_jobs_describe(const char *app_name, GPtrArray *job_configs, const char *state_dir,
                       gint64 now_usec, gboolean *out_trouble, GError **error);

/* The next N run times (slot + randomized delay, µs since the epoch) after NOW_USEC;
 * fewer if the schedule ends. */
GArray *sv_jobs_next_runs(const char *app_name, const SvJobConfig *job, gint64 now_usec, guint n,
                          GError **error);

/* One line per job, "NAME: next runs T1, T2, …", for `sdvisor check`. */
char *sv_jobs_describe_next_runs(const char *app_name, GPtrArray *job_configs, gint64 now_usec,
                                 guint n, GError **error);

/* This host's delay for a job: a hash of MACHINE_ID, APP_NAME and JOB_NAME modulo
 * MAX_USEC (0 when MAX_USEC ≤ 0). MACHINE_ID NULL = /etc/machine-id. */
gint64 sv_jobs_randomized_delay(const char *machine_id, const char *app_name, const char *job_name,
                                gint64 max_usec);

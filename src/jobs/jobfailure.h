/* jobfailure.h — jobs that cannot run, published where `sdvisor jobs` finds them.
 *
 * When a job's lock or state cannot be opened, read or written, the state directory is
 * the one place that cannot say so, and what it still holds (the last run, "success")
 * is out of date. So the sdvisor that finds it writes its app's failing jobs into its
 * runtime directory ($RUNTIME_DIRECTORY: systemd's RuntimeDirectory=sdvisor/INSTANCE),
 * one file per job set, jobs-failing.ID:
 *
 *   app=shop
 *   pid=4242
 *   failing<TAB>SINCE_USEC<TAB>JOB<TAB>REASON
 *
 * and `sdvisor jobs` reads those of live sdvisor processes of the same app. A file
 * without failing lines is removed. */
#pragma once
#include <glib.h>
#include <sys/types.h>

typedef struct {
  char *job;
  gint64 since_usec; /* CLOCK_REALTIME: when the job first could not run */
  char *reason;
  pid_t pid; /* the sdvisor that found it (filled in by sv_job_failures_find) */
} SvJobFailure;

SvJobFailure *sv_job_failure_new(const char *job, gint64 since_usec, const char *reason);
void sv_job_failure_free(SvJobFailure *failure); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJobFailure, sv_job_failure_free)

/* The file's text for APP's FAILURES (SvJobFailure*) found by sdvisor PID. Pure. */
char *sv_job_failures_serialize(const char *app, pid_t pid, GPtrArray *failures);
/* Parses a file's text: the failures (each with PID set), or NULL if it is not one of
 * these files. Pure. */
GPtrArray *sv_job_failures_parse(const char *text, char **out_app, pid_t *out_pid);

/* Writes (atomically) or, with no FAILURES, removes RUNTIME_DIR/jobs-failing.ID. */
gboolean sv_job_failures_publish(const char *runtime_dir, const char *id, const char *app,
                                 GPtrArray *failures, GError **error);

/* Every failure of APP that a live sdvisor published in RUNTIME_DIR (NULL: the one of
 * $RUNTIME_DIRECTORY, else every directory below /run/sdvisor, where sdvisor@.service
 * puts its instances'); the oldest of a job when several instances report it. */
GPtrArray *sv_job_failures_find(const char *runtime_dir, const char *app);

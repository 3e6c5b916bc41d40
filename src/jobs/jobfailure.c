/* jobfailure.c — jobs that cannot run, published for `sdvisor jobs` (jobfailure.h). */
#include "jobfailure.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SV_JOB_FAILURES_PREFIX "jobs-failing."
/* Where sdvisor@.service's RuntimeDirectory=sdvisor/%i puts the instances' directories. */
#define SV_JOB_FAILURES_RUN_ROOT "/run/sdvisor"

SvJobFailure *
sv_job_failure_new(const char *job, gint64 since_usec, const char *reason)
{
  SvJobFailure *f = g_new0(SvJobFailure, 1);
  f->job = g_strdup(job);
  f->since_usec = since_usec;
  f->reason = g_strdup(reason);
  return f;
}

void
sv_job_failure_free(SvJobFailure *failure)
{
  if (failure == NULL)
    return;
  g_free(failure->job);
  g_free(failure->reason);
  g_free(failure);
}

/* One line, no tabs: a reason quotes paths and errors, never anything structured. */
static char *
one_field(const char *text)
{
  char *out = g_strdup(text != NULL ? text : "");
  for (char *p = out; *p; p++)
    if (*p == '\t' || *p == '\n' || *p == '\r')
      *p = ' ';
  return out;
}

char *
sv_job_failures_serialize(const char *app, pid_t pid, GPtrArray *failures)
{
  g_autofree char *a = one_field(app);
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "app=%s\npid=%d\n", a, (int)pid);
  for (guint i = 0; failures != NULL && i < failures->len; i++) {
    const SvJobFailure *f = failures->pdata[i];
    g_autofree char *job = one_field(f->job);
    g_autofree char *reason = one_field(f->reason);
    g_string_append_printf(s, "failing\t%" G_GINT64_FORMAT "\t%s\t%s\n", f->since_usec, job,
                           reason);
  }
  return g_string_free(s, FALSE);
}

GPtrArray *
sv_job_failures_parse(const char *text, char **out_app, pid_t *out_pid)
{
  g_autofree char *app = NULL;
  gint64 pid = 0;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)sv_job_failure_free);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    if (g_str_has_prefix(*l, "app=") && app == NULL) {
      app = g_strdup(*l + strlen("app="));
    } else if (g_str_has_prefix(*l, "pid=")) {
      if (!g_ascii_string_to_signed(*l + strlen("pid="), 10, 1, G_MAXINT32, &pid, NULL))
        return NULL;
    } else if (g_str_has_prefix(*l, "failing\t")) {
      g_auto(GStrv) w = g_strsplit(*l, "\t", 4);
      gint64 since = 0;
      if (g_strv_length(w) != 4 || !g_ascii_string_to_signed(w[1], 10, 0, G_MAXINT64, &since, NULL))
        return NULL;
      g_ptr_array_add(out, sv_job_failure_new(w[2], since, w[3]));
    } else if (**l != '\0') {
      return NULL;
    }
  }
  if (app == NULL || pid == 0)
    return NULL;
  for (guint i = 0; i < out->len; i++)
    ((SvJobFailure *)out->pdata[i])->pid = (pid_t)pid;
  if (out_app != NULL)
    *out_app = g_steal_pointer(&app);
  if (out_pid != NULL)
    *out_pid = (pid_t)pid;
  return g_steal_pointer(&out);
}

gboolean
sv_job_failures_publish(const char *runtime_dir, const char *id, const char *app,
                        GPtrArray *failures, GError **error)
{
  g_autofree char *name = g_strconcat(SV_JOB_FAILURES_PREFIX, id, NULL);
  g_autofree char *path = g_build_filename(runtime_dir, name, NULL);
  if (failures == NULL || failures->len == 0) {
    if (unlink(path) < 0 && errno != ENOENT) {
      int errsv = errno;
      g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "unlink %s: %s", path,
                  g_strerror(errsv));
      return FALSE;
    }
    return TRUE;
  }
  g_autofree char *text = sv_job_failures_serialize(app, getpid(), failures);
  /* 0644: whoever may run `sdvisor jobs` reads it; it holds no more than the journal. */
  return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static void
collect(const char *dir, const char *app, GHashTable *by_job)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *entry;
  while (d != NULL && (entry = g_dir_read_name(d)) != NULL) {
    if (!g_str_has_prefix(entry, SV_JOB_FAILURES_PREFIX))
      continue;
    g_autofree char *path = g_build_filename(dir, entry, NULL);
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL) || len > 64 * 1024)
      continue;
    g_autofree char *file_app = NULL;
    pid_t pid = 0;
    g_autoptr(GPtrArray) found = sv_job_failures_parse(text, &file_app, &pid);
    /* A file that a dead sdvisor left (killed: it had no time to remove it) says nothing. */
    if (found == NULL || !g_str_equal(file_app, app) || (kill(pid, 0) < 0 && errno != EPERM))
      continue;
    while (found->len > 0) {
      SvJobFailure *f = g_ptr_array_steal_index(found, 0);
      SvJobFailure *known = g_hash_table_lookup(by_job, f->job);
      if (known == NULL || f->since_usec < known->since_usec)
        g_hash_table_replace(by_job, f->job, f);
      else
        sv_job_failure_free(f);
    }
  }
}

GPtrArray *
sv_job_failures_find(const char *runtime_dir, const char *app)
{
  g_autoptr(GHashTable) by_job =
      g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)sv_job_failure_free);
  const char *env = g_getenv("RUNTIME_DIRECTORY");
  if (runtime_dir != NULL) {
    collect(runtime_dir, app, by_job);
  } else if (env != NULL) {
    g_auto(GStrv) dirs = g_strsplit(env, ":", -1);
    for (char **d = dirs; *d != NULL; d++)
      if (**d != '\0')
        collect(*d, app, by_job);
  } else {
    g_autoptr(GDir) root = g_dir_open(SV_JOB_FAILURES_RUN_ROOT, 0, NULL);
    const char *entry;
    while (root != NULL && (entry = g_dir_read_name(root)) != NULL) {
      g_autofree char *dir = g_build_filename(SV_JOB_FAILURES_RUN_ROOT, entry, NULL);
      collect(dir, app, by_job);
    }
  }
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)sv_job_failure_free);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, by_job);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    g_hash_table_iter_steal(&it);
    g_ptr_array_add(out, value);
  }
  return out;
}

/* instance.c — one start of the app: its process, its tree, its probes. */
#include "instance.h"

#include <signal.h>

#include "notify-proxy.h"
#include "reaper.h"

SvInstance *
sv_instance_new(SvNotifyProxy *proxy, const SvInstanceFuncs *funcs, gpointer user_data)
{
  SvInstance *instance = g_new0(SvInstance, 1);
  instance->proxy = proxy;
  instance->funcs = *funcs;
  instance->user_data = user_data;
  instance->healthy = TRUE;
  instance->tree = sv_proctree_new("app", NULL, TRUE);
  return instance;
}

void
sv_instance_set_funcs(SvInstance *instance, const SvInstanceFuncs *funcs, gpointer user_data)
{
  instance->funcs = *funcs;
  instance->user_data = user_data;
}

static void
on_tree_empty(SvProcTree *tree, gpointer user_data)
{
  SvInstance *instance = user_data;
  g_clear_handle_id(&instance->deadline_timer, g_source_remove);
  instance->gone = TRUE;
  instance->funcs.gone(instance, instance->user_data);
}

static void
on_main_exit(pid_t pid, int status, gpointer user_data)
{
  SvInstance *instance = user_data;
  /* What the app said last is still read before it stops being the app. */
  if (instance->proxy != NULL) {
    sv_notify_proxy_flush(instance->proxy);
    sv_notify_proxy_set_app_pid(instance->proxy, 0);
  }
  instance->status = status;
  instance->exited = TRUE;
  if (instance->ready_probe)
    sv_probe_stop(instance->ready_probe);
  if (instance->health_probe)
    sv_probe_stop(instance->health_probe);
  instance->funcs.exited(instance, instance->user_data);
  /* GONE once the tree is empty; the first look comes from the loop, once the reaper has
   * collected every zombie (then, with nothing left, no pass over /proc is needed). */
  sv_proctree_watch_empty(instance->tree, on_tree_empty, instance);
}

gboolean
sv_instance_spawn(SvInstance *instance, SvSpawnOptions *options, int *out_exec_errno,
                  GError **error)
{
  options->cgroup_procs_fd = sv_proctree_procs_fd(instance->tree);
  pid_t pid = 0;
  gboolean ok = sv_spawn(options, &pid, out_exec_errno, error);
  if (pid <= 0)
    return FALSE;
  instance->pid = pid;
  sv_proctree_set_leader(instance->tree, pid);
  sv_reaper_watch(pid, on_main_exit, instance);
  if (ok && instance->proxy != NULL)
    sv_notify_proxy_set_app_pid(instance->proxy, pid);
  return ok;
}

static gboolean
on_deadline(gpointer user_data)
{
  SvInstance *instance = user_data;
  instance->deadline_timer = 0;
  instance->funcs.deadline(instance, instance->user_data);
  return G_SOURCE_REMOVE;
}

void
sv_instance_stop(SvInstance *instance, int sig, gint64 timeout_usec)
{
  if (instance->gone)
    return;
  instance->stopped = TRUE;
  /* The deadline counts from now, however long signalling takes. */
  if (instance->deadline_timer == 0 && timeout_usec != G_MAXINT64)
    instance->deadline_timer = g_timeout_add_full(
        G_PRIORITY_HIGH, (guint)MIN(timeout_usec / 1000, G_MAXUINT), on_deadline, instance, NULL);
  (void)sv_proctree_signal(instance->tree, sig);
}

void
sv_instance_kill(SvInstance *instance)
{
  if (instance->gone)
    return;
  g_clear_handle_id(&instance->deadline_timer, g_source_remove);
  instance->killed = TRUE;
  (void)sv_proctree_signal(instance->tree, SIGKILL);
}

gboolean
sv_instance_has_leftovers(SvInstance *instance)
{
  return instance->exited && !instance->gone;
}

void
sv_instance_free(SvInstance *instance)
{
  if (instance == NULL)
    return;
  if (instance->pid > 0 && !instance->exited)
    sv_reaper_unwatch(instance->pid);
  if (instance->proxy != NULL && !instance->exited)
    sv_notify_proxy_set_app_pid(instance->proxy, 0);
  g_clear_handle_id(&instance->deadline_timer, g_source_remove);
  g_clear_pointer(&instance->ready_probe, sv_probe_free);
  g_clear_pointer(&instance->health_probe, sv_probe_free);
  g_clear_pointer(&instance->tree, sv_proctree_free);
  g_free(instance);
}

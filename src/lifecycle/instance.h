/* instance.h — one running copy of the app.
 *
 * An instance owns what belongs to one start of the app: its main process, its process
 * tree (proctree.h: a sub-cgroup, or the subreaper's view), its readiness and health
 * probes and its binding to the notify proxy (the proxy accepts this instance's pid).
 * The supervisor holds one; a zero-downtime replacement will hold two while the new one
 * starts and the old one drains, which is why nothing here is global.
 *
 * Stopping covers the whole tree: sv_instance_stop() sends the stop signal to every
 * process and arms the deadline; at the deadline DEADLINE runs (the supervisor says so
 * and calls sv_instance_kill()). EXITED runs when the main process is reaped — its
 * status is the app's — and GONE once the main process and every process of its tree
 * are gone, which is when hooks that must come after the app (on-failure, post-stop) may
 * run. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#include "probe.h"
#include "proctree.h"
#include "spawn.h"

typedef struct SvNotifyProxy SvNotifyProxy; /* notify-proxy.h */
typedef struct SvInstance SvInstance;

typedef struct {
  void (*exited)(SvInstance *instance, gpointer user_data);   /* main process reaped */
  void (*gone)(SvInstance *instance, gpointer user_data);     /* and its whole tree */
  void (*deadline)(SvInstance *instance, gpointer user_data); /* stop deadline reached */
} SvInstanceFuncs;

struct SvInstance {
  pid_t pid;        /* the main process; stays set after it exits, for messages */
  int status;       /* its wait status, once exited */
  gboolean exited;  /* the main process was reaped */
  gboolean gone;    /* and nothing of its tree is left */
  gboolean stopped; /* the stop signal went to its tree */
  gboolean killed;  /* sdvisor sent SIGKILL (deadline, second SIGTERM) */
  SvProcTree *tree;

  SvProbe *ready_probe;
  SvProbe *health_probe;
  gboolean healthy; /* the health probe's last verdict (TRUE without one) */

  /* private */
  SvNotifyProxy *proxy;
  SvInstanceFuncs funcs;
  gpointer user_data;
  guint deadline_timer;
};

/* PROXY (may be NULL) is bound to the instance's pid while its main process lives. */
SvInstance *sv_instance_new(SvNotifyProxy *proxy, const SvInstanceFuncs *funcs, gpointer user_data);

/* Who hears of the instance from now on: a replacement's new instance becomes the app,
 * the old one a draining instance (supervisor.c). */
void sv_instance_set_funcs(SvInstance *instance, const SvInstanceFuncs *funcs, gpointer user_data);

/* sv_spawn() into the instance's tree. Same contract as sv_spawn(): on an exec failure
 * the pid is still set and the child exits 127/126, reported through EXITED. */
gboolean sv_instance_spawn(SvInstance *instance, SvSpawnOptions *options, int *out_exec_errno,
                           GError **error);

/* SIG to every process of the tree; DEADLINE after TIMEOUT_USEC (G_MAXINT64 = none),
 * unless a deadline is armed already (a later call only signals again). */
void sv_instance_stop(SvInstance *instance, int sig, gint64 timeout_usec);
/* SIGKILL to the whole tree, now. */
void sv_instance_kill(SvInstance *instance);
/* Processes of the tree still alive while the main process has exited. */
gboolean sv_instance_has_leftovers(SvInstance *instance);

/* Frees the probes, kills what is left of the tree. NULL-safe. */
void sv_instance_free(SvInstance *instance);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvInstance, sv_instance_free)

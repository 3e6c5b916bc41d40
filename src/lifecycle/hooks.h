/* hooks.h — [hook:NAME] commands run at lifecycle events.
 *
 * A run takes the hooks of one event, in file order, and runs them one after another
 * on the main loop, never blocking it. Each hook is a child of its own (spawn.c: own
 * session and process group; reaper.c reaps it) with the app's environment plus
 * variables describing the event:
 *
 *   SDVISOR_EVENT        pre-start, post-start, pre-stop, post-stop, reload, on-failure,
 *                        on-unhealthy
 *   SDVISOR_HOOK         the hook's NAME
 *   SDVISOR_APP_NAME     [app] name
 *   SDVISOR_APP_PID      the app's pid, only when there is an app
 *   SDVISOR_EXIT_CODE    post-stop and on-failure only, when known: the app's exit code
 *                        (the code, or 128+N for signal N, as a shell reports it)
 *   SDVISOR_EXIT_STATUS  the same events: "exited", "killed" or "dumped" (systemd's words)
 *
 * The hook's own environment= entries override the app's; the SDVISOR_* variables
 * override both. Variables addressed to the app alone (NOTIFY_SOCKET, LISTEN_*,
 * WATCHDOG_*) are removed: a hook is not the app, and must not speak for it.
 *
 * Timeouts: at timeout= the hook's whole process tree (proctree.h: its sub-cgroup, or its
 * process group, session and descendants) gets SIGTERM, and SIGKILL after a grace of a
 * tenth of the timeout, at least 100 ms and at most 2 s (2 s for a hook without a
 * timeout: timeout=0 or infinity). When a hook's main process ends, whatever is left in
 * its tree gets SIGKILL: nothing of a hook outlives it. (Without a delegated cgroup, a
 * descendant that left both the session and its parents' line before sdvisor looked
 * escapes this; sdvisor, as child subreaper, still reaps it.) A hook fails when it exits
 * with a status other than 0, is killed by a signal,
 * times out (whatever its exit status after SIGTERM) or cannot be executed.
 *
 * Journal: every start, finish, failure and timeout is an entry (message-ids.h:
 * SV_MESSAGE_HOOK_*) with SDVISOR_HOOK=, SDVISOR_EVENT=, SDVISOR_HOOK_PID= and, at the
 * end, SDVISOR_EXIT_CODE= and SDVISOR_EXIT_STATUS= of the hook itself. Environment
 * values are never logged. The hook's stdout and stderr go to the journal through
 * CTX->log_streams (logstream.h) when given, else they are sdvisor's own. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#include "config.h"

typedef struct SvLogStreams SvLogStreams; /* logstream.h */

typedef struct {
  SvHookEvent event;             /* exactly one bit */
  const char *app_name;          /* NULL: SDVISOR_APP_NAME not set */
  pid_t app_pid;                 /* 0 = no app: SDVISOR_APP_PID not set */
  int exit_code;                 /* -1 = unknown; used for post-stop and on-failure only */
  const char *exit_status;       /* "exited" | "killed" | "dumped", with exit_code */
  const char *working_directory; /* the app's; NULL = sdvisor's */
  /* Issue 6: where each hook's stdout and stderr go — pipes read into the journal with
   * SDVISOR_SOURCE=hook and SDVISOR_HOOK=NAME. NULL = sdvisor's own, inherited. Must
   * outlive the run. */
  SvLogStreams *log_streams;
} SvHookContext;

#define SV_HOOK_CONTEXT_INIT                                                                       \
  {                                                                                                \
    .exit_code = -1                                                                                \
  }

/* HOOK is the run's own copy of the configuration, valid during the call only: a run
 * never points into a configuration that a reload may free. */
typedef void (*SvHookStartedFunc)(const SvHookConfig *hook, pid_t pid, gpointer user_data);
/* FAILED is NULL when OK; after sv_hooks_cancel() it is the hook that was running (or
 * NULL if none was) and DETAIL is "cancelled". DETAIL is for people: "exited with
 * status 3", "timed out after 30s", "cannot execute '/x': No such file or directory". */
typedef void (*SvHooksDoneFunc)(gboolean ok, const SvHookConfig *failed, const char *detail,
                                gpointer user_data);

typedef struct SvHookRun SvHookRun;

/* Runs, one after another in file order, every hook of HOOKS (SvHookConfig*; NULL = none)
 * whose `when` has CTX->event. HOOKS and CTX are copied: the caller may free them at once.
 * BASE_ENV is the app's environment (NULL = sv_spawn_base_environ()).
 *
 * A hook that fails stops the sequence with ok=FALSE if it has on-error=fail; with
 * on-error=ignore the failure is logged and the next hook runs. STARTED (may be NULL) is
 * called when each hook has been executed — the supervisor names it in STATUS= and
 * extends systemd's timeout by sv_budget_hook() (budget.h). DONE is called exactly once,
 * always from the main loop and never from within this call (also when there is no
 * hook to run); the run frees itself after DONE returns. Nothing is started before the
 * main loop runs. */
SvHookRun *sv_hooks_run(GPtrArray *hooks, const SvHookContext *ctx, char *const *base_env,
                        SvHookStartedFunc started, SvHooksDoneFunc done, gpointer user_data);

/* Stops RUN: no further hook starts; the running hook's process group gets SIGTERM, then
 * SIGKILL after the grace. DONE (ok=FALSE, "cancelled") follows once that hook is gone,
 * or on an idle if none was running. Idempotent until DONE; RUN must not be used after
 * DONE has returned. */
void sv_hooks_cancel(SvHookRun *run);

/* How many hooks of HOOKS run at EVENT. */
guint sv_hooks_count(GPtrArray *hooks, SvHookEvent event);

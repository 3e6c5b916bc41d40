/* reaper.c — SIGCHLD through a signalfd, waitpid(-1) until nothing is left. */
#include "reaper.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  SvReaperFunc func;
  gpointer user_data;
} SvReaperWatch;

typedef struct {
  int signal_fd;
  guint source_id;
  GHashTable *watches;   /* pid → SvReaperWatch */
  GHashTable *unclaimed; /* pid → wait status, for pids reaped before anyone watched */
  guint64 orphans;
  GHashTable *reaped_funcs; /* id → SvReaperReapedCall */
  guint next_reaped_id;
} SvReaper;

typedef struct {
  SvReaperReapedFunc func;
  gpointer user_data;
} SvReaperReapedCall;

static SvReaper reaper = {.signal_fd = -1};

/* Bounded: statuses of pids nobody watches are kept only briefly, for the race where a
 * child exits before sv_reaper_watch() is called (spawn → watch happens on one thread,
 * so the window is only within sv_spawn()'s caller). Orphans fill this too, hence the cap. */
#define SV_REAPER_MAX_UNCLAIMED 64

static void
dispatch(pid_t pid, int status)
{
  SvReaperWatch *watch = g_hash_table_lookup(reaper.watches, GINT_TO_POINTER(pid));
  if (watch == NULL) {
    reaper.orphans++;
    if (g_hash_table_size(reaper.unclaimed) >= SV_REAPER_MAX_UNCLAIMED)
      g_hash_table_remove_all(reaper.unclaimed);
    g_hash_table_insert(reaper.unclaimed, GINT_TO_POINTER(pid), GINT_TO_POINTER(status));
    return;
  }
  SvReaperWatch copy = *watch;
  g_hash_table_remove(reaper.watches, GINT_TO_POINTER(pid));
  copy.func(pid, status, copy.user_data);
}

void
sv_reaper_reap_now(void)
{
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      dispatch(pid, status);
      continue;
    }
    if (pid < 0 && errno == EINTR)
      continue;
    break; /* 0: children left but none exited; ECHILD: no children */
  }
}

static gboolean
on_sigchld(int fd, GIOCondition condition, gpointer user_data)
{
  /* Drain the signalfd; SIGCHLDs coalesce, so the count does not matter — the
   * waitpid loop reaps everything pending either way. */
  struct signalfd_siginfo info[8];
  while (read(fd, info, sizeof info) > 0)
    ;
  sv_reaper_reap_now();
  if (reaper.reaped_funcs != NULL && g_hash_table_size(reaper.reaped_funcs) > 0) {
    /* A copy: a call may add or remove others. */
    g_autoptr(GList) ids = g_hash_table_get_keys(reaper.reaped_funcs);
    for (GList *l = ids; l != NULL; l = l->next) {
      SvReaperReapedCall *call = g_hash_table_lookup(reaper.reaped_funcs, l->data);
      if (call != NULL)
        call->func(call->user_data);
    }
  }
  return G_SOURCE_CONTINUE;
}

gboolean
sv_reaper_init(GError **error)
{
  g_return_val_if_fail(reaper.signal_fd < 0, FALSE);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "sigprocmask: %s",
                g_strerror(errsv));
    return FALSE;
  }

  /* Orphans of the app's tree are re-parented to us instead of PID 1, so they are
   * reaped here and the app's double-forked daemons are still ours to kill. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "PR_SET_CHILD_SUBREAPER: %s",
                g_strerror(errsv));
    return FALSE;
  }

  reaper.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (reaper.signal_fd < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "signalfd: %s", g_strerror(errsv));
    return FALSE;
  }
  reaper.watches = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  reaper.unclaimed = g_hash_table_new(NULL, NULL);
  reaper.source_id = g_unix_fd_add(reaper.signal_fd, G_IO_IN, on_sigchld, NULL);
  return TRUE;
}

typedef struct {
  pid_t pid;
  int status;
  SvReaperFunc func;
  gpointer user_data;
} SvReaperLate;

static gboolean
dispatch_late(gpointer data)
{
  SvReaperLate *late = data;
  /* Still wanted? sv_reaper_unwatch() in between removes the entry. */
  SvReaperWatch *watch = g_hash_table_lookup(reaper.watches, GINT_TO_POINTER(late->pid));
  if (watch != NULL && watch->func == late->func && watch->user_data == late->user_data) {
    g_hash_table_remove(reaper.watches, GINT_TO_POINTER(late->pid));
    late->func(late->pid, late->status, late->user_data);
  }
  return G_SOURCE_REMOVE;
}

void
sv_reaper_watch(pid_t pid, SvReaperFunc func, gpointer user_data)
{
  g_return_if_fail(pid > 0 && func != NULL);

  SvReaperWatch *watch = g_new0(SvReaperWatch, 1);
  watch->func = func;
  watch->user_data = user_data;
  g_hash_table_replace(reaper.watches, GINT_TO_POINTER(pid), watch);

  gpointer status;
  if (g_hash_table_lookup_extended(reaper.unclaimed, GINT_TO_POINTER(pid), NULL, &status)) {
    /* Reaped before anyone asked: report from the loop, never re-entrantly. */
    g_hash_table_remove(reaper.unclaimed, GINT_TO_POINTER(pid));
    reaper.orphans--;
    SvReaperLate *late = g_new0(SvReaperLate, 1);
    late->pid = pid;
    late->status = GPOINTER_TO_INT(status);
    late->func = func;
    late->user_data = user_data;
    g_idle_add_full(G_PRIORITY_HIGH, dispatch_late, late, g_free);
  }
}

guint
sv_reaper_add_reaped_func(SvReaperReapedFunc func, gpointer user_data)
{
  if (reaper.reaped_funcs == NULL)
    reaper.reaped_funcs = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  SvReaperReapedCall *call = g_new0(SvReaperReapedCall, 1);
  call->func = func;
  call->user_data = user_data;
  guint id = ++reaper.next_reaped_id;
  g_hash_table_insert(reaper.reaped_funcs, GUINT_TO_POINTER(id), call);
  return id;
}

void
sv_reaper_remove_reaped_func(guint id)
{
  if (reaper.reaped_funcs != NULL && id != 0)
    g_hash_table_remove(reaper.reaped_funcs, GUINT_TO_POINTER(id));
}

gboolean
sv_reaper_is_watched(pid_t pid)
{
  return reaper.watches != NULL && g_hash_table_contains(reaper.watches, GINT_TO_POINTER(pid));
}

void
sv_reaper_unwatch(pid_t pid)
{
  if (reaper.watches != NULL)
    g_hash_table_remove(reaper.watches, GINT_TO_POINTER(pid));
}

guint64
sv_reaper_orphans_reaped(void)
{
  return reaper.orphans;
}

int
sv_wait_status_to_exit_code(int wait_status)
{
  if (WIFEXITED(wait_status))
    return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status))
    return 128 + WTERMSIG(wait_status);
  return 255;
}

const char *
sv_wait_status_kind(int wait_status)
{
  if (WIFEXITED(wait_status))
    return "exited";
  if (WIFSIGNALED(wait_status))
    return WCOREDUMP(wait_status) ? "dumped" : "killed";
  return "unknown";
}

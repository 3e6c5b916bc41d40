/* reaper.h — the only code that calls waitpid().
 *
 * SIGCHLD arrives through a signalfd; every wake-up reaps with waitpid(-1, WNOHANG) until
 * nothing is left, and hands each status to the callback registered for that pid. Pids
 * nobody registered (orphans adopted as subreaper or PID 1) are reaped silently. GLib's
 * g_child_watch_add() and GSubprocess must never be used next to it: they would reap
 * behind its back. */
#pragma once
#include <glib.h>
#include <sys/types.h>

typedef void (*SvReaperFunc)(pid_t pid, int wait_status, gpointer user_data);

/* Blocks SIGCHLD, makes this process a child subreaper and starts watching on the
 * thread-default main context. Call once, before any child is spawned. */
gboolean sv_reaper_init(GError **error);

/* FUNC runs once, from the main loop, when PID is reaped. A pid that already exited
 * before the call is still reported (statuses of watched-for pids are never lost,
 * since reaping and dispatch happen on the same thread). */
void sv_reaper_watch(pid_t pid, SvReaperFunc func, gpointer user_data);
void sv_reaper_unwatch(pid_t pid);
/* Someone waits for PID: it is one of sdvisor's own children, not an adopted orphan. */
gboolean sv_reaper_is_watched(pid_t pid);

/* FUNC runs from the main loop after every round of reaping (a child of sdvisor, its own
 * or an adopted orphan, has exited): proctree.c's signal that a tree may be empty now.
 * Returns an id for sv_reaper_remove_reaped_func(). */
typedef void (*SvReaperReapedFunc)(gpointer user_data);
guint sv_reaper_add_reaped_func(SvReaperReapedFunc func, gpointer user_data);
void sv_reaper_remove_reaped_func(guint id);

/* Reaps whatever is pending right now, without waiting for the main loop. */
void sv_reaper_reap_now(void);

/* How many orphans (unwatched pids) have been reaped so far. */
guint64 sv_reaper_orphans_reaped(void);

/* Exit code the way a shell reports it: the code, or 128+N for signal N. */
int sv_wait_status_to_exit_code(int wait_status);
/* "exited", "killed" or "dumped", as systemd names them. */
const char *sv_wait_status_kind(int wait_status);

/* proctree.h — every process a child of sdvisor started, and stopping all of them.
 *
 * A tree is what one spawn (the app instance, a hook run, a job run) became: its main
 * process and everything that descends from it, including processes that changed their
 * process group or session and orphans re-parented to sdvisor. Two mechanisms, chosen
 * once at start (sv_proctree_setup) and said in one journal entry:
 *
 *   cgroup     sdvisor's cgroup v2 is delegated to it (systemd Delegate=yes): sdvisor
 *              moves itself into the leaf "supervisor", each tree gets a sub-cgroup
 *              ("app-1", "hook-migrate-3", "job-backup-7") that the child enters before it
 *              execs; a signal goes to every pid of cgroup.procs, SIGKILL through
 *              cgroup.kill where the kernel has it; "all gone" is `populated 0` in
 *              cgroup.events, watched with inotify.
 *   subreaper  anything else (a shell, a container without a writable cgroup): the tree is
 *              the main process's process group and session, their descendants
 *              (/proc/PID/task/TID/children), and — for the tree that adopts orphans (the
 *              app's) — sdvisor's own children that nobody waits for (sv_reaper_watch):
 *              processes whose parents died, re-parented to sdvisor as child subreaper.
 *              Every pid once seen stays a member while it lives. "All gone" is checked
 *              when the reaper has collected a child while someone waits for it: the
 *              last process of a tree is sdvisor's child when it exits.
 *
 * Nothing here wakes up while nobody waits: an idle tree has no timer and no fd. */
#pragma once
#include <glib.h>
#include <sys/types.h>

typedef enum {
  SV_PROCTREE_SUBREAPER,
  SV_PROCTREE_CGROUP,
} SvProcTreeMechanism;

/* Chooses the mechanism; with a delegated cgroup, moves sdvisor into its leaf. Call once,
 * after the log writer is installed and before any child is spawned. Logs one entry. */
void sv_proctree_setup(void);
SvProcTreeMechanism sv_proctree_mechanism(void);
/* The cgroup v2 directory sdvisor was given, or NULL in subreaper mode. */
const char *sv_proctree_cgroup_root(void);

typedef struct SvProcTree SvProcTree;
typedef void (*SvProcTreeEmptyFunc)(SvProcTree *tree, gpointer user_data);

/* KIND and NAME make the sub-cgroup's name ("hook", "migrate" → hook-migrate-N); NAME may
 * be NULL. ADOPTS_ORPHANS: in subreaper mode, sdvisor's unclaimed children count as
 * this tree's (the app's: what its double-forked daemons became). */
SvProcTree *sv_proctree_new(const char *kind, const char *name, gboolean adopts_orphans);

/* The cgroup.procs fd the child writes itself into (SvSpawnOptions.cgroup_procs_fd),
 * -1 in subreaper mode. Valid until the tree is freed. */
int sv_proctree_procs_fd(SvProcTree *tree);
/* The tree's main process, once spawned. */
void sv_proctree_set_leader(SvProcTree *tree, pid_t pid);
/* The sub-cgroup's path, or NULL in subreaper mode. */
const char *sv_proctree_path(SvProcTree *tree);

/* SIG to every process of the tree, followed by SIGCONT unless SIG is SIGKILL or SIGCONT (a
 * stopped process acts on nothing else before it); SIGKILL through cgroup.kill where
 * present. NULL: none. Returns how many processes it found (cgroup.kill: 1 when the
 * cgroup was populated). */
guint sv_proctree_signal(SvProcTree *tree, int sig);
/* No process of the tree is alive (a zombie main process not yet reaped counts as gone). */
gboolean sv_proctree_is_empty(SvProcTree *tree);
/* FUNC runs once, from the main loop, when the tree is empty (at once, from an idle, if
 * it already is). Replaces an earlier watch; NULL cancels it. */
void sv_proctree_watch_empty(SvProcTree *tree, SvProcTreeEmptyFunc func, gpointer user_data);

/* SIGKILLs what is left and frees the tree; the sub-cgroup is removed once it is empty
 * (from the main loop if it is not at once). NULL-safe. */
void sv_proctree_free(SvProcTree *tree);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvProcTree, sv_proctree_free)

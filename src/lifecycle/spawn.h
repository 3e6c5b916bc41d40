/* spawn.h — fork/exec with everything a child needs set up between the two.
 *
 * Between fork() and exec() only async-signal-safe calls happen: everything that
 * allocates (argv, envp, the resolved path) is prepared before the fork. The child
 * gets its own session and process group, default signal dispositions and an empty
 * signal mask, the fds it is given at 0, 1, 2 and 3…, and nothing else open. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#define SV_SPAWN_ERROR (sv_spawn_error_quark())
GQuark sv_spawn_error_quark(void);

typedef enum {
  SV_SPAWN_ERROR_FAILED, /* fork(), the pipes or the child's set-up (fds, working
                          * directory) failed: errno in the message; *out_pid is 0 */
  SV_SPAWN_ERROR_EXEC,   /* the child could not exec: see out_exec_errno */
} SvSpawnError;

typedef struct {
  char *const *argv;             /* argv[0] is searched in PATH (of envp) unless it has a '/' */
  char *const *envp;             /* complete environment; NULL = sdvisor's own */
  const char *working_directory; /* NULL = inherit */
  int stdin_fd;                  /* -1 = /dev/null */
  int stdout_fd;                 /* -1 = inherit sdvisor's */
  int stderr_fd;                 /* -1 = inherit sdvisor's */
  const int *pass_fds;           /* become fds 3, 4, … in the child (LISTEN_FDS style) */
  guint n_pass_fds;
  gboolean set_listen_pid;   /* add LISTEN_PID=<child pid> to the environment */
  gboolean set_watchdog_pid; /* add WATCHDOG_PID=<child pid> to the environment */
  /* An open cgroup.procs (proctree.h): the child moves itself there before it execs, so
   * nothing it starts can be forked outside its cgroup. -1 = stay in sdvisor's. */
  int cgroup_procs_fd;
} SvSpawnOptions;

#define SV_SPAWN_OPTIONS_INIT                                                                      \
  {                                                                                                \
    .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .cgroup_procs_fd = -1                        \
  }

/* Starts the child. On success *out_pid is its pid (also its process group and
 * session id). If the child could not execute, the child still exists and exits
 * with 127 (ENOENT) or 126 (anything else) — so the caller's reaper sees a normal
 * exit — and this returns FALSE with SV_SPAWN_ERROR_EXEC, *out_pid set and
 * *out_exec_errno the reason. */
gboolean sv_spawn(const SvSpawnOptions *options, pid_t *out_pid, int *out_exec_errno,
                  GError **error);

/* Sends SIG to the process group PGID, falling back to the pid alone if the group is
 * gone. Returns 0 or -errno. */
int sv_kill_group(pid_t pgid, int sig);

/* The environment every child starts from: sdvisor's own, without the variables that
 * are addressed to sdvisor alone (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*, SDVISOR_*). */
char **sv_spawn_base_environ(void);

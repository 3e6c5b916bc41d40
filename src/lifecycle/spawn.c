/* spawn.c — fork/exec with async-signal-safe child setup. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drain.h"

G_DEFINE_QUARK(sv - spawn - error - quark, sv_spawn_error)

/* Room for "LISTEN_PID=" plus the longest pid. */
#define SV_PID_SLOT 24
/* The child's stack until execve(): it calls a few syscalls, nothing deep. */
#define SV_CHILD_STACK (64 * 1024)

static const char *const private_prefixes[] = {
    "NOTIFY_SOCKET=", "WATCHDOG_USEC=",  "WATCHDOG_PID=", "LISTEN_PID=",
    "LISTEN_FDS=",    "LISTEN_FDNAMES=", "SDVISOR_",      "JOURNAL_STREAM=",
};

static gboolean
is_private(const char *entry)
{
  for (gsize i = 0; i < G_N_ELEMENTS(private_prefixes); i++)
    if (g_str_has_prefix(entry, private_prefixes[i]))
      return TRUE;
  return FALSE;
}

char **
sv_spawn_base_environ(void)
{
  /* JOURNAL_STREAM is dropped too: it describes sdvisor's stderr, and the app's stderr
   * may be a pipe to sdvisor. When stdio is inherited the app gets it back from the
   * caller (supervisor) explicitly. */
  g_auto(GStrv) env = g_get_environ();
  GPtrArray *out = g_ptr_array_new();
  for (char **e = env; *e != NULL; e++)
    if (!is_private(*e))
      g_ptr_array_add(out, g_strdup(*e));
  /* sdvisor's own variable among the SDVISOR_ ones kept back: the drain file (drain.h). */
  if (sv_drain_get_path() != NULL)
    g_ptr_array_add(out, g_strconcat(SV_DRAIN_ENV "=", sv_drain_get_path(), NULL));
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(out, FALSE);
}

int
sv_kill_group(pid_t pgid, int sig)
{
  if (pgid <= 1)
    return -EINVAL;
  if (kill(-pgid, sig) == 0)
    return 0;
  if (errno == ESRCH && kill(pgid, sig) == 0)
    return 0;
  return -errno;
}

static const char *
lookup_env(char *const *envp, const char *name)
{
  gsize len = strlen(name);
  for (; envp != NULL && *envp != NULL; envp++)
    if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
      return *envp + len + 1;
  return NULL;
}

/* PATH search in the parent, with the child's PATH, so the child only calls execve().
 * A file that exists but is not executable is returned too, so exec fails with EACCES
 * (126) rather than ENOENT (127), as a shell would report. */
static char *
resolve_program(const char *name, char *const *envp)
{
  if (strchr(name, '/') != NULL)
    return g_strdup(name);

  const char *path = lookup_env(envp, "PATH");
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  g_auto(GStrv) dirs = g_strsplit(path, ":", -1);
  g_autofree char *non_executable = NULL;
  for (char **d = dirs; *d != NULL; d++) {
    g_autofree char *candidate = g_build_filename(**d ? *d : ".", name, NULL);
    struct stat st;
    if (stat(candidate, &st) < 0 || S_ISDIR(st.st_mode))
      continue;
    if (access(candidate, X_OK) == 0)
      return g_steal_pointer(&candidate);
    if (non_executable == NULL)
      non_executable = g_steal_pointer(&candidate);
  }
  return non_executable ? g_steal_pointer(&non_executable) : g_strdup(name);
}

/* The child runs on the parent's memory (see child_main): AddressSanitizer's bookkeeping
 * there (stack poisoning, the no-return handler) would write the parent's shadow memory
 * from a stack it does not know, so the child's code is left uninstrumented. */
#if defined(__SANITIZE_ADDRESS__)
#define SV_CHILD_CODE __attribute__((no_sanitize_address))
#else
#define SV_CHILD_CODE
#endif

/* Async-signal-safe decimal formatting into BUF; returns the end. */
SV_CHILD_CODE static char *
format_pid(char *buf, pid_t pid)
{
  char tmp[16];
  int n = 0;
  unsigned long v = (unsigned long)pid;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0 && n < (int)sizeof tmp);
  while (n > 0)
    *buf++ = tmp[--n];
  *buf = '\0';
  return buf;
}

/* What the child reports through the error pipe before it dies: whether setting itself
 * up failed (fds, directory: a spawn failure, like fork's) or execve() did (126/127). */
typedef struct {
  int stage; /* 0: execve, 1: set-up, 2: the working directory */
  int err;
} SvChildError;

static void child_report(int errpipe, int stage, int err) G_GNUC_NORETURN;

SV_CHILD_CODE static void
child_report(int errpipe, int stage, int err)
{
  SvChildError report = {stage, err};
  ssize_t r;
  do
    r = write(errpipe, &report, sizeof report);
  while (r < 0 && errno == EINTR);
  _exit(err == ENOENT ? 127 : 126);
}

#define child_fail(fd, err) child_report((fd), 1, (err))

/* Everything the child needs, prepared by the parent before the clone. */
typedef struct {
  const char *program;
  char *const *argv;
  char **envp;
  const char *working_directory;
  int in_fds[3];
  const int *pass_fds;
  guint n_pass;
  char *listen_slot, *watchdog_slot;
  int cgroup_procs_fd;
  int errpipe;
  const sigset_t *child_mask;
} SvChild;

/* The child, on a stack of its own in the parent's memory (CLONE_VM | CLONE_VFORK): the
 * parent waits, suspended, until it has called execve() or _exit(). So nothing here may
 * allocate or touch the parent's state beyond SvChild: async-signal-safe calls only. */
SV_CHILD_CODE static int
child_main(void *data)
{
  const SvChild *c = data;
  pid_t self = getpid();
  if (setsid() < 0)
    child_fail(c->errpipe, errno);
  /* Into its own cgroup first: whatever it forks from here on is born there. */
  if (c->cgroup_procs_fd >= 0 && write(c->cgroup_procs_fd, "0", 1) < 0)
    child_fail(c->errpipe, errno);

  /* A copy of the parent's dispositions (no CLONE_SIGHAND): reset them all. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    (void)sigaction(sig, &sa, NULL);

  /* Move every fd the child keeps above the range it will be placed in, so that
   * dup2() into 0…3+n never clobbers a source not yet placed. */
  int floor = 3 + (int)c->n_pass + 1;
  int err_fd = fcntl(c->errpipe, F_DUPFD_CLOEXEC, floor);
  if (err_fd < 0)
    child_fail(c->errpipe, errno);

  int src[3];
  for (int i = 0; i < 3; i++) {
    if (c->in_fds[i] >= 0) {
      src[i] = fcntl(c->in_fds[i], F_DUPFD_CLOEXEC, floor);
    } else if (i == 0) {
      int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      src[i] = null_fd < 0 ? -1 : fcntl(null_fd, F_DUPFD_CLOEXEC, floor);
    } else {
      src[i] = -2; /* inherit: leave fd i alone */
      continue;
    }
    if (src[i] < 0)
      child_fail(err_fd, errno);
  }
  int pass_src[64];
  if (c->n_pass > G_N_ELEMENTS(pass_src))
    child_fail(err_fd, EMFILE);
  for (guint i = 0; i < c->n_pass; i++) {
    pass_src[i] = fcntl(c->pass_fds[i], F_DUPFD_CLOEXEC, floor);
    if (pass_src[i] < 0)
      child_fail(err_fd, errno);
  }
  for (int i = 0; i < 3; i++)
    if (src[i] >= 0 && dup2(src[i], i) < 0)
      child_fail(err_fd, errno);
  for (guint i = 0; i < c->n_pass; i++)
    if (dup2(pass_src[i], 3 + (int)i) < 0)
      child_fail(err_fd, errno);

  /* Everything above the passed fds goes at exec: systemd's fds, our sockets, the
   * signalfds. CLOEXEC rather than close so err_fd survives until execve(). */
  if (close_range(3 + c->n_pass, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    struct rlimit rl;
    int max_fd =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
    for (int fd = 3 + (int)c->n_pass; fd < max_fd; fd++)
      (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  if (c->working_directory != NULL && chdir(c->working_directory) < 0)
    child_report(err_fd, 2, errno);

  /* The slots are the parent's memory too; it frees them once the child has exec'd. */
  if (c->listen_slot != NULL)
    format_pid(stpcpy(c->listen_slot, "LISTEN_PID="), self);
  if (c->watchdog_slot != NULL)
    format_pid(stpcpy(c->watchdog_slot, "WATCHDOG_PID="), self);

  (void)sigprocmask(SIG_SETMASK, c->child_mask, NULL);
  execve(c->program, c->argv, c->envp);
  child_report(err_fd, 0, errno);
}

/* The calling thread's child stack, kept for its next spawn: the parent is suspended
 * while a child uses it, so one per thread is enough, and not mapping and unmapping it
 * each time saves the page faults and the TLB shootdown of every munmap(). */
static void *
child_stack(void)
{
  static __thread void *stack;
  if (stack == NULL) {
    void *p = mmap(NULL, SV_CHILD_STACK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p != MAP_FAILED)
      stack = p;
  }
  return stack;
}

gboolean
sv_spawn(const SvSpawnOptions *options, pid_t *out_pid, int *out_exec_errno, GError **error)
{
  g_return_val_if_fail(options != NULL && options->argv != NULL && options->argv[0] != NULL, FALSE);

  g_auto(GStrv) own_env = NULL;
  char *const *env_in = options->envp;
  if (env_in == NULL)
    env_in = own_env = sv_spawn_base_environ();

  /* Build envp with writable slots for the pids only the child knows. */
  GPtrArray *env = g_ptr_array_new_with_free_func(g_free);
  char *listen_slot = NULL, *watchdog_slot = NULL;
  for (char *const *e = env_in; *e != NULL; e++) {
    if ((options->set_listen_pid && g_str_has_prefix(*e, "LISTEN_PID=")) ||
        (options->set_watchdog_pid && g_str_has_prefix(*e, "WATCHDOG_PID=")))
      continue;
    g_ptr_array_add(env, g_strdup(*e));
  }
  if (options->set_listen_pid) {
    listen_slot = g_malloc0(SV_PID_SLOT);
    g_ptr_array_add(env, listen_slot);
  }
  if (options->set_watchdog_pid) {
    watchdog_slot = g_malloc0(SV_PID_SLOT);
    g_ptr_array_add(env, watchdog_slot);
  }
  g_ptr_array_add(env, NULL);
  char **envp = (char **)env->pdata;

  g_autofree char *program = resolve_program(options->argv[0], envp);

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) {
    int errsv = errno;
    g_ptr_array_unref(env);
    g_set_error(error, SV_SPAWN_ERROR, SV_SPAWN_ERROR_FAILED, _("cannot create a pipe: %s"),
                g_strerror(errsv));
    return FALSE;
  }

  sigset_t all, old, empty;
  sigfillset(&all);
  sigemptyset(&empty);
  SvChild child = {
      .program = program,
      .argv = options->argv,
      .envp = envp,
      .working_directory = options->working_directory,
      .in_fds = {options->stdin_fd, options->stdout_fd, options->stderr_fd},
      .pass_fds = options->pass_fds,
      .n_pass = options->n_pass_fds,
      .listen_slot = listen_slot,
      .watchdog_slot = watchdog_slot,
      .cgroup_procs_fd = options->cgroup_procs_fd,
      .errpipe = errpipe[1],
      .child_mask = &empty,
  };

  /* clone(CLONE_VM | CLONE_VFORK), as posix_spawn() does, rather than fork(): no copy of
   * sdvisor's page tables and no copy-on-write faults while the child sets up, which
   * made every spawn cost about 0.6 ms of the main loop (job lateness, BENCHMARKS.md).
   * Every signal is blocked meanwhile, so no handler can run in the child on the
   * parent's memory before the child has reset them. */
  void *stack = child_stack();
  pid_t pid = -1;
  int errsv = ENOMEM;
  if (stack != NULL) {
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid =
        clone(child_main, (char *)stack + SV_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
    errsv = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  if (pid < 0) {
    close(errpipe[0]);
    close(errpipe[1]);
    g_ptr_array_unref(env);
    g_set_error(error, SV_SPAWN_ERROR, SV_SPAWN_ERROR_FAILED, _("cannot fork: %s"),
                g_strerror(errsv));
    return FALSE;
  }

  close(errpipe[1]);
  g_ptr_array_unref(env);

  SvChildError report = {0, 0};
  ssize_t n;
  do
    n = read(errpipe[0], &report, sizeof report);
  while (n < 0 && errno == EINTR);
  close(errpipe[0]);

  if (n == (ssize_t)sizeof report && report.stage != 0) {
    /* The child never got to execve(): a failure to spawn, not the app's. Nobody
     * watches its pid, so the reaper reaps it as it does orphans. */
    *out_pid = 0;
    if (report.stage == 2)
      g_set_error(error, SV_SPAWN_ERROR, SV_SPAWN_ERROR_FAILED,
                  _("cannot change to the working directory '%s': %s"), options->working_directory,
                  g_strerror(report.err));
    else
      g_set_error(error, SV_SPAWN_ERROR, SV_SPAWN_ERROR_FAILED, _("cannot set up the child: %s"),
                  g_strerror(report.err));
    return FALSE;
  }
  *out_pid = pid;
  if (n == (ssize_t)sizeof report) {
    if (out_exec_errno != NULL)
      *out_exec_errno = report.err;
    g_set_error(error, SV_SPAWN_ERROR, SV_SPAWN_ERROR_EXEC, _("cannot execute '%s': %s"), program,
                g_strerror(report.err));
    return FALSE;
  }
  if (out_exec_errno != NULL)
    *out_exec_errno = 0;
  return TRUE;
}

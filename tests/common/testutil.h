/* testutil.h — small helpers every C test program may need: time, the slow runs
 * (valgrind, the sanitizers), removing a directory tree, waiting for a process to go,
 * a free TCP port. Linked with the harness and the fake journald as one library
 * (tests/common/meson.build: test_common_dep). */
#pragma once
#include <glib.h>
#include <sys/types.h>

gint64 sv_now_ms(void);
/* SDVISOR_VALGRIND=1 (meson test --setup=valgrind): sdvisor runs under memcheck, many
 * times slower; tests widen what they measure in time. */
gboolean sv_test_under_valgrind(void);
/* Valgrind, or SDVISOR_TEST_SLOW=1 (the sanitizer run): bounds on elapsed time are
 * widened; what they bound from below still holds. */
gboolean sv_test_slow(void);

/* Whether /usr/bin/python3 imports MODULE; if not, the test is skipped (g_test_skip) with
 * the reason. */
gboolean sv_test_have_python_module(const char *module);

/* Removes PATH and everything below it; symbolic links are removed, never followed. */
void sv_test_rm_rf(const char *path);

/* A temporary directory of the test's own (g_dir_make_tmp(TEMPLATE)), its path; freeing
 * it, as g_autoptr(SvTestDir) does when the test returns, removes it and all it holds. */
typedef char SvTestDir;
SvTestDir *sv_test_dir_new(const char *template);
void sv_test_dir_free(SvTestDir *dir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvTestDir, sv_test_dir_free)

/* Waits up to TIMEOUT_MS for PID to be gone entirely (a zombie is not), iterating the
 * default main context meanwhile (so a reaper on it collects its children); TRUE if it
 * went. */
gboolean sv_test_wait_pid_gone(pid_t pid, guint timeout_ms);

/* The state letter of PID ('R', 'S', 'Z' for a zombie…) and, if PPID is not NULL, its
 * parent's pid, from /proc/PID/stat; 0 once PID is gone. */
char sv_test_pid_state(pid_t pid, pid_t *ppid);
/* Whether PID is alive: in /proc and neither a zombie nor dead. */
gboolean sv_test_pid_alive(pid_t pid);

/* Runs the default main context for MS milliseconds (what is due runs; a callback that
 * should not come has the time to). */
void sv_test_spin(guint ms);

/* The pids of PARENT's children that are zombies (not reaped yet). */
GArray *sv_test_zombies_of(pid_t parent);
/* The pids of PARENT's living children (a test that SIGKILLs sdvisor ends its app too). */
GArray *sv_test_children_of(pid_t parent);

/* Probes, doing what the test needs once in a throwaway child: NULL where it works here,
 * else why not (unshare's or mount's own words), for g_test_skip(). */
/* A private mount namespace (unshare -m) with a tmpfs mounted in it. */
char *sv_test_mount_ns_missing(void);
/* A PID namespace with its own /proc (unshare --fork --pid --mount-proc). */
char *sv_test_pid_ns_missing(void);

/* A 64 KiB tmpfs mounted (mount(2), in this process's namespace) at DIR/small, made
 * for it; its path, or NULL after g_test_skip() where it cannot be mounted. The caller
 * unmounts it. */
char *sv_test_mount_small_tmpfs(const char *dir);
/* Writes DIR/filler until the file system is full (the test fails if the write stops
 * for another reason than ENOSPC); its path (removing it makes room). */
char *sv_test_fill_up(const char *dir);
/* How many entries of DIR have a name that begins with '.': temporary files a writer
 * has not renamed into place. */
guint sv_test_count_hidden(const char *dir);

/* A job state directory of the test's own, for sdvisor's STATE_DIRECTORY: BASE a new
 * temporary directory, STATE = BASE/state (0700, as systemd makes it), APP_DIR =
 * STATE/APP, made. Freeing it removes BASE and everything below. */
typedef struct {
  SvTestDir *base;
  char *state;
  char *app_dir;
  char *env; /* STATE_DIRECTORY=STATE */
} SvTestStateDir;
SvTestStateDir *sv_test_state_dir_new(const char *app);
void sv_test_state_dir_free(SvTestStateDir *dir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvTestStateDir, sv_test_state_dir_free)

/* Everything readable from FD until its write end closes or TIMEOUT_MS pass in silence. */
char *sv_test_read_until_quiet(int fd, int timeout_ms);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int sv_free_port(void);

/* A listening TCP socket of the test's own on 127.0.0.1:PORT (the test fails if it
 * cannot be bound). */
int sv_test_listen_tcp(int port);
/* A stream connection to 127.0.0.1:PORT, or to the unix socket PATH; -1 if refused. */
int sv_test_connect_tcp(int port);
int sv_test_connect_unix(const char *path);

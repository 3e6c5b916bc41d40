/* harness.h — drive the built sdvisor binary from a GLib test.
 *
 * A run gets its own temporary directory with a datagram socket the test reads as
 * sdvisor's NOTIFY_SOCKET (standing in for systemd), and sdvisor's stderr in a file.
 * The harness never reaps anything but the sdvisor it started. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#include "fakejournal.h"
#include "testutil.h"

typedef struct {
  char *dir; /* private temporary directory, removed at free */
  char *notify_path;
  int notify_fd;
  pid_t pid; /* sdvisor (or the wrapper it runs under) */
  int wait_status;
  gboolean exited;
  GPtrArray *messages; /* every datagram received so far, in order */
  char *stderr_path;
} SvRun;

/* ARGV is what follows the sdvisor binary ("run", "--", …); ENV holds extra NAME=VALUE
 * entries. WRAPPER, if not NULL, is a command put before the binary (e.g. unshare). */
SvRun *sv_run_start_full(const char *const *wrapper, const char *const *argv,
                         const char *const *env);
#define sv_run_start(argv, env) sv_run_start_full(NULL, (argv), (env))
/* Runs /bin/sh with ARGV (for a wrapper that execs sdvisor itself, as
 * `exec $SVTEST_SDVISOR_PREFIX "$SDVISOR_BINARY" …`: the prefix is memcheck under
 * valgrind, nothing otherwise). */
SvRun *sv_run_start_shell(const char *const *argv, const char *const *env);

/* Waits up to TIMEOUT_MS for a datagram containing NEEDLE (reading and keeping every
 * datagram); returns it (owned by the run) or NULL. */
const char *sv_run_wait_message(SvRun *run, const char *needle, guint timeout_ms);
/* Reads datagrams for TIMEOUT_MS, and what is queued at its end (with TIMEOUT_MS 0 too);
 * returns how many contained NEEDLE in total. */
guint sv_run_count_messages(SvRun *run, const char *needle, guint timeout_ms);

/* Waits up to TIMEOUT_MS for sdvisor to exit; returns its exit code (128+N for a
 * signal) or -1 on timeout (the run is then killed at free). */
int sv_run_wait_exit(SvRun *run, guint timeout_ms);
void sv_run_kill(SvRun *run, int sig);
char *sv_run_stderr(SvRun *run);

/* A file path inside the run's directory. */
char *sv_run_path(SvRun *run, const char *name);
/* Waits up to TIMEOUT_MS for FILE to exist (and be non-empty); returns its contents. */
char *sv_run_wait_file(SvRun *run, const char *name, guint timeout_ms);

/* Waits up to TIMEOUT_MS (draining the notify socket meanwhile) until sdvisor's stderr,
 * its log in these tests, has NEEDLE. */
gboolean sv_run_wait_stderr(SvRun *run, const char *needle, guint timeout_ms);
/* Sends SIGHUP and waits up to TIMEOUT_MS for the READY=1 that ends the reload; the test
 * fails (with sdvisor's stderr in its log) unless exactly one more came. Returns the
 * wall-clock time (µs) at which it was seen. */
gint64 sv_run_reload(SvRun *run, guint timeout_ms);
/* Writes TEXT as the run's sdvisor.conf (0644, renamed into place, as an administrator's
 * editor would: a reload never reads half a file). */
void sv_run_write_config(SvRun *run, const char *text);

/* Path of a test app (tests/apps). */
char *sv_test_app(const char *name);
/* TEXT with every "@NAME@" of a test app (NAME ending in .sh or .py, as
 * "@fault-steady.sh@") replaced by the app's path. */
char *sv_test_expand_apps(const char *text);

/* The last step of sv_run_start_config_full()'s shell: exec sdvisor (under memcheck
 * with valgrind) on the run's sdvisor.conf, so that run->pid is sdvisor's. */
#define SV_EXEC_SDVISOR                                                                            \
  "exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run --config \"$SVTEST_DIR/sdvisor.conf\""

/* Starts sdvisor with TEXT as its configuration file: test apps expanded
 * (sv_test_expand_apps) and "@DIR@" the run's directory. PRE, if not NULL, is shell run
 * after the file is written and before sdvisor is exec'd (umask, ulimit, export, each
 * ending in "&&"); EXEC_LINE (NULL = SV_EXEC_SDVISOR) execs sdvisor. ENV: extra
 * NAME=VALUE entries. */
SvRun *sv_run_start_config_full(const char *text, const char *const *env, const char *pre,
                                const char *exec_line);
#define sv_run_start_config(text, env, pre) sv_run_start_config_full((text), (env), (pre), NULL)
const char *sv_test_binary(void);

/* For a test that needs what a machine may lack (root, unshare(1), a mount namespace): a
 * skip with REASON, or, with SDVISOR_INTEGRATION_TESTS_REQUIRED=1 (CI, where it runs as
 * root), a failure that says why. The caller returns after it. */
gboolean sv_test_required(void);
void sv_test_skip_unless_required(const char *reason);

/* For a run whose shell starts sdvisor in a mount namespace of its own (unshare -m, a
 * tmpfs over /run or the state directory): waits up to TIMEOUT_MS for READY=1. FALSE,
 * after sv_test_skip_unless_required(), where unshare or mount was refused (the caller
 * returns); any other failure to start fails the test with sdvisor's stderr. */
gboolean sv_run_wait_ready_in_mount_ns(SvRun *run, guint timeout_ms);

/* Starts sdvisor on the configuration file CONFIG in a mount namespace of its own, a tmpfs
 * over /run (none of the host's journald) where /run/systemd/journal/socket is
 * JOURNAL_SOCKET, the test's fake journald (sv_fake_journal_bind()) bound in its place:
 * every entry sdvisor writes arrives at the test. PRE, if not NULL, is shell run before
 * sdvisor is exec'd ("export … &&"), WRAPPER a command put before it (setpriv …); ENV
 * holds extra NAME=VALUE entries. Wait with sv_run_wait_ready_in_mount_ns(). */
SvRun *sv_run_start_with_journal(const char *journal_socket, const char *config, const char *pre,
                                 const char *wrapper, const char *const *env);

void sv_run_free(SvRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvRun, sv_run_free)

/* Like sv_run_wait_message() for a datagram that may carry file descriptors (FDSTORE=1),
 * which a plain read would close: only datagrams that arrive from now on are looked at.
 * *OUT_FD is the first descriptor of the match (the caller's to close), or -1. */
const char *sv_run_wait_message_fd(SvRun *run, const char *needle, guint timeout_ms, int *out_fd);

/* The value of the line NAME=… of datagram MESSAGE as a number, or -1 (no such line,
 * or not a number). */
gint64 sv_message_number(const char *message, const char *name);

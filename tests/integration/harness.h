/* harness.h — drive the built sdvisor binary from a GLib test.
 *
 * A run gets its own temporary directory with a datagram socket the test reads as
 * sdvisor's NOTIFY_SOCKET (standing in for systemd), and sdvisor's stderr in a file.
 * The harness never reaps anything but the sdvisor it started. */
#pragma once
#include <glib.h>
#include <sys/types.h>

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
/* Reads datagrams for TIMEOUT_MS; returns how many contained NEEDLE in total. */
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

/* Path of a fake app script from tests/integration/apps. */
char *sv_test_app(const char *name);
const char *sv_test_binary(void);

gint64 sv_now_ms(void);
/* SDVISOR_VALGRIND=1 (meson test --setup=valgrind): sdvisor runs under memcheck, many
 * times slower; tests widen what they measure in time. */
gboolean sv_test_under_valgrind(void);
/* Valgrind, or SDVISOR_TEST_SLOW=1 (the sanitizer run): bounds on elapsed time are
 * widened; what they bound from below still holds. */
gboolean sv_test_slow(void);

/* For a test that needs what a machine may lack (root, unshare(1), a mount namespace): a
 * skip with REASON, or, with SDVISOR_INTEGRATION_TESTS_REQUIRED=1 (CI, where it runs as
 * root), a failure that says why. The caller returns after it. */
gboolean sv_test_required(void);
void sv_test_skip_unless_required(const char *reason);

void sv_run_free(SvRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvRun, sv_run_free)

/* Like sv_run_wait_message() for a datagram that may carry file descriptors (FDSTORE=1),
 * which a plain read would close: only datagrams that arrive from now on are looked at.
 * *OUT_FD is the first descriptor of the match (the caller's to close), or -1. */
const char *sv_run_wait_message_fd(SvRun *run, const char *needle, guint timeout_ms, int *out_fd);

/* The value of the line NAME=… of datagram MESSAGE as a number, or -1 (no such line,
 * or not a number). */
gint64 sv_message_number(const char *message, const char *name);

/* ---- a fake journald ------------------------------------------------------------------------ */

/* A datagram socket bound at PATH (the place of /run/systemd/journal/socket in sdvisor's
 * mount namespace, typically /proc/PID/root/…), with journald's large receive buffer. */
int sv_fake_journal_bind(const char *path);
/* One native-protocol entry: NAME → VALUE (both char *; binary values as they are). */
GHashTable *sv_journal_entry_parse(const guint8 *data, gsize len);
/* An array for sv_fake_journal_read(): it frees its entries. */
GPtrArray *sv_journal_entries_new(void);
/* Reads every datagram waiting on FD (up to TIMEOUT_MS for the first) into ENTRIES, an
 * entry passed as a sealed memfd included; TRUE if any came. */
gboolean sv_fake_journal_read(int fd, GPtrArray *entries, int timeout_ms);
/* ENTRY's field NAME, or NULL. */
const char *sv_journal_entry_field(GHashTable *entry, const char *name);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int sv_free_port(void);

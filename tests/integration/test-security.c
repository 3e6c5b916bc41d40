/* test-security.c — what sdvisor must not give away, through the built binary (issue 9;
 * SECURITY.md lists every threat and the test that covers it, here or elsewhere):
 *
 *  - a configuration or environment file over 1 MiB or with a NUL byte is refused;
 *  - environment values (environment=, environment-file=, hooks' and jobs'
 *    environment=) never reach a log line or a notification — in normal operation with debug messages on,
 *    and in the error messages about those very values (keys may be named);
 *  - the app's private NOTIFY_SOCKET lives in a 0700 directory of sdvisor's user, even
 *    under umask 000, and is removed at exit (also from $RUNTIME_DIRECTORY);
 *  - job state: created 0700/0600 under umask 000; a lock or state file that is a
 *    symbolic link is never followed (the file it points to is neither created nor
 *    read nor written), and an app directory that is a symbolic link is refused;
 *  - sdvisor's NOTIFY_SOCKET, WATCHDOG_PID and LISTEN_PID never reach a hook, a job or an
 *    exec: check.
 *
 * Covered elsewhere: the notify proxy's sender checks, MAINPID and oversize datagrams
 * (tests/unit/test-notify-proxy.c, test-ready.c /ready/outsider-datagram-dropped),
 * configuration and environment files others can write (tests/unit/test-config.c
 * /config/error/unreadable-and-unsafe), a state directory of another user
 * (test-jobs.c /jobs/state-directory/foreign-owner-refused, tests/unit/test-jobstate.c). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 10000)

/* Every secret value in these tests contains this; no log line or notification may. */
#define SECRET "s3cr3t"

/* ---- helpers -------------------------------------------------------------------------------- */

static void
rewrite_config(SvRun *run, const char *text)
{
  g_autofree char *expanded = sv_test_expand_apps(text);
  g_autoptr(GString) s = g_string_new(expanded);
  g_string_replace(s, "@DIR@", run->dir, 0);
  sv_run_write_config(run, s->str);
}

/* FALSE, showing where, if TEXT has the secret in it. */
static gboolean
keeps_secret(const char *what, const char *text)
{
  const char *at = strstr(text, SECRET);
  if (at != NULL) {
    const char *line = at;
    while (line > text && line[-1] != '\n')
      line--;
    g_autofree char *shown = g_strndup(line, strcspn(line, "\n"));
    g_test_message("%s gives a secret away: %s", what, shown);
  }
  return at == NULL;
}

static void
assert_no_secret(const char *what, const char *text)
{
  g_assert_true(keeps_secret(what, text));
}

static void
assert_run_keeps_secrets(SvRun *run)
{
  g_autofree char *err = sv_run_stderr(run);
  assert_no_secret("sdvisor's log", err);
  for (guint i = 0; i < run->messages->len; i++)
    assert_no_secret("a notification", run->messages->pdata[i]);
}

static mode_t
mode_of(const char *path)
{
  struct stat st;
  g_assert_cmpint(lstat(path, &st), ==, 0);
  return st.st_mode;
}

static uid_t
owner_of(const char *path)
{
  struct stat st;
  g_assert_cmpint(lstat(path, &st), ==, 0);
  return st.st_uid;
}

static guint
count_lines(const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return 0;
  guint n = 0;
  for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
    n++;
  return n;
}

/* ---- environment values are never logged ----------------------------------------------------- */

/* Every kind of environment carries a secret: APP_ENV is the app's environment=, SUFFIX
 * ends the hook's and the job's values. */
#define ENV_CONFIG(app_env, suffix)                                                                \
  "[app]\n"                                                                                        \
  "exec=@fault-steady.sh@\n"                                                                       \
  "environment=" app_env "\n"                                                                      \
  "environment-file=@DIR@/secrets.env\n"                                                           \
  "[ready]\n"                                                                                      \
  "check=file:@DIR@/app.ready\n"                                                                   \
  "[hook:h]\n"                                                                                     \
  "when=pre-start post-start reload pre-stop post-stop\n"                                          \
  "exec=/bin/sh -c 'exit 1'\n"                                                                     \
  "on-error=ignore\n"                                                                              \
  "environment=HOOK_TOKEN=" SECRET "-hook-env" suffix "\n"                                         \
  "[job:j]\n"                                                                                      \
  "schedule=every 1s\n"                                                                            \
  "exec=/bin/sh -c 'printf %s \"$JOB_TOKEN\" > @DIR@/job.token; exit 3'\n"                         \
  "environment=JOB_TOKEN=" SECRET "-job-env" suffix "\n"

static const char env_config[] =
    ENV_CONFIG("PUBLIC_FLAG=1 DB_PASSWORD=" SECRET "-app-env 'QUOTED=" SECRET " with spaces'", "");

/* The same with other values: a reload sees the environment changed. */
static const char env_config_changed[] =
    ENV_CONFIG("PUBLIC_FLAG=2 DB_PASSWORD=" SECRET "-app-env-changed", "-changed");

/* ---- systemd's variables for sdvisor stay with sdvisor ------------------------------------------------ */

/* SECURITY.md: sdvisor's NOTIFY_SOCKET, WATCHDOG_PID and LISTEN_PID (here all naming
 * sdvisor itself, so sdvisor takes them as its own) never reach a hook, a job or a check. */
static const char systemd_env_config[] = "[app]\n"
                                         "exec=@fault-steady.sh@\n"
                                         "[ready]\n"
                                         "check='exec:/bin/sh -c \"env > @DIR@/env-ready\"'\n"
                                         "[health]\n"
                                         "check='exec:/bin/sh -c \"env > @DIR@/env-health\"'\n"
                                         "interval=200ms\n"
                                         "[hook:h]\n"
                                         "when=post-start\n"
                                         "exec=/bin/sh -c 'env > @DIR@/env-hook'\n"
                                         "[job:j]\n"
                                         "schedule=every 1s\n"
                                         "exec=/bin/sh -c 'env > @DIR@/env-job'\n";

static void
test_systemd_variables_stay(void)
{
  const char *pre = "export STATE_DIRECTORY=\"$SVTEST_DIR/state\" WATCHDOG_PID=$$ "
                    "WATCHDOG_USEC=30000000 LISTEN_PID=$$ LISTEN_FDS=0 && ";
  g_autoptr(SvRun) run = sv_run_start_config(systemd_env_config, NULL, pre);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  /* sdvisor took the watchdog as its own: it pings. */
  g_assert_nonnull(sv_run_wait_message(run, "WATCHDOG=1", WAIT_MS));
  g_autofree char *socket_line = g_strconcat("NOTIFY_SOCKET=", run->notify_path, NULL);
  g_autofree char *watchdog_line = g_strdup_printf("WATCHDOG_PID=%d", (int)run->pid);
  g_autofree char *listen_line = g_strdup_printf("LISTEN_PID=%d", (int)run->pid);
  /* Checks run with the app's environment (its proxy socket and watchdog interval, which
   * are not sdvisor's); hooks and jobs get none of these variables at all. */
  const struct {
    const char *file;
    gboolean app_env;
  } children[] = {
      {"env-ready", TRUE}, {"env-health", TRUE}, {"env-hook", FALSE}, {"env-job", FALSE}};
  for (gsize i = 0; i < G_N_ELEMENTS(children); i++) {
    g_autofree char *env = sv_run_wait_file(run, children[i].file, WAIT_MS);
    g_test_message("%s", children[i].file);
    g_assert_nonnull(env);
    g_auto(GStrv) lines = g_strsplit(env, "\n", -1);
    for (char **l = lines; *l; l++) {
      g_assert_cmpstr(*l, !=, socket_line);
      g_assert_cmpstr(*l, !=, watchdog_line);
      g_assert_cmpstr(*l, !=, listen_line);
      g_assert_false(g_str_has_prefix(*l, "WATCHDOG_PID="));
      g_assert_false(g_str_has_prefix(*l, "LISTEN_PID="));
      g_assert_false(g_str_has_prefix(*l, "LISTEN_FDS="));
      if (!children[i].app_env) {
        g_assert_false(g_str_has_prefix(*l, "NOTIFY_SOCKET="));
        g_assert_false(g_str_has_prefix(*l, "WATCHDOG_USEC="));
      }
    }
  }
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

static void
test_values_never_logged(void)
{
  /* Debug messages on: they are the likeliest to dump an environment. */
  const char *env[] = {"SDVISOR_DEBUG=1", NULL};
  const char *pre = "printf 'API_KEY=" SECRET "-env-file\\nexport OTHER=\"" SECRET " quoted\"\\n' "
                    "> \"$SVTEST_DIR/secrets.env\" && chmod 0600 \"$SVTEST_DIR/secrets.env\" && "
                    "export STATE_DIRECTORY=\"$SVTEST_DIR/state\" &&";
  g_autoptr(SvRun) run = sv_run_start_config(env_config, env, pre);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_true(sv_run_wait_stderr(run, "(post-start)", WAIT_MS));

  /* The app got them all (so there was something to give away). */
  g_autofree char *pid = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_assert_nonnull(pid);
  g_autofree char *environ_path = g_strdup_printf("/proc/%d/environ", atoi(pid));
  g_autofree char *app_environ = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(environ_path, &app_environ, &len, NULL));
  for (gsize i = 0; i + 1 < len; i++)
    if (app_environ[i] == '\0')
      app_environ[i] = '\n';
  g_assert_nonnull(strstr(app_environ, "DB_PASSWORD=" SECRET "-app-env\n"));
  g_assert_nonnull(strstr(app_environ, "API_KEY=" SECRET "-env-file\n"));
  g_assert_nonnull(strstr(app_environ, "QUOTED=" SECRET " with spaces\n"));
  /* The job ran with its own, and failed (a failure is reported with what it ran). */
  g_autofree char *token = sv_run_wait_file(run, "job.token", WAIT_MS);
  g_assert_cmpstr(token, ==, SECRET "-job-env");
  g_assert_true(sv_run_wait_stderr(run, "job j (pid", WAIT_MS));
  g_assert_true(sv_run_wait_stderr(run, "failed: exited with status 3", WAIT_MS));

  /* A reload that changes the environment: the warning may name the key, not the value. */
  rewrite_config(run, env_config_changed);
  (void)sv_run_reload(run, WAIT_MS);
  g_assert_true(sv_run_wait_stderr(run, "[app] environment changed", WAIT_MS));
  /* The job runs (and fails) again with its new value. */
  g_autofree char *token_path = sv_run_path(run, "job.token");
  gboolean rerun = FALSE;
  for (gint64 deadline = sv_now_ms() + WAIT_MS; !rerun && sv_now_ms() < deadline;) {
    g_autofree char *now = NULL;
    rerun = g_file_get_contents(token_path, &now, NULL, NULL) &&
            g_str_equal(now, SECRET "-job-env-changed");
    if (!rerun)
      (void)sv_run_count_messages(run, "", 50);
  }
  g_assert_true(rerun);

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *err = sv_run_stderr(run);
  /* The failing hook was reported each time, without its environment. */
  g_assert_nonnull(strstr(err, "hook h"));
  assert_run_keeps_secrets(run);
}

/* ---- … not even in the errors about them ------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *config;   /* "@ENVFILE@" becomes the environment file's path */
  const char *env_file; /* its contents, or NULL */
  const char *override; /* an SDVISOR_* assignment, or NULL */
  const char *expected; /* what the message must name instead */
} ErrorCase;

static const ErrorCase error_cases[] = {
    {"invalid name in environment=",
     "[app]\nexec=/bin/true\nenvironment=GOOD=1 'BAD-NAME=" SECRET "-bad-name'\n", NULL, NULL,
     "BAD-NAME"},
    {"unbalanced quote in environment=",
     "[app]\nexec=/bin/true\nenvironment=GOOD=1 TOKEN=\"" SECRET "-unbalanced\n", NULL, NULL,
     "environment"},
    {"invalid name in a hook's environment=",
     "[app]\nexec=/bin/true\n[hook:h]\nwhen=pre-start\nexec=/bin/true\n"
     "environment=BAD.NAME=" SECRET "-hook\n",
     NULL, NULL, "BAD.NAME"},
    {"invalid name in SDVISOR_APP_ENVIRONMENT", "[app]\nexec=/bin/true\n", NULL,
     "SDVISOR_APP_ENVIRONMENT=9BAD=" SECRET "-override", "SDVISOR_APP_ENVIRONMENT"},
    {"unbalanced quote in SDVISOR_APP_ENVIRONMENT", "[app]\nexec=/bin/true\n", NULL,
     "SDVISOR_APP_ENVIRONMENT=TOKEN='" SECRET "-override-quote", "SDVISOR_APP_ENVIRONMENT"},
    {"invalid name in the environment file", "[app]\nexec=/bin/true\nenvironment-file=@ENVFILE@\n",
     "GOOD=1\nBAD-NAME=" SECRET "-file\n", NULL, "secrets.env:2"},
    {"unbalanced quote in the environment file",
     "[app]\nexec=/bin/true\nenvironment-file=@ENVFILE@\n", "TOKEN=\"" SECRET "-file-quote\"x\"\n",
     NULL, "secrets.env:1"},
};

static void
test_errors_keep_values(void)
{
  guint leaks = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(error_cases); i++) {
    const ErrorCase *c = &error_cases[i];
    g_autofree char *dir = g_dir_make_tmp("sdvisor-security-XXXXXX", NULL);
    g_autofree char *conf = g_build_filename(dir, "app.conf", NULL);
    g_autofree char *env_file = g_build_filename(dir, "secrets.env", NULL);
    g_autoptr(GString) text = g_string_new(c->config);
    g_string_replace(text, "@ENVFILE@", env_file, 0);
    g_assert_true(g_file_set_contents(conf, text->str, -1, NULL));
    g_assert_cmpint(g_chmod(conf, 0644), ==, 0);
    if (c->env_file != NULL) {
      g_assert_true(g_file_set_contents(env_file, c->env_file, -1, NULL));
      g_assert_cmpint(g_chmod(env_file, 0600), ==, 0);
    }
    const char *env[] = {c->override, NULL};

    /* `run` logs the error; `check` prints it: neither may show the value. */
    const char *commands[][4] = {{"run", "--config", conf, NULL}, {"check", conf, NULL, NULL}};
    for (gsize k = 0; k < G_N_ELEMENTS(commands); k++) {
      g_autoptr(SvRun) run = sv_run_start(commands[k], env);
      int code = sv_run_wait_exit(run, WAIT_MS);
      g_autofree char *err = sv_run_stderr(run);
      g_test_message("%s, sdvisor %s: exit %d: %s", c->name, commands[k][0], code, g_strstrip(err));
      g_assert_cmpint(code, ==, 78);
      g_assert_nonnull(strstr(err, c->expected));
      if (!keeps_secret(c->name, err))
        leaks++;
    }
    g_unlink(conf);
    g_unlink(env_file);
    g_rmdir(dir);
  }
  g_assert_cmpuint(leaks, ==, 0);
}

/* A configuration broken on reload is reported by the running sdvisor; the report must
 * not carry the value either. */
static void
test_reload_error_keeps_values(void)
{
  static const char good[] = "[app]\n"
                             "exec=@fault-steady.sh@\n"
                             "environment=GOOD=1\n"
                             "[ready]\n"
                             "check=file:@DIR@/app.ready\n";
  static const char broken[] = "[app]\n"
                               "exec=@fault-steady.sh@\n"
                               "environment=GOOD=1 TOKEN='" SECRET "-reload\n"
                               "[ready]\n"
                               "check=file:@DIR@/app.ready\n";
  g_autoptr(SvRun) run = sv_run_start_config(good, NULL, NULL);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  rewrite_config(run, broken);
  (void)sv_run_reload(run, WAIT_MS);
  g_assert_true(sv_run_wait_stderr(run, "keeping the running configuration", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  assert_run_keeps_secrets(run);
}

/* ---- configuration files that are not what they seem ------------------------------------- */

/* A configuration or environment file that is huge or binary (a device, a log, a core
 * file named by mistake, or on purpose) is refused before it is parsed. */
static void
test_oversize_and_binary_refused(void)
{
  g_autofree char *dir = g_dir_make_tmp("sdvisor-security-XXXXXX", NULL);
  g_autofree char *conf = g_build_filename(dir, "app.conf", NULL);
  g_autofree char *env_file = g_build_filename(dir, "app.env", NULL);
  struct {
    const char *what, *conf_text, *env_text;
    gsize env_len;
    const char *expected;
  } cases[] = {
      {"a configuration file over 1 MiB", NULL, NULL, 0, "larger than"},
      {"an environment file with a NUL byte", "[app]\nexec=/bin/true\nenvironment-file=@ENV@\n",
       "A=1\0B=2\n", 8, "not a text file"},
      {"an environment file over 1 MiB", "[app]\nexec=/bin/true\nenvironment-file=@ENV@\n", NULL, 0,
       "not a text file"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    if (cases[i].conf_text == NULL) {
      /* Valid text all the way: only its size is wrong. */
      g_autoptr(GString) big = g_string_new("[app]\nexec=/bin/true\n");
      while (big->len <= 1024 * 1024 + 1)
        g_string_append(big, "# padding padding padding padding padding padding padding\n");
      g_assert_true(g_file_set_contents(conf, big->str, (gssize)big->len, NULL));
    } else {
      g_autoptr(GString) text = g_string_new(cases[i].conf_text);
      g_string_replace(text, "@ENV@", env_file, 0);
      g_assert_true(g_file_set_contents(conf, text->str, -1, NULL));
      if (cases[i].env_text != NULL) {
        g_assert_true(
            g_file_set_contents(env_file, cases[i].env_text, (gssize)cases[i].env_len, NULL));
      } else {
        g_autoptr(GString) big = g_string_new(NULL);
        while (big->len <= 1024 * 1024 + 1)
          g_string_append(big, "PADDING=padding padding padding padding padding padding\n");
        g_assert_true(g_file_set_contents(env_file, big->str, (gssize)big->len, NULL));
      }
      g_assert_cmpint(g_chmod(env_file, 0600), ==, 0);
    }
    g_assert_cmpint(g_chmod(conf, 0644), ==, 0);
    const char *argv[] = {"run", "--config", conf, NULL};
    g_autoptr(SvRun) run = sv_run_start(argv, NULL);
    int code = sv_run_wait_exit(run, WAIT_MS);
    g_autofree char *err = sv_run_stderr(run);
    g_test_message("%s: exit %d: %s", cases[i].what, code, g_strstrip(err));
    g_assert_cmpint(code, ==, 78);
    g_assert_nonnull(strstr(err, cases[i].expected));
    g_assert_null(strstr(err, "started"));
    g_unlink(env_file);
  }
  g_unlink(conf);
  g_rmdir(dir);
}

/* ---- runtime files ------------------------------------------------------------------------------- */

static char *
app_notify_socket(SvRun *run)
{
  g_autofree char *env = sv_run_wait_file(run, "app.env", WAIT_MS);
  g_assert_nonnull(env);
  const char *line = strstr(env, "NOTIFY_SOCKET=");
  g_assert_nonnull(line);
  return g_strndup(line + 14, strcspn(line + 14, "\n"));
}

static void
test_notify_socket_private(void)
{
  /* umask 000: whatever sdvisor creates must set its own modes. */
  g_autofree char *app = sv_test_app("sleeper.sh");
  g_autofree char *script = g_strdup_printf(
      "umask 000 && exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run -- '%s'", app);
  const char *argv[] = {"-c", script, NULL};
  g_autoptr(SvRun) run = sv_run_start_shell(argv, NULL);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *sock = app_notify_socket(run);
  g_autofree char *dir = g_path_get_dirname(sock);
  g_test_message("the app's NOTIFY_SOCKET: %s", sock);
  g_assert_true(S_ISSOCK(mode_of(sock)));
  /* The directory decides who can reach the socket (the socket itself is 0666 so an app
   * that changes user can still send; who may send is checked by credentials). */
  g_assert_true(S_ISDIR(mode_of(dir)));
  g_assert_cmpint(mode_of(dir) & 07777, ==, 0700);
  g_assert_cmpint(owner_of(dir), ==, geteuid());

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));

  /* Under systemd's RuntimeDirectory=: the socket goes there, and goes away at exit. */
  g_autofree char *script2 =
      g_strdup_printf("mkdir -m 0700 \"$SVTEST_DIR/rt\" && export "
                      "RUNTIME_DIRECTORY=\"$SVTEST_DIR/rt\" && umask 000 "
                      "&& exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run -- '%s'",
                      app);
  const char *argv2[] = {"-c", script2, NULL};
  g_autoptr(SvRun) run2 = sv_run_start_shell(argv2, NULL);
  g_assert_nonnull(sv_run_wait_message(run2, "READY=1", WAIT_MS));
  g_autofree char *sock2 = app_notify_socket(run2);
  g_autofree char *rt = sv_run_path(run2, "rt");
  g_autofree char *dir2 = g_path_get_dirname(sock2);
  g_assert_cmpstr(dir2, ==, rt);
  g_assert_true(S_ISSOCK(mode_of(sock2)));
  sv_run_kill(run2, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run2, WAIT_MS), ==, 0);
  g_assert_false(g_file_test(sock2, G_FILE_TEST_EXISTS));
  g_autoptr(GDir) left = g_dir_open(rt, 0, NULL);
  g_assert_nonnull(left);
  g_assert_null(g_dir_read_name(left));
}

/* ---- job state ------------------------------------------------------------------------------------- */

static const char job_config[] = "[app]\n"
                                 "name=faultsec\n"
                                 "exec=@fault-steady.sh@\n"
                                 "[job:tick]\n"
                                 "schedule=every 1s\n"
                                 "exec=@job-append-slot.sh@ @DIR@/slots\n";

static void
test_state_private_under_umask(void)
{
  const char *pre = "export STATE_DIRECTORY=\"$SVTEST_DIR/state/deeper\" && umask 000 &&";
  g_autoptr(SvRun) run = sv_run_start_config(job_config, NULL, pre);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *slots = sv_run_path(run, "slots");
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while (count_lines(slots) < 1 && sv_now_ms() < deadline)
    g_usleep(50 * 1000);
  g_assert_cmpuint(count_lines(slots), >=, 1);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  g_autofree char *top = sv_run_path(run, "state");
  g_autofree char *state = g_build_filename(top, "deeper", NULL);
  g_autofree char *app_dir = g_build_filename(state, "faultsec", NULL);
  g_autofree char *lock = g_build_filename(app_dir, "tick.lock", NULL);
  g_autofree char *st = g_build_filename(app_dir, "tick.state", NULL);
  const char *const dirs[] = {top, state, app_dir};
  for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
    g_test_message("%s: %04o", dirs[i], (unsigned)(mode_of(dirs[i]) & 07777));
    g_assert_true(S_ISDIR(mode_of(dirs[i])));
    g_assert_cmpint(mode_of(dirs[i]) & 07777, ==, 0700);
    g_assert_cmpint(owner_of(dirs[i]), ==, geteuid());
  }
  const char *const files[] = {lock, st};
  for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
    g_test_message("%s: %04o", files[i], (unsigned)(mode_of(files[i]) & 07777));
    g_assert_true(S_ISREG(mode_of(files[i])));
    g_assert_cmpint(mode_of(files[i]) & 07777, ==, 0600);
  }
  /* Nothing else in the app directory is open to others either. */
  g_autoptr(GDir) d = g_dir_open(app_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    g_autofree char *p = g_build_filename(app_dir, name, NULL);
    g_assert_cmpint(mode_of(p) & 077, ==, 0);
  }
}

static void
test_state_symlinks_not_followed(void)
{
  g_autoptr(SvTestStateDir) dir = sv_test_state_dir_new("faultsec");
  const char *base = dir->base, *app_dir = dir->app_dir;
  g_autofree char *victim_lock = g_build_filename(base, "victim-lock", NULL);
  g_autofree char *victim_state = g_build_filename(base, "victim-state", NULL);
  g_autofree char *lock = g_build_filename(app_dir, "tick.lock", NULL);
  g_autofree char *st = g_build_filename(app_dir, "tick.state", NULL);
  const char *env[] = {dir->env, NULL};
  static const char precious[] = "precious, not a state file\n";
  g_assert_true(g_file_set_contents(victim_state, precious, -1, NULL));

  /* First the lock a symlink to a file that does not exist (sdvisor must not create
   * it) and the state a symlink to a file that does (sdvisor must not read or replace
   * it); then the state alone, behind a good lock. */
  g_assert_cmpint(symlink(victim_state, st), ==, 0);
  for (int round = 0; round < 2; round++) {
    if (round == 0)
      g_assert_cmpint(symlink(victim_lock, lock), ==, 0);
    g_autoptr(SvRun) run = sv_run_start_config(job_config, env, NULL);
    g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
    (void)sv_run_count_messages(run, "", 2500);
    g_autofree char *slots = sv_run_path(run, "slots");
    g_assert_cmpuint(count_lines(slots), ==, 0);
    g_assert_cmpint(kill(run->pid, 0), ==, 0); /* the app stays up; the job is skipped */
    sv_run_kill(run, SIGTERM);
    g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
    g_autofree char *err = sv_run_stderr(run);
    g_autofree char *which = g_strdup_printf("%s: is a symbolic link", round == 0 ? lock : st);
    g_assert_nonnull(strstr(err, which));

    g_assert_false(g_file_test(victim_lock, G_FILE_TEST_EXISTS));
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(victim_state, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, precious);
    g_assert_true(g_file_test(st, G_FILE_TEST_IS_SYMLINK));
    if (round == 0) {
      g_assert_true(g_file_test(lock, G_FILE_TEST_IS_SYMLINK));
      g_unlink(lock);
    }
  }

  /* The app directory itself a symlink to a directory sdvisor must not write in. */
  g_unlink(lock);
  g_unlink(st);
  g_rmdir(app_dir);
  g_autofree char *elsewhere = g_build_filename(base, "elsewhere", NULL);
  g_assert_cmpint(g_mkdir(elsewhere, 0700), ==, 0);
  g_assert_cmpint(symlink(elsewhere, app_dir), ==, 0);
  {
    g_autoptr(SvRun) run = sv_run_start_config(job_config, env, NULL);
    int code = sv_run_wait_exit(run, WAIT_MS);
    if (code == -1) {
      /* Up and running: then it must at least not have used the directory. */
      (void)sv_run_count_messages(run, "", 2500);
      sv_run_kill(run, SIGTERM);
      code = sv_run_wait_exit(run, WAIT_MS);
    }
    g_autofree char *err = sv_run_stderr(run);
    g_assert_nonnull(strstr(err, "symbolic link"));
    g_autofree char *slots = sv_run_path(run, "slots");
    g_assert_cmpuint(count_lines(slots), ==, 0);
  }
  g_autoptr(GDir) d = g_dir_open(elsewhere, 0, NULL);
  g_assert_null(g_dir_read_name(d));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  signal(SIGCHLD, SIG_DFL);
  g_test_add_func("/security/config/oversize-and-binary-refused", test_oversize_and_binary_refused);
  g_test_add_func("/security/runtime/notify-socket-private-and-removed",
                  test_notify_socket_private);
  g_test_add_func("/security/state/private-under-umask-000", test_state_private_under_umask);
  g_test_add_func("/security/state/symlinks-never-followed", test_state_symlinks_not_followed);
  g_test_add_func("/security/environment/values-never-logged", test_values_never_logged);
  g_test_add_func("/security/environment/systemd-variables-never-reach-checks-jobs-hooks",
                  test_systemd_variables_stay);
  g_test_add_func("/security/environment/reload-error-keeps-values",
                  test_reload_error_keeps_values);
  g_test_add_func("/security/environment/errors-name-the-key-not-the-value",
                  test_errors_keep_values);
  return g_test_run();
}

/* test-config.c — every key, environment overrides, every error kind and its message. */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "checkspec.h"
#include "config.h"
#include "listenspec.h"
#include "timespan.h"
#include "testutil.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("sdvisor-config-XXXXXX", NULL);
  g_assert_nonnull(f->dir);
  f->path = g_build_filename(f->dir, "app.conf", NULL);
}

static void
teardown(Fixture *f, gconstpointer data)
{
  sv_test_rm_rf(f->dir);
  g_free(f->dir);
  g_free(f->path);
}

static void
write_file(const char *path, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_assert_true(g_file_set_contents(path, text, -1, &error));
  g_assert_no_error(error);
  g_chmod(path, 0644);
}

/* Loads TEXT with ENV; on failure checks the error code and that the message holds every
 * NULL-terminated substring that follows. */
static void
expect_error(Fixture *f, const char *text, char **env, int code, ...)
{
  write_file(f->path, text);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvConfig) config = sv_config_load(f->path, env, &error);
  g_assert_null(config);
  g_assert_error(error, SV_CONFIG_ERROR, code);
  g_assert_true(g_utf8_validate(error->message, -1, NULL));
  va_list ap;
  va_start(ap, code);
  const char *needle;
  while ((needle = va_arg(ap, const char *)) != NULL) {
    if (strstr(error->message, needle) == NULL)
      g_error("message «%s» lacks «%s»", error->message, needle);
  }
  va_end(ap);
}

static SvConfig *
load_ok(Fixture *f, const char *text, char **env)
{
  write_file(f->path, text);
  g_autoptr(GError) error = NULL;
  SvConfig *config = sv_config_load(f->path, env, &error);
  g_assert_no_error(error);
  g_assert_nonnull(config);
  return config;
}

/* A backslash GKeyFile does not know (\d, \$) stays as written, in every key that has
 * one. GKeyFile returns such a value with an error beside it; the second key's error
 * used to be set over the first's, a GLib warning (fatal here, a stray line on stderr in
 * use). The fuzzer found it. */
static void
test_unknown_escapes_kept(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) c = load_ok(f,
                                  "[app]\nexec=/bin/grep -E '\\d+' file\n"
                                  "[job:x]\nschedule=every 1h\nexec=/bin/sh -c 'echo \\$HOME'\n",
                                  NULL);
  g_assert_cmpstr(c->app.exec[2], ==, "\\d+");
  SvJobConfig *job = g_ptr_array_index(c->jobs, 0);
  g_assert_cmpstr(job->exec[2], ==, "echo \\$HOME");

  /* A value ending in one backslash is refused with its line (GLib 2.74 set its error
   * twice for this one after an unknown escape: the fuzzer found that too). */
  expect_error(f, "[app]\nexec=/bin/grep -E '\\d' x\\\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:2:", "[app] exec", "ends in a backslash", NULL);
}

static void
test_defaults(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) c = load_ok(f, "[app]\nexec=/usr/bin/python3 -m http.server 8000\n", NULL);
  /* The file's name, not the program's: two apps that both run python3 are two apps. */
  g_assert_cmpstr(c->app.name, ==, "app");
  g_assert_cmpint(c->name_source, ==, SV_NAME_FROM_FILE);
  g_assert_cmpint(g_strv_length(c->app.exec), ==, 4);
  g_assert_cmpstr(c->app.exec[3], ==, "8000");
  g_assert_null(c->app.working_directory);
  g_assert_cmpint(c->app.stop_signal, ==, SIGTERM);
  g_assert_cmpint(c->app.stop_timeout_usec, ==, 30 * SV_USEC_PER_SEC);
  g_assert_cmpint(c->app.reload_signal, ==, SIGHUP);
  guint64 expected = 0;
  int fwd[] = {SIGUSR1, SIGUSR2, SIGWINCH, SIGTTIN, SIGTTOU, SIGQUIT};
  for (gsize i = 0; i < G_N_ELEMENTS(fwd); i++)
    expected |= G_GUINT64_CONSTANT(1) << fwd[i];
  g_assert_cmpuint(c->app.forward_signals, ==, expected);
}

static void
test_every_key(Fixture *f, gconstpointer data)
{
  g_autofree char *envfile = g_build_filename(f->dir, "env", NULL);
  write_file(envfile, "# comment\nFROM_FILE=1\nexport QUOTED=\"a b\"\nBOTH=file\n");
  g_autofree char *text =
      g_strdup_printf("# a comment\n"
                      "[app]\n"
                      "name = web\n"
                      "exec = gunicorn -w 2 'app:create_app()'\n"
                      "working-directory = /srv/web\n"
                      "environment = PYTHONUNBUFFERED=1 \"GREETING=hello world\" BOTH=config\n"
                      "environment-file = %s\n"
                      "stop-signal = INT\n"
                      "stop-timeout = 1min 30s\n"
                      "reload-signal = SIGUSR2\n"
                      "forward-signals = USR1 SIGWINCH 34\n",
                      envfile);
  g_autoptr(SvConfig) c = load_ok(f, text, NULL);
  g_assert_cmpstr(c->app.name, ==, "web");
  g_assert_cmpstr(c->app.exec[0], ==, "gunicorn");
  g_assert_cmpstr(c->app.exec[3], ==, "app:create_app()");
  g_assert_cmpstr(c->app.working_directory, ==, "/srv/web");
  g_assert_cmpstr(g_environ_getenv(c->app.environment, "PYTHONUNBUFFERED"), ==, "1");
  g_assert_cmpstr(g_environ_getenv(c->app.environment, "GREETING"), ==, "hello world");
  g_assert_cmpstr(g_environ_getenv(c->app.environment, "FROM_FILE"), ==, "1");
  g_assert_cmpstr(g_environ_getenv(c->app.environment, "QUOTED"), ==, "a b");
  /* As in systemd, the file wins over environment=. */
  g_assert_cmpstr(g_environ_getenv(c->app.environment, "BOTH"), ==, "file");
  g_assert_cmpint(c->app.stop_signal, ==, SIGINT);
  g_assert_cmpint(c->app.stop_timeout_usec, ==, 90 * SV_USEC_PER_SEC);
  g_assert_cmpint(c->app.reload_signal, ==, SIGUSR2);
  g_assert_cmpuint(c->app.forward_signals, ==,
                   (G_GUINT64_CONSTANT(1) << SIGUSR1) | (G_GUINT64_CONSTANT(1) << SIGWINCH) |
                       (G_GUINT64_CONSTANT(1) << 34));
}

static void
test_optional_environment_file(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) c =
      load_ok(f, "[app]\nexec=/bin/true\nenvironment-file=-/nonexistent/sdvisor.env\n", NULL);
  g_assert_cmpuint(c->app.environment ? g_strv_length(c->app.environment) : 0, ==, 0);
}

static void
test_env_overrides(Fixture *f, gconstpointer data)
{
  char *env[] = {"SDVISOR_APP_STOP_TIMEOUT=5s",
                 "SDVISOR_APP_EXEC=/bin/sleep 10",
                 "SDVISOR_APP_FORWARD_SIGNALS=USR2",
                 "SDVISOR_APP_PID=1234", /* set by sdvisor for hooks: never an override */
                 "SDVISOR_CONFIG=/elsewhere.conf",
                 "SDVISOR_SOMETHING_ELSE=1", /* no such group: not ours to judge */
                 "PATH=/bin",
                 NULL};
  g_autoptr(SvConfig) c = load_ok(f, "[app]\nexec=/bin/true\nstop-timeout=30s\n", env);
  g_assert_cmpint(c->app.stop_timeout_usec, ==, 5 * SV_USEC_PER_SEC);
  g_assert_cmpstr(c->app.exec[0], ==, "/bin/sleep");
  g_assert_cmpstr(c->app.name, ==, "app");
  g_assert_cmpuint(c->app.forward_signals, ==, G_GUINT64_CONSTANT(1) << SIGUSR2);

  g_autofree char *text = sv_config_to_string(c);
  g_assert_nonnull(strstr(text, "from SDVISOR_APP_STOP_TIMEOUT"));
  g_assert_nonnull(strstr(text, "stop-timeout=5s"));
  g_assert_nonnull(strstr(text, "reload-signal=SIGHUP")); /* defaults are shown too */
}

/* config.c parses the checks (checkspec.h) once, at load: what it stores is what the
 * probes run, and an error names the file or variable, the line, the group and the key. */
static void
test_checks_parsed(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) c =
      load_ok(f,
              "[app]\nexec=/bin/true\n[ready]\ncheck=NOTIFY 'exec:test -e /run/x' "
              "unix:///run/a.sock\n[health]\ncheck=\n",
              NULL);
  g_assert_cmpuint(c->ready.checks->len, ==, 3);
  const SvCheckSpec *exec = c->ready.checks->pdata[1];
  g_assert_cmpint(exec->kind, ==, SV_CHECK_EXEC);
  g_assert_cmpstr(exec->argv[2], ==, "/run/x");
  g_assert_cmpstr(((SvCheckSpec *)c->ready.checks->pdata[2])->text, ==, "unix:/run/a.sock");
  /* An empty check= is no check at all (an override can clear the file's checks). */
  g_assert_nonnull(c->health.checks);
  g_assert_cmpuint(c->health.checks->len, ==, 0);

  char *clear[] = {"SDVISOR_READY_CHECK=", "SDVISOR_HEALTH_CHECK=tcp://[::1]:80", NULL};
  g_autoptr(SvConfig) o = load_ok(f, "[app]\nexec=/bin/true\n[ready]\ncheck=notify\n", clear);
  g_assert_cmpuint(o->ready.checks->len, ==, 0);
  g_assert_cmpstr(((SvCheckSpec *)o->health.checks->pdata[0])->host, ==, "::1");

  expect_error(f, "[app]\nexec=/bin/true\n\n[health]\ncheck=notify file:run/x\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:5:", "[health] check",
               "'file:run/x' is not an absolute path", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[ready]\ncheck=notify 'exec:x\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:4:", "[ready] check", "cannot split", NULL);
  char *bad[] = {"SDVISOR_READY_CHECK=tcp://h", NULL};
  expect_error(f, "[app]\nexec=/bin/true\n", bad, SV_CONFIG_ERROR_INVALID,
               "environment variable SDVISOR_READY_CHECK", "[ready] check", "'tcp://h' has no port",
               NULL);
}

static void
test_env_override_errors(Fixture *f, gconstpointer data)
{
  char *typo[] = {"SDVISOR_APP_STOP_TIMOUT=5s", NULL};
  expect_error(f, "[app]\nexec=/bin/true\n", typo, SV_CONFIG_ERROR_UNKNOWN_KEY,
               "SDVISOR_APP_STOP_TIMOUT", "SDVISOR_APP_STOP_TIMEOUT", NULL);
  /* Found by fuzz-config: bytes that are not UTF-8 must not reach a message. */
  char *binary[] = {"SDVISOR_HOOK_A\xff\xffTERM=1", "SDVISOR_APP_NAME=\xff", NULL};
  expect_error(f, "[app]\nexec=/bin/true\n", binary, SV_CONFIG_ERROR_INVALID, "not UTF-8", NULL);
  char *bad[] = {"SDVISOR_APP_STOP_TIMEOUT=soon", NULL};
  expect_error(f, "[app]\nexec=/bin/true\n", bad, SV_CONFIG_ERROR_INVALID,
               "environment variable SDVISOR_APP_STOP_TIMEOUT", "[app] stop-timeout", "'soon'",
               NULL);
}

static void
test_syntax_error(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\nthis line is wrong\n", NULL, SV_CONFIG_ERROR_SYNTAX,
               "app.conf:3:", "this line is wrong", NULL);
  expect_error(f, "# first\nexec=/bin/true\n", NULL, SV_CONFIG_ERROR_SYNTAX,
               "app.conf:2:", "outside of any group", NULL);
  expect_error(f, "[app\nexec=/bin/true\n", NULL, SV_CONFIG_ERROR_SYNTAX, "app.conf:1:", "[app",
               NULL);
  expect_error(f, "[app]\nexec=/bin/\xff\n", NULL, SV_CONFIG_ERROR_SYNTAX, "not UTF-8", NULL);
}

static void
test_unknown_group(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\n\n[ap]\nname=x\n", NULL, SV_CONFIG_ERROR_UNKNOWN_GROUP,
               "app.conf:4:", "[ap]", "did you mean 'app'", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[zzzzzz]\n", NULL, SV_CONFIG_ERROR_UNKNOWN_GROUP,
               "app.conf:3:", "[zzzzzz]", NULL);
}

static void
test_unknown_key(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\nstop-timout=5s\n", NULL, SV_CONFIG_ERROR_UNKNOWN_KEY,
               "app.conf:3:", "[app] stop-timout", "did you mean 'stop-timeout'", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nname[ko]=x\n", NULL, SV_CONFIG_ERROR_UNKNOWN_KEY,
               "app.conf:3:", NULL);
}

static void
test_invalid_values(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\n\nstop-timeout=soon\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:4:", "[app] stop-timeout", "'soon' is not a time span", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nstop-signal=SIGFOO\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:3:", "[app] stop-signal", "'SIGFOO' is not a signal", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nreload-signal=0\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:3:", "[app] reload-signal", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nforward-signals=USR1 TERM\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:3:", "[app] forward-signals",
               "SIGTERM cannot be forwarded", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nworking-directory=srv\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:3:", "[app] working-directory", "not an absolute path", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nenvironment=A=1 =2\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:3:", "[app] environment", "word 2", NULL);
  expect_error(f, "[app]\nexec=python3 'unterminated\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:2:", "[app] exec", NULL);
  expect_error(f, "[app]\nexec=\n", NULL, SV_CONFIG_ERROR_INVALID, "app.conf:2:", "[app] exec",
               "empty", NULL);
}

static void
test_missing_exec(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nname=x\n", NULL, SV_CONFIG_ERROR_MISSING, "app.conf", "[app] exec",
               "SDVISOR_APP_EXEC", NULL);
}

static void
test_environment_file_errors(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\nenvironment-file=/nonexistent/sdvisor.env\n", NULL,
               SV_CONFIG_ERROR_IO, "environment-file", "/nonexistent/sdvisor.env", NULL);
  g_autofree char *envfile = g_build_filename(f->dir, "bad.env", NULL);
  write_file(envfile, "GOOD=1\nthis is not an assignment\n");
  g_autofree char *text = g_strdup_printf("[app]\nexec=/bin/true\nenvironment-file=%s\n", envfile);
  expect_error(f, text, NULL, SV_CONFIG_ERROR_INVALID, "bad.env:2:", NULL);
}

/* The parser alone, on a buffer: assignments in order (a name twice kept twice), quotes
 * taken off, errors naming the path and the line but never a value. */
static void
test_parse_environment_buffer(Fixture *f, gconstpointer data)
{
  static const char text[] = "# comment\n; comment\n\nA=1\nexport B=  x \n  C=\"a b\"  \r\n"
                             "D='it'\\''s'\nA=2";
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = sv_config_parse_environment(text, sizeof text - 1, "x.env", &error);
  g_assert_no_error(error);
  const char *const expected[] = {"A=1", "B=x", "C=a b", "D=it's", "A=2", NULL};
  g_assert_true(g_strv_equal((const char *const *)env, expected));

  g_auto(GStrv) none = sv_config_parse_environment("", 0, "x.env", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(g_strv_length(none), ==, 0);

  static const char unbalanced[] = "A=1\nTOKEN=\"s3cr3t\"x\"\n";
  g_assert_null(sv_config_parse_environment(unbalanced, sizeof unbalanced - 1, "x.env", &error));
  g_assert_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID);
  g_assert_true(g_str_has_prefix(error->message, "x.env:2: "));
  g_assert_nonnull(strstr(error->message, "TOKEN"));
  g_assert_null(strstr(error->message, "s3cr3t"));
  g_clear_error(&error);

  static const char nul[] = "A=1\0B=2\n";
  g_assert_null(sv_config_parse_environment(nul, sizeof nul - 1, "x.env", &error));
  g_assert_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID);
  g_assert_true(g_str_has_prefix(error->message, "x.env: "));
}

static void
test_unreadable_and_unsafe(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvConfig) none = sv_config_load("/nonexistent/sdvisor.conf", NULL, &error);
  g_assert_null(none);
  g_assert_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "/nonexistent/sdvisor.conf"));

  g_autofree char *envfile = g_build_filename(f->dir, "open.env", NULL);
  write_file(envfile, "SECRET=hunter2\n");
  g_chmod(envfile, 0666);
  g_autofree char *text = g_strdup_printf("[app]\nexec=/bin/true\nenvironment-file=%s\n", envfile);
  expect_error(f, text, NULL, SV_CONFIG_ERROR_UNSAFE, "open.env", "others can write", NULL);

  write_file(f->path, "[app]\nexec=/bin/true\n");
  g_chmod(f->path, 0666);
  g_clear_error(&error);
  g_autoptr(SvConfig) unsafe = sv_config_load(f->path, NULL, &error);
  g_assert_null(unsafe);
  g_assert_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_UNSAFE);
  g_assert_nonnull(strstr(error->message, "others can write"));
}

static void
test_all_groups(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) c = load_ok(
      f,
      "[app]\nexec=/bin/true\nstop-delay=2s\n"
      "[ready]\ncheck=tcp://127.0.0.1:8000 "
      "'http://127.0.0.1:8000/health'\ninterval=50ms\ntimeout=1min\n"
      "check-timeout=1s\n"
      "[health]\ncheck=notify\ninterval=5s\ntimeout=2s\nfailure-threshold=4\nsuccess-threshold=2\n"
      "start-period=30s\non-unhealthy=stop\n"
      "[log]\ntarget=console\nidentifier=web\nfields=TEAM=payments DEPLOY=blue\nline-max=1K\n"
      "parse-json=no\njson-prefix=APP_\ndetect-levels=off\npriority-stdout=notice\npriority-stderr="
      "3\n"
      "merge-tracebacks=false\nmerge-continuations=0\nmerge-window=10ms\nentry-max=2K\n"
      "[hook:migrate]\nwhen=pre-start\nexec=/usr/bin/env true\ntimeout=1min\non-error=ignore\n"
      "environment=A=1\n"
      "[job:report]\nschedule=*/5 * * * *\nexec=/bin/echo "
      "report\ntimeout=10min\ntimezone=Europe/Berlin\n"
      "persistent=true\nrandomized-delay=30s\noverlap=queue\nonce-per-host=false\nretry-"
      "interrupted=yes\n"
      "working-directory=/tmp\nenvironment=B=2\n"
      "[hook:notify]\nwhen=post-start post-stop, on-failure\nexec=/bin/true\n",
      NULL);
  g_assert_cmpint(c->app.stop_delay_usec, ==, 2 * SV_USEC_PER_SEC);
  g_assert_cmpuint(c->ready.checks->len, ==, 2);
  g_assert_cmpstr(((SvCheckSpec *)c->ready.checks->pdata[1])->text, ==,
                  "http://127.0.0.1:8000/health");
  g_assert_cmpint(c->ready.interval_usec, ==, 50000);
  g_assert_cmpint(c->ready.timeout_usec, ==, 60 * SV_USEC_PER_SEC);
  g_assert_cmpint(c->ready.check_timeout_usec, ==, SV_USEC_PER_SEC);
  g_assert_cmpint(((SvCheckSpec *)c->health.checks->pdata[0])->kind, ==, SV_CHECK_NOTIFY);
  g_assert_cmpuint(c->health.failure_threshold, ==, 4);
  g_assert_cmpuint(c->health.success_threshold, ==, 2);
  g_assert_cmpint(c->health.start_period_usec, ==, 30 * SV_USEC_PER_SEC);
  g_assert_cmpint(c->health.on_unhealthy, ==, SV_ON_UNHEALTHY_STOP);
  g_assert_cmpint(c->log.target, ==, SV_LOG_CONFIG_TARGET_CONSOLE);
  g_assert_cmpstr(c->log.identifier, ==, "web");
  g_assert_cmpstr(c->log.fields[1], ==, "DEPLOY=blue");
  g_assert_cmpuint(c->log.line_max, ==, 1024);
  g_assert_false(c->log.parse_json);
  g_assert_cmpstr(c->log.json_prefix, ==, "APP_");
  g_assert_false(c->log.detect_levels);
  g_assert_cmpint(c->log.priority_stdout, ==, 5);
  g_assert_cmpint(c->log.priority_stderr, ==, 3);
  g_assert_false(c->log.merge_tracebacks);
  g_assert_false(c->log.merge_continuations);
  g_assert_cmpint(c->log.merge_window_usec, ==, 10000);
  g_assert_cmpuint(c->log.entry_max, ==, 2048);

  g_assert_cmpuint(c->hooks->len, ==, 2);
  SvHookConfig *h = c->hooks->pdata[0];
  g_assert_cmpstr(h->name, ==, "migrate"); /* file order */
  g_assert_cmpuint(h->when, ==, SV_HOOK_PRE_START);
  g_assert_cmpstr(h->exec[1], ==, "true");
  g_assert_cmpint(h->timeout_usec, ==, 60 * SV_USEC_PER_SEC);
  g_assert_false(h->on_error_fail);
  g_assert_cmpstr(h->environment[0], ==, "A=1");
  SvHookConfig *h2 = c->hooks->pdata[1];
  g_assert_cmpstr(h2->name, ==, "notify");
  g_assert_cmpuint(h2->when, ==, SV_HOOK_POST_START | SV_HOOK_POST_STOP | SV_HOOK_ON_FAILURE);
  g_assert_true(h2->on_error_fail); /* default on-error=fail */
  g_assert_cmpint(h2->timeout_usec, ==, 30 * SV_USEC_PER_SEC);

  g_assert_cmpuint(c->jobs->len, ==, 1);
  SvJobConfig *j = c->jobs->pdata[0];
  g_assert_cmpstr(j->name, ==, "report");
  g_assert_cmpstr(j->schedule, ==, "*/5 * * * *");
  g_assert_cmpint(j->timeout_usec, ==, 600 * SV_USEC_PER_SEC);
  g_assert_cmpstr(j->timezone, ==, "Europe/Berlin");
  g_assert_true(j->persistent);
  g_assert_cmpint(j->randomized_delay_usec, ==, 30 * SV_USEC_PER_SEC);
  g_assert_cmpint(j->overlap, ==, SV_OVERLAP_QUEUE);
  g_assert_false(j->once_per_host);
  g_assert_true(j->retry_interrupted);
  g_assert_cmpstr(j->working_directory, ==, "/tmp");
}

/* A hook's exec= is split as a shell would split it, and is not run through one: quotes
 * group and go, and what a shell would expand stays as written. */
static void
test_hook_exec_split(Fixture *f, gconstpointer data)
{
  (void)data;
  g_autoptr(SvConfig) c = load_ok(f,
                                  "[app]\nexec=/bin/true\n"
                                  "[hook:say]\nwhen=pre-start\n"
                                  "exec=/bin/echo 'a b' c \"d  e\" $HOME\n",
                                  NULL);
  const SvHookConfig *h = c->hooks->pdata[0];
  const char *expected[] = {"/bin/echo", "a b", "c", "d  e", "$HOME", NULL};
  g_assert_cmpstrv(h->exec, expected);
}

/* What the supervisor does once the jobs set has its copy: the sections go, the rest
 * stays, and freeing the configuration afterwards frees nothing twice (the sanitizer
 * build and valgrind see to that). */
static void
test_drop_jobs(Fixture *f, gconstpointer data)
{
  (void)data;
  g_autoptr(SvConfig) c = load_ok(f,
                                  "[app]\nexec=/bin/true\n"
                                  "[hook:warm]\nwhen=post-start\nexec=/bin/true\n"
                                  "[job:a]\nschedule=every 30s\nexec=/bin/echo a\nenvironment=X=1\n"
                                  "[job:b]\nschedule=daily\nexec=/bin/true\ntimezone=UTC\n",
                                  NULL);
  g_assert_cmpuint(c->jobs->len, ==, 2);
  sv_config_drop_jobs(c);
  g_assert_cmpuint(c->jobs->len, ==, 0);
  sv_config_drop_jobs(c); /* nothing left: nothing done */
  g_assert_cmpuint(c->hooks->len, ==, 1);
  g_assert_cmpstr(((SvHookConfig *)c->hooks->pdata[0])->name, ==, "warm");
  g_assert_cmpstr(c->app.exec[0], ==, "/bin/true");
}

static void
test_section_defaults(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) c =
      load_ok(f, "[app]\nexec=/bin/true\n[job:tick]\nschedule=every 30s\nexec=/bin/true\n", NULL);
  SvJobConfig *j = c->jobs->pdata[0];
  g_assert_cmpint(j->timeout_usec, ==, G_MAXINT64);
  g_assert_false(j->persistent);
  g_assert_true(j->once_per_host);
  g_assert_cmpint(j->overlap, ==, SV_OVERLAP_SKIP);
  g_assert_null(j->timezone);
  /* Groups that are absent still have their defaults. */
  g_assert_null(c->ready.checks);
  g_assert_cmpint(c->ready.interval_usec, ==, 100000);
  g_assert_cmpint(c->ready.timeout_usec, ==, 90 * SV_USEC_PER_SEC);
  g_assert_cmpuint(c->health.failure_threshold, ==, 3);
  g_assert_cmpint(c->health.on_unhealthy, ==, SV_ON_UNHEALTHY_RESTART);
  g_assert_cmpuint(c->log.line_max, ==, 48 * 1024);
  g_assert_true(c->log.parse_json);
  g_assert_cmpint(c->log.priority_stderr, ==, 6);
}

static void
test_section_overrides(Fixture *f, gconstpointer data)
{
  char *env[] = {"SDVISOR_HOOK_MIGRATE_DB_TIMEOUT=3s", "SDVISOR_JOB_TICK_SCHEDULE=every 5s",
                 "SDVISOR_READY_TIMEOUT=10s", "SDVISOR_LOG_TARGET=journal", NULL};
  g_autoptr(SvConfig) c =
      load_ok(f,
              "[app]\nexec=/bin/true\n[hook:migrate-db]\nwhen=pre-start\nexec=/bin/true\n"
              "[job:tick]\nschedule=every 30s\nexec=/bin/true\n",
              env);
  g_assert_cmpint(((SvHookConfig *)c->hooks->pdata[0])->timeout_usec, ==, 3 * SV_USEC_PER_SEC);
  g_assert_cmpstr(((SvJobConfig *)c->jobs->pdata[0])->schedule, ==, "every 5s");
  g_assert_cmpint(c->ready.timeout_usec, ==, 10 * SV_USEC_PER_SEC);
  g_assert_cmpint(c->log.target, ==, SV_LOG_CONFIG_TARGET_JOURNAL);

  /* Overrides do not create sections, and name the variable when they miss. */
  char *miss[] = {"SDVISOR_HOOK_OTHER_TIMEOUT=3s", NULL};
  expect_error(f, "[app]\nexec=/bin/true\n[hook:migrate]\nwhen=pre-start\nexec=/bin/true\n", miss,
               SV_CONFIG_ERROR_UNKNOWN_KEY, "SDVISOR_HOOK_OTHER_TIMEOUT", "[hook:…]", NULL);
}

static void
test_section_errors(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\n[hook:x]\nwhen=pre-strat\nexec=/bin/true\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:4:", "[hook:x] when", "'pre-strat'",
               "did you mean 'pre-start'", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[hook:x]\nwhen=pre-start\n", NULL,
               SV_CONFIG_ERROR_MISSING, "app.conf:3:", "[hook:x] exec is required", NULL);
  expect_error(
      f, "[app]\nexec=/bin/true\n[hook:x]\nwhen=pre-start\nexec=/bin/true\non-error=maybe\n", NULL,
      SV_CONFIG_ERROR_INVALID, "app.conf:6:", "[hook:x] on-error", "ignore|fail", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[hook:a/b]\nwhen=pre-start\nexec=/bin/true\n", NULL,
               SV_CONFIG_ERROR_UNKNOWN_GROUP, "app.conf:3:", "'a/b' is not a valid name", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[hooks:x]\n", NULL, SV_CONFIG_ERROR_UNKNOWN_GROUP,
               "app.conf:3:", "[hooks:x]", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[job:j]\nschedule=61 * * * *\nexec=/bin/true\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:4:", "[job:j] schedule", "minute", NULL);
  expect_error(
      f, "[app]\nexec=/bin/true\n[job:j]\nschedule=@daily\nexec=/bin/true\ntimezone=Mars/Base\n",
      NULL, SV_CONFIG_ERROR_INVALID, "app.conf:6:", "[job:j] timezone", "'Mars/Base'", NULL);
  expect_error(
      f, "[app]\nexec=/bin/true\n[job:j]\nschedule=@daily\nexec=/bin/true\npersistent=perhaps\n",
      NULL, SV_CONFIG_ERROR_INVALID, "app.conf:6:", "[job:j] persistent", "boolean", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[ready]\ncheck=tcp://127.0.0.1\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:4:", "[ready] check", "tcp://127.0.0.1", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[health]\nfailure-threshold=0\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:4:", "[health] failure-threshold", "1 to 1000",
               NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[log]\nline-max=10G\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:4:", "[log] line-max", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[log]\npriority-stderr=loud\n", NULL,
               SV_CONFIG_ERROR_INVALID, "app.conf:4:", "[log] priority-stderr", "'loud'", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[log]\nfields=_PID=1\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:4:", "[log] fields", "'_PID=1'", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[log]\ntarget=syslog\n", NULL, SV_CONFIG_ERROR_INVALID,
               "app.conf:4:", "[log] target", "auto|journal|console", NULL);
}

static void
test_command(Fixture *f, gconstpointer data)
{
  char *argv[] = {"python3", "-c", "print('a b')", NULL};
  char *env[] = {"SDVISOR_APP_STOP_TIMEOUT=2s", NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(SvConfig) c = sv_config_new_for_command(argv, env, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(c->app.exec[2], ==, "print('a b')");
  g_assert_cmpstr(c->app.name, ==, "python3");
  g_assert_cmpint(c->name_source, ==, SV_NAME_FROM_COMMAND);
  g_assert_cmpint(c->app.stop_timeout_usec, ==, 2 * SV_USEC_PER_SEC);
  g_assert_null(c->path);
  g_autofree char *why = sv_config_describe_name_source(c);
  g_assert_nonnull(strstr(why, "SDVISOR_APP_NAME"));
}

/* The default name comes from where the configuration comes from: the template
 * instance, the file, or (without a file) the command. */
static void
test_name_derivation(Fixture *f, gconstpointer data)
{
  static const struct {
    const char *path;
    const char *name;
    SvNameSource source;
  } cases[] = {
      {"/etc/sdvisor/shop.conf", "shop", SV_NAME_FROM_INSTANCE},
      {"/etc/sdvisor/api-v2.conf", "api-v2", SV_NAME_FROM_INSTANCE},
      {"/etc/sdvisor/sub/shop.conf", "shop", SV_NAME_FROM_FILE},
      {"/srv/shop/sdvisor.conf", "sdvisor", SV_NAME_FROM_FILE},
      {"relative/web.ini", "web.ini", SV_NAME_FROM_FILE},
      {"/srv/x/.conf", ".conf", SV_NAME_FROM_FILE},
      {"app.conf.conf", "app.conf", SV_NAME_FROM_FILE},
  };
  char *exec[] = {"/usr/bin/python3", "-m", "uvicorn", NULL};
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    SvNameSource source = SV_NAME_FROM_KEY;
    g_autofree char *name = sv_config_default_name(cases[i].path, exec, &source);
    g_assert_cmpstr(name, ==, cases[i].name);
    g_assert_cmpint(source, ==, cases[i].source);
  }
  SvNameSource source = SV_NAME_FROM_KEY;
  g_autofree char *cmd = sv_config_default_name(NULL, exec, &source);
  g_assert_cmpstr(cmd, ==, "python3");
  g_assert_cmpint(source, ==, SV_NAME_FROM_COMMAND);
  g_assert_null(sv_config_default_name(NULL, NULL, NULL));

  /* Loaded: the file's name; name= wins and says so. */
  g_autoptr(SvConfig) c = load_ok(f, "[app]\nexec=python3 -m uvicorn m:app\n", NULL);
  g_assert_cmpstr(c->app.name, ==, "app");
  g_autofree char *text = sv_config_to_string(c);
  g_assert_nonnull(strstr(text, "name=app\n"));
  g_autofree char *why = sv_config_describe_name_source(c);
  g_assert_nonnull(strstr(why, f->path));
  g_autoptr(SvConfig) named = load_ok(f, "[app]\nexec=python3\nname=shop\n", NULL);
  g_assert_cmpstr(named->app.name, ==, "shop");
  g_assert_cmpint(named->name_source, ==, SV_NAME_FROM_KEY);
  char *env[] = {"SDVISOR_APP_NAME=api", NULL};
  g_autoptr(SvConfig) overridden = load_ok(f, "[app]\nexec=python3\n", env);
  g_assert_cmpstr(overridden->app.name, ==, "api");
  g_assert_cmpint(overridden->name_source, ==, SV_NAME_FROM_KEY);
}

static void
test_signal_names(void)
{
  int s = 0;
  g_assert_true(sv_signal_parse("TERM", &s) && s == SIGTERM);
  g_assert_true(sv_signal_parse("sigusr1", &s) && s == SIGUSR1);
  g_assert_true(sv_signal_parse("9", &s) && s == SIGKILL);
  g_assert_true(sv_signal_parse("RTMIN+3", &s) && s == SIGRTMIN + 3);
  g_assert_true(sv_signal_parse("SIGRTMAX", &s) && s == SIGRTMAX);
  g_assert_false(sv_signal_parse("RTMIN+999", &s));
  g_assert_false(sv_signal_parse("", &s));
  g_assert_false(sv_signal_parse("0", &s));
  g_assert_false(sv_signal_parse("SIGNOPE", &s));
  g_assert_cmpstr(sv_signal_name(SIGWINCH), ==, "SIGWINCH");
}

static void
test_fleet(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) c = load_ok(f,
                                  "[app]\nexec=/bin/true\n"
                                  "[fleet]\nstore=postgresql://shop:s3cret@db.example/shop\n"
                                  "node=web-1\nlease=1min\npassfile=/etc/sdvisor/pgpass\n"
                                  "[job:report]\nschedule=daily\nexec=/bin/true\nonce-per=fleet\n"
                                  "on-store-unavailable=local\nretry-interrupted=true\n"
                                  "[job:local]\nschedule=daily\nexec=/bin/true\n",
                                  NULL);
  g_assert_cmpstr(c->fleet.store, ==, "postgresql://shop:s3cret@db.example/shop");
  g_assert_cmpstr(c->fleet.node, ==, "web-1");
  g_assert_cmpint(c->fleet.lease_usec, ==, 60 * SV_USEC_PER_SEC);
  g_assert_cmpstr(c->fleet.passfile, ==, "/etc/sdvisor/pgpass");
  const SvJobConfig *report = c->jobs->pdata[0];
  const SvJobConfig *local = c->jobs->pdata[1];
  g_assert_cmpint(report->once_per, ==, SV_ONCE_PER_FLEET);
  g_assert_cmpint(report->on_store_unavailable, ==, SV_STORE_UNAVAILABLE_LOCAL);
  g_assert_cmpint(local->once_per, ==, SV_ONCE_PER_HOST);
  g_assert_cmpint(local->on_store_unavailable, ==, SV_STORE_UNAVAILABLE_SKIP);
  /* `check` prints the effective configuration: the password is not in it. */
  g_autofree char *text = sv_config_to_string(c);
  g_assert_null(strstr(text, "s3cret"));
  g_assert_nonnull(strstr(text, "store=postgresql://shop:***@db.example/shop"));

  g_autoptr(SvConfig) d = load_ok(f, "[app]\nexec=/bin/true\n", NULL);
  g_assert_null(d->fleet.store);
  g_assert_cmpint(d->fleet.lease_usec, ==, 30 * SV_USEC_PER_SEC);
}

static void
test_fleet_errors(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\n[fleet]\nstore=mysql://db/x\n", NULL,
               SV_CONFIG_ERROR_INVALID, ":4: [fleet] store: 'mysql://db/x' is not a store URI",
               NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[fleet]\nstore=postgresql://u:pw@db:0/x\n", NULL,
               SV_CONFIG_ERROR_INVALID, "u:***@db:0", NULL);
  expect_error(f,
               "[app]\nexec=/bin/true\n[job:r]\nschedule=daily\nexec=/bin/true\n"
               "once-per=fleet\n",
               NULL, SV_CONFIG_ERROR_MISSING, ":6: [job:r] once-per=fleet needs a store", NULL);
  expect_error(f,
               "[app]\nexec=/bin/true\n[fleet]\nstore=postgresql://db/x\n[job:r]\n"
               "schedule=daily\nexec=/bin/true\nonce-per=fleet\nonce-per-host=false\n",
               NULL, SV_CONFIG_ERROR_INVALID, "contradict", NULL);
  expect_error(f, "[app]\nexec=/bin/true\n[fleet]\nlease=500ms\n", NULL, SV_CONFIG_ERROR_INVALID,
               ":4: [fleet] lease: a lease is at least 1s", NULL);
  expect_error(f,
               "[app]\nexec=/bin/true\n[job:r]\nschedule=daily\nexec=/bin/true\n"
               "once-per=cluster\n",
               NULL, SV_CONFIG_ERROR_INVALID, "once-per", NULL);
}

/* [app] listen=: parsed at load, each address knowing where it was written (listen.c names
 * that place when the port turns out to be taken). */
static void
test_listen(Fixture *f, gconstpointer data)
{
  g_autoptr(SvConfig) none = load_ok(f, "[app]\nexec=/bin/true\n", NULL);
  g_assert_null(none->app.listen);
  g_assert_cmpuint(none->app.listen_mode, ==, 0666);
  g_assert_null(none->app.listen_user);
  g_assert_null(none->app.listen_group);

  g_autoptr(SvConfig) c =
      load_ok(f,
              "[app]\nexec=/bin/true\n"
              "listen = 127.0.0.1:8000 [::]:8001 unix:/run/shop/http.sock\n"
              "listen-mode = 0660\nlisten-user = shop\nlisten-group = www-data\n",
              NULL);
  g_assert_cmpuint(c->app.listen->len, ==, 3);
  g_autofree char *origin = g_strdup_printf("%s:3", f->path);
  for (guint i = 0; i < c->app.listen->len; i++)
    g_assert_cmpstr(((SvListenSpec *)c->app.listen->pdata[i])->origin, ==, origin);
  g_assert_cmpstr(((SvListenSpec *)c->app.listen->pdata[1])->text, ==, "[::]:8001");
  g_assert_cmpuint(c->app.listen_mode, ==, 0660);
  g_assert_cmpstr(c->app.listen_user, ==, "shop");
  g_assert_cmpstr(c->app.listen_group, ==, "www-data");

  char *env[] = {"SDVISOR_APP_LISTEN=unix:@shop", NULL};
  g_autoptr(SvConfig) o = load_ok(f, "[app]\nexec=/bin/true\nlisten=127.0.0.1:1\n", env);
  g_assert_cmpuint(o->app.listen->len, ==, 1);
  g_assert_cmpstr(((SvListenSpec *)o->app.listen->pdata[0])->text, ==, "unix:@shop");
  g_assert_cmpstr(((SvListenSpec *)o->app.listen->pdata[0])->origin, ==,
                  "environment variable SDVISOR_APP_LISTEN");

  /* What can fail stays allowed: http:// needs the app's answer, and another port or
   * host is somebody else's. */
  g_autoptr(SvConfig) checks = load_ok(f,
                                       "[app]\nexec=/bin/true\nlisten=127.0.0.1:8000\n"
                                       "[ready]\ncheck=notify http://127.0.0.1:8000/health "
                                       "tcp://127.0.0.1:8001 tcp://10.0.0.1:8000\n",
                                       NULL);
  g_assert_cmpuint(checks->ready.checks->len, ==, 4);
}

static void
test_listen_errors(Fixture *f, gconstpointer data)
{
  expect_error(f, "[app]\nexec=/bin/true\n\nlisten=127.0.0.1:80 localhost:81\n", NULL,
               SV_CONFIG_ERROR_INVALID, ":4: [app] listen: ", "'localhost'", "numeric", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nlisten=8000\n", NULL, SV_CONFIG_ERROR_INVALID,
               ":3: [app] listen: ", "0.0.0.0:8000", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nlisten=unix:run/x\n", NULL, SV_CONFIG_ERROR_INVALID,
               ":3: [app] listen: ", "absolute", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nlisten=127.0.0.1:80 127.0.0.1:80\n", NULL,
               SV_CONFIG_ERROR_INVALID, ":3: [app] listen: ", "twice", NULL);
  /* A connection check of an address sdvisor holds cannot fail. */
  expect_error(f,
               "[app]\nexec=/bin/true\nlisten=0.0.0.0:8000\n[ready]\n"
               "check=notify tcp://127.0.0.1:8000\n",
               NULL, SV_CONFIG_ERROR_INVALID,
               ":5: [ready] check: tcp://127.0.0.1:8000 cannot fail: sdvisor itself listens on "
               "0.0.0.0:8000",
               "http://", NULL);
  expect_error(f,
               "[app]\nexec=/bin/true\nlisten=unix:/run/a.sock\n[health]\n"
               "check=unix:/run/a.sock\n",
               NULL, SV_CONFIG_ERROR_INVALID, ":5: [health] check: unix:/run/a.sock cannot fail",
               NULL);
  expect_error(f,
               "[app]\nexec=/bin/true\nlisten=[::1]:8000\n[ready]\n"
               "check=tcp://localhost:8000\n",
               NULL, SV_CONFIG_ERROR_INVALID, "tcp://localhost:8000 cannot fail", NULL);
  static const char *const bad_modes[] = {"666x", "0888", "01777", "66", "rw-rw----"};
  for (gsize i = 0; i < G_N_ELEMENTS(bad_modes); i++) {
    g_autofree char *text =
        g_strdup_printf("[app]\nexec=/bin/true\nlisten-mode=%s\n", bad_modes[i]);
    expect_error(f, text, NULL, SV_CONFIG_ERROR_INVALID,
                 ":3: [app] listen-mode: ", "not a file mode", NULL);
  }
}

/* reload-mode=replace switches when the new instance is ready by its own word: notify or
 * an exec: check (given its pid), never a check the old instance could answer. */
static void
test_replace_readiness(Fixture *f, gconstpointer data)
{
  expect_error(f,
               "[app]\nexec=/bin/true\nlisten=127.0.0.1:8000\nreload-mode=replace\n[ready]\n"
               "check=http://127.0.0.1:8000/health\n",
               NULL, SV_CONFIG_ERROR_INVALID, ":4: [app] reload-mode=replace needs", "check=notify",
               "answered by the old instance", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nreload-mode=replace\n", NULL, SV_CONFIG_ERROR_INVALID,
               ":3: [app] reload-mode=replace needs", NULL);
  expect_error(f, "[app]\nexec=/bin/true\nreload-mode=swap\n", NULL, SV_CONFIG_ERROR_INVALID,
               ":3: [app] reload-mode", NULL);
  g_autoptr(SvConfig) notify =
      load_ok(f, "[app]\nexec=/bin/true\nreload-mode=replace\n[ready]\ncheck=notify\n", NULL);
  g_assert_cmpint(notify->app.reload_mode, ==, SV_RELOAD_REPLACE);
  g_autoptr(SvConfig) exec = load_ok(
      f, "[app]\nexec=/bin/true\nreload-mode=replace\n[ready]\ncheck=exec:/bin/true\n", NULL);
  g_assert_cmpint(exec->app.reload_mode, ==, SV_RELOAD_REPLACE);
  g_autoptr(SvConfig) plain = load_ok(f, "[app]\nexec=/bin/true\n", NULL);
  g_assert_cmpint(plain->app.reload_mode, ==, SV_RELOAD_SIGNAL);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define T(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
  T("/config/app/defaults", test_defaults);
  T("/config/app/unknown-escapes-kept", test_unknown_escapes_kept);
  T("/config/app/replace-needs-own-readiness", test_replace_readiness);
  T("/config/app/every-key", test_every_key);
  T("/config/app/optional-environment-file", test_optional_environment_file);
  T("/config/env/overrides-file-and-defaults", test_env_overrides);
  T("/config/env/errors-name-the-variable", test_env_override_errors);
  T("/config/checks/parsed-once-at-load", test_checks_parsed);
  T("/config/error/syntax-has-line", test_syntax_error);
  T("/config/error/unknown-group-suggests", test_unknown_group);
  T("/config/error/unknown-key-suggests", test_unknown_key);
  T("/config/error/invalid-values-name-file-line-group-key", test_invalid_values);
  T("/config/error/missing-exec", test_missing_exec);
  T("/config/error/environment-file", test_environment_file_errors);
  T("/config/environment-file/parse-a-buffer", test_parse_environment_buffer);
  T("/config/error/unreadable-and-unsafe", test_unreadable_and_unsafe);
  T("/config/command-line", test_command);
  T("/config/name/from-instance-file-or-command", test_name_derivation);
  T("/config/groups/every-key-of-every-group", test_all_groups);
  T("/config/groups/section-and-group-defaults", test_section_defaults);
  T("/config/groups/drop-jobs-keeps-the-rest", test_drop_jobs);
  T("/config/hook/exec-split-like-a-shell", test_hook_exec_split);
  T("/config/env/section-overrides", test_section_overrides);
  T("/config/error/section-values", test_section_errors);
  T("/config/fleet/keys-and-redacted-store", test_fleet);
  T("/config/fleet/errors", test_fleet_errors);
  T("/config/listen/addresses-with-their-origin", test_listen);
  T("/config/listen/errors-name-file-line-key", test_listen_errors);
  g_test_add_func("/config/signal-names", test_signal_names);
  return g_test_run();
}

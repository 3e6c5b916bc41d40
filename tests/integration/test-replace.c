/* test-replace.c — [app] reload-mode=replace with real servers on the address sdvisor
 * holds (issue 21): gunicorn (sync workers, and uvicorn workers), uvicorn --fd 3 and
 * aiohttp, each under a steady load from hey(1) on loopback while it is replaced 10
 * times in a row: no request fails, none is refused or reset; a 3-second request in
 * flight on the old instance finishes with 200; the new pid serves afterwards and every
 * old tree is gone. A broken new version (exits at once, or never ready) keeps the old
 * one serving, the reload fails, and READY=1 is said again. */
#include <glib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS      (sv_test_slow() ? 120000 : 30000)
#define PYTHON       "/usr/bin/python3"
#define REPLACEMENTS 10

typedef struct {
  const char *exec;       /* run in tests/apps */
  const char *modules[4]; /* what Debian's python3 must have, else the test skips */
} Server;

/* gunicorn takes LISTEN_FDS itself and its arbiter sends READY=1; the FastAPI and
 * aiohttp apps send READY=1 from their startup hooks (apptools.notify_ready()). */
static const Server gunicorn_sync = {PYTHON " -m gunicorn -c gunicorn.conf.py app_flask:app",
                                     {"gunicorn", "flask"}};
/* Its workers, as uvicorn alone, close a connection they accepted but have not read a
 * request on when they stop: only steering new connections away before the stop signal
 * (docs/deploys.md) keeps that from being a reset. */
static const Server gunicorn_uvicorn = {PYTHON " -m gunicorn -c gunicorn.conf.py -k "
                                               "uvicorn.workers.UvicornWorker app_fastapi:app",
                                        {"gunicorn", "uvicorn", "fastapi"}};
static const Server uvicorn = {PYTHON " -m uvicorn --fd 3 app_fastapi:app", {"uvicorn", "fastapi"}};
static const Server aiohttp = {PYTHON " app_aiohttp.py --fd 3", {"aiohttp"}};

typedef struct {
  char *dir;
  char *config;
  char *socket; /* the control socket */
  int port;
  SvRun *run;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("sdvisor-replace-XXXXXX", NULL);
  f->config = g_build_filename(f->dir, "shop.conf", NULL);
  g_autofree char *rt = g_build_filename(f->dir, "rt", NULL);
  g_assert_cmpint(g_mkdir(rt, 0700), ==, 0);
  f->socket = g_build_filename(rt, "control", NULL);
  f->port = sv_free_port();
}

static void
teardown(Fixture *f, gconstpointer data)
{
  g_clear_pointer(&f->run, sv_run_free);
  sv_test_rm_rf(f->dir);
  g_free(f->dir);
  g_free(f->config);
  g_free(f->socket);
}

/* The configuration for EXEC (run in tests/apps); READY_TIMEOUT is [ready] timeout=. */
static void
write_config(Fixture *f, const char *exec, const char *ready_timeout)
{
  g_autofree char *apps = g_test_build_filename(G_TEST_DIST, "apps", NULL);
  g_autofree char *text = g_strdup_printf("[app]\n"
                                          "name=shop\n"
                                          "exec=%s\n"
                                          "working-directory=%s\n"
                                          "listen=127.0.0.1:%d\n"
                                          "reload-mode=replace\n"
                                          "stop-timeout=15s\n"
                                          "environment=PYTHONUNBUFFERED=1\n"
                                          "[ready]\n"
                                          "check=notify\n"
                                          "timeout=%s\n",
                                          exec, apps, f->port, ready_timeout);
  g_assert_true(g_file_set_contents(f->config, text, -1, NULL));
  g_chmod(f->config, 0644);
}

static void
start(Fixture *f, const Server *server)
{
  write_config(f, server->exec, "60s");
  g_autofree char *rt = g_path_get_dirname(f->socket);
  g_autofree char *rt_env = g_strconcat("RUNTIME_DIRECTORY=", rt, NULL);
  const char *argv[] = {"run", "--config", f->config, NULL};
  const char *env[] = {rt_env, NULL};
  f->run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(f->run, "READY=1", WAIT_MS));
}

/* `sdvisor reload --socket …`: its exit status; its output in *OUT if OUT. */
static int
reload(Fixture *f, char **out)
{
  const char *argv[] = {sv_test_binary(), "reload", "--socket", f->socket, NULL};
  g_autofree char *so = NULL, *se = NULL;
  int status = 0;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &so, &se,
                             &status, &error));
  g_assert_no_error(error);
  if (out != NULL)
    *out = g_strconcat(so, se, NULL);
  g_assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

/* The pid that answers /pid (gunicorn's sync app answers "WORKER MASTER": the master;
 * its uvicorn workers, the worker). */
static pid_t
serving_pid(Fixture *f)
{
  g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d/pid", f->port);
  const char *argv[] = {"curl", "-sS", "--max-time", "10", url, NULL};
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                             &status, NULL));
  if (!g_spawn_check_wait_status(status, NULL))
    g_error("GET /pid failed: %s", err);
  g_auto(GStrv) words = g_strsplit(g_strstrip(out), " ", -1);
  return (pid_t)g_ascii_strtoll(words[g_strv_length(words) - 1], NULL, 10);
}

/* hey(1) for SECONDS with 4 workers against /health, a new connection per request: what
 * sdvisor answers for is the listening socket. On a kept-alive connection, a server that
 * stops closes it when idle, and a request sent at that moment is reset: the client (or
 * proxy) retries it (docs/deploys.md). */
static GSubprocess *
load_start(Fixture *f, guint seconds)
{
  g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d/health", f->port);
  g_autofree char *duration = g_strdup_printf("%us", seconds);
  g_autoptr(GError) error = NULL;
  GSubprocess *p = g_subprocess_new(
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error, "hey", "-z",
      duration, "-c", "4", "-t", "20", "-disable-keepalive", url, NULL);
  g_assert_no_error(error);
  return p;
}

/* hey's report: the number of 200 answers. No other status, no refused connection (the
 * address is never without a listening socket), no reset (a stopping server never has a
 * connection it has not read yet: docs/deploys.md) and no time-out may show. */
static guint
load_finish(GSubprocess *p)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_subprocess_communicate_utf8(p, NULL, NULL, &out, NULL, &error));
  g_assert_no_error(error);
  guint ok = 0, other = 0, resets = 0, errors = 0;
  gboolean in_errors = FALSE;
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  for (char **l = lines; *l; l++) {
    const char *t = g_strstrip(*l);
    guint code = 0, n = 0;
    if (g_str_has_prefix(t, "Error distribution"))
      in_errors = TRUE;
    else if (in_errors && sscanf(t, "[%u]", &n) == 1) {
      errors += n;
      if (strstr(t, "connection reset by peer") != NULL)
        resets += n;
    } else if (!in_errors && sscanf(t, "[%u] %u responses", &code, &n) == 2) {
      if (code == 200)
        ok += n;
      else
        other += n;
    }
  }
  g_autofree char *summary = g_strdup(strstr(out, "Status code distribution") ?: out);
  g_strdelimit(summary, "\n\t", ' ');
  g_test_message("load: %u answered 200, %u otherwise, %u errors (%u resets); %s", ok, other,
                 errors, resets, summary);
  g_assert_cmpuint(other, ==, 0);
  g_assert_cmpuint(errors, ==, 0);
  return ok;
}

static GSubprocess *
slow_request(Fixture *f)
{
  g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d/slow?seconds=3", f->port);
  g_autoptr(GError) error = NULL;
  GSubprocess *p =
      g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "curl", "-sS", "--max-time", "30",
                       "-o", "/dev/null", "-w", "%{http_code}", url, NULL);
  g_assert_no_error(error);
  return p;
}

static gboolean
have_tools(void)
{
  for (const char *const *t = (const char *const[]){"hey", "curl", NULL}; *t; t++) {
    g_autofree char *path = g_find_program_in_path(*t);
    if (path == NULL) {
      g_autofree char *why =
          g_strdup_printf("%s is not installed (Debian: apt-get install %s)", *t, *t);
      g_test_skip(why);
      return FALSE;
    }
  }
  return TRUE;
}

static void
test_replacements_under_load(Fixture *f, gconstpointer data)
{
  const Server *server = data;
  if (sv_test_slow()) {
    /* The socket handover does not change under memcheck or the sanitizers; the load
     * would only measure them. The broken-version and one-at-a-time tests run there. */
    g_test_skip("a load test: the plain run measures the handover; this run checks memory");
    return;
  }
  if (!have_tools())
    return;
  for (const char *const *m = server->modules; *m != NULL; m++)
    if (!sv_test_have_python_module(*m))
      return;
  start(f, server);
  pid_t first = serving_pid(f);
  g_assert_cmpint(first, >, 0);

  GSubprocess *load = load_start(f, sv_test_slow() ? 120 : 40);
  g_usleep(500 * 1000);
  /* A 3-second request on the first instance, in flight at the first switch. */
  g_autoptr(GSubprocess) slow = slow_request(f);
  g_usleep(500 * 1000);
  g_autoptr(GArray) old = g_array_new(FALSE, FALSE, sizeof(pid_t));
  pid_t serving = first;
  for (guint i = 0; i < REPLACEMENTS; i++) {
    g_autofree char *out = NULL;
    int rc = reload(f, &out);
    /* The fake service manager reads sdvisor's notifications now and then: a unix
     * datagram queue holds 10 (net.unix.max_dgram_qlen), and a full one blocks the
     * sender, as a service manager that stopped reading would. */
    (void)sv_run_count_messages(f->run, "", 0);
    if (rc != 0)
      g_error("replacement %u: sdvisor reload exited %d: %s", i + 1, rc, out);
    g_array_append_val(old, serving);
    /* The old instance may take a moment to act on its stop signal, and answers what it
     * accepts meanwhile: the new one serves alone soon after. */
    pid_t now;
    gint64 deadline = sv_now_ms() + WAIT_MS;
    while ((now = serving_pid(f)) == serving && sv_now_ms() < deadline)
      g_usleep(50 * 1000);
    g_assert_cmpint(now, !=, serving);
    serving = now;
  }
  g_autofree char *code = NULL;
  g_assert_true(g_subprocess_communicate_utf8(slow, NULL, NULL, &code, NULL, NULL));
  g_assert_cmpstr(code, ==, "200");
  g_autoptr(GSubprocess) owned_load = load;
  guint ok = load_finish(load);
  g_assert_cmpuint(ok, >, 100);

  /* The new pid is sdvisor's child; every replaced tree is gone. */
  g_assert_cmpint(serving_pid(f), ==, serving);
  for (guint i = 0; i < old->len; i++)
    g_assert_true(sv_test_wait_pid_gone(g_array_index(old, pid_t, i), WAIT_MS));
  g_autofree char *err = sv_run_stderr(f->run);
  guint switched = 0;
  for (const char *p = err; (p = strstr(p, "replaced: the new instance")) != NULL; p++)
    switched++;
  g_assert_cmpuint(switched, ==, REPLACEMENTS);
  /* READY=1 once at start, once per replacement (after RELOADING=1). */
  g_assert_cmpuint(sv_run_count_messages(f->run, "RELOADING=1", 0), ==, REPLACEMENTS);
  sv_run_kill(f->run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(f->run, WAIT_MS), ==, 0);
}

/* A new version that cannot serve: the reload fails with the reason, the old instance
 * goes on serving under load, READY=1 is said again; one that never says it is ready is
 * stopped at [ready] timeout. */
static void
test_broken_version(Fixture *f, gconstpointer data)
{
  if (!have_tools() || !sv_test_have_python_module("uvicorn") ||
      !sv_test_have_python_module("fastapi"))
    return;
  start(f, &uvicorn);
  pid_t first = serving_pid(f);
  GSubprocess *load = load_start(f, sv_test_slow() ? 60 : 15);
  g_usleep(500 * 1000);

  /* An import error: uvicorn exits at once. */
  write_config(f, PYTHON " -m uvicorn --fd 3 app_fastapi:no_such_app", "60s");
  guint ready_before = sv_run_count_messages(f->run, "READY=1", 0);
  g_autofree char *out = NULL;
  g_assert_cmpint(reload(f, &out), !=, 0);
  g_test_message("sdvisor reload said: %s", out);
  g_assert_nonnull(strstr(out, "exited before it was ready"));
  g_assert_nonnull(strstr(out, "keeps serving"));
  g_assert_cmpint(serving_pid(f), ==, first);
  g_assert_cmpuint(sv_run_count_messages(f->run, "READY=1", 1000), ==, ready_before + 1);

  /* Never ready: it runs, but says nothing; stopped after the new [ready] timeout. */
  write_config(f, "/bin/sleep 600", "2s");
  g_clear_pointer(&out, g_free);
  gint64 t0 = sv_now_ms();
  g_assert_cmpint(reload(f, &out), !=, 0);
  g_assert_cmpint(sv_now_ms() - t0, >=, 2000);
  g_assert_nonnull(strstr(out, "was not ready after 2s"));
  g_assert_cmpint(serving_pid(f), ==, first);

  g_autoptr(GSubprocess) owned_load = load;
  (void)load_finish(load);
  /* The sleeper is gone (its tree stopped with the stop signal). */
  g_autofree char *err = sv_run_stderr(f->run);
  g_assert_nonnull(strstr(err, "reload failed: the new instance"));
  sv_run_kill(f->run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(f->run, WAIT_MS), ==, 0);
}

/* One replacement at a time: a reload while one runs is refused with the reason. */
static void
test_one_at_a_time(Fixture *f, gconstpointer data)
{
  if (!have_tools() || !sv_test_have_python_module("uvicorn") ||
      !sv_test_have_python_module("fastapi"))
    return;
  start(f, &uvicorn);
  /* A new instance that takes 3 s before it says it is ready. */
  write_config(f, "/bin/sh -c 'sleep 3; exec " PYTHON " -m uvicorn --fd 3 app_fastapi:app'", "60s");
  const char *argv[] = {sv_test_binary(), "reload", "--socket", f->socket, NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) first = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
  g_assert_no_error(error);
  g_assert_true(sv_run_wait_stderr(f->run, "started a new instance", WAIT_MS));
  g_autofree char *out = NULL;
  g_assert_cmpint(reload(f, &out), ==, 75);
  g_assert_nonnull(strstr(out, "a replacement is under way"));
  g_assert_true(g_subprocess_wait_check(first, NULL, &error));
  g_assert_no_error(error);
  sv_run_kill(f->run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(f->run, WAIT_MS), ==, 0);
}

/* listen= is bound once: a reload that changes it replaces the app on the sockets it has,
 * and says that the new address takes a restart. */
static void
test_listen_change_needs_restart(Fixture *f, gconstpointer data)
{
  if (!have_tools() || !sv_test_have_python_module("uvicorn") ||
      !sv_test_have_python_module("fastapi"))
    return;
  start(f, &uvicorn);
  pid_t first = serving_pid(f);
  int old_port = f->port;
  f->port = sv_free_port();
  write_config(f, uvicorn.exec, "60s");
  g_autofree char *out = NULL;
  g_assert_cmpint(reload(f, &out), ==, 0);
  g_assert_true(sv_run_wait_stderr(f->run, "[app] listen changed; that takes a restart", WAIT_MS));
  g_assert_cmpint(sv_test_connect_tcp(f->port), <, 0);
  f->port = old_port;
  pid_t now = serving_pid(f);
  g_assert_cmpint(now, >, 0);
  g_assert_cmpint(now, !=, first);
  sv_run_kill(f->run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(f->run, WAIT_MS), ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/replace/under-load/gunicorn-sync", Fixture, &gunicorn_sync, setup,
             test_replacements_under_load, teardown);
  g_test_add("/replace/under-load/gunicorn-uvicorn-workers", Fixture, &gunicorn_uvicorn, setup,
             test_replacements_under_load, teardown);
  g_test_add("/replace/under-load/uvicorn", Fixture, &uvicorn, setup, test_replacements_under_load,
             teardown);
  g_test_add("/replace/under-load/aiohttp", Fixture, &aiohttp, setup, test_replacements_under_load,
             teardown);
#define ADD(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
  ADD("/replace/broken-version-keeps-the-old-one", test_broken_version);
  ADD("/replace/one-at-a-time", test_one_at_a_time);
  ADD("/replace/listen-change-needs-restart", test_listen_change_needs_restart);
  return g_test_run();
}

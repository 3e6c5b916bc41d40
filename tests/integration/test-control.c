/* test-control.c — the control socket through the built binary: `sdvisor status`
 * (--json fields), `sdvisor reload` that returns only after READY=1 and fails on a broken
 * file without touching the app, `sdvisor run-job` with the once-per-host claim across
 * two instances, a peer of another uid refused, and garbage that leaves sdvisor serving. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 10000)

/* The app: notes its pid and every HUP. */
static const char app_script[] = "trap 'echo hup >> \"$SVTEST_DIR/events\"' HUP\n"
                                 "echo $$ > \"$SVTEST_DIR/app.pid\"; : > \"$SVTEST_DIR/ready\"\n"
                                 "while [ -d \"$SVTEST_DIR\" ]; do sleep 0.05; done\n";

/* The reload hook takes a second: a reload that returns before it is done shows. The job
 * lasts 5 s: the calls made while it runs take seconds of their own under ASan and load.
 * It is due once a year, at midnight: the tests count its runs, all started by hand, and a
 * daily slot would add one to a test that crosses midnight. */
static const char config_text[] = "[app]\n"
                                  "name=shop\n"
                                  "exec=/bin/sh @DIR@/app.sh\n"
                                  "[ready]\n"
                                  "check=file:@DIR@/ready\n"
                                  "interval=100ms\n"
                                  "[health]\n"
                                  "check=file:@DIR@/healthy\n"
                                  "interval=200ms\n"
                                  "on-unhealthy=none\n"
                                  "[hook:slow]\n"
                                  "when=reload\n"
                                  "exec=/bin/sleep 1\n"
                                  "[job:nightly]\n"
                                  "schedule=@yearly\n"
                                  "exec=/bin/sh -c 'env > \"@DIR@/job.env.$$\"; "
                                  "echo \"$SDVISOR_JOB_RUN\" >> \"@DIR@/job.runs\"; "
                                  "sleep \"${JOB_SLEEP:-5}\"; exit 3'\n";

/* Starts sdvisor with config_text in its own directory; STATE (may be NULL) is a shared
 * state directory. The control socket is $SVTEST_DIR/rt/control. */
static SvRun *
start(const char *state)
{
  g_autofree char *config_env = g_strconcat("SVTEST_CONFIG=", config_text, NULL);
  g_autofree char *app_env = g_strconcat("SVTEST_APP=", app_script, NULL);
  g_autofree char *state_env = g_strconcat("SVTEST_STATE=", state ? state : "", NULL);
  const char *script =
      "printf '%s\\n' \"$SVTEST_CONFIG\" | sed \"s|@DIR@|$SVTEST_DIR|g\" > "
      "\"$SVTEST_DIR/sdvisor.conf\" && printf '%s\\n' \"$SVTEST_APP\" > \"$SVTEST_DIR/app.sh\" "
      "&& : > \"$SVTEST_DIR/healthy\" && mkdir -p \"$SVTEST_DIR/rt\" \"$SVTEST_DIR/state\" "
      "&& export RUNTIME_DIRECTORY=\"$SVTEST_DIR/rt\" "
      "&& export STATE_DIRECTORY=\"${SVTEST_STATE:-$SVTEST_DIR/state}\" "
      "&& unset SVTEST_CONFIG SVTEST_APP SVTEST_STATE "
      "&& exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run --config "
      "\"$SVTEST_DIR/sdvisor.conf\"";
  const char *argv[] = {"-c", script, NULL};
  const char *env[] = {config_env, app_env, state_env, NULL};
  SvRun *run = sv_run_start_shell(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  return run;
}

/* Runs `sdvisor ARGS…` (WRAPPER before it, if any); returns its exit status. */
static int
client(const char *const *wrapper, const char *const *args, char **out, char **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  for (const char *const *w = wrapper; w && *w; w++)
    g_ptr_array_add(argv, (char *)*w);
  g_ptr_array_add(argv, (char *)sv_test_binary());
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add(argv, (char *)*a);
  g_ptr_array_add(argv, NULL);
  int status = 0;
  g_autoptr(GError) error = NULL;
  /* Always captured: a line of the client's on the test's stdout would break its TAP. */
  g_autofree char *own_out = NULL, *own_err = NULL;
  if (out == NULL)
    out = &own_out;
  if (err == NULL)
    err = &own_err;
  gboolean spawned = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                  out, err, &status, &error);
  g_assert_no_error(error);
  g_assert_true(spawned);
  /* On one line: TAP takes only the first line of a message as a comment. */
  g_autofree char *said = g_strconcat(*out ? *out : "", *err ? *err : "", NULL);
  g_strdelimit(said, "\n", ' ');
  g_test_message("sdvisor %s: exit %d: %s", args[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                 said);
  g_assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

/* sdvisor's log goes through a writer thread: what it says comes a moment later. */
static gboolean
wait_stderr(SvRun *run, const char *needle)
{
  gint64 deadline = sv_now_ms() + WAIT_MS;
  do {
    g_autofree char *err = sv_run_stderr(run);
    if (strstr(err, needle) != NULL)
      return TRUE;
    g_usleep(20000);
  } while (sv_now_ms() < deadline);
  return FALSE;
}

static char *
socket_path(SvRun *run)
{
  return g_build_filename(run->dir, "rt", "control", NULL);
}

static JsonObject *
status_json(SvRun *run)
{
  g_autofree char *path = socket_path(run);
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = {"status", "--socket", path, "--json", NULL};
  g_assert_cmpint(client(NULL, args, &out, &err), ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = NULL;
  g_assert_true(json_parser_load_from_data(parser, out, -1, &error));
  g_assert_no_error(error);
  return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

/* Waits until RUN's job has ended its start-up check (catch-up, interrupted runs): a manual
 * run is refused with "try again" before, which under valgrind lasts past READY=1. */
static void
wait_jobs_checked(SvRun *run)
{
  gint64 deadline = sv_now_ms() + WAIT_MS;
  for (;;) {
    g_autoptr(JsonObject) o = status_json(run);
    JsonObject *j = json_array_get_object_element(json_object_get_array_member(o, "jobs"), 0);
    g_assert_true(json_object_has_member(j, "checking"));
    if (!json_object_get_boolean_member(j, "checking"))
      return;
    g_assert_cmpint(sv_now_ms(), <, deadline);
    g_usleep(100000);
  }
}

static void
test_status(void)
{
  g_autoptr(SvRun) run = start(NULL);
  g_autofree char *path = socket_path(run);
  struct stat st;
  g_assert_cmpint(lstat(path, &st), ==, 0);
  g_assert_true(S_ISSOCK(st.st_mode));
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);

  g_autofree char *app_pid = sv_run_wait_file(run, "app.pid", WAIT_MS);
  /* A health result exists once the first attempt has ended. */
  g_autoptr(JsonObject) o = NULL;
  gint64 deadline = sv_now_ms() + WAIT_MS;
  do {
    g_clear_pointer(&o, json_object_unref);
    o = status_json(run);
  } while (json_array_get_length(json_object_get_array_member(o, "checks")) == 0 &&
           sv_now_ms() < deadline && (g_usleep(100000), TRUE));
  g_assert_cmpstr(json_object_get_string_member(o, "app"), ==, "shop");
  g_assert_cmpstr(json_object_get_string_member(o, "state"), ==, "running");
  g_assert_cmpint(json_object_get_int_member(o, "pid"), ==, run->pid);
  g_assert_cmpint(json_object_get_int_member(o, "app_pid"), ==, atoi(app_pid));
  g_assert_cmpint(json_object_get_int_member(o, "restarts"), ==, 0);
  g_assert_true(json_object_get_int_member(o, "uptime_usec") > 0);
  g_assert_nonnull(json_object_get_string_member(o, "started"));
  g_assert_nonnull(json_object_get_string_member(o, "app_started"));
  g_assert_true(json_object_get_boolean_member(o, "healthy"));
  g_assert_true(json_object_get_null_member(o, "unhealthy_since"));
  JsonArray *checks = json_object_get_array_member(o, "checks");
  g_assert_cmpuint(json_array_get_length(checks), ==, 1);
  JsonObject *c = json_array_get_object_element(checks, 0);
  g_assert_true(g_str_has_prefix(json_object_get_string_member(c, "check"), "file:"));
  g_assert_true(json_object_get_boolean_member(c, "ok"));
  g_assert_nonnull(strstr(json_object_get_string_member(c, "detail"), "exists"));
  g_assert_true(g_str_has_suffix(json_object_get_string_member(c, "time"), "Z"));
  JsonArray *jobs = json_object_get_array_member(o, "jobs");
  g_assert_cmpuint(json_array_get_length(jobs), ==, 1);
  JsonObject *j = json_array_get_object_element(jobs, 0);
  g_assert_cmpstr(json_object_get_string_member(j, "name"), ==, "nightly");
  g_assert_false(json_object_get_boolean_member(j, "running"));
  g_assert_true(g_str_has_suffix(json_object_get_string_member(j, "next_run"), "T00:00:00Z"));
  g_assert_true(json_object_get_null_member(j, "last_run"));

  /* Failing checks: said at the first failure, then unhealthy with its time in STATUS=. */
  g_autofree char *healthy = sv_run_path(run, "healthy");
  g_assert_cmpint(g_unlink(healthy), ==, 0);
  const char *status_line = sv_run_wait_message(run, "STATUS=unhealthy (pid", WAIT_MS);
  g_assert_nonnull(status_line);
  g_assert_nonnull(strstr(status_line, ") since "));
  g_assert_true(wait_stderr(run, "health check failed (1 of 3 before unhealthy)"));
  g_clear_pointer(&o, json_object_unref);
  o = status_json(run);
  g_assert_false(json_object_get_boolean_member(o, "healthy"));
  g_assert_nonnull(json_object_get_string_member(o, "unhealthy_since"));
  c = json_array_get_object_element(json_object_get_array_member(o, "checks"), 0);
  g_assert_false(json_object_get_boolean_member(c, "ok"));

  /* The text form says the same for people. */
  g_autofree char *out = NULL;
  const char *args[] = {"status", "--socket", path, NULL};
  g_assert_cmpint(client(NULL, args, &out, NULL), ==, 0);
  g_assert_nonnull(strstr(out, "shop: running"));
  g_assert_nonnull(strstr(out, "health: unhealthy since"));
  g_assert_nonnull(strstr(out, "job nightly:"));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  /* Gone with sdvisor: a client then says nobody answers. */
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
  g_assert_cmpint(client(NULL, args, NULL, NULL), ==, 69);
}

static guint
count_lines(SvRun *run, const char *name, const char *needle)
{
  g_autofree char *path = sv_run_path(run, name);
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return 0;
  guint n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

/* The app's shell runs its HUP trap once its `sleep 0.05` is over: wait for it. */
static guint
wait_lines(SvRun *run, const char *name, const char *needle, guint n)
{
  gint64 deadline = sv_now_ms() + WAIT_MS;
  guint got;
  while ((got = count_lines(run, name, needle)) < n && sv_now_ms() < deadline)
    g_usleep(20000);
  return got;
}

static void
test_reload(void)
{
  g_autoptr(SvRun) run = start(NULL);
  g_autofree char *path = socket_path(run);
  g_autofree char *conf = sv_run_path(run, "sdvisor.conf");
  (void)sv_run_count_messages(run, "", 200);
  const char *args[] = {"reload", "--socket", path, NULL};

  /* Good: returns once READY=1 went out again, after the one-second hook and the HUP. */
  guint ready_before = sv_run_count_messages(run, "READY=1", 0);
  gint64 t0 = sv_now_ms();
  g_assert_cmpint(client(NULL, args, NULL, NULL), ==, 0);
  g_assert_cmpint(sv_now_ms() - t0, >=, 900);
  g_assert_cmpuint(wait_lines(run, "events", "hup", 1), ==, 1);
  /* Already queued when the client returned: 20 ms only to read what waits. */
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 20), ==, ready_before + 1);

  /* Broken: file:line on stderr, non-zero, no RELOADING=1, the app not signalled. */
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(conf, &text, NULL, NULL));
  g_autofree char *broken = g_strconcat(text, "intervall=2s\n", NULL);
  g_assert_true(g_file_set_contents(conf, broken, -1, NULL));
  guint reloading_before = sv_run_count_messages(run, "RELOADING=1", 0);
  g_autofree char *err = NULL;
  g_assert_cmpint(client(NULL, args, NULL, &err), ==, 78);
  g_autofree char *line = g_strdup_printf("sdvisor.conf:%u: [job:nightly] intervall",
                                          count_lines(run, "sdvisor.conf", "\n"));
  g_assert_nonnull(strstr(err, line));
  g_assert_cmpuint(sv_run_count_messages(run, "RELOADING=1", 300), ==, reloading_before);
  g_assert_cmpuint(count_lines(run, "events", "hup"), ==, 1); /* 300 ms later still one */
  g_autoptr(JsonObject) o = status_json(run);
  g_assert_cmpstr(json_object_get_string_member(o, "state"), ==, "running");

  /* Fixed again: reloads. */
  g_assert_true(g_file_set_contents(conf, text, -1, NULL));
  g_assert_cmpint(client(NULL, args, NULL, NULL), ==, 0);
  g_assert_cmpuint(wait_lines(run, "events", "hup", 2), ==, 2);

  /* SIGHUP still reloads as before. */
  sv_run_kill(run, SIGHUP);
  g_assert_nonnull(sv_run_wait_message(run, "RELOADING=1", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

static void
test_run_job(void)
{
  g_autofree char *state = g_dir_make_tmp("sdvisor-control-state-XXXXXX", NULL);
  g_autoptr(SvRun) a = start(state);
  g_autoptr(SvRun) b = start(state);
  g_autofree char *pa = socket_path(a);
  g_autofree char *pb = socket_path(b);
  wait_jobs_checked(a);
  wait_jobs_checked(b);

  g_autofree char *out = NULL, *err = NULL;
  const char *run_a[] = {"run-job", "--socket", pa, "nightly", NULL};
  g_assert_cmpint(client(NULL, run_a, &out, NULL), ==, 0);
  g_assert_nonnull(strstr(out, "job nightly started"));
  /* While it runs in A: B is refused with the reason, A too (it runs here). */
  const char *run_b[] = {"run-job", "--socket", pb, "--wait", "nightly", NULL};
  g_assert_cmpint(client(NULL, run_b, NULL, &err), ==, 75);
  g_assert_nonnull(strstr(err, "running in another instance"));
  g_clear_pointer(&err, g_free);
  g_assert_cmpint(client(NULL, run_a, NULL, &err), ==, 75);
  g_assert_nonnull(strstr(err, "is running in this instance"));
  g_autoptr(JsonObject) o = status_json(a);
  JsonObject *j = json_array_get_object_element(json_object_get_array_member(o, "jobs"), 0);
  g_assert_true(json_object_get_boolean_member(j, "running"));
  g_assert_true(json_object_get_boolean_member(j, "manual"));

  /* Once it is over, B may run it, and --wait gives the job's exit status. */
  const char *wait_a[] = {"run-job", "--socket", pa, "--wait", "nightly", NULL};
  gint64 deadline = sv_now_ms() + WAIT_MS;
  int rc;
  while ((rc = client(NULL, run_b, NULL, NULL)) == 75 && sv_now_ms() < deadline)
    g_usleep(200000);
  g_assert_cmpint(rc, ==, 3);
  g_assert_cmpint(client(NULL, wait_a, NULL, NULL), ==, 3);

  /* Every run ran once, with the scheduled run's environment and the manual mark. */
  g_autoptr(GDir) dir = g_dir_open(a->dir, 0, NULL);
  guint envs = 0;
  for (const char *n; (n = g_dir_read_name(dir)) != NULL;) {
    if (!g_str_has_prefix(n, "job.env."))
      continue;
    g_autofree char *p = g_build_filename(a->dir, n, NULL);
    g_autofree char *env = NULL;
    g_assert_true(g_file_get_contents(p, &env, NULL, NULL));
    g_assert_nonnull(strstr(env, "SDVISOR_JOB=nightly"));
    g_assert_nonnull(strstr(env, "SDVISOR_JOB_MANUAL=1"));
    g_assert_nonnull(strstr(env, "SDVISOR_JOB_SLOT="));
    envs++;
  }
  g_assert_cmpuint(envs, ==, 2);
  /* The claim: the state file records the last run, by instance B or A. */
  g_autofree char *state_file = g_build_filename(state, "shop", "nightly.state", NULL);
  g_autofree char *record = NULL;
  g_assert_true(g_file_get_contents(state_file, &record, NULL, NULL));
  g_assert_nonnull(strstr(record, "result=failed"));
  g_clear_pointer(&o, json_object_unref);
  o = status_json(a);
  j = json_array_get_object_element(json_object_get_array_member(o, "jobs"), 0);
  JsonObject *last = json_object_get_object_member(j, "last_run");
  g_assert_cmpint(json_object_get_int_member(last, "exit_code"), ==, 3);
  g_assert_true(json_object_get_boolean_member(last, "manual"));

  const char *nope[] = {"run-job", "--socket", pa, "no-such", NULL};
  g_clear_pointer(&err, g_free);
  g_assert_cmpint(client(NULL, nope, NULL, &err), ==, 64);
  g_assert_nonnull(strstr(err, "no job no-such"));

  sv_run_kill(a, SIGTERM);
  sv_run_kill(b, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(a, WAIT_MS), ==, 0);
  g_assert_cmpint(sv_run_wait_exit(b, WAIT_MS), ==, 0);
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", state);
  (void)system(cmd);
}

static void
test_other_uid(void)
{
  g_autofree char *setpriv = g_find_program_in_path("setpriv");
  if (getuid() != 0 || setpriv == NULL) {
    g_test_skip("needs root and setpriv to play another user");
    return;
  }
  g_autoptr(SvRun) run = start(NULL);
  g_autofree char *path = socket_path(run);
  g_autofree char *rt = g_path_get_dirname(path);
  const char *nobody[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NULL};
  const char *args[] = {"status", "--socket", path, NULL};
  /* The directories open to all, so only the socket decides. Mode 0600: connect fails. */
  g_assert_cmpint(g_chmod(run->dir, 0711), ==, 0);
  g_assert_cmpint(g_chmod(rt, 0711), ==, 0);
  g_autofree char *err = NULL;
  g_assert_cmpint(client(nobody, args, NULL, &err), ==, 77);
  g_assert_nonnull(strstr(err, "Permission denied"));
  /* Even with the socket opened to all, SO_PEERCRED refuses the peer. */
  g_assert_cmpint(g_chmod(path, 0666), ==, 0);
  g_clear_pointer(&err, g_free);
  g_assert_cmpint(client(nobody, args, NULL, &err), ==, 77);
  g_assert_nonnull(strstr(err, "access denied"));
  g_assert_true(sv_run_wait_file(run, "events", 1) == NULL);
  g_assert_true(wait_stderr(run, "(uid 65534)"));
  const char *reload[] = {"reload", "--socket", path, NULL};
  g_assert_cmpint(client(nobody, reload, NULL, NULL), ==, 77);
  g_assert_cmpuint(count_lines(run, "events", "hup"), ==, 0);
  /* root still may. */
  g_assert_cmpint(client(NULL, args, NULL, NULL), ==, 0);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

static int
connect_to(const char *path)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(fd, >=, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
  g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  return fd;
}

/* Sends DATA (LEN bytes) and returns the reply (up to EOF). */
static char *
exchange(const char *path, const char *data, gsize len, gboolean shut)
{
  int fd = connect_to(path);
  gsize done = 0;
  while (done < len) {
    ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL);
    if (n < 0)
      break; /* the server may close early on a request too large */
    done += (gsize)n;
  }
  if (shut)
    (void)shutdown(fd, SHUT_WR);
  GString *reply = g_string_new(NULL);
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
    g_string_append_len(reply, buf, n);
  close(fd);
  return g_string_free(reply, FALSE);
}

static void
test_garbage(void)
{
  g_autoptr(SvRun) run = start(NULL);
  g_autofree char *path = socket_path(run);

  /* Silent clients that hold their connection: nobody else waits for them. */
  int silent[3];
  for (guint i = 0; i < G_N_ELEMENTS(silent); i++)
    silent[i] = connect_to(path);

  static const struct {
    const char *data;
    const char *code;
  } cases[] = {
      {"garbage\n", "\"malformed\""},
      {"{\"version\":1,\"command\":\"status\"", "\"malformed\""},
      {"{\"version\":9,\"command\":\"status\"}\n", "\"unsupported-version\""},
      {"{\"version\":1,\"command\":\"rm-rf\"}\n", "\"unknown-command\""},
      {"{\"version\":1,\"command\":\"run-job\",\"job\":3}\n", "\"invalid-argument\""},
      {"\xff\xfe\x00\x01\n", "\"malformed\""},
      {"", "\"malformed\""},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    gsize len = strlen(cases[i].data);
    if (cases[i].data[0] == '\xff')
      len = 5;
    g_autofree char *reply = exchange(path, cases[i].data, len, TRUE);
    g_test_message("case %u: %s", i, g_strdelimit(reply, "\n", ' '));
    g_assert_nonnull(strstr(reply, "\"ok\":false"));
    g_assert_nonnull(strstr(reply, cases[i].code));
  }
  g_autofree char *big = g_malloc(100000);
  memset(big, '{', 100000);
  g_autofree char *reply = exchange(path, big, 100000, FALSE);
  g_assert_nonnull(strstr(reply, "\"too-large\""));

  /* Still serving, at once, while the silent ones still hold their connections. */
  gint64 t0 = sv_now_ms();
  g_autoptr(JsonObject) o = status_json(run);
  g_assert_cmpstr(json_object_get_string_member(o, "state"), ==, "running");
  g_assert_cmpint(sv_now_ms() - t0, <, sv_test_slow() ? 20000 : 2000);
  /* The silent ones are dropped after the client timeout (5 s), with a reason. */
  char buf[16];
  g_assert_cmpint(recv(silent[0], buf, sizeof buf, 0), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS(silent); i++)
    close(silent[i]);
  g_assert_true(wait_stderr(run, "control: dropping a client"));
  g_clear_pointer(&o, json_object_unref);
  o = status_json(run);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/control/status", test_status);
  g_test_add_func("/control/reload/waits-for-ready-and-fails-on-a-broken-file", test_reload);
  g_test_add_func("/control/run-job/once-with-the-claim", test_run_job);
  g_test_add_func("/control/peer-of-another-uid-refused", test_other_uid);
  g_test_add_func("/control/garbage-leaves-it-serving", test_garbage);
  return g_test_run();
}

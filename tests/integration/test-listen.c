/* test-listen.c — [app] listen= with the real binary and real servers: sdvisor binds the
 * socket before the app starts, hands it to the fd store (the fake NOTIFY_SOCKET gets
 * the very socket), and uvicorn (--fd 3), gunicorn (LISTEN_FDS) and aiohttp
 * (sock=socket.socket(fileno=3)) serve on it. A connection made before the app is up
 * waits in the backlog and is served. A port in use is a configuration error (78) that
 * names file:line and key. A restarted sdvisor takes its sockets back from the fd store
 * (a python3 wrapper plays systemd) instead of binding anew. */
#include <glib.h>
#include <glib/gstdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 15000)
#define PYTHON  "/usr/bin/python3"

/* GET PATH on the connected FD (closed here); the body of a 200 answer, or NULL. */
static char *
http_get(int fd, const char *path)
{
  g_assert_cmpint(fd, >=, 0);
  g_autofree char *request = g_strdup_printf("GET %s HTTP/1.0\r\nHost: sdvisor\r\n\r\n", path);
  g_assert_cmpint(write(fd, request, strlen(request)), ==, (ssize_t)strlen(request));
  GString *reply = g_string_new(NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    g_string_append_len(reply, buf, n);
  close(fd);
  g_autofree char *text = g_string_free(reply, FALSE);
  const char *body = strstr(text, "\r\n\r\n");
  if (!g_str_has_prefix(text, "HTTP/1.") || strstr(text, " 200 ") != strchr(text, ' ') ||
      body == NULL) {
    g_test_message("reply: %s", text);
    return NULL;
  }
  return g_strdup(body + 4);
}

/* The pid in a /pid answer ("PID\n", or gunicorn's "WORKER MASTER\n": the master). */
static pid_t
answered_by(const char *body)
{
  g_autofree char *text = g_strdup(body);
  g_auto(GStrv) words = g_strsplit(g_strstrip(text), " ", -1);
  const char *last = words[g_strv_length(words) - 1];
  return (pid_t)g_ascii_strtoll(last, NULL, 10);
}

typedef struct {
  char *dir;
  char *config;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("sdvisor-listen-XXXXXX", NULL);
  f->config = g_build_filename(f->dir, "shop.conf", NULL);
}

static void
teardown(Fixture *f, gconstpointer data)
{
  sv_test_rm_rf(f->dir);
  g_free(f->dir);
  g_free(f->config);
}

static SvRun *
start_with(Fixture *f, const char *text)
{
  g_assert_true(g_file_set_contents(f->config, text, -1, NULL));
  g_chmod(f->config, 0644);
  const char *argv[] = {"run", "--config", f->config, NULL};
  return sv_run_start(argv, NULL);
}

/* One server of the guide's table: how it is started on sdvisor's socket. */
typedef struct {
  const char *exec;       /* run in tests/apps */
  const char *modules[3]; /* what Debian's python3 must have, else the test skips */
  gboolean unix_socket;   /* listen=unix:DIR/http.sock rather than a TCP port */
} Server;

static const Server uvicorn_tcp = {
    /* uvicorn 0.17 takes the fd as AF_UNIX whatever it is (uvicorn#295): TCP works too. */
    PYTHON " -m uvicorn --fd 3 app_fastapi:app",
    {"uvicorn", "fastapi"},
    FALSE};
static const Server uvicorn_unix = {
    PYTHON " -m uvicorn --fd 3 app_fastapi:app", {"uvicorn", "fastapi"}, TRUE};
/* No --bind: gunicorn takes LISTEN_FDS when LISTEN_PID is its own pid. */
static const Server gunicorn = {
    PYTHON " -m gunicorn -c gunicorn.conf.py app_flask:app", {"gunicorn", "flask"}, FALSE};
static const Server aiohttp = {PYTHON " app_aiohttp.py --fd 3", {"aiohttp"}, FALSE};

/* A connection to the server's address: a port, or the unix socket in the run's dir. */
static int
connect_server(const Server *server, int port, const char *path)
{
  return server->unix_socket ? sv_test_connect_unix(path) : sv_test_connect_tcp(port);
}

/* The server serves /pid on the socket sdvisor bound. Checks the fd store got that
 * socket, that a connection made before the app is ready is served, and that the answer
 * comes from sdvisor's child. */
static void
test_serves(Fixture *f, gconstpointer data)
{
  const Server *server = data;
  for (const char *const *m = server->modules; *m != NULL; m++)
    if (!sv_test_have_python_module(*m))
      return;
  int port = sv_free_port();
  g_autofree char *path = g_build_filename(f->dir, "http.sock", NULL);
  g_autofree char *listen = server->unix_socket ? g_strconcat("unix:", path, NULL)
                                                : g_strdup_printf("127.0.0.1:%d", port);
  g_autofree char *apps = g_test_build_filename(G_TEST_DIST, "apps", NULL);
  g_autofree char *text = g_strdup_printf("[app]\n"
                                          "exec=%s\n"
                                          "working-directory=%s\n"
                                          "listen=%s\n"
                                          "stop-timeout=10s\n"
                                          "environment=PYTHONUNBUFFERED=1\n",
                                          server->exec, apps, listen);
  g_autoptr(SvRun) run = start_with(f, text);

  /* The socket reaches the fd store before the app starts: the very one. */
  int stored = -1;
  const char *message = sv_run_wait_message_fd(run, "FDSTORE=1", WAIT_MS, &stored);
  g_assert_nonnull(message);
  g_assert_nonnull(strstr(message, "\nFDNAME="));
  g_assert_cmpint(stored, >=, 0);
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  g_assert_cmpint(getsockopt(stored, SOL_SOCKET, SO_TYPE, &type, &len), ==, 0);
  len = sizeof listening;
  g_assert_cmpint(getsockopt(stored, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), ==, 0);
  g_assert_cmpint(type, ==, SOCK_STREAM);
  g_assert_true(listening);
  close(stored);

  /* Bound before the app is up: this connection waits in the backlog. */
  int early = connect_server(server, port, path);
  g_assert_cmpint(early, >=, 0);

  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  /* No readiness check is configured, so READY=1 may come before the server listens:
   * the early connection's answer is the proof that it waited and was served. */
  g_autofree char *early_body = http_get(early, "/pid");
  g_assert_nonnull(early_body);
  pid_t app = answered_by(early_body);
  g_assert_cmpint(app, >, 0);
  pid_t parent = 0;
  g_assert_cmpint(sv_test_pid_state(app, &parent), !=, 0);
  g_assert_cmpint(parent, ==, run->pid);
  /* The environment the app was started with (gunicorn unsets LISTEN_* in os.environ,
   * /proc keeps the original): LISTEN_PID is the app's own pid, not sdvisor's. */
  g_autofree char *environ_path = g_strdup_printf("/proc/%d/environ", (int)app);
  g_autofree char *environ_text = NULL;
  gsize environ_len = 0;
  g_assert_true(g_file_get_contents(environ_path, &environ_text, &environ_len, NULL));
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
  for (const char *e = environ_text; e < environ_text + environ_len; e += strlen(e) + 1)
    g_strv_builder_add(builder, e);
  g_auto(GStrv) app_env = g_strv_builder_end(builder);
  g_autofree char *own_pid = g_strdup_printf("%d", (int)app);
  g_assert_cmpstr(g_environ_getenv(app_env, "LISTEN_PID"), ==, own_pid);
  g_assert_cmpstr(g_environ_getenv(app_env, "LISTEN_FDS"), ==, "1");
  g_autofree char *name = server->unix_socket ? g_strconcat("unix_", path, NULL)
                                              : g_strdup_printf("127.0.0.1_%d", port);
  g_assert_cmpstr(g_environ_getenv(app_env, "LISTEN_FDNAMES"), ==, name);

  g_autofree char *again = http_get(connect_server(server, port, path), "/pid");
  g_assert_cmpint(answered_by(again), ==, app);

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  /* sdvisor is gone, and with it the socket (no fd store here to keep it). */
  g_assert_cmpint(connect_server(server, port, path), ==, -1);
}

static void
test_port_in_use(Fixture *f, gconstpointer data)
{
  int port = sv_free_port();
  int taken = sv_test_listen_tcp(port);

  g_autofree char *text =
      g_strdup_printf("[app]\nexec=/bin/sleep 30\n\nlisten=127.0.0.1:%d\n", port);
  g_autoptr(SvRun) run = start_with(f, text);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 78);
  g_autofree char *err = sv_run_stderr(run);
  g_autofree char *where =
      g_strdup_printf("%s:4: [app] listen: 127.0.0.1:%d: cannot bind: ", f->config, port);
  if (strstr(err, where) == NULL)
    g_error("stderr «%s» lacks «%s»", err, where);
  g_assert_nonnull(strstr(err, "another process listens on it"));
  /* The app never started. */
  g_assert_null(strstr(err, "started"));
  close(taken);
}

/* Plays systemd giving sdvisor its fd store back after a restart: binds PORT and
 * OLD_PORT, places them at fds 3 and 4 with LISTEN_FDS, LISTEN_PID (its own pid, which
 * exec keeps) and LISTEN_FDNAMES, then execs sdvisor. */
static const char restart_wrapper[] =
    "import os, socket, sys\n"
    "names, keep = [], []\n"
    "for i, (port, name) in enumerate(((int(os.environ['PORT']), os.environ['NAME']),\n"
    "                                  (int(os.environ['OLD_PORT']), 'old_address'))):\n"
    "    s = socket.socket()\n"
    "    s.bind(('127.0.0.1', port))\n"
    "    s.listen(16)\n"
    "    keep.append(s)\n"
    "    os.dup2(s.fileno(), 3 + i)\n"
    "    os.set_inheritable(3 + i, True)  # dup2 onto itself keeps close-on-exec\n"
    "    names.append(name)\n"
    "os.environ.update(LISTEN_FDS='2', LISTEN_PID=str(os.getpid()),\n"
    "                  LISTEN_FDNAMES=':'.join(names))\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n";

/* sdvisor restarted with its sockets in the fd store: it takes the one on its address
 * over (binding anew would fail: the port is held, by sdvisor itself), and forgets and
 * closes the one a former configuration had. */
static void
test_fd_store_given_back(Fixture *f, gconstpointer data)
{
  int port = sv_free_port(), old_port = sv_free_port();
  g_autofree char *text = g_strdup_printf("[app]\nexec=/bin/sleep 30\nlisten=127.0.0.1:%d\n", port);
  g_assert_true(g_file_set_contents(f->config, text, -1, NULL));
  g_chmod(f->config, 0644);
  g_autofree char *port_env = g_strdup_printf("PORT=%d", port);
  g_autofree char *old_env = g_strdup_printf("OLD_PORT=%d", old_port);
  g_autofree char *name_env = g_strdup_printf("NAME=127.0.0.1_%d", port);
  const char *wrapper[] = {PYTHON, "-c", restart_wrapper, NULL};
  const char *argv[] = {"run", "--config", f->config, NULL};
  const char *env[] = {port_env, old_env, name_env, NULL};
  g_autoptr(SvRun) run = sv_run_start_full(wrapper, argv, env);

  g_assert_nonnull(sv_run_wait_message(run, "FDSTOREREMOVE=1\nFDNAME=old_address", WAIT_MS));
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *line = g_strdup_printf("listening on 127.0.0.1:%d (fd 3, from the service "
                                          "manager)",
                                          port);
  g_assert_true(sv_run_wait_stderr(run, line, WAIT_MS));
  g_assert_true(sv_run_wait_stderr(run, "closed socket 'old_address'", WAIT_MS));
  /* The old address is closed; the kept one still takes connections. */
  g_assert_cmpint(sv_test_connect_tcp(old_port), ==, -1);
  int c = sv_test_connect_tcp(port);
  g_assert_cmpint(c, >=, 0);
  close(c);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* `sdvisor check` lists the sockets as the app will get them, binding nothing. */
static void
test_check_lists_sockets(Fixture *f, gconstpointer data)
{
  g_assert_true(g_file_set_contents(f->config,
                                    "[app]\nexec=/bin/true\n"
                                    "listen=127.0.0.1:1 [::]:8001 unix:/run/shop/http.sock\n"
                                    "listen-mode=0660\nlisten-group=www-data\n",
                                    -1, NULL));
  g_chmod(f->config, 0644);
  const char *argv[] = {sv_test_binary(), "check", f->config, NULL};
  g_autofree char *out = NULL;
  int status = 0;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                             &out, NULL, &status, NULL));
  g_assert_true(g_spawn_check_wait_status(status, NULL));
  g_assert_nonnull(strstr(out, "\n# fd 3: 127.0.0.1:1 (name 127.0.0.1_1)\n"));
  g_assert_nonnull(strstr(out, "\n# fd 4: [::]:8001 (name [__]_8001)\n"));
  g_assert_nonnull(strstr(out, "\n# fd 5: unix:/run/shop/http.sock (name unix_/run/shop/http.sock, "
                               "mode 0660, owner sdvisor's:www-data)\n"));
}

/* Hooks never get the sockets, nor sdvisor's LISTEN_* (which today carry them to the
 * supervisor). */
static void
test_hooks_get_no_sockets(Fixture *f, gconstpointer data)
{
  int port = sv_free_port();
  g_autofree char *env_file = g_build_filename(f->dir, "hook.env", NULL);
  g_autofree char *text = g_strdup_printf("[app]\nexec=/bin/sleep 30\nlisten=127.0.0.1:%d\n\n"
                                          "[hook:env]\nwhen=pre-start\n"
                                          "exec=/bin/sh -c 'exec > %s; env; for n in 3 4; do "
                                          "[ -e /proc/$$/fd/$n ] && echo fd$n; done; "
                                          "echo fds-checked'\n",
                                          port, env_file);
  g_autoptr(SvRun) run = start_with(f, text);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *seen = NULL;
  g_assert_true(g_file_get_contents(env_file, &seen, NULL, NULL));
  g_assert_nonnull(strstr(seen, "PATH="));
  g_assert_null(strstr(seen, "LISTEN_"));
  /* Nor at fd 3 or 4. */
  g_assert_nonnull(strstr(seen, "\nfds-checked\n"));
  g_assert_null(strstr(seen, "\nfd3\n"));
  g_assert_null(strstr(seen, "\nfd4\n"));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define T(path, func)   g_test_add(path, Fixture, NULL, setup, func, teardown)
#define S(path, server) g_test_add(path, Fixture, &server, setup, test_serves, teardown)
  S("/listen/uvicorn/tcp-socket-bound-by-sdvisor", uvicorn_tcp);
  S("/listen/uvicorn/unix-socket-bound-by-sdvisor", uvicorn_unix);
  S("/listen/gunicorn/takes-listen-fds", gunicorn);
  S("/listen/aiohttp/sock-fileno-3", aiohttp);
  T("/listen/fd-store/given-back-after-a-restart", test_fd_store_given_back);
  T("/listen/error/port-in-use-is-a-config-error", test_port_in_use);
  T("/listen/check/lists-the-sockets", test_check_lists_sockets);
  T("/listen/hooks/get-no-sockets", test_hooks_get_no_sockets);
  return g_test_run();
}

/* store-pg.c — the claim store on PostgreSQL, through libpq's asynchronous API.
 *
 * One connection in pipeline mode (libpq 14+): requests go out as they come, each with
 * its own sync point, and are answered in order; the server never waits for a round trip
 * between two of them. The socket is watched by a GSource; connecting
 * (PQconnectStartParams/PQconnectPoll), sending (PQsendQueryParams, PQflush) and reading
 * (PQconsumeInput/PQisBusy/PQgetResult) never wait. A lost connection fails what was queued (UNAVAILABLE) and is
 * made again with a backoff from 1 s to 30 s; a request waits at most a third of the
 * lease (clamped to 1-10 s), so a hung server turns into "unavailable", not into a
 * stalled job timer.
 *
 * libpq is opened with dlopen() when the first store is made, never linked: a sdvisor
 * without [fleet] does not map it and its dependencies (BENCHMARKS.md). */
#include "store-pg.h"

#include <dlfcn.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <libpq-fe.h>
#include <string.h>
#include <unistd.h>

#include "fleet.h"
#include "log.h"
#include "timespan.h"

#define SV_PQ_LIBRARY "libpq.so.5"

#define SV_PG_BACKOFF_MIN_USEC (1 * SV_USEC_PER_SEC)
#define SV_PG_BACKOFF_MAX_USEC (30 * SV_USEC_PER_SEC)
#define SV_PG_TICK_MS          100
/* The credential LoadCredential= passes with the password in it. */
#define SV_PG_CREDENTIAL "fleet-password"

/* ---- libpq, opened on first use -------------------------------------------------------------- */

static struct {
  char *error;
  __typeof__(PQconnectStartParams) *connectStartParams;
  __typeof__(PQconnectdbParams) *connectdbParams;
  __typeof__(PQconnectPoll) *connectPoll;
  __typeof__(PQstatus) *status;
  __typeof__(PQsocket) *socket;
  __typeof__(PQerrorMessage) *errorMessage;
  __typeof__(PQfinish) *finish;
  __typeof__(PQsetnonblocking) *setnonblocking;
  __typeof__(PQsendQuery) *sendQuery;
  __typeof__(PQsendQueryParams) *sendQueryParams;
  __typeof__(PQflush) *flush;
  __typeof__(PQconsumeInput) *consumeInput;
  __typeof__(PQisBusy) *isBusy;
  __typeof__(PQgetResult) *getResult;
  __typeof__(PQresultStatus) *resultStatus;
  __typeof__(PQresultErrorField) *resultErrorField;
  __typeof__(PQresultErrorMessage) *resultErrorMessage;
  __typeof__(PQclear) *clear;
  __typeof__(PQntuples) *ntuples;
  __typeof__(PQnfields) *nfields;
  __typeof__(PQgetvalue) *getvalue;
  __typeof__(PQgetisnull) *getisnull;
  __typeof__(PQexecParams) *execParams;
  __typeof__(PQsetNoticeProcessor) *setNoticeProcessor;
  __typeof__(PQuser) *user;
  __typeof__(PQenterPipelineMode) *enterPipelineMode;
  __typeof__(PQpipelineSync) *pipelineSync;
} pq;

static gboolean
pq_open(GError **error)
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    void *lib = dlopen(SV_PQ_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
      pq.error = g_strdup(dlerror());
#define PQ_SYMBOL(field)                                                                           \
  if (pq.error == NULL && (*(void **)&pq.field = dlsym(lib, "PQ" #field)) == NULL)                 \
    pq.error = g_strdup_printf("%s: no PQ%s", SV_PQ_LIBRARY, #field);
    PQ_SYMBOL(connectStartParams)
    PQ_SYMBOL(connectdbParams)
    PQ_SYMBOL(connectPoll)
    PQ_SYMBOL(status)
    PQ_SYMBOL(socket)
    PQ_SYMBOL(errorMessage)
    PQ_SYMBOL(finish)
    PQ_SYMBOL(setnonblocking)
    PQ_SYMBOL(sendQuery)
    PQ_SYMBOL(sendQueryParams)
    PQ_SYMBOL(flush)
    PQ_SYMBOL(consumeInput)
    PQ_SYMBOL(isBusy)
    PQ_SYMBOL(getResult)
    PQ_SYMBOL(resultStatus)
    PQ_SYMBOL(resultErrorField)
    PQ_SYMBOL(resultErrorMessage)
    PQ_SYMBOL(clear)
    PQ_SYMBOL(ntuples)
    PQ_SYMBOL(nfields)
    PQ_SYMBOL(getvalue)
    PQ_SYMBOL(getisnull)
    PQ_SYMBOL(execParams)
    PQ_SYMBOL(setNoticeProcessor)
    PQ_SYMBOL(user)
    PQ_SYMBOL(enterPipelineMode)
    PQ_SYMBOL(pipelineSync)
#undef PQ_SYMBOL
    g_once_init_leave(&once, 1);
  }
  if (pq.error != NULL) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_LIBRARY,
                _("a PostgreSQL fleet store needs %s (Debian: libpq5), which cannot be loaded: %s"),
                SV_PQ_LIBRARY, pq.error);
    return FALSE;
  }
  return TRUE;
}

/* NOTICEs ("relation already exists, skipping") would go to stderr by default. */
static void
ignore_notice(void *arg, const char *message)
{
}

/* libpq's messages end with a newline and may hold several lines. */
static char *
one_line(const char *message)
{
  GString *out = g_string_new(NULL);
  for (const char *p = message ? message : ""; *p != '\0'; p++) {
    gboolean space = *p == '\n' || *p == '\t' || *p == ' ';
    if (space && (out->len == 0 || out->str[out->len - 1] == ' '))
      continue;
    g_string_append_c(out, space ? ' ' : *p);
  }
  while (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate(out, out->len - 1);
  return g_string_free(out, FALSE);
}

/* ---- connection parameters ----------------------------------------------------------------- */

typedef struct {
  const char *keywords[8];
  const char *values[8];
  char *password;
  char *timeout;
} SvPgParams;

static void
params_clear(SvPgParams *p)
{
  if (p->password != NULL)
    memset(p->password, 0, strlen(p->password));
  g_free(p->password);
  g_free(p->timeout);
}

/* The password, when not in the URI or a passfile, comes from systemd's credentials:
 * LoadCredential=fleet-password:… puts it in $CREDENTIALS_DIRECTORY, readable by this
 * service only, and never in the environment, the journal or `check`. */
static char *
credential_password(void)
{
  const char *dir = g_getenv("CREDENTIALS_DIRECTORY");
  if (dir == NULL)
    return NULL;
  g_autofree char *path = g_build_filename(dir, SV_PG_CREDENTIAL, NULL);
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return NULL;
  /* A trailing newline is the editor's, not the password's. */
  gsize len = strlen(text);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  return text;
}

static void
params_fill(SvPgParams *p, const SvFleetConfig *config, gint64 connect_timeout_usec)
{
  int n = 0;
  p->keywords[n] = "dbname";
  p->values[n++] = config->store;
  p->keywords[n] = "fallback_application_name";
  p->values[n++] = "sdvisor";
  if (config->passfile != NULL) {
    p->keywords[n] = "passfile";
    p->values[n++] = config->passfile;
  }
  p->password = credential_password();
  if (p->password != NULL) {
    p->keywords[n] = "password";
    p->values[n++] = p->password;
  }
  if (connect_timeout_usec > 0) {
    p->timeout = g_strdup_printf("%d", (int)MAX(2, connect_timeout_usec / SV_USEC_PER_SEC));
    p->keywords[n] = "connect_timeout";
    p->values[n++] = p->timeout;
  }
  p->keywords[n] = NULL;
  p->values[n] = NULL;
}

/* ---- the store ----------------------------------------------------------------------------- */

typedef enum {
  SV_PG_DOWN,       /* no connection; retry_source brings the next attempt */
  SV_PG_CONNECTING, /* PQconnectPoll */
  SV_PG_SETUP,      /* schema version, creation, privileges */
  SV_PG_READY,      /* requests go out */
} SvPgState;

typedef enum {
  SV_PG_SETUP_VERSION,
  SV_PG_SETUP_CREATE,
  SV_PG_SETUP_PRIVILEGES,
} SvPgSetupStep;

typedef enum {
  SV_PG_OP_CLAIM,
  SV_PG_OP_RENEW,
  SV_PG_OP_FINISH,
  SV_PG_OP_INTERRUPTED,
  SV_PG_OP_LAST_RUNS,
} SvPgOpKind;

typedef struct {
  SvPgOpKind kind;
  char *params[8];
  int n_params;
  gint64 deadline; /* monotonic */
  GCancellable *cancellable;
  SvClaimFunc claim_func;
  SvStoreDoneFunc done_func;
  void (*slot_func)(gint64 slot, gpointer user_data);
  SvStoreRunsFunc runs_func;
  gpointer user_data;
  GError *error; /* set when it fails from an idle */
} SvPgOp;

typedef struct {
  SvClaimStore parent;
  SvFleetConfig config; /* own copy */
  char *app;
  char *pid_text;
  char *lease_text;

  SvPgState state;
  SvPgSetupStep setup_step;
  PGconn *conn;
  GSource *io_source;
  gpointer io_tag;
  int io_fd;
  guint retry_source;
  guint tick_source;
  gint64 connect_deadline;
  gint64 backoff_usec;

  GQueue queue;          /* SvPgOp* not sent yet */
  GQueue inflight;       /* SvPgOp* sent (pipeline mode), in order; the head's results come next */
  guint syncs_pending;   /* pipeline sync points sent whose PGRES_PIPELINE_SYNC is not read */
  gboolean head_started; /* a result of the head of inflight was read */
  PGresult *result;      /* the head's (or the setup statement's) first result */
  char *query_error;     /* its error, if any */
  char *query_state;     /* its SQLSTATE */
  GError *last_error;    /* why the store is down: what requests get while it is */
  gboolean logged_down;
} SvPgStore;

static void pg_connect(SvPgStore *s);
static void pg_pump(SvPgStore *s);
static void pg_send_next(SvPgStore *s);
static void pg_update_io(SvPgStore *s, GIOCondition condition);
static void op_fail_later(SvPgOp *op, const GError *error);

static void
op_free(SvPgOp *op)
{
  for (int i = 0; i < op->n_params; i++)
    g_free(op->params[i]);
  g_clear_object(&op->cancellable);
  g_clear_error(&op->error);
  g_free(op);
}

/* Runs OP's callback with "unavailable" (unless cancelled) and frees it. */
static void
op_fail(SvPgOp *op, const GError *error)
{
  if (op->cancellable == NULL || !g_cancellable_is_cancelled(op->cancellable)) {
    switch (op->kind) {
    case SV_PG_OP_CLAIM: {
      SvClaimReply reply = {.outcome = SV_CLAIM_UNAVAILABLE, .error = error};
      op->claim_func(&reply, op->user_data);
      break;
    }
    case SV_PG_OP_RENEW:
    case SV_PG_OP_FINISH:
      op->done_func(FALSE, error, op->user_data);
      break;
    case SV_PG_OP_INTERRUPTED:
      op->slot_func(-1, op->user_data);
      break;
    case SV_PG_OP_LAST_RUNS:
      op->runs_func(NULL, error, op->user_data);
      break;
    }
  }
  op_free(op);
}

static gboolean
io_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback(user_data);
}

static GSourceFuncs io_funcs = {NULL, NULL, io_dispatch, NULL, NULL, NULL};

static gboolean on_io(gpointer user_data);

/* Watches the connection's socket for CONDITION (0: not at all). The socket may change
 * while connecting (another host of the list, a retry without SSL). */
static void
pg_update_io(SvPgStore *s, GIOCondition condition)
{
  int fd = s->conn ? pq.socket(s->conn) : -1;
  if (s->io_source != NULL && (fd != s->io_fd || condition == 0)) {
    g_source_destroy(s->io_source);
    g_clear_pointer(&s->io_source, g_source_unref);
    s->io_tag = NULL;
    s->io_fd = -1;
  }
  if (fd < 0 || condition == 0)
    return;
  if (s->io_source == NULL) {
    s->io_source = g_source_new(&io_funcs, sizeof(GSource));
    g_source_set_callback(s->io_source, on_io, s, NULL);
    g_source_set_name(s->io_source, "sdvisor fleet store");
    s->io_tag = g_source_add_unix_fd(s->io_source, fd, condition);
    s->io_fd = fd;
    g_source_attach(s->io_source, NULL);
  } else {
    g_source_modify_unix_fd(s->io_source, s->io_tag, condition);
  }
}

static void
pg_log_down(SvPgStore *s)
{
  /* One entry per cause: an outage of an hour is not 120 identical errors. */
  if (s->logged_down)
    return;
  s->logged_down = TRUE;
  g_autofree char *wait = sv_timespan_format(s->backoff_usec / SV_USEC_PER_SEC * SV_USEC_PER_SEC);
  sv_log(LOG_ERR, "fleet store %s: %s; trying again every %s or less", s->parent.description,
         s->last_error->message, wait);
}

static gboolean
on_retry(gpointer user_data)
{
  SvPgStore *s = user_data;
  s->retry_source = 0;
  pg_connect(s);
  return G_SOURCE_REMOVE;
}

/* The connection is gone or unusable (CODE, MESSAGE): fail everything in flight, retry
 * later. */
static void
pg_reset(SvPgStore *s, SvFleetError code, const char *message)
{
  g_autofree char *old = s->last_error ? g_strdup(s->last_error->message) : NULL;
  g_clear_error(&s->last_error);
  s->last_error = g_error_new_literal(SV_FLEET_ERROR, code, message);
  if (old != NULL && !g_str_equal(old, message))
    s->logged_down = FALSE;
  pg_update_io(s, 0);
  if (s->conn != NULL) {
    pq.finish(s->conn);
    s->conn = NULL;
  }
  g_clear_pointer(&s->result, pq.clear);
  g_clear_pointer(&s->query_error, g_free);
  g_clear_pointer(&s->query_state, g_free);
  s->state = SV_PG_DOWN;
  s->backoff_usec = s->backoff_usec == 0 ? SV_PG_BACKOFF_MIN_USEC
                                         : MIN(s->backoff_usec * 2, SV_PG_BACKOFF_MAX_USEC);
  pg_log_down(s);
  s->syncs_pending = 0;
  s->head_started = FALSE;
  SvPgOp *op;
  while ((op = g_queue_pop_head(&s->inflight)) != NULL)
    op_fail_later(op, s->last_error);
  while ((op = g_queue_pop_head(&s->queue)) != NULL)
    op_fail_later(op, s->last_error);
  if (s->retry_source == 0)
    s->retry_source =
        g_timeout_add_full(G_PRIORITY_DEFAULT, (guint)(s->backoff_usec / 1000), on_retry, s, NULL);
}

static void
pg_ready(SvPgStore *s)
{
  if (s->logged_down)
    sv_log(LOG_NOTICE, "fleet store %s: connected again", s->parent.description);
  else
    sv_log(LOG_INFO, "fleet store %s: connected (node %s)", s->parent.description, s->parent.node);
  s->logged_down = FALSE;
  g_clear_error(&s->last_error);
  s->backoff_usec = 0;
  /* Pipeline mode: every request queued goes out at once and the server works through
   * them without waiting for a round trip each; 100 jobs due in the same second are 100
   * statements in one write, not 100 round trips in a row. */
  if (!pq.enterPipelineMode(s->conn)) {
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, m);
    return;
  }
  s->state = SV_PG_READY;
  pg_send_next(s);
}

/* Sends TEXT with PARAMS (NULL: a simple query, several statements allowed). */
static gboolean
pg_send(SvPgStore *s, const char *text, char *const *params, int n_params)
{
  int ok = params != NULL ? pq.sendQueryParams(s->conn, text, n_params, NULL,
                                               (const char *const *)params, NULL, NULL, 0)
                          : pq.sendQuery(s->conn, text);
  if (!ok) {
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, m);
    return FALSE;
  }
  pg_update_io(s, G_IO_IN | G_IO_OUT);
  return TRUE;
}

static void
pg_setup_send(SvPgStore *s)
{
  switch (s->setup_step) {
  case SV_PG_SETUP_VERSION:
    (void)pg_send(s, sv_fleet_sql_version, NULL, 0);
    break;
  case SV_PG_SETUP_CREATE: {
    g_autofree char *text = sv_fleet_sql_create();
    (void)pg_send(s, text, NULL, 0);
    break;
  }
  case SV_PG_SETUP_PRIVILEGES:
    (void)pg_send(s, sv_fleet_sql_privileges, NULL, 0);
    break;
  }
}

/* The schema and privilege checks, shared by the daemon's store and the command line:
 * what a setup step's result (ERROR_TEXT, SQLSTATE, RESULT) means. Returns the next step,
 * -1 when done, or -2 with ERROR set. */
static int
setup_step_result(SvPgSetupStep step, const char *error_text, const char *sqlstate,
                  PGresult *result, const char *user, GError **error)
{
  switch (step) {
  case SV_PG_SETUP_VERSION:
    if (error_text != NULL && sqlstate != NULL && g_str_equal(sqlstate, "42P01"))
      return SV_PG_SETUP_CREATE;
    if (error_text != NULL && sqlstate != NULL && g_str_equal(sqlstate, "42501")) {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_PRIVILEGE,
                  _("role %s may not read sdvisor_schema_version (%s); grant the privileges "
                    "`sdvisor fleet schema` lists"),
                  user, error_text);
      return -2;
    }
    if (error_text != NULL) {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_SCHEMA,
                  _("cannot read the schema version: %s"), error_text);
      return -2;
    }
    if (result == NULL || pq.ntuples(result) != 1 || pq.getisnull(result, 0, 0)) {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_SCHEMA,
                  _("sdvisor_schema_version is empty: the tables were not created by sdvisor "
                    "(see `sdvisor fleet schema`)"));
      return -2;
    }
    if (!g_str_equal(pq.getvalue(result, 0, 0), G_STRINGIFY(SV_FLEET_SCHEMA_VERSION))) {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_SCHEMA,
                  _("the fleet tables are of schema version %s; this sdvisor uses version %d "
                    "(`sdvisor fleet schema` prints it); refusing to touch them"),
                  pq.getvalue(result, 0, 0), SV_FLEET_SCHEMA_VERSION);
      return -2;
    }
    return SV_PG_SETUP_PRIVILEGES;
  case SV_PG_SETUP_CREATE:
    if (error_text != NULL) {
      g_set_error(error, SV_FLEET_ERROR,
                  sqlstate && g_str_equal(sqlstate, "42501") ? SV_FLEET_ERROR_PRIVILEGE
                                                             : SV_FLEET_ERROR_SCHEMA,
                  _("the fleet tables do not exist and role %s cannot create them (%s); create "
                    "them as an admin: sdvisor fleet schema | psql"),
                  user, error_text);
      return -2;
    }
    return SV_PG_SETUP_VERSION;
  case SV_PG_SETUP_PRIVILEGES:
    if (error_text == NULL && result != NULL && pq.ntuples(result) == 1 &&
        g_str_equal(pq.getvalue(result, 0, 0), "t") &&
        g_str_equal(pq.getvalue(result, 0, 1), "t") && g_str_equal(pq.getvalue(result, 0, 2), "t"))
      return -1;
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_PRIVILEGE,
                _("role %s lacks privileges on the fleet tables%s%s; it needs: GRANT SELECT, "
                  "INSERT, UPDATE, DELETE ON sdvisor_slots, SELECT ON sdvisor_schema_version, "
                  "USAGE ON SEQUENCE sdvisor_fence"),
                user, error_text ? ": " : "", error_text ? error_text : "");
    return -2;
  }
  return -2;
}

static void
pg_setup_done(SvPgStore *s)
{
  g_autoptr(GError) error = NULL;
  int next = setup_step_result(s->setup_step, s->query_error, s->query_state, s->result,
                               pq.user(s->conn), &error);
  g_clear_pointer(&s->result, pq.clear);
  g_clear_pointer(&s->query_error, g_free);
  g_clear_pointer(&s->query_state, g_free);
  if (next == -2) {
    pg_reset(s, (SvFleetError)error->code, error->message);
    return;
  }
  if (next == -1) {
    pg_ready(s);
    return;
  }
  s->setup_step = (SvPgSetupStep)next;
  pg_setup_send(s);
}

static const char *
op_sql(SvPgOpKind kind)
{
  switch (kind) {
  case SV_PG_OP_CLAIM:
    return sv_fleet_sql_claim;
  case SV_PG_OP_RENEW:
    return sv_fleet_sql_renew;
  case SV_PG_OP_FINISH:
    return sv_fleet_sql_finish;
  case SV_PG_OP_INTERRUPTED:
    return sv_fleet_sql_interrupted;
  case SV_PG_OP_LAST_RUNS:
    return sv_fleet_sql_last_runs;
  }
  return NULL;
}

/* The rows of sv_fleet_sql_last_runs (R NULL: none) as SvFleetRun*. */
static GPtrArray *
runs_from_result(PGresult *r)
{
  GPtrArray *runs = g_ptr_array_new_with_free_func((GDestroyNotify)sv_fleet_run_free);
  for (int i = 0; r != NULL && i < pq.ntuples(r); i++) {
    SvFleetRun *run = g_new0(SvFleetRun, 1);
    run->job = g_strdup(pq.getvalue(r, i, 0));
    (void)sv_fleet_parse_int64(pq.getvalue(r, i, 1), &run->slot);
    run->node = g_strdup(pq.getvalue(r, i, 2));
    (void)sv_fleet_parse_int64(pq.getvalue(r, i, 3), &run->fence);
    run->pid = atoi(pq.getvalue(r, i, 4));
    run->result = pq.getisnull(r, i, 5) ? NULL : g_strdup(pq.getvalue(r, i, 5));
    run->exit_code = pq.getisnull(r, i, 6) ? -1 : atoi(pq.getvalue(r, i, 6));
    run->state = g_strdup(pq.getvalue(r, i, 7));
    g_ptr_array_add(runs, run);
  }
  return runs;
}

/* The head request's results are complete: answer it. */
static void
pg_op_done(SvPgStore *s)
{
  SvPgOp *op = g_queue_pop_head(&s->inflight);
  s->head_started = FALSE;
  PGresult *r = g_steal_pointer(&s->result);
  g_autofree char *err = g_steal_pointer(&s->query_error);
  g_clear_pointer(&s->query_state, g_free);
  gboolean cancelled = op->cancellable != NULL && g_cancellable_is_cancelled(op->cancellable);

  if (err != NULL && !cancelled) {
    g_autoptr(GError) error = g_error_new(SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, "%s", err);
    sv_log(LOG_WARNING, "fleet store %s: %s", s->parent.description, err);
    op_fail(op, error);
    op = NULL;
  } else if (!cancelled) {
    int rows = r ? pq.ntuples(r) : 0;
    switch (op->kind) {
    case SV_PG_OP_CLAIM: {
      SvClaimReply reply = {.outcome = SV_CLAIM_TAKEN, .lease_left_usec = -1};
      if (rows > 0) {
        const char *outcome = pq.getvalue(r, 0, 0);
        (void)sv_fleet_parse_int64(pq.getvalue(r, 0, 1), &reply.fence);
        reply.node = pq.getvalue(r, 0, 2);
        reply.result = pq.getisnull(r, 0, 3) ? NULL : pq.getvalue(r, 0, 3);
        (void)sv_fleet_parse_int64(pq.getvalue(r, 0, 4), &reply.lease_left_usec);
        gint64 attempts = 1;
        (void)sv_fleet_parse_int64(pq.getvalue(r, 0, 5), &attempts);
        reply.retried = attempts > 1;
        (void)sv_fleet_parse_int64(pq.getvalue(r, 0, 6), &reply.busy_slot);
        if (g_str_equal(outcome, "granted"))
          reply.outcome = SV_CLAIM_GRANTED;
        else if (g_str_equal(outcome, "busy"))
          reply.outcome = SV_CLAIM_BUSY;
      }
      op->claim_func(&reply, op->user_data);
      break;
    }
    case SV_PG_OP_RENEW:
    case SV_PG_OP_FINISH:
      op->done_func(rows == 1, NULL, op->user_data);
      break;
    case SV_PG_OP_INTERRUPTED: {
      gint64 slot = -1;
      if (rows == 1)
        (void)sv_fleet_parse_int64(pq.getvalue(r, 0, 0), &slot);
      op->slot_func(slot, op->user_data);
      break;
    }
    case SV_PG_OP_LAST_RUNS: {
      g_autoptr(GPtrArray) runs = runs_from_result(r);
      op->runs_func(runs, NULL, op->user_data);
      break;
    }
    }
  }
  if (r != NULL)
    pq.clear(r);
  if (op != NULL)
    op_free(op);
  /* free() is never called from inside a callback: jobs.c frees its store only when no
   * run is left. */
}

/* How many requests may be in the pipeline at once; the rest wait in the queue. */
#define SV_PG_PIPELINE_MAX 256

static void
pg_send_next(SvPgStore *s)
{
  gboolean sent = FALSE;
  while (s->state == SV_PG_READY && s->queue.length > 0 &&
         s->inflight.length < SV_PG_PIPELINE_MAX) {
    SvPgOp *op = g_queue_pop_head(&s->queue);
    if (op->cancellable != NULL && g_cancellable_is_cancelled(op->cancellable)) {
      op_free(op);
      continue;
    }
    /* A sync point after each statement: an error ends that statement only. */
    if (!pq.sendQueryParams(s->conn, op_sql(op->kind), op->n_params, NULL,
                            (const char *const *)op->params, NULL, NULL, 0) ||
        !pq.pipelineSync(s->conn)) {
      g_queue_push_head(&s->queue, op);
      g_autofree char *m = one_line(pq.errorMessage(s->conn));
      pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, m);
      return;
    }
    g_queue_push_tail(&s->inflight, op);
    s->syncs_pending++;
    sent = TRUE;
  }
  if (s->state != SV_PG_READY)
    return;
  int flushed = sent ? pq.flush(s->conn) : 0;
  if (flushed < 0) {
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, m);
    return;
  }
  /* Idle too: reading notices a closed connection. */
  pg_update_io(s, flushed == 1 ? G_IO_IN | G_IO_OUT : G_IO_IN);
}

/* Keeps what a result says about the statement it belongs to. */
static void
pg_keep_result(SvPgStore *s, PGresult *r)
{
  ExecStatusType st = pq.resultStatus(r);
  if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR ||
      st == PGRES_PIPELINE_ABORTED) {
    if (s->query_error == NULL) {
      s->query_error =
          one_line(st == PGRES_PIPELINE_ABORTED ? "pipeline aborted" : pq.resultErrorMessage(r));
      s->query_state = g_strdup(pq.resultErrorField(r, PG_DIAG_SQLSTATE));
    }
    pq.clear(r);
  } else if (st == PGRES_TUPLES_OK && s->result == NULL && s->query_error == NULL &&
             pq.nfields(r) > 0) {
    s->result = r;
  } else {
    pq.clear(r);
  }
}

/* Pipeline mode: each statement's results, a NULL, then its sync point's
 * PGRES_PIPELINE_SYNC. Answers every request whose results are complete. */
static void
pg_read_pipeline(SvPgStore *s)
{
  while (s->state == SV_PG_READY && (s->inflight.length > 0 || s->syncs_pending > 0) &&
         !pq.isBusy(s->conn)) {
    PGresult *r = pq.getResult(s->conn);
    if (r == NULL) {
      if (!s->head_started || s->inflight.length == 0)
        break; /* nothing more has arrived */
      pg_op_done(s);
      continue;
    }
    if (pq.resultStatus(r) == PGRES_PIPELINE_SYNC) {
      if (s->syncs_pending > 0)
        s->syncs_pending--;
      pq.clear(r);
      continue;
    }
    if (s->inflight.length == 0) {
      pq.clear(r); /* no request of ours: cannot happen */
      continue;
    }
    s->head_started = TRUE;
    pg_keep_result(s, r);
  }
  pg_send_next(s);
}

/* Reads what arrived; answers the requests (or the setup statement) it completes. */
static void
pg_pump(SvPgStore *s)
{
  if (!pq.consumeInput(s->conn)) {
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, m);
    return;
  }
  if (pq.status(s->conn) == CONNECTION_BAD) {
    /* The server said goodbye ("terminating connection due to administrator command"). */
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, *m ? m : "the server closed the connection");
    return;
  }
  int flushed = pq.flush(s->conn);
  if (flushed < 0) {
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, m);
    return;
  }
  if (s->state == SV_PG_READY) {
    pg_read_pipeline(s);
    return;
  }
  while (!pq.isBusy(s->conn)) {
    PGresult *r = pq.getResult(s->conn);
    if (r == NULL) {
      pg_setup_done(s);
      return;
    }
    pg_keep_result(s, r);
  }
  pg_update_io(s, flushed == 1 ? G_IO_IN | G_IO_OUT : G_IO_IN);
}

static void
pg_connect_poll(SvPgStore *s)
{
  PostgresPollingStatusType st = pq.connectPoll(s->conn);
  switch (st) {
  case PGRES_POLLING_READING:
    pg_update_io(s, G_IO_IN);
    return;
  case PGRES_POLLING_WRITING:
    pg_update_io(s, G_IO_OUT);
    return;
  case PGRES_POLLING_OK:
    pq.setNoticeProcessor(s->conn, ignore_notice, NULL);
    if (pq.setnonblocking(s->conn, 1) != 0) {
      g_autofree char *m = one_line(pq.errorMessage(s->conn));
      pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, m);
      return;
    }
    s->state = SV_PG_SETUP;
    s->setup_step = SV_PG_SETUP_VERSION;
    pg_setup_send(s);
    return;
  default: {
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    g_autofree char *msg = g_strdup_printf(_("cannot connect: %s"), m);
    pg_reset(s, strstr(m, "password") ? SV_FLEET_ERROR_AUTH : SV_FLEET_ERROR_UNAVAILABLE, msg);
    return;
  }
  }
}

static gboolean
on_io(gpointer user_data)
{
  SvPgStore *s = user_data;
  if (s->state == SV_PG_CONNECTING)
    pg_connect_poll(s);
  else if (s->conn != NULL)
    pg_pump(s);
  return G_SOURCE_CONTINUE;
}

static void
pg_connect(SvPgStore *s)
{
  SvPgParams p = {0};
  params_fill(&p, &s->config, 0);
  s->conn = pq.connectStartParams(p.keywords, p.values, 1);
  params_clear(&p);
  if (s->conn == NULL) {
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, "out of memory");
    return;
  }
  if (pq.status(s->conn) == CONNECTION_BAD) {
    g_autofree char *m = one_line(pq.errorMessage(s->conn));
    g_autofree char *msg = g_strdup_printf(_("cannot connect: %s"), m);
    pg_reset(s, SV_FLEET_ERROR_URI, msg);
    return;
  }
  s->state = SV_PG_CONNECTING;
  s->connect_deadline = g_get_monotonic_time() + 10 * SV_USEC_PER_SEC;
  pg_update_io(s, G_IO_OUT);
}

/* Expires requests past their deadline, and a connection attempt past 10 s. */
static gboolean
on_tick(gpointer user_data)
{
  SvPgStore *s = user_data;
  gint64 now = g_get_monotonic_time();
  if (s->state == SV_PG_CONNECTING && now > s->connect_deadline) {
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, _("cannot connect: no answer within 10s"));
    return G_SOURCE_CONTINUE;
  }
  SvPgOp *head = g_queue_peek_head(&s->inflight);
  if (head != NULL && now > head->deadline) {
    /* The statement may still commit: a claim then stays unused and its lease ends
     * (reported as interrupted), which is the safe side. */
    pg_reset(s, SV_FLEET_ERROR_UNAVAILABLE, _("no answer in time"));
    return G_SOURCE_CONTINUE;
  }
  for (GList *l = s->queue.head; l != NULL;) {
    GList *next = l->next;
    SvPgOp *op = l->data;
    if (now > op->deadline) {
      g_queue_delete_link(&s->queue, l);
      g_autoptr(GError) e = s->last_error ? g_error_copy(s->last_error)
                                          : g_error_new(SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE,
                                                        _("not connected in time"));
      op_fail(op, e);
    }
    l = next;
  }
  return G_SOURCE_CONTINUE;
}

static SvPgOp *
op_new(SvPgStore *s, SvPgOpKind kind, GCancellable *cancellable, gpointer user_data)
{
  SvPgOp *op = g_new0(SvPgOp, 1);
  op->kind = kind;
  op->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
  op->user_data = user_data;
  op->deadline = g_get_monotonic_time() +
                 CLAMP(s->parent.lease_usec / 3, SV_USEC_PER_SEC, 10 * SV_USEC_PER_SEC);
  return op;
}

static void
op_add_param(SvPgOp *op, char *value)
{
  g_assert(op->n_params < (int)G_N_ELEMENTS(op->params));
  op->params[op->n_params++] = value;
}

static gboolean
on_fail_idle(gpointer data)
{
  SvPgOp *op = data;
  op_fail(op, op->error);
  return G_SOURCE_REMOVE;
}

/* Fails OP from an idle: a callback never runs inside the call that made the request. */
static void
op_fail_later(SvPgOp *op, const GError *error)
{
  op->error = g_error_copy(error);
  g_idle_add(on_fail_idle, op);
}

/* Queues OP; while the store is down it fails at once, so a slot in an outage is
 * reported as unavailable right away. */
static void
pg_submit(SvPgStore *s, SvPgOp *op)
{
  if (s->state == SV_PG_DOWN && s->last_error != NULL) {
    op_fail_later(op, s->last_error);
    return;
  }
  g_queue_push_tail(&s->queue, op);
  pg_send_next(s);
}

static void
op_add_key(SvPgStore *s, SvPgOp *op, const char *job, gint64 slot)
{
  op_add_param(op, g_strdup(s->app));
  op_add_param(op, g_strdup(job));
  op_add_param(op, sv_fleet_slot_key(slot));
}

static void
pg_claim(SvClaimStore *store, const SvClaimRequest *request, GCancellable *cancellable,
         SvClaimFunc func, gpointer user_data)
{
  SvPgStore *s = (SvPgStore *)store;
  SvPgOp *op = op_new(s, SV_PG_OP_CLAIM, cancellable, user_data);
  op->claim_func = func;
  op_add_key(s, op, request->job, request->slot);
  op_add_param(op, g_strdup(store->node));
  op_add_param(op, g_strdup(s->pid_text));
  op_add_param(op, g_strdup(s->lease_text));
  op_add_param(op, g_strdup(request->retry ? "true" : "false"));
  op_add_param(op, g_strdup(request->skip_if_running ? "true" : "false"));
  pg_submit(s, op);
}

static void
pg_renew(SvClaimStore *store, const char *job, gint64 slot, gint64 fence, GCancellable *cancellable,
         SvStoreDoneFunc func, gpointer user_data)
{
  SvPgStore *s = (SvPgStore *)store;
  SvPgOp *op = op_new(s, SV_PG_OP_RENEW, cancellable, user_data);
  op->done_func = func;
  op_add_key(s, op, job, slot);
  op_add_param(op, g_strdup_printf("%" G_GINT64_FORMAT, fence));
  op_add_param(op, g_strdup(s->lease_text));
  pg_submit(s, op);
}

static void
pg_finish(SvClaimStore *store, const char *job, gint64 slot, gint64 fence, const char *result,
          int exit_code, GCancellable *cancellable, SvStoreDoneFunc func, gpointer user_data)
{
  SvPgStore *s = (SvPgStore *)store;
  SvPgOp *op = op_new(s, SV_PG_OP_FINISH, cancellable, user_data);
  op->done_func = func;
  op_add_key(s, op, job, slot);
  op_add_param(op, g_strdup_printf("%" G_GINT64_FORMAT, fence));
  op_add_param(op, g_strdup(result));
  op_add_param(op, exit_code >= 0 ? g_strdup_printf("%d", exit_code) : NULL);
  pg_submit(s, op);
}

static void
pg_find_interrupted(SvClaimStore *store, const char *job, GCancellable *cancellable,
                    void (*func)(gint64 slot, gpointer user_data), gpointer user_data)
{
  SvPgStore *s = (SvPgStore *)store;
  SvPgOp *op = op_new(s, SV_PG_OP_INTERRUPTED, cancellable, user_data);
  op->slot_func = func;
  op_add_param(op, g_strdup(s->app));
  op_add_param(op, g_strdup(job));
  pg_submit(s, op);
}

static void
pg_last_runs(SvClaimStore *store, GCancellable *cancellable, SvStoreRunsFunc func,
             gpointer user_data)
{
  SvPgStore *s = (SvPgStore *)store;
  SvPgOp *op = op_new(s, SV_PG_OP_LAST_RUNS, cancellable, user_data);
  op->runs_func = func;
  op_add_param(op, g_strdup(s->app));
  pg_submit(s, op);
}

static void
pg_free(SvClaimStore *store)
{
  SvPgStore *s = (SvPgStore *)store;
  pg_update_io(s, 0);
  g_clear_handle_id(&s->retry_source, g_source_remove);
  g_clear_handle_id(&s->tick_source, g_source_remove);
  if (s->conn != NULL)
    pq.finish(s->conn);
  g_clear_pointer(&s->result, pq.clear);
  g_free(s->query_error);
  g_free(s->query_state);
  g_clear_error(&s->last_error);
  g_queue_clear_full(&s->inflight, (GDestroyNotify)op_free);
  g_queue_clear_full(&s->queue, (GDestroyNotify)op_free);
  g_free(s->config.store);
  g_free(s->config.node);
  g_free(s->config.passfile);
  g_free(s->app);
  g_free(s->pid_text);
  g_free(s->lease_text);
}

static const SvClaimStoreClass pg_class = {
    .claim = pg_claim,
    .renew = pg_renew,
    .finish = pg_finish,
    .find_interrupted = pg_find_interrupted,
    .last_runs = pg_last_runs,
    .free = pg_free,
};

SvClaimStore *
sv_pg_store_new(const SvFleetConfig *config, const char *app, const char *node, GError **error)
{
  if (!pq_open(error))
    return NULL;
  SvPgStore *s = g_new0(SvPgStore, 1);
  s->parent.klass = &pg_class;
  s->parent.node = g_strdup(node);
  s->parent.lease_usec = config->lease_usec;
  s->parent.description = sv_fleet_store_redact(config->store);
  s->config.store = g_strdup(config->store);
  s->config.node = g_strdup(config->node);
  s->config.passfile = g_strdup(config->passfile);
  s->config.lease_usec = config->lease_usec;
  s->app = g_strdup(app);
  s->pid_text = g_strdup_printf("%d", (int)getpid());
  s->lease_text = sv_fleet_interval(config->lease_usec);
  s->io_fd = -1;
  g_queue_init(&s->queue);
  g_queue_init(&s->inflight);
  s->tick_source = g_timeout_add(SV_PG_TICK_MS, on_tick, s);
  /* From the loop: what goes wrong is logged there, like any later attempt. */
  s->retry_source = g_idle_add(on_retry, s);
  return &s->parent;
}

/* ---- blocking, for the command line -------------------------------------------------------- */

static PGresult *
exec_sync(PGconn *conn, const char *sql, int n, const char *const *params, char **out_error,
          char **out_state)
{
  PGresult *r = pq.execParams(conn, sql, n, NULL, params, NULL, NULL, 0);
  ExecStatusType st = r ? pq.resultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
    return r;
  *out_error = one_line(r ? pq.resultErrorMessage(r) : pq.errorMessage(conn));
  *out_state = r ? g_strdup(pq.resultErrorField(r, PG_DIAG_SQLSTATE)) : NULL;
  if (r != NULL)
    pq.clear(r);
  return NULL;
}

GPtrArray *
sv_pg_store_last_runs(const SvFleetConfig *config, const char *app, gint64 timeout_usec,
                      GError **error)
{
  if (!pq_open(error))
    return NULL;
  SvPgParams p = {0};
  params_fill(&p, config, timeout_usec);
  PGconn *conn = pq.connectdbParams(p.keywords, p.values, 1);
  params_clear(&p);
  if (conn == NULL || pq.status(conn) != CONNECTION_OK) {
    g_autofree char *m = one_line(conn ? pq.errorMessage(conn) : "out of memory");
    g_set_error(error, SV_FLEET_ERROR,
                strstr(m, "password") ? SV_FLEET_ERROR_AUTH : SV_FLEET_ERROR_UNAVAILABLE,
                _("cannot connect: %s"), m);
    if (conn != NULL)
      pq.finish(conn);
    return NULL;
  }
  pq.setNoticeProcessor(conn, ignore_notice, NULL);
  /* The checks a running sdvisor makes, without creating anything. */
  for (int step = SV_PG_SETUP_VERSION; step >= 0;) {
    g_autofree char *err = NULL;
    g_autofree char *state = NULL;
    const char *sql = step == SV_PG_SETUP_VERSION ? sv_fleet_sql_version : sv_fleet_sql_privileges;
    PGresult *r = exec_sync(conn, sql, 0, NULL, &err, &state);
    int next = setup_step_result((SvPgSetupStep)step, err, state, r, pq.user(conn), error);
    if (r != NULL)
      pq.clear(r);
    if (next == SV_PG_SETUP_CREATE) {
      pq.finish(conn);
      return runs_from_result(NULL); /* no tables yet: nothing ever claimed */
    }
    if (next == -2) {
      pq.finish(conn);
      return NULL;
    }
    step = next;
  }
  g_autofree char *err = NULL;
  g_autofree char *state = NULL;
  const char *params[] = {app};
  PGresult *r = exec_sync(conn, sv_fleet_sql_last_runs, 1, params, &err, &state);
  if (r == NULL) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, "%s", err);
    pq.finish(conn);
    return NULL;
  }
  GPtrArray *runs = runs_from_result(r);
  pq.clear(r);
  pq.finish(conn);
  return runs;
}

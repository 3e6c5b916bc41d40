/* config.c — GKeyFile → typed configuration, with environment overrides.
 *
 * Loading happens in three passes over one schema table:
 *   1. a scan of the raw text that records the line of every group and key (GKeyFile
 *      does not keep line numbers) and rejects malformed lines with their number;
 *   2. an "effective" key file: defaults, then the file's values, then SDVISOR_*
 *      overrides — what `sdvisor check` prints;
 *   3. conversion of every effective value into the typed structs, each error naming
 *      where that value came from. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkspec.h"
#include "fleet.h"
#include "listenspec.h"
#include "schedule.h"
#include "timespan.h"

G_DEFINE_QUARK(sv - config - error - quark, sv_config_error)

/* Limits on what a user controls. */
#define SV_CONFIG_MAX_SIZE     (1024 * 1024)
#define SV_CONFIG_MAX_SECTIONS 1024

typedef enum {
  SV_KEY_STRING,
  SV_KEY_PATH,    /* absolute path */
  SV_KEY_ARGV,    /* shell-split command line */
  SV_KEY_ENVLIST, /* shell-split NAME=VALUE words */
  SV_KEY_TIMESPAN,
  SV_KEY_SIGNAL,
  SV_KEY_SIGNALS,  /* list of signals → bit mask */
  SV_KEY_BOOL,     /* gboolean */
  SV_KEY_UINT,     /* guint within [min, max] */
  SV_KEY_SIZE,     /* guint bytes, with K/M suffixes, within [min, max] */
  SV_KEY_ENUM,     /* int: index into choices */
  SV_KEY_PRIORITY, /* int: syslog level, by name or number */
  SV_KEY_CHECKS,   /* GPtrArray of SvCheckSpec*: readiness/health checks (checkspec.h) */
  SV_KEY_EVENTS,   /* guint: SvHookEvent bits */
  SV_KEY_FIELDS,   /* char **: NAME=VALUE journal fields */
  SV_KEY_TIMEZONE, /* char *: an IANA zone GTimeZone knows */
  SV_KEY_SCHEDULE, /* char *: schedule.h syntax (validated with the group's timezone) */
  SV_KEY_STORE,    /* char *: a fleet store URI (fleet.h); shown without its password */
  SV_KEY_LISTEN,   /* GPtrArray of SvListenSpec*: listen addresses (listenspec.h) */
  SV_KEY_MODE,     /* guint: an octal file mode, at most 0777 */
} SvKeyType;

typedef struct {
  const char *name;
  SvKeyType type;
  const char *default_value; /* as the file would write it; NULL = unset */
  gsize offset;              /* of the field inside the group's struct */
  gboolean required;
  const char *const *choices; /* SV_KEY_ENUM */
  guint min, max;             /* SV_KEY_UINT, SV_KEY_SIZE */
} SvKeySpec;

typedef struct {
  const char *name;   /* "app"; for sectioned groups the prefix before ':' ("hook") */
  gboolean sectioned; /* [hook:NAME]: any number of them, in file order */
  const SvKeySpec *keys;
  gsize n_keys;
  gsize offset;      /* of the group's struct (or, sectioned, of its GPtrArray*) in SvConfig */
  gsize struct_size; /* sectioned: size of one section's struct (first member: char *name) */
} SvGroupSpec;

#define APP_KEY(n, t, d, f, r)                                                                     \
  {                                                                                                \
    n, t, d, offsetof(SvAppConfig, f), r, NULL, 0, 0                                               \
  }
#define KEY_ENUM(st, n, d, f, c)                                                                   \
  {                                                                                                \
    n, SV_KEY_ENUM, d, offsetof(st, f), FALSE, c, 0, 0                                             \
  }

static const char *const reload_mode_choices[] = {"signal", "replace", NULL};

static const SvKeySpec app_keys[] = {
    APP_KEY("name", SV_KEY_STRING, NULL, name, FALSE),
    APP_KEY("exec", SV_KEY_ARGV, NULL, exec, TRUE),
    APP_KEY("working-directory", SV_KEY_PATH, NULL, working_directory, FALSE),
    APP_KEY("environment", SV_KEY_ENVLIST, NULL, environment, FALSE),
    APP_KEY("environment-file", SV_KEY_STRING, NULL, environment_file, FALSE),
    APP_KEY("stop-signal", SV_KEY_SIGNAL, "SIGTERM", stop_signal, FALSE),
    APP_KEY("stop-timeout", SV_KEY_TIMESPAN, "30s", stop_timeout_usec, FALSE),
    APP_KEY("reload-signal", SV_KEY_SIGNAL, "SIGHUP", reload_signal, FALSE),
    APP_KEY("forward-signals", SV_KEY_SIGNALS, "SIGUSR1 SIGUSR2 SIGWINCH SIGTTIN SIGTTOU SIGQUIT",
            forward_signals, FALSE),
    APP_KEY("stop-delay", SV_KEY_TIMESPAN, "0", stop_delay_usec, FALSE),
    APP_KEY("listen", SV_KEY_LISTEN, NULL, listen, FALSE),
    APP_KEY("listen-mode", SV_KEY_MODE, "0666", listen_mode, FALSE),
    APP_KEY("listen-user", SV_KEY_STRING, NULL, listen_user, FALSE),
    APP_KEY("listen-group", SV_KEY_STRING, NULL, listen_group, FALSE),
    KEY_ENUM(SvAppConfig, "reload-mode", "signal", reload_mode, reload_mode_choices),
};

static const char *const on_unhealthy_choices[] = {"restart", "stop", "none", NULL};
static const char *const log_target_choices[] = {"auto", "journal", "console", NULL};
static const char *const on_error_choices[] = {"ignore", "fail", NULL}; /* index = on_error_fail */
static const char *const overlap_choices[] = {"skip", "queue", NULL};
static const char *const once_per_choices[] = {"host", "fleet", NULL};
static const char *const store_unavailable_choices[] = {"skip", "local", NULL};

#define KEY(st, n, t, d, f)                                                                        \
  {                                                                                                \
    n, t, d, offsetof(st, f), FALSE, NULL, 0, 0                                                    \
  }
#define KEY_REQ(st, n, t, f)                                                                       \
  {                                                                                                \
    n, t, NULL, offsetof(st, f), TRUE, NULL, 0, 0                                                  \
  }
#define KEY_RANGE(st, n, t, d, f, lo, hi)                                                          \
  {                                                                                                \
    n, t, d, offsetof(st, f), FALSE, NULL, lo, hi                                                  \
  }

static const SvKeySpec ready_keys[] = {
    KEY(SvReadyConfig, "check", SV_KEY_CHECKS, NULL, checks),
    KEY(SvReadyConfig, "interval", SV_KEY_TIMESPAN, "100ms", interval_usec),
    KEY(SvReadyConfig, "timeout", SV_KEY_TIMESPAN, "90s", timeout_usec),
    KEY(SvReadyConfig, "check-timeout", SV_KEY_TIMESPAN, "2s", check_timeout_usec),
};

static const SvKeySpec health_keys[] = {
    KEY(SvHealthConfig, "check", SV_KEY_CHECKS, NULL, checks),
    KEY(SvHealthConfig, "interval", SV_KEY_TIMESPAN, "10s", interval_usec),
    KEY(SvHealthConfig, "timeout", SV_KEY_TIMESPAN, "5s", timeout_usec),
    KEY_RANGE(SvHealthConfig, "failure-threshold", SV_KEY_UINT, "3", failure_threshold, 1, 1000),
    KEY_RANGE(SvHealthConfig, "success-threshold", SV_KEY_UINT, "1", success_threshold, 1, 1000),
    KEY(SvHealthConfig, "start-period", SV_KEY_TIMESPAN, "0", start_period_usec),
    KEY_ENUM(SvHealthConfig, "on-unhealthy", "restart", on_unhealthy, on_unhealthy_choices),
    KEY(SvHealthConfig, "unhealthy-stop-timeout", SV_KEY_TIMESPAN, "5s",
        unhealthy_stop_timeout_usec),
};

static const SvKeySpec log_keys[] = {
    KEY_ENUM(SvLogConfig, "target", "auto", target, log_target_choices),
    KEY(SvLogConfig, "identifier", SV_KEY_STRING, NULL, identifier),
    KEY(SvLogConfig, "fields", SV_KEY_FIELDS, NULL, fields),
    KEY_RANGE(SvLogConfig, "line-max", SV_KEY_SIZE, "48K", line_max, 79, 16 * 1024 * 1024),
    KEY(SvLogConfig, "parse-json", SV_KEY_BOOL, "true", parse_json),
    KEY(SvLogConfig, "json-prefix", SV_KEY_STRING, NULL, json_prefix),
    KEY(SvLogConfig, "detect-levels", SV_KEY_BOOL, "true", detect_levels),
    KEY(SvLogConfig, "priority-stdout", SV_KEY_PRIORITY, "info", priority_stdout),
    KEY(SvLogConfig, "priority-stderr", SV_KEY_PRIORITY, "info", priority_stderr),
    KEY(SvLogConfig, "merge-tracebacks", SV_KEY_BOOL, "true", merge_tracebacks),
    KEY(SvLogConfig, "merge-continuations", SV_KEY_BOOL, "true", merge_continuations),
    KEY(SvLogConfig, "merge-window", SV_KEY_TIMESPAN, "50ms", merge_window_usec),
    KEY_RANGE(SvLogConfig, "entry-max", SV_KEY_SIZE, "64K", entry_max, 1024, 16 * 1024 * 1024),
};

static const SvKeySpec hook_keys[] = {
    KEY_REQ(SvHookConfig, "when", SV_KEY_EVENTS, when),
    KEY_REQ(SvHookConfig, "exec", SV_KEY_ARGV, exec),
    KEY(SvHookConfig, "timeout", SV_KEY_TIMESPAN, "30s", timeout_usec),
    KEY_ENUM(SvHookConfig, "on-error", "fail", on_error_fail, on_error_choices),
    KEY(SvHookConfig, "environment", SV_KEY_ENVLIST, NULL, environment),
};

static const SvKeySpec job_keys[] = {
    KEY_REQ(SvJobConfig, "schedule", SV_KEY_SCHEDULE, schedule),
    KEY_REQ(SvJobConfig, "exec", SV_KEY_ARGV, exec),
    KEY(SvJobConfig, "timeout", SV_KEY_TIMESPAN, "infinity", timeout_usec),
    KEY(SvJobConfig, "timezone", SV_KEY_TIMEZONE, NULL, timezone),
    KEY(SvJobConfig, "persistent", SV_KEY_BOOL, "false", persistent),
    KEY(SvJobConfig, "randomized-delay", SV_KEY_TIMESPAN, "0", randomized_delay_usec),
    KEY_ENUM(SvJobConfig, "overlap", "skip", overlap, overlap_choices),
    KEY(SvJobConfig, "once-per-host", SV_KEY_BOOL, "true", once_per_host),
    KEY(SvJobConfig, "retry-interrupted", SV_KEY_BOOL, "false", retry_interrupted),
    KEY(SvJobConfig, "working-directory", SV_KEY_PATH, NULL, working_directory),
    KEY(SvJobConfig, "environment", SV_KEY_ENVLIST, NULL, environment),
    KEY_ENUM(SvJobConfig, "once-per", "host", once_per, once_per_choices),
    KEY_ENUM(SvJobConfig, "on-store-unavailable", "skip", on_store_unavailable,
             store_unavailable_choices),
};

static const SvKeySpec fleet_keys[] = {
    KEY(SvFleetConfig, "store", SV_KEY_STORE, NULL, store),
    KEY(SvFleetConfig, "node", SV_KEY_STRING, NULL, node),
    KEY(SvFleetConfig, "lease", SV_KEY_TIMESPAN, "30s", lease_usec),
    KEY(SvFleetConfig, "passfile", SV_KEY_PATH, NULL, passfile),
    KEY(SvFleetConfig, "tls-ca", SV_KEY_PATH, NULL, tls_ca),
    KEY(SvFleetConfig, "tls-certificate", SV_KEY_PATH, NULL, tls_certificate),
    KEY(SvFleetConfig, "tls-key", SV_KEY_PATH, NULL, tls_key),
};

static const SvGroupSpec groups[] = {
    {"app", FALSE, app_keys, G_N_ELEMENTS(app_keys), offsetof(SvConfig, app), 0},
    {"ready", FALSE, ready_keys, G_N_ELEMENTS(ready_keys), offsetof(SvConfig, ready), 0},
    {"health", FALSE, health_keys, G_N_ELEMENTS(health_keys), offsetof(SvConfig, health), 0},
    {"log", FALSE, log_keys, G_N_ELEMENTS(log_keys), offsetof(SvConfig, log), 0},
    {"fleet", FALSE, fleet_keys, G_N_ELEMENTS(fleet_keys), offsetof(SvConfig, fleet), 0},
    {"hook", TRUE, hook_keys, G_N_ELEMENTS(hook_keys), offsetof(SvConfig, hooks),
     sizeof(SvHookConfig)},
    {"job", TRUE, job_keys, G_N_ELEMENTS(job_keys), offsetof(SvConfig, jobs), sizeof(SvJobConfig)},
};

static const struct {
  SvHookEvent event;
  const char *name;
} hook_events[] = {
    {SV_HOOK_PRE_START, "pre-start"},
    {SV_HOOK_POST_START, "post-start"},
    {SV_HOOK_PRE_STOP, "pre-stop"},
    {SV_HOOK_POST_STOP, "post-stop"},
    {SV_HOOK_RELOAD, "reload"},
    {SV_HOOK_ON_FAILURE, "on-failure"},
    {SV_HOOK_ON_UNHEALTHY, "on-unhealthy"},
};

const char *
sv_hook_event_name(SvHookEvent event)
{
  for (gsize i = 0; i < G_N_ELEMENTS(hook_events); i++)
    if (hook_events[i].event == event)
      return hook_events[i].name;
  return NULL;
}

static const char *const priority_names[] = {"emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug"};

/* Variables sdvisor sets for hooks, jobs and checks: never configuration overrides, even
 * when such a process runs sdvisor itself. */
static const char *const runtime_variables[] = {
    "SDVISOR_CONFIG", "SDVISOR_DEBUG",   "SDVISOR_BINARY",    "SDVISOR_EVENT",
    "SDVISOR_HOOK",   "SDVISOR_APP_PID", "SDVISOR_EXIT_CODE", "SDVISOR_EXIT_STATUS",
    "SDVISOR_JOB",    "SDVISOR_JOB_RUN", "SDVISOR_JOB_SLOT",
};

/* ---- signals ------------------------------------------------------------------ */

static const struct {
  const char *name;
  int signo;
} signal_names[] = {
    {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},       {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},
    {"SIGTRAP", SIGTRAP}, {"SIGABRT", SIGABRT},     {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},
    {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1},     {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},
    {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM}, {"SIGSTKFLT", SIGSTKFLT},
    {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},
    {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},   {"SIGXCPU", SIGXCPU},
    {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH},
    {"SIGIO", SIGIO},     {"SIGPWR", SIGPWR},       {"SIGSYS", SIGSYS},
};

gboolean
sv_signal_parse(const char *text, int *out_signo)
{
  if (text == NULL || *text == '\0' || strlen(text) > 16)
    return FALSE;

  if (g_ascii_isdigit(text[0])) {
    guint64 n;
    if (!g_ascii_string_to_unsigned(text, 10, 1, SIGRTMAX, &n, NULL))
      return FALSE;
    *out_signo = (int)n;
    return TRUE;
  }

  g_autofree char *upper = g_ascii_strup(text, -1);
  const char *name = g_str_has_prefix(upper, "SIG") ? upper + 3 : upper;
  for (gsize i = 0; i < G_N_ELEMENTS(signal_names); i++)
    if (g_str_equal(signal_names[i].name + 3, name)) {
      *out_signo = signal_names[i].signo;
      return TRUE;
    }
  /* RTMIN+N / RTMAX-N, as systemd writes them. */
  if (g_str_has_prefix(name, "RTMIN") || g_str_has_prefix(name, "RTMAX")) {
    gboolean min = name[3] == 'I';
    const char *rest = name + 5;
    guint64 off = 0;
    if (*rest != '\0') {
      if (*rest != (min ? '+' : '-') ||
          !g_ascii_string_to_unsigned(rest + 1, 10, 0, (guint64)(SIGRTMAX - SIGRTMIN), &off, NULL))
        return FALSE;
    }
    *out_signo = min ? SIGRTMIN + (int)off : SIGRTMAX - (int)off;
    return TRUE;
  }
  return FALSE;
}

const char *
sv_signal_name(int signo)
{
  for (gsize i = 0; i < G_N_ELEMENTS(signal_names); i++)
    if (signal_names[i].signo == signo)
      return signal_names[i].name;
  return NULL;
}

/* ---- the line scan --------------------------------------------------------------- */

typedef struct {
  int line;
  char *group;
  char *key; /* NULL for the group header */
} SvScanEntry;

typedef struct {
  const char *path;
  GHashTable *lines; /* "group" or "group\x1fkey" → line number */
  GArray *entries;   /* SvScanEntry, in file order */
} SvScan;

static void
scan_entry_clear(gpointer data)
{
  SvScanEntry *e = data;
  g_free(e->group);
  g_free(e->key);
}

static char *
line_key(const char *group, const char *key)
{
  return key ? g_strconcat(group, "\x1f", key, NULL) : g_strdup(group);
}

static int
scan_line_of(const SvScan *scan, const char *group, const char *key)
{
  if (scan == NULL || scan->lines == NULL)
    return 0;
  g_autofree char *k = line_key(group, key);
  return GPOINTER_TO_INT(g_hash_table_lookup(scan->lines, k));
}

static gboolean
scan_text(SvScan *scan, const char *text, gsize len, GError **error)
{
  g_autofree char *group = NULL;
  int lineno = 0;
  const char *p = text, *end = text + len;

  while (p < end) {
    const char *nl = memchr(p, '\n', (gsize)(end - p));
    const char *eol = nl ? nl : end;
    lineno++;
    g_autofree char *line = g_strndup(p, (gsize)(eol - p));
    p = nl ? nl + 1 : end;

    char *s = g_strstrip(line);
    if (*s == '\0' || *s == '#')
      continue;
    if (*s == '[') {
      char *close = strrchr(s, ']');
      if (close == NULL || close[1] != '\0' || close == s + 1) {
        g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_SYNTAX,
                    _("%s:%d: '%s' is not a valid group header (try '[app]')"), scan->path, lineno,
                    s);
        return FALSE;
      }
      g_free(group);
      group = g_strndup(s + 1, (gsize)(close - s - 1));
      g_autofree char *k = line_key(group, NULL);
      SvScanEntry entry = {lineno, g_strdup(group), NULL};
      g_array_append_val(scan->entries, entry);
      if (!g_hash_table_contains(scan->lines, k))
        g_hash_table_insert(scan->lines, g_steal_pointer(&k), GINT_TO_POINTER(lineno));
      continue;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL || eq == s) {
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_SYNTAX,
                  _("%s:%d: '%s' is not a key=value line, a [group] or a # comment"), scan->path,
                  lineno, s);
      return FALSE;
    }
    if (group == NULL) {
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_SYNTAX,
                  _("%s:%d: key outside of any group (start the file with '[app]')"), scan->path,
                  lineno);
      return FALSE;
    }
    *eq = '\0';
    g_autofree char *key = g_strstrip(g_strdup(s));
    SvScanEntry entry = {lineno, g_strdup(group), g_strdup(key)};
    g_array_append_val(scan->entries, entry);
    /* The last occurrence wins, as in GKeyFile. */
    g_hash_table_insert(scan->lines, line_key(group, key), GINT_TO_POINTER(lineno));
  }
  return TRUE;
}

/* ---- suggestions ------------------------------------------------------------------- */

static guint
edit_distance(const char *a, const char *b)
{
  gsize la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return G_MAXUINT;
  guint row[65];
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint)j;
  for (gsize i = 1; i <= la; i++) {
    guint prev = row[0];
    row[0] = (guint)i;
    for (gsize j = 1; j <= lb; j++) {
      guint cur = row[j];
      guint cost = g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 1]) ? 0 : 1;
      row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), prev + cost);
      prev = cur;
    }
  }
  return row[lb];
}

/* The closest of CANDIDATES within a distance that still looks like a typo. */
static const char *
closest(const char *word, const char *const *candidates, gsize n)
{
  const char *best = NULL;
  guint best_d = G_MAXUINT;
  for (gsize i = 0; i < n; i++) {
    guint d = edit_distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  guint limit = MAX(2u, (guint)strlen(word) / 3);
  return best_d <= limit ? best : NULL;
}

static char *
suggestion(const char *word, const char *const *candidates, gsize n)
{
  const char *best = closest(word, candidates, n);
  return best ? g_strdup_printf(_(" (did you mean '%s'?)"), best) : g_strdup("");
}

/* ---- schema lookups ------------------------------------------------------------------- */

/* A section name: what follows "hook:" or "job:". Short and plain, since it becomes part
 * of file names (jobs' state) and of environment variable names. */
static gboolean
valid_section_name(const char *name)
{
  gsize len = strlen(name);
  if (len == 0 || len > 64)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '.'))
      return FALSE;
  return name[0] != '.';
}

static const SvGroupSpec *
find_group(const char *name)
{
  const char *colon = strchr(name, ':');
  for (gsize i = 0; i < G_N_ELEMENTS(groups); i++) {
    if (!groups[i].sectioned && g_str_equal(groups[i].name, name))
      return &groups[i];
    if (groups[i].sectioned && colon != NULL && strlen(groups[i].name) == (gsize)(colon - name) &&
        strncmp(groups[i].name, name, (gsize)(colon - name)) == 0 && valid_section_name(colon + 1))
      return &groups[i];
  }
  return NULL;
}

static const SvKeySpec *
find_key(const SvGroupSpec *group, const char *name)
{
  for (gsize i = 0; i < group->n_keys; i++)
    if (g_str_equal(group->keys[i].name, name))
      return &group->keys[i];
  return NULL;
}

/* "stop-timeout" in [app] → "SDVISOR_APP_STOP_TIMEOUT". */
static char *
override_name(const char *group, const char *key)
{
  g_autofree char *raw = g_strconcat("SDVISOR_", group, "_", key, NULL);
  char *name = g_ascii_strup(raw, -1);
  g_strdelimit(name, "-:.", '_');
  return name;
}

/* ---- value conversion ------------------------------------------------------------------ */

/* Where a value came from, for messages: "demo.conf:7" or "environment variable X". */
typedef struct {
  char *where;
} SvOrigin;

static gboolean
valid_env_name(const char *name, gsize len)
{
  if (len == 0 || !(g_ascii_isalpha(name[0]) || name[0] == '_'))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!(g_ascii_isalnum(name[i]) || name[i] == '_'))
      return FALSE;
  return TRUE;
}

static gboolean
convert(const char *where, const char *group, const SvKeySpec *spec, const char *value,
        gpointer field, GError **error)
{
#define FAIL(...)                                                                                  \
  do {                                                                                             \
    g_autofree char *detail_ = g_strdup_printf(__VA_ARGS__);                                       \
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID, "%s: [%s] %s: %s", where, group,  \
                spec->name, detail_);                                                              \
    return FALSE;                                                                                  \
  } while (0)

  switch (spec->type) {
  case SV_KEY_STRING:
    *(char **)field = g_strdup(value);
    return TRUE;

  case SV_KEY_PATH:
    if (!g_path_is_absolute(value))
      FAIL(_("'%s' is not an absolute path"), value);
    *(char **)field = g_strdup(value);
    return TRUE;

  case SV_KEY_ARGV:
  case SV_KEY_ENVLIST: {
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) local = NULL;
    if (*value == '\0') {
      if (spec->type == SV_KEY_ARGV)
        FAIL(_("the command is empty"));
      *(char ***)field = g_new0(char *, 1);
      return TRUE;
    }
    if (!g_shell_parse_argv(value, NULL, &argv, &local)) {
      /* Environment values may be secrets: never quoted in a message. */
      if (spec->type == SV_KEY_ENVLIST)
        FAIL(_("cannot split into NAME=VALUE words: a quote is not closed (values are not shown)"));
      FAIL(_("cannot split '%s' into words: %s"), value, local->message);
    }
    if (spec->type == SV_KEY_ENVLIST) {
      guint i = 0;
      for (char **a = argv; *a != NULL; a++, i++) {
        const char *eq = strchr(*a, '=');
        /* The name may be shown, never what follows '=' (or a word without one). */
        if (eq == NULL || eq == *a)
          FAIL(_("word %u is not a NAME=VALUE assignment (NAME: letters, digits, _)"), i + 1);
        if (!valid_env_name(*a, (gsize)(eq - *a))) {
          g_autofree char *name = g_strndup(*a, (gsize)(eq - *a));
          FAIL(
              _("'%s' is not a variable name (letters, digits and '_', not starting with a digit)"),
              name);
        }
      }
    }
    /* g_shell_parse_argv() hands back each word in a GString's buffer, 128 bytes at
     * least: copied to its own size, 1,000 jobs keep 110 kB less. */
    *(char ***)field = g_strdupv(argv);
    return TRUE;
  }

  case SV_KEY_TIMESPAN: {
    g_autoptr(GError) local = NULL;
    gint64 usec;
    if (!sv_timespan_parse(value, &usec, &local))
      FAIL("%s", local->message);
    *(gint64 *)field = usec;
    return TRUE;
  }

  case SV_KEY_SIGNAL: {
    int signo;
    if (!sv_signal_parse(value, &signo))
      FAIL(_("'%s' is not a signal (try 'SIGTERM' or 'TERM')"), value);
    if (signo == SIGSTOP || signo == SIGCHLD)
      FAIL(_("%s cannot be used here"), sv_signal_name(signo));
    *(int *)field = signo;
    return TRUE;
  }

  case SV_KEY_SIGNALS: {
    guint64 mask = 0;
    g_auto(GStrv) words = g_strsplit_set(value, " \t,", -1);
    for (char **w = words; *w != NULL; w++) {
      int signo;
      if (**w == '\0')
        continue;
      if (!sv_signal_parse(*w, &signo) || signo >= 64)
        FAIL(_("'%s' is not a signal (try 'SIGUSR1' or 'USR1')"), *w);
      /* These are sdvisor's own: stop, reload, reaping; KILL and STOP cannot be caught. */
      if (signo == SIGTERM || signo == SIGINT || signo == SIGHUP || signo == SIGCHLD ||
          signo == SIGKILL || signo == SIGSTOP)
        FAIL(_("%s cannot be forwarded: sdvisor handles it itself"), sv_signal_name(signo));
      mask |= G_GUINT64_CONSTANT(1) << signo;
    }
    *(guint64 *)field = mask;
    return TRUE;
  }

  case SV_KEY_BOOL: {
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
      if (g_ascii_strcasecmp(value, yes[i]) == 0) {
        *(gboolean *)field = TRUE;
        return TRUE;
      }
      if (g_ascii_strcasecmp(value, no[i]) == 0) {
        *(gboolean *)field = FALSE;
        return TRUE;
      }
    }
    FAIL(_("'%s' is not a boolean (try 'true' or 'false')"), value);
  }

  case SV_KEY_UINT: {
    guint64 n;
    if (!g_ascii_string_to_unsigned(value, 10, spec->min, spec->max, &n, NULL))
      FAIL(_("'%s' is not a whole number from %u to %u"), value, spec->min, spec->max);
    *(guint *)field = (guint)n;
    return TRUE;
  }

  case SV_KEY_SIZE: {
    char *end = NULL;
    guint64 n = g_ascii_strtoull(value, &end, 10);
    guint64 mult = 1;
    if (end == value)
      FAIL(_("'%s' is not a size (try '48K' or '1M')"), value);
    if (*end == 'K' || *end == 'k')
      mult = 1024, end++;
    else if (*end == 'M' || *end == 'm')
      mult = 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b')
      end++;
    if (*end != '\0')
      FAIL(_("'%s' is not a size (try '48K' or '1M')"), value);
    if (n > G_MAXUINT / mult || n * mult < spec->min || n * mult > spec->max)
      FAIL(_("'%s' is out of range (%u to %u bytes)"), value, spec->min, spec->max);
    *(guint *)field = (guint)(n * mult);
    return TRUE;
  }

  case SV_KEY_ENUM: {
    for (int i = 0; spec->choices[i] != NULL; i++)
      if (g_str_equal(value, spec->choices[i])) {
        *(int *)field = i;
        return TRUE;
      }
    g_autofree char *choices = g_strjoinv("|", (char **)spec->choices);
    FAIL(_("'%s' is not one of %s"), value, choices);
  }

  case SV_KEY_PRIORITY: {
    guint64 n;
    if (g_ascii_string_to_unsigned(value, 10, 0, 7, &n, NULL)) {
      *(int *)field = (int)n;
      return TRUE;
    }
    for (int i = 0; i < (int)G_N_ELEMENTS(priority_names); i++)
      if (g_ascii_strcasecmp(value, priority_names[i]) == 0 ||
          (i == 3 && g_ascii_strcasecmp(value, "error") == 0) ||
          (i == 4 && g_ascii_strcasecmp(value, "warn") == 0)) {
        *(int *)field = i;
        return TRUE;
      }
    FAIL(_("'%s' is not a priority (emerg, alert, crit, err, warning, notice, info, debug or 0-7)"),
         value);
  }

  case SV_KEY_CHECKS: {
    g_autoptr(GError) local = NULL;
    GPtrArray *checks = sv_checkspec_parse_list(value, &local);
    if (checks == NULL)
      FAIL("%s", local->message);
    *(GPtrArray **)field = checks;
    return TRUE;
  }

  case SV_KEY_EVENTS: {
    guint bits = 0;
    g_auto(GStrv) words = g_strsplit_set(value, " \t,", -1);
    for (char **w = words; *w != NULL; w++) {
      if (**w == '\0')
        continue;
      guint bit = 0;
      for (gsize i = 0; i < G_N_ELEMENTS(hook_events); i++)
        if (g_str_equal(*w, hook_events[i].name))
          bit = hook_events[i].event;
      if (bit == 0) {
        const char *names[G_N_ELEMENTS(hook_events)];
        for (gsize i = 0; i < G_N_ELEMENTS(hook_events); i++)
          names[i] = hook_events[i].name;
        g_autofree char *hint = suggestion(*w, names, G_N_ELEMENTS(names));
        FAIL(_("'%s' is not an event (pre-start, post-start, pre-stop, post-stop, reload, "
               "on-failure, on-unhealthy)%s"),
             *w, hint);
      }
      bits |= bit;
    }
    if (bits == 0)
      FAIL(_("no event given"));
    *(guint *)field = bits;
    return TRUE;
  }

  case SV_KEY_FIELDS: {
    g_auto(GStrv) words = NULL;
    g_autoptr(GError) local = NULL;
    if (*value == '\0') {
      *(char ***)field = g_new0(char *, 1);
      return TRUE;
    }
    if (!g_shell_parse_argv(value, NULL, &words, &local))
      FAIL(_("cannot split '%s' into words: %s"), value, local->message);
    for (char **w = words; *w != NULL; w++) {
      const char *eq = strchr(*w, '=');
      gboolean ok = eq != NULL && eq != *w && (gsize)(eq - *w) <= 64 && !g_ascii_isdigit(**w);
      for (const char *c = *w; ok && c < eq; c++)
        ok = g_ascii_isupper(*c) || g_ascii_isdigit(*c) || *c == '_';
      /* journald drops fields starting with '_' from clients. */
      if (!ok || **w == '_')
        FAIL(_("'%s' is not a journal field assignment (NAME=VALUE, NAME in A-Z, 0-9 and _, not "
               "starting with _ or a digit)"),
             *w);
    }
    *(char ***)field = g_steal_pointer(&words);
    return TRUE;
  }

  case SV_KEY_TIMEZONE: {
    GTimeZone *tz = g_time_zone_new_identifier(value);
    if (tz == NULL)
      FAIL(_("'%s' is not a time zone (try 'UTC' or 'Europe/Berlin')"), value);
    g_time_zone_unref(tz);
    *(char **)field = g_strdup(value);
    return TRUE;
  }

  case SV_KEY_SCHEDULE:
    /* Validated once the whole group is read: the schedule depends on timezone=. */
    *(char **)field = g_strdup(value);
    return TRUE;

  case SV_KEY_STORE: {
    g_autoptr(GError) local = NULL;
    if (!sv_fleet_store_validate(value, NULL, &local))
      FAIL("%s", local->message);
    *(char **)field = g_strdup(value);
    return TRUE;
  }

  case SV_KEY_LISTEN: {
    g_autoptr(GError) local = NULL;
    /* Each address keeps where it was written: a port found in use at start is reported
     * at its line. */
    GPtrArray *specs = sv_listenspec_parse_list(value, where, &local);
    if (specs == NULL)
      FAIL("%s", local->message);
    *(GPtrArray **)field = specs;
    return TRUE;
  }

  case SV_KEY_MODE: {
    guint64 n;
    gboolean octal = strlen(value) >= 3 && strlen(value) <= 4;
    for (const char *c = value; octal && *c; c++)
      octal = *c >= '0' && *c <= '7';
    if (!octal || !g_ascii_string_to_unsigned(value, 8, 0, 0777, &n, NULL))
      FAIL(_("'%s' is not a file mode (three or four octal digits, at most 0777: try '0660')"),
           value);
    *(guint *)field = (guint)n;
    return TRUE;
  }
  }
  g_assert_not_reached();
#undef FAIL
}

static void
free_field(const SvKeySpec *spec, gpointer field)
{
  switch (spec->type) {
  case SV_KEY_STRING:
  case SV_KEY_PATH:
    g_clear_pointer((char **)field, g_free);
    break;
  case SV_KEY_TIMEZONE:
  case SV_KEY_SCHEDULE:
  case SV_KEY_STORE:
    g_clear_pointer((char **)field, g_free);
    break;
  case SV_KEY_ARGV:
  case SV_KEY_ENVLIST:
  case SV_KEY_FIELDS:
    g_clear_pointer((char ***)field, g_strfreev);
    break;
  case SV_KEY_CHECKS:
  case SV_KEY_LISTEN:
    g_clear_pointer((GPtrArray **)field, g_ptr_array_unref);
    break;
  default:
    break;
  }
}

/* ---- environment files (systemd's EnvironmentFile= syntax) ---------------------------- */

char **
sv_config_parse_environment(const char *data, gsize len, const char *path, GError **error)
{
  g_return_val_if_fail(data != NULL && path != NULL, NULL);

  if (len > SV_CONFIG_MAX_SIZE || memchr(data, '\0', len) != NULL) {
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                _("%s: not a text file of NAME=VALUE lines"), path);
    return NULL;
  }

  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
  g_autofree char *text = g_strndup(data, len);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  int lineno = 0;
  for (char **l = lines; *l != NULL; l++) {
    lineno++;
    char *s = g_strstrip(*l);
    if (*s == '\0' || *s == '#' || *s == ';')
      continue;
    if (g_str_has_prefix(s, "export "))
      s = g_strchug(s + 7);
    char *eq = strchr(s, '=');
    if (eq == NULL || !valid_env_name(s, (gsize)(eq - s))) {
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                  _("%s:%d: not a NAME=VALUE line"), path, lineno);
      return NULL;
    }
    *eq = '\0';
    char *value = g_strstrip(eq + 1);
    gsize vlen = strlen(value);
    g_autofree char *unquoted = NULL;
    if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
      unquoted = g_shell_unquote(value, NULL);
      if (unquoted == NULL) {
        g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                    _("%s:%d: unbalanced quotes in the value of %s"), path, lineno, s);
        return NULL;
      }
    }
    /* Keys only in messages: values may be secrets. */
    g_ptr_array_add(out, g_strconcat(s, "=", unquoted ? unquoted : value, NULL));
  }
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

static gboolean
load_environment_file(const char *spec, GPtrArray *out, GError **error)
{
  gboolean optional = spec[0] == '-';
  const char *path = optional ? spec + 1 : spec;
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr(GError) local = NULL;

  struct stat st;
  if (stat(path, &st) == 0 && (st.st_mode & S_IWOTH)) {
    /* It becomes the app's environment: LD_PRELOAD in it runs anything. */
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_UNSAFE,
                _("%s: refusing an environment file that others can write (chmod o-w %s)"), path,
                path);
    return FALSE;
  }
  if (!g_file_get_contents(path, &text, &len, &local)) {
    if (optional && g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_IO, _("[app] environment-file: %s"),
                local->message);
    return FALSE;
  }
  /* The strings move into OUT; only the array is freed here. */
  g_autofree char **assignments = sv_config_parse_environment(text, len, path, error);
  if (assignments == NULL)
    return FALSE;
  for (char **a = assignments; *a != NULL; a++)
    g_ptr_array_add(out, *a);
  return TRUE;
}

/* ---- loading ------------------------------------------------------------------------ */

char *
sv_config_default_name(const char *path, char *const *exec, SvNameSource *out_source)
{
  if (path != NULL) {
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *dir = g_path_get_dirname(path);
    gsize len = strlen(base);
    /* "shop.conf" → "shop"; a file called ".conf" keeps its whole name. */
    if (len > strlen(".conf") && g_str_has_suffix(base, ".conf"))
      base[len - strlen(".conf")] = '\0';
    if (out_source != NULL)
      *out_source =
          g_str_equal(dir, SV_CONFIG_INSTANCE_DIR) ? SV_NAME_FROM_INSTANCE : SV_NAME_FROM_FILE;
    return g_steal_pointer(&base);
  }
  if (exec != NULL && exec[0] != NULL) {
    if (out_source != NULL)
      *out_source = SV_NAME_FROM_COMMAND;
    return g_path_get_basename(exec[0]);
  }
  return NULL;
}

char *
sv_config_describe_name_source(const SvConfig *config)
{
  switch (config->name_source) {
  case SV_NAME_FROM_KEY:
    return g_strdup(_("[app] name"));
  case SV_NAME_FROM_INSTANCE:
    return g_strdup_printf(_("the template instance: sdvisor@%s.service reads %s"),
                           config->app.name, config->path);
  case SV_NAME_FROM_FILE:
    return g_strdup_printf(_("the configuration file's name, %s"), config->path);
  case SV_NAME_FROM_COMMAND:
  default:
    return g_strdup(_("the program's name, as no configuration file was given: two such "
                      "apps running the same program share their jobs' state (set "
                      "SDVISOR_APP_NAME to tell them apart)"));
  }
}

static void
app_finish(SvConfig *config)
{
  SvAppConfig *app = &config->app;
  if (app->name == NULL) {
    app->name = sv_config_default_name(config->path, app->exec, &config->name_source);
    if (app->name != NULL)
      g_key_file_set_string(config->effective, "app", "name", app->name);
  } else {
    config->name_source = SV_NAME_FROM_KEY;
  }
}

/* Every (group, key) an override may name: the fixed groups' keys, and the keys of each
 * section the file has ([hook:migrate] → SDVISOR_HOOK_MIGRATE_TIMEOUT). Overrides do not
 * create sections. */
typedef struct {
  char *var;
  char *group;
  const char *key;
} SvOverrideName;

static void
override_name_clear(gpointer data)
{
  SvOverrideName *o = data;
  g_free(o->var);
  g_free(o->group);
}

/* VAR is one apply_overrides() looks at: SDVISOR_…, not one of the runtime variables. */
static gboolean
override_candidate(const char *entry)
{
  const char *eq = strchr(entry, '=');
  if (!g_str_has_prefix(entry, "SDVISOR_") || eq == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS(runtime_variables); i++)
    if (strlen(runtime_variables[i]) == (gsize)(eq - entry) &&
        strncmp(entry, runtime_variables[i], (gsize)(eq - entry)) == 0)
      return FALSE;
  return TRUE;
}

static gboolean
apply_overrides(SvConfig *config, char *const *envp, GError **error)
{
  /* The table of every key's variable is built only when there is a variable to look up:
   * for 1,000 jobs it is 12,000 names, a third of the heap loading takes at its peak. */
  gboolean any = FALSE;
  for (char *const *e = envp; e != NULL && *e != NULL && !any; e++)
    any = override_candidate(*e);
  if (!any)
    return TRUE;

  g_autoptr(GArray) names = g_array_new(FALSE, TRUE, sizeof(SvOverrideName));
  g_array_set_clear_func(names, override_name_clear);
  g_auto(GStrv) present = g_key_file_get_groups(config->effective, NULL);
  for (gsize g = 0; g < G_N_ELEMENTS(groups); g++) {
    for (char **p = present; *p != NULL; p++) {
      if (find_group(*p) != &groups[g])
        continue;
      for (gsize k = 0; k < groups[g].n_keys; k++) {
        SvOverrideName o = {override_name(*p, groups[g].keys[k].name), g_strdup(*p),
                            groups[g].keys[k].name};
        g_array_append_val(names, o);
      }
    }
    if (!groups[g].sectioned && !g_strv_contains((const char *const *)present, groups[g].name))
      for (gsize k = 0; k < groups[g].n_keys; k++) {
        SvOverrideName o = {override_name(groups[g].name, groups[g].keys[k].name),
                            g_strdup(groups[g].name), groups[g].keys[k].name};
        g_array_append_val(names, o);
      }
  }

  for (char *const *e = envp; e != NULL && *e != NULL; e++) {
    if (!override_candidate(*e))
      continue;
    const char *eq = strchr(*e, '=');
    g_autofree char *var = g_strndup(*e, (gsize)(eq - *e));
    const char *value = eq + 1;
    /* Messages quote names and values: both must be text (found by fuzz-config). */
    if (!g_utf8_validate(*e, -1, NULL)) {
      g_autofree char *shown = g_utf8_make_valid(var, -1);
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                  _("environment variable %s: not UTF-8 text"), shown);
      return FALSE;
    }

    const SvOverrideName *match = NULL;
    for (guint i = 0; i < names->len && match == NULL; i++)
      if (g_str_equal(g_array_index(names, SvOverrideName, i).var, var))
        match = &g_array_index(names, SvOverrideName, i);
    if (match != NULL) {
      g_key_file_set_string(config->effective, match->group, match->key, value);
      /* TRANSLATORS: `sdvisor check` prints this as a comment above a value that the
       * environment variable %s set. */
      g_autofree char *comment = g_strdup_printf(_(" from %s"), var);
      (void)g_key_file_set_comment(config->effective, match->group, match->key, comment, NULL);
      continue;
    }

    /* SDVISOR_APP_… that names no key of [app] is a typo worth stopping for; a variable
     * under no known group is somebody else's business. */
    const SvGroupSpec *prefix_group = NULL;
    for (gsize g = 0; g < G_N_ELEMENTS(groups); g++) {
      g_autofree char *gprefix = override_name(groups[g].name, "");
      if (g_str_has_prefix(var, gprefix))
        prefix_group = &groups[g];
    }
    if (prefix_group != NULL) {
      g_autoptr(GPtrArray) candidates = g_ptr_array_new();
      for (guint i = 0; i < names->len; i++)
        g_ptr_array_add(candidates, g_array_index(names, SvOverrideName, i).var);
      g_autofree char *hint =
          suggestion(var, (const char *const *)candidates->pdata, candidates->len);
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_UNKNOWN_KEY,
                  prefix_group->sectioned
                      ? _("environment variable %s: no such key in any [%s:…] group of the file%s")
                      : _("environment variable %s: no such key in [%s]%s"),
                  var, prefix_group->name, hint);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
convert_group(SvConfig *config, const SvScan *scan, const SvGroupSpec *group, const char *name,
              guint8 *base, GError **error)
{
  for (gsize k = 0; k < group->n_keys; k++) {
    const SvKeySpec *spec = &group->keys[k];
    g_autofree char *value = g_key_file_get_string(config->effective, name, spec->name, NULL);
    if (value == NULL) {
      if (spec->required) {
        g_autofree char *var = override_name(name, spec->name);
        int line = scan_line_of(scan, name, NULL);
        g_autofree char *where = line > 0
                                     ? g_strdup_printf("%s:%d", config->path, line)
                                     : g_strdup(config->path ? config->path : _("command line"));
        g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_MISSING,
                    _("%s: [%s] %s is required (or set %s)"), where, name, spec->name, var);
        return FALSE;
      }
      continue;
    }
    g_autofree char *comment = g_key_file_get_comment(config->effective, name, spec->name, NULL);
    g_autofree char *where = NULL;
    if (comment != NULL) {
      /* Only an override leaves a comment, in the reader's language: name its variable
       * from the group and key rather than read it back. */
      g_autofree char *var = override_name(name, spec->name);
      where = g_strdup_printf(_("environment variable %s"), var);
    } else {
      int line = scan_line_of(scan, name, spec->name);
      where = line > 0 ? g_strdup_printf("%s:%d", config->path, line)
                       : g_strdup(config->path ? config->path : _("default"));
    }
    if (!convert(where, name, spec, value, base + spec->offset, error))
      return FALSE;
    if (spec->type == SV_KEY_STORE) {
      /* `check` prints the effective configuration: never the password. */
      g_autofree char *shown = sv_fleet_store_redact(value);
      g_key_file_set_string(config->effective, name, spec->name, shown);
    }

    if (spec->type == SV_KEY_SCHEDULE) {
      /* timezone= is converted before schedule= is used: look it up directly. */
      g_autofree char *tzname = g_key_file_get_string(config->effective, name, "timezone", NULL);
      GTimeZone *tz = tzname ? g_time_zone_new_identifier(tzname) : g_time_zone_new_local();
      if (tz == NULL)
        tz = g_time_zone_new_utc(); /* reported by timezone='s own conversion */
      g_autoptr(GError) local = NULL;
      g_autoptr(SvSchedule) sched = sv_schedule_parse(value, tz, &local);
      g_time_zone_unref(tz);
      if (sched == NULL) {
        g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID, "%s: [%s] %s: %s", where, name,
                    spec->name, local->message);
        return FALSE;
      }
    }
  }
  return TRUE;
}

static gboolean
convert_all(SvConfig *config, const SvScan *scan, GError **error)
{
  for (gsize g = 0; g < G_N_ELEMENTS(groups); g++) {
    if (groups[g].sectioned)
      continue;
    if (!convert_group(config, scan, &groups[g], groups[g].name,
                       (guint8 *)config + groups[g].offset, error))
      return FALSE;
  }
  /* Sections in file order: hooks of one event run in that order. */
  g_auto(GStrv) present = g_key_file_get_groups(config->effective, NULL);
  for (char **p = present; *p != NULL; p++) {
    const SvGroupSpec *group = find_group(*p);
    if (group == NULL || !group->sectioned)
      continue;
    GPtrArray *array = *(GPtrArray **)((guint8 *)config + group->offset);
    guint8 *section = g_malloc0(group->struct_size);
    *(char **)section = g_strdup(strchr(*p, ':') + 1);
    g_ptr_array_add(array, section);
    if (!convert_group(config, scan, group, *p, section, error))
      return FALSE;
  }
  return TRUE;
}

/* Whether CHECK connects to an address of [app] listen=, which sdvisor holds itself. */
static const SvListenSpec *
check_hits_listen(const SvCheckSpec *check, GPtrArray *listen)
{
  for (guint i = 0; listen != NULL && i < listen->len; i++) {
    const SvListenSpec *spec = listen->pdata[i];
    if (check->kind == SV_CHECK_UNIX && spec->kind == SV_LISTEN_UNIX &&
        check->abstract == spec->abstract && g_strcmp0(check->path, spec->path) == 0)
      return spec;
    if (check->kind == SV_CHECK_TCP && spec->kind == SV_LISTEN_TCP && check->port == spec->port &&
        (g_str_equal(spec->host, "0.0.0.0") || g_str_equal(spec->host, "::") ||
         g_ascii_strcasecmp(check->host, spec->host) == 0 ||
         g_ascii_strcasecmp(check->host, "localhost") == 0))
      return spec;
  }
  return NULL;
}

/* A tcp:// or unix: check of an address sdvisor listens on cannot fail: the kernel
 * accepts connections into the backlog of sdvisor's socket before the app runs, and
 * while it hangs. Such a check is refused; http:// (which needs the app's answer) and
 * notify are not. */
static gboolean
check_listen_checks(SvConfig *config, const SvScan *scan, GError **error)
{
  static const char *const groups_with_checks[] = {"ready", "health"};
  GPtrArray *lists[] = {config->ready.checks, config->health.checks};
  for (gsize g = 0; g < G_N_ELEMENTS(lists); g++)
    for (guint i = 0; lists[g] != NULL && i < lists[g]->len; i++) {
      const SvCheckSpec *check = lists[g]->pdata[i];
      const SvListenSpec *spec = check_hits_listen(check, config->app.listen);
      if (spec == NULL)
        continue;
      int line = scan_line_of(scan, groups_with_checks[g], "check");
      g_autofree char *where = line > 0 ? g_strdup_printf("%s:%d", config->path, line)
                                        : g_strdup(config->path ? config->path : _("default"));
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                  _("%s: [%s] check: %s cannot fail: sdvisor itself listens on %s ([app] "
                    "listen=), and connections wait in its backlog whether the app runs or "
                    "not; check with http:// (the app must answer) or notify"),
                  where, groups_with_checks[g], check->text, spec->text);
      return FALSE;
    }
  return TRUE;
}

/* reload-mode=replace switches once the new instance is ready. Both instances accept on
 * the same sockets, so a check through them (http://, tcp://) may be answered by the old
 * one, and a file: check by either: readiness must be the new instance's own, its
 * READY=1 on its own notify socket (`notify`) or an exec: check given its pid
 * ($SDVISOR_APP_PID). */
static gboolean
check_replace_readiness(SvConfig *config, const SvScan *scan, GError **error)
{
  if (config->app.reload_mode != SV_RELOAD_REPLACE)
    return TRUE;
  GPtrArray *checks = config->ready.checks;
  gboolean own = FALSE;
  for (guint i = 0; checks != NULL && i < checks->len; i++) {
    const SvCheckSpec *check = checks->pdata[i];
    own |= check->kind == SV_CHECK_NOTIFY || check->kind == SV_CHECK_EXEC;
  }
  if (own)
    return TRUE;
  int line = scan_line_of(scan, "app", "reload-mode");
  g_autofree char *where = line > 0 ? g_strdup_printf("%s:%d", config->path, line)
                                    : g_strdup(config->path ? config->path : _("default"));
  g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
              _("%s: [app] reload-mode=replace needs a readiness check of the new instance's "
                "own: [ready] check=notify (its READY=1; gunicorn sends it) or an exec: check "
                "($SDVISOR_APP_PID is its pid); an http:// or tcp:// check may be answered by "
                "the old instance on the same sockets"),
              where);
  return FALSE;
}

/* once-per=fleet needs a store, and says the opposite of once-per-host=false. */
static gboolean
check_fleet_jobs(SvConfig *config, const SvScan *scan, GError **error)
{
  if (config->fleet.lease_usec < SV_USEC_PER_SEC || config->fleet.lease_usec == G_MAXINT64) {
    int line = scan_line_of(scan, "fleet", "lease");
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                _("%s:%d: [fleet] lease: a lease is at least 1s and finite (default 30s)"),
                config->path ? config->path : _("default"), line);
    return FALSE;
  }
  const SvFleetConfig *fleet = &config->fleet;
  if ((fleet->tls_ca || fleet->tls_certificate || fleet->tls_key) &&
      (fleet->store == NULL || !g_str_has_prefix(fleet->store, "etcds://"))) {
    const char *key = fleet->tls_ca            ? "tls-ca"
                      : fleet->tls_certificate ? "tls-certificate"
                                               : "tls-key";
    g_set_error(
        error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
        _("%s:%d: [fleet] %s: only for an etcds:// store (PostgreSQL takes sslrootcert= and "
          "the like in its URI)"),
        config->path ? config->path : _("default"), scan_line_of(scan, "fleet", key), key);
    return FALSE;
  }
  if ((fleet->tls_certificate == NULL) != (fleet->tls_key == NULL)) {
    const char *key = fleet->tls_certificate ? "tls-certificate" : "tls-key";
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                _("%s:%d: [fleet] %s: tls-certificate and tls-key go together"),
                config->path ? config->path : _("default"), scan_line_of(scan, "fleet", key), key);
    return FALSE;
  }
  for (guint i = 0; i < config->jobs->len; i++) {
    const SvJobConfig *job = config->jobs->pdata[i];
    if (job->once_per != SV_ONCE_PER_FLEET)
      continue;
    g_autofree char *group = g_strconcat("job:", job->name, NULL);
    int line = scan_line_of(scan, group, "once-per");
    g_autofree char *where = line > 0 ? g_strdup_printf("%s:%d", config->path, line)
                                      : g_strdup(config->path ? config->path : _("default"));
    if (config->fleet.store == NULL) {
      g_set_error(
          error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_MISSING,
          _("%s: [%s] once-per=fleet needs a store: [fleet] store=postgresql://… or etcd://…"),
          where, group);
      return FALSE;
    }
    if (!job->once_per_host) {
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                  _("%s: [%s] once-per=fleet and once-per-host=false contradict each other"), where,
                  group);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
finish(SvConfig *config, const SvScan *scan, char *const *envp, GError **error)
{
  if (!apply_overrides(config, envp, error))
    return FALSE;
  if (!convert_all(config, scan, error))
    return FALSE;
  if (!check_fleet_jobs(config, scan, error))
    return FALSE;
  if (!check_listen_checks(config, scan, error))
    return FALSE;
  if (!check_replace_readiness(config, scan, error))
    return FALSE;

  if (config->app.environment_file != NULL) {
    g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func(g_free);
    for (char **e = config->app.environment; e && *e; e++)
      g_ptr_array_add(env, g_strdup(*e));
    /* As in systemd, the file's assignments come after (and so win over) environment=. */
    if (!load_environment_file(config->app.environment_file, env, error))
      return FALSE;
    /* One entry per name, the last assignment winning. */
    char **merged = g_new0(char *, 1);
    for (guint i = 0; i < env->len; i++) {
      const char *entry = env->pdata[i];
      const char *eq = strchr(entry, '=');
      g_autofree char *name = g_strndup(entry, (gsize)(eq - entry));
      merged = g_environ_setenv(merged, name, eq + 1, TRUE);
    }
    g_strfreev(config->app.environment);
    config->app.environment = merged;
  }
  app_finish(config);
  return TRUE;
}

static void
set_defaults(SvConfig *config, const SvGroupSpec *group, const char *name)
{
  for (gsize k = 0; k < group->n_keys; k++)
    if (group->keys[k].default_value != NULL)
      g_key_file_set_string(config->effective, name, group->keys[k].name,
                            group->keys[k].default_value);
}

static SvConfig *
config_new(const char *path)
{
  SvConfig *config = g_new0(SvConfig, 1);
  config->path = g_strdup(path);
  config->effective = g_key_file_new();
  config->hooks = g_ptr_array_new();
  config->jobs = g_ptr_array_new();
  for (gsize g = 0; g < G_N_ELEMENTS(groups); g++)
    if (!groups[g].sectioned)
      set_defaults(config, &groups[g], groups[g].name);
  return config;
}

gboolean
sv_config_mode_lets_read(const struct stat *st, uid_t uid, const gid_t *gids, gsize n_groups)
{
  if (uid == 0)
    return TRUE;
  if (st->st_uid == uid)
    return (st->st_mode & S_IRUSR) != 0;
  for (gsize i = 0; i < n_groups; i++)
    if (gids[i] == st->st_gid)
      return (st->st_mode & S_IRGRP) != 0;
  return (st->st_mode & S_IROTH) != 0;
}

static char *
group_name(gid_t gid)
{
  struct group *g = getgrgid(gid);
  return g ? g_strdup(g->gr_name) : g_strdup_printf("%u", (unsigned)gid);
}

gboolean
sv_config_check_readable_by(const char *path, const char *user, GError **error)
{
  struct passwd *pw = getpwnam(user);
  if (pw == NULL) {
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID, _("no user '%s' on this host"),
                user);
    return FALSE;
  }
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  g_autofree char *login = g_strdup(pw->pw_name);
  int n = 64;
  g_autofree gid_t *gids = g_new(gid_t, n);
  if (getgrouplist(login, gid, gids, &n) < 0) {
    gids = g_renew(gid_t, gids, n);
    if (getgrouplist(login, gid, gids, &n) < 0)
      n = 0;
  }
  struct stat st;
  if (stat(path, &st) < 0) {
    int errsv = errno;
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_IO, _("%s: cannot open: %s"), path,
                g_strerror(errsv));
    return FALSE;
  }
  if (sv_config_mode_lets_read(&st, uid, gids, (gsize)MAX(n, 0)))
    return TRUE;
  struct passwd *owner = getpwuid(st.st_uid);
  g_autofree char *owner_name =
      owner ? g_strdup(owner->pw_name) : g_strdup_printf("%u", (unsigned)st.st_uid);
  g_autofree char *file_group = group_name(st.st_gid);
  g_autofree char *needed = group_name(gid);
  /* TRANSLATORS: e.g. "/etc/sdvisor/shop.conf is root:root 0640: user shop cannot read it;
   * give it the group shop: chown root:shop /etc/sdvisor/shop.conf (mode 0640)". */
  g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_IO,
              _("%s is %s:%s %04o: user %s cannot read it; give it the group %s: chown root:%s "
                "%s (mode 0640)"),
              path, owner_name, file_group, (unsigned)(st.st_mode & 07777), login, needed, needed,
              path);
  return FALSE;
}

static gboolean
read_config_file(const char *path, char **out_text, gsize *out_len, GError **error)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int errsv = errno;
    /* The common case under User=: a root:root 0640 file. Name the group it needs. */
    struct passwd *self = errsv == EACCES ? getpwuid(geteuid()) : NULL;
    g_autofree char *login = self ? g_strdup(self->pw_name) : NULL;
    if (login != NULL && !sv_config_check_readable_by(path, login, error))
      return FALSE;
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_IO, _("%s: cannot open: %s"), path,
                g_strerror(errsv));
    return FALSE;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_IO, _("%s: not a regular file"), path);
    return FALSE;
  }
  /* Whoever can write the file can make sdvisor run anything. */
  if (st.st_mode & S_IWOTH) {
    close(fd);
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_UNSAFE,
                _("%s: refusing a configuration file that others can write (chmod o-w %s)"), path,
                path);
    return FALSE;
  }
  if (st.st_size > SV_CONFIG_MAX_SIZE) {
    close(fd);
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID, _("%s: larger than %d bytes"),
                path, SV_CONFIG_MAX_SIZE);
    return FALSE;
  }
  char *text = g_malloc((gsize)st.st_size + 1);
  gsize len = 0;
  while (len < (gsize)st.st_size) {
    ssize_t n = read(fd, text + len, (gsize)st.st_size - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (gsize)n;
  }
  close(fd);
  text[len] = '\0';
  *out_text = text;
  *out_len = len;
  return TRUE;
}

/* Checked on the scanned lines rather than GKeyFile's view: GKeyFile hides localised
 * keys ("name[ko]") and cannot say where anything stands. */
static gboolean
check_groups_and_keys(const SvScan *scan, GError **error)
{
  const char *group_names[G_N_ELEMENTS(groups)];
  for (gsize g = 0; g < G_N_ELEMENTS(groups); g++)
    group_names[g] = groups[g].sectioned
                         ? (g_str_equal(groups[g].name, "hook") ? "hook:NAME" : "job:NAME")
                         : groups[g].name;

  guint n_groups = 0;
  for (guint i = 0; i < scan->entries->len; i++) {
    const SvScanEntry *e = &g_array_index(scan->entries, SvScanEntry, i);
    const SvGroupSpec *spec = find_group(e->group);
    if (e->key == NULL && ++n_groups > SV_CONFIG_MAX_SECTIONS) {
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID, _("%s:%d: more than %d groups"),
                  scan->path, e->line, SV_CONFIG_MAX_SECTIONS);
      return FALSE;
    }
    if (spec == NULL) {
      if (e->key != NULL)
        continue; /* reported at its header */
      const char *colon = strchr(e->group, ':');
      if (colon != NULL && !valid_section_name(colon + 1)) {
        g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_UNKNOWN_GROUP,
                    _("%s:%d: [%s]: '%s' is not a valid name (letters, digits, '-', '_', '.'; "
                      "at most 64)"),
                    scan->path, e->line, e->group, colon + 1);
        return FALSE;
      }
      g_autofree char *hint = suggestion(e->group, group_names, G_N_ELEMENTS(groups));
      g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_UNKNOWN_GROUP,
                  _("%s:%d: unknown group [%s]%s"), scan->path, e->line, e->group, hint);
      return FALSE;
    }
    if (e->key == NULL || find_key(spec, e->key) != NULL)
      continue;
    const char *key_names[64];
    gsize n = MIN(spec->n_keys, G_N_ELEMENTS(key_names));
    for (gsize k = 0; k < n; k++)
      key_names[k] = spec->keys[k].name;
    g_autofree char *hint = suggestion(e->key, key_names, n);
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_UNKNOWN_KEY,
                _("%s:%d: [%s] %s: unknown key%s"), scan->path, e->line, e->group, e->key, hint);
    return FALSE;
  }
  return TRUE;
}

SvConfig *
sv_config_load(const char *path, char *const *envp, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);

  g_autofree char *text = NULL;
  gsize len = 0;
  if (!read_config_file(path, &text, &len, error))
    return NULL;
  if (memchr(text, '\0', len) != NULL || !g_utf8_validate(text, (gssize)len, NULL)) {
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_SYNTAX,
                _("%s: not UTF-8 text (NUL bytes or invalid sequences)"), path);
    return NULL;
  }

  SvScan scan = {path, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                 g_array_new(FALSE, TRUE, sizeof(SvScanEntry))};
  g_array_set_clear_func(scan.entries, scan_entry_clear);
  g_autoptr(GHashTable) lines = scan.lines;
  g_autoptr(GArray) entries = scan.entries;
  if (!scan_text(&scan, text, len, error))
    return NULL;

  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(GError) local = NULL;
  if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &local)) {
    g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_SYNTAX, "%s: %s", path, local->message);
    return NULL;
  }
  if (!check_groups_and_keys(&scan, error))
    return NULL;

  g_autoptr(SvConfig) config = config_new(path);
  g_auto(GStrv) file_groups = g_key_file_get_groups(kf, NULL);
  for (char **g = file_groups; *g != NULL; g++) {
    const SvGroupSpec *spec = find_group(*g);
    if (spec != NULL && spec->sectioned)
      set_defaults(config, spec, *g);
    g_auto(GStrv) keys = g_key_file_get_keys(kf, *g, NULL, NULL);
    for (char **k = keys; keys && *k != NULL; k++) {
      /* A value that ends in an unpaired backslash is refused before GKeyFile reads it:
       * with an unknown escape earlier in the value, GLib 2.74 sets its error twice in
       * one call (a warning, fatal in the tests; the fuzzer found it). */
      g_autofree char *raw = g_key_file_get_value(kf, *g, *k, NULL);
      gsize raw_len = raw ? strlen(raw) : 0, slashes = 0;
      while (slashes < raw_len && raw[raw_len - 1 - slashes] == '\\')
        slashes++;
      if (slashes % 2 == 1) {
        g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID,
                    "%s:%d: [%s] %s: the value ends in a backslash (write \\\\ for one)", path,
                    scan_line_of(&scan, *g, *k), *g, *k);
        return NULL;
      }
      g_autofree char *value = g_key_file_get_string(kf, *g, *k, &local);
      if (value == NULL) {
        g_set_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID, "%s:%d: [%s] %s: %s", path,
                    scan_line_of(&scan, *g, *k), *g, *k, local->message);
        return NULL;
      }
      /* An escape GKeyFile does not know (\d, \$) comes back as written, with an error
       * beside the value. The value is kept (sdvisor.conf(5) says so), and the error must
       * go before the next key's can be set. */
      g_clear_error(&local);
      g_key_file_set_string(config->effective, *g, *k, value);
    }
  }

  if (!finish(config, &scan, envp, error))
    return NULL;
  return g_steal_pointer(&config);
}

SvConfig *
sv_config_new_for_command(char *const *argv, char *const *envp, GError **error)
{
  g_return_val_if_fail(argv != NULL && argv[0] != NULL, NULL);

  g_autoptr(SvConfig) config = config_new(NULL);
  GString *cmd = g_string_new(NULL);
  for (char *const *a = argv; *a != NULL; a++) {
    g_autofree char *q = g_shell_quote(*a);
    if (cmd->len > 0)
      g_string_append_c(cmd, ' ');
    g_string_append(cmd, q);
  }
  g_autofree char *cmdline = g_string_free(cmd, FALSE);
  g_key_file_set_string(config->effective, "app", "exec", cmdline);

  if (!finish(config, NULL, envp, error))
    return NULL;
  /* The argv as given, not a re-split of its quoted form. */
  g_strfreev(config->app.exec);
  config->app.exec = g_strdupv((char **)argv);
  return g_steal_pointer(&config);
}

char *
sv_config_to_string(const SvConfig *config)
{
  /* The effective key file holds the defaults first and the file's values after them
   * (name and exec last); a person reads a group in the schema's order, name and exec
   * first. Each key keeps its comment (the override that set it). */
  g_autoptr(GKeyFile) ordered = g_key_file_new();
  g_auto(GStrv) present = g_key_file_get_groups(config->effective, NULL);
  for (char **p = present; *p != NULL; p++) {
    const SvGroupSpec *group = find_group(*p);
    if (group == NULL)
      continue;
    for (gsize k = 0; k < group->n_keys; k++) {
      const char *key = group->keys[k].name;
      g_autofree char *value = g_key_file_get_value(config->effective, *p, key, NULL);
      if (value == NULL)
        continue;
      g_key_file_set_value(ordered, *p, key, value);
      g_autofree char *comment = g_key_file_get_comment(config->effective, *p, key, NULL);
      if (comment != NULL && *comment != '\0')
        (void)g_key_file_set_comment(ordered, *p, key, comment, NULL);
    }
  }
  return g_key_file_to_data(ordered, NULL, NULL);
}

void
sv_config_trim_effective(SvConfig *config, const char *const *keep)
{
  g_auto(GStrv) names = g_key_file_get_groups(config->effective, NULL);
  for (char **g = names; *g != NULL; g++)
    if (keep == NULL || !g_strv_contains(keep, *g))
      (void)g_key_file_remove_group(config->effective, *g, NULL);
}

static void
free_sections(const SvGroupSpec *group, GPtrArray *array)
{
  for (guint i = 0; array != NULL && i < array->len; i++) {
    guint8 *section = array->pdata[i];
    for (gsize k = 0; k < group->n_keys; k++)
      free_field(&group->keys[k], section + group->keys[k].offset);
    g_free(*(char **)section);
    g_free(section);
  }
  if (array != NULL)
    g_ptr_array_set_size(array, 0);
}

void
sv_config_drop_jobs(SvConfig *config)
{
  for (gsize g = 0; g < G_N_ELEMENTS(groups); g++)
    if (groups[g].sectioned && g_str_equal(groups[g].name, "job"))
      free_sections(&groups[g], config->jobs);
}

void
sv_config_free(SvConfig *config)
{
  if (config == NULL)
    return;
  for (gsize g = 0; g < G_N_ELEMENTS(groups); g++) {
    guint8 *base = (guint8 *)config + groups[g].offset;
    if (groups[g].sectioned) {
      GPtrArray *array = *(GPtrArray **)base;
      free_sections(&groups[g], array);
      if (array != NULL)
        g_ptr_array_unref(array);
      continue;
    }
    for (gsize k = 0; k < groups[g].n_keys; k++)
      free_field(&groups[g].keys[k], base + groups[g].keys[k].offset);
  }
  g_clear_pointer(&config->effective, g_key_file_free);
  g_free(config->path);
  g_free(config);
}

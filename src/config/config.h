/* config.h — the configuration file (GKeyFile) and its environment overrides.
 *
 * Pure: reads the file it is given and the environment it is given, nothing else.
 * The schema is one table in config.c: each key has a type, a default and the field
 * it fills, so adding a key is adding a row. Every key of every group can be
 * overridden by SDVISOR_<GROUP>_<KEY> (upper-case, '-' and ':' become '_'); for
 * sectioned groups such as [hook:migrate] the group part is HOOK_MIGRATE. Every error
 * names the file, the line where the key or group stands, the group and the key. */
#pragma once
#include <glib.h>
#include <sys/stat.h>

#define SV_CONFIG_ERROR (sv_config_error_quark())
GQuark sv_config_error_quark(void);

typedef enum {
  SV_CONFIG_ERROR_SYNTAX, /* a line that is not a group, key=value or comment */
  SV_CONFIG_ERROR_UNKNOWN_GROUP,
  SV_CONFIG_ERROR_UNKNOWN_KEY,
  SV_CONFIG_ERROR_INVALID, /* a value of the wrong type or out of range */
  SV_CONFIG_ERROR_MISSING, /* a required key is absent */
  SV_CONFIG_ERROR_IO,      /* the file (or environment-file) cannot be read */
  SV_CONFIG_ERROR_UNSAFE,  /* the file is writable by others */
} SvConfigError;

typedef struct {
  char *name;  /* default: sv_config_default_name() */
  char **exec; /* argv, split like a shell would */
  char *working_directory;
  char **environment; /* KEY=VALUE from environment= and environment-file= merged */
  char *environment_file;
  int stop_signal;
  gint64 stop_timeout_usec;
  int reload_signal;
  guint64 forward_signals; /* bit N set = forward signal N */
  gint64 stop_delay_usec;  /* drain pause between pre-stop hooks and the stop signal */
  GPtrArray *listen;       /* SvListenSpec* (listenspec.h), each with its origin; NULL if absent */
  guint listen_mode;       /* file mode of unix: sockets, default 0666 (systemd's SocketMode=) */
  char *listen_user;       /* owner of unix: sockets; NULL = sdvisor's user */
  char *listen_group;      /* their group; NULL = sdvisor's group */
  int reload_mode;         /* SvReloadMode */
} SvAppConfig;

/* [app] reload-mode=: what a reload does to the app. */
typedef enum {
  SV_RELOAD_SIGNAL,  /* reload-signal to the running app (default) */
  SV_RELOAD_REPLACE, /* a new instance on the same sockets; the old one drains once it is ready */
} SvReloadMode;

/* [ready]: what must hold before READY=1. No check (check= absent or empty) = ready
 * once spawned. */
typedef struct {
  GPtrArray *checks;         /* SvCheckSpec* (checkspec.h), parsed at load; NULL if absent */
  gint64 interval_usec;      /* default 100ms */
  gint64 timeout_usec;       /* startup deadline, default 90s (systemd's TimeoutStartSec) */
  gint64 check_timeout_usec; /* bound on one attempt, default 2s */
} SvReadyConfig;

typedef enum {
  SV_ON_UNHEALTHY_RESTART,
  SV_ON_UNHEALTHY_STOP,
  SV_ON_UNHEALTHY_NONE,
} SvOnUnhealthy;

/* [health]: liveness. Present = checks given. */
typedef struct {
  GPtrArray *checks;                  /* SvCheckSpec*, as in [ready] */
  gint64 interval_usec;               /* default 10s */
  gint64 timeout_usec;                /* bound on one attempt, default 5s */
  guint failure_threshold;            /* default 3 */
  guint success_threshold;            /* default 1 */
  gint64 start_period_usec;           /* default 0 */
  int on_unhealthy;                   /* SvOnUnhealthy; used without a systemd watchdog */
  gint64 unhealthy_stop_timeout_usec; /* on-unhealthy=restart|stop: SIGKILL after, default 5s */
} SvHealthConfig;

typedef enum {
  SV_LOG_CONFIG_TARGET_AUTO,
  SV_LOG_CONFIG_TARGET_JOURNAL,
  SV_LOG_CONFIG_TARGET_CONSOLE,
} SvLogConfigTarget;

/* [log]: how the app's output becomes journal entries. */
typedef struct {
  int target;                   /* SvLogConfigTarget */
  char *identifier;             /* SYSLOG_IDENTIFIER; default: [app] name */
  char **fields;                /* static NAME=VALUE journal fields */
  guint line_max;               /* bytes; default 48K, like journald's LineMax */
  gboolean parse_json;          /* default true */
  char *json_prefix;            /* prefix of fields made from JSON keys; default none */
  gboolean detect_levels;       /* default true */
  int priority_stdout;          /* default 6 (info) */
  int priority_stderr;          /* default 6 (info): Python logs INFO to stderr */
  gboolean merge_tracebacks;    /* default true */
  gboolean merge_continuations; /* default true */
  gint64 merge_window_usec;     /* default 50ms */
  guint entry_max;              /* bytes of one merged entry; default 64K */
} SvLogConfig;

typedef enum {
  SV_HOOK_PRE_START = 1 << 0,
  SV_HOOK_POST_START = 1 << 1,
  SV_HOOK_PRE_STOP = 1 << 2,
  SV_HOOK_POST_STOP = 1 << 3,
  SV_HOOK_RELOAD = 1 << 4,
  SV_HOOK_ON_FAILURE = 1 << 5,
  SV_HOOK_ON_UNHEALTHY = 1 << 6,
} SvHookEvent;

/* [hook:NAME] */
typedef struct {
  char *name; /* NAME; first member of every sectioned group */
  guint when; /* SvHookEvent bits */
  char **exec;
  gint64 timeout_usec;    /* default 30s */
  gboolean on_error_fail; /* on-error=fail (default) or ignore */
  char **environment;
} SvHookConfig;

typedef enum {
  SV_OVERLAP_SKIP,
  SV_OVERLAP_QUEUE,
} SvOverlap;

typedef enum {
  SV_ONCE_PER_HOST,
  SV_ONCE_PER_FLEET,
} SvOncePer;

typedef enum {
  SV_STORE_UNAVAILABLE_SKIP,
  SV_STORE_UNAVAILABLE_LOCAL,
} SvOnStoreUnavailable;

/* [job:NAME] */
typedef struct {
  char *name;
  char *schedule; /* schedule.h syntax, validated at load */
  char **exec;
  gint64 timeout_usec; /* default infinity */
  char *timezone;      /* NULL = local */
  gboolean persistent;
  gint64 randomized_delay_usec;
  int overlap;                /* SvOverlap */
  gboolean once_per_host;     /* default true */
  gboolean retry_interrupted; /* default false */
  char *working_directory;
  char **environment;
  int once_per;             /* SvOncePer; fleet needs [fleet] store= */
  int on_store_unavailable; /* SvOnStoreUnavailable, for once-per=fleet */
} SvJobConfig;

/* [fleet]: the store once-per=fleet jobs claim their slots in (docs/fleet.md). */
typedef struct {
  char *store;           /* a postgresql:// or etcd:// URI; NULL = no fleet store */
  char *node;            /* NULL = sv_fleet_default_node() */
  gint64 lease_usec;     /* default 30s */
  char *passfile;        /* NULL = libpq's own ($PGPASSFILE, ~/.pgpass) */
  char *tls_ca;          /* etcds://: the CA bundle; NULL = the system's */
  char *tls_certificate; /* etcds://: the client certificate (PEM), with tls_key */
  char *tls_key;         /* etcds://: its private key (PEM) */
} SvFleetConfig;
/* Where [app] name came from. The name keys the jobs' state (one directory per app), so
 * two apps must never get the same one by accident: it comes from where the
 * configuration comes from, not from the program that runs. */
typedef enum {
  SV_NAME_FROM_KEY,      /* name= in the file, or SDVISOR_APP_NAME */
  SV_NAME_FROM_INSTANCE, /* /etc/sdvisor/NAME.conf, sdvisor@NAME.service's file */
  SV_NAME_FROM_FILE,     /* another file: its basename without ".conf" */
  SV_NAME_FROM_COMMAND,  /* `sdvisor run -- CMD` without a file: the basename of CMD */
} SvNameSource;

/* Where sdvisor@.service reads NAME.conf from. */
#define SV_CONFIG_INSTANCE_DIR "/etc/sdvisor"

typedef struct {
  char *path; /* NULL for `sdvisor run -- CMD` */
  SvNameSource name_source;
  SvAppConfig app;
  SvReadyConfig ready;
  SvHealthConfig health;
  SvLogConfig log;
  SvFleetConfig fleet;
  GPtrArray *hooks;    /* SvHookConfig*, in file order */
  GPtrArray *jobs;     /* SvJobConfig*, in file order */
  GKeyFile *effective; /* every key with its effective value, for `check` */
} SvConfig;

/* "pre-start" … "on-unhealthy" for one SvHookEvent bit. */
const char *sv_hook_event_name(SvHookEvent event);

/* The default [app] name of a configuration read from PATH (NULL: none, `run -- CMD`
 * whose argv is EXEC), and where it comes from: PATH's basename without ".conf" (for a
 * file in SV_CONFIG_INSTANCE_DIR that is the template instance), else the basename of
 * EXEC[0]. NULL when there is neither. Pure. */
char *sv_config_default_name(const char *path, char *const *exec, SvNameSource *out_source);

/* "the template instance (sdvisor@shop.service reads /etc/sdvisor/shop.conf)"…: where
 * CONFIG's name came from, for `sdvisor check`. */
char *sv_config_describe_name_source(const SvConfig *config);

/* Whether a file with ST's owner, group and mode can be read by UID, whose groups
 * (primary included) are GROUPS. Pure. */
gboolean sv_config_mode_lets_read(const struct stat *st, uid_t uid, const gid_t *groups,
                                  gsize n_groups);

/* Whether USER (as `User=` runs it: with its groups) can read the configuration file
 * PATH; if not, an error that names the group the file needs ("root:shop 0640"). */
gboolean sv_config_check_readable_by(const char *path, const char *user, GError **error);

/* Loads PATH, then applies overrides from ENVP (NULL-terminated "K=V" strings). */
SvConfig *sv_config_load(const char *path, char *const *envp, GError **error);

/* The configuration of `sdvisor run -- CMD ARG…`: defaults, ARGV as [app] exec,
 * and environment overrides. */
SvConfig *sv_config_new_for_command(char *const *argv, char *const *envp, GError **error);

/* The effective configuration as key-file text, each overridden key annotated with
 * the variable it came from. */
char *sv_config_to_string(const SvConfig *config);

/* Drops every group of `effective` but KEEP (NULL-terminated): what `check` prints is
 * not needed while the app runs, and with many jobs it is most of sdvisor's heap
 * (about 1.5 KB a job). */
void sv_config_trim_effective(SvConfig *config, const char *const *keep);

/* Frees the [job:NAME] sections (JOBS is left empty): the jobs set keeps its own copy
 * once it is made (sv_jobs_new), and two copies of 1,000 jobs are 200 KB. */
void sv_config_drop_jobs(SvConfig *config);

void sv_config_free(SvConfig *config); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvConfig, sv_config_free)

/* Parses LEN bytes of an environment file, systemd's EnvironmentFile= syntax: NAME=VALUE
 * lines, optionally after "export ", blank lines and '#' or ';' comments ignored, spaces
 * around NAME=VALUE stripped, a value in matching quotes unquoted as a shell would. NAME
 * is [A-Za-z_][A-Za-z0-9_]*. Returns the assignments in file order ("NAME=VALUE", a NAME
 * that comes twice kept twice: the caller's last one wins), or NULL and an error naming
 * PATH (only used in messages) and the line. Values never appear in messages. */
char **sv_config_parse_environment(const char *data, gsize len, const char *path, GError **error);

/* Signal names as configuration writes them: "TERM", "SIGTERM", "15", "RTMIN+3". */
gboolean sv_signal_parse(const char *text, int *out_signo);
const char *sv_signal_name(int signo); /* "SIGTERM"; static string, or NULL */

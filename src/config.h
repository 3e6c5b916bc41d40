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

#define SV_CONFIG_ERROR (sv_config_error_quark())
GQuark sv_config_error_quark(void);

typedef enum {
  SV_CONFIG_ERROR_SYNTAX,        /* a line that is not a group, key=value or comment */
  SV_CONFIG_ERROR_UNKNOWN_GROUP,
  SV_CONFIG_ERROR_UNKNOWN_KEY,
  SV_CONFIG_ERROR_INVALID,       /* a value of the wrong type or out of range */
  SV_CONFIG_ERROR_MISSING,       /* a required key is absent */
  SV_CONFIG_ERROR_IO,            /* the file (or environment-file) cannot be read */
  SV_CONFIG_ERROR_UNSAFE,        /* the file is writable by others */
} SvConfigError;

typedef struct {
  char *name;                 /* default: basename of exec[0] */
  char **exec;                /* argv, split like a shell would */
  char *working_directory;
  char **environment;         /* KEY=VALUE from environment= and environment-file= merged */
  char *environment_file;
  int stop_signal;
  gint64 stop_timeout_usec;
  int reload_signal;
  guint64 forward_signals;    /* bit N set = forward signal N */
} SvAppConfig;

typedef struct {
  char *path;                 /* NULL for `sdvisor run -- CMD` */
  SvAppConfig app;
  GKeyFile *effective;        /* every key with its effective value, for `check` */
} SvConfig;

/* Loads PATH, then applies overrides from ENVP (NULL-terminated "K=V" strings). */
SvConfig *sv_config_load(const char *path, char *const *envp, GError **error);

/* The configuration of `sdvisor run -- CMD ARG…`: defaults, ARGV as [app] exec,
 * and environment overrides. */
SvConfig *sv_config_new_for_command(char *const *argv, char *const *envp, GError **error);

/* The effective configuration as key-file text, each overridden key annotated with
 * the variable it came from. */
char *sv_config_to_string(const SvConfig *config);

void sv_config_free(SvConfig *config); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvConfig, sv_config_free)

/* Signal names as configuration writes them: "TERM", "SIGTERM", "15", "RTMIN+3". */
gboolean sv_signal_parse(const char *text, int *out_signo);
const char *sv_signal_name(int signo); /* "SIGTERM"; static string, or NULL */

/* main.c — the command line, i18n, the log writer and exit statuses.
 *
 * The only place that turns errors into exit statuses (exit-codes.h). */
#include <glib.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "control-client.h"
#include "control-service.h"
#include "control.h"
#include "drain.h"
#include "exit-codes.h"
#include "fleet.h"
#include "jobs.h"
#include "jobstate.h"
#include "listen.h"
#include "listenspec.h"
#include "log.h"
#include "message-ids.h"
#include "sdvisor-build-config.h"
#include "store.h"
#include "supervisor.h"
#include "timespan.h"
#include "unitgen.h"

extern char **environ;

typedef struct {
  const char *name;
  const char *summary;
  int (*func)(int argc, char **argv);
} SvCommand;

static int
usage_error(GOptionContext *context, const char *message)
{
  g_printerr("sdvisor: %s\n", message);
  g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);
  g_printerr("%s", help);
  return SV_EXIT_USAGE;
}

/* The configuration named by --config, the positional FILE, or $SDVISOR_CONFIG. */
static const char *
config_path(const char *option, char **rest)
{
  if (option != NULL)
    return option;
  if (rest != NULL && rest[0] != NULL)
    return rest[0];
  return g_getenv("SDVISOR_CONFIG");
}

/* [app] listen=: the sockets, bound or taken over from the service manager, for the
 * supervisor to hand to the app. None without listen=. Returns SV_EXIT_OK, or the exit
 * status of the failure in ERROR: a configuration error for an address that cannot be
 * bound. */
static int
open_listen_sockets(const SvConfig *config, SvListenSet **out, GError **error)
{
  *out = NULL;
  if (config->app.listen == NULL || config->app.listen->len == 0)
    return SV_EXIT_OK;
  SvListenOptions options = {config->app.listen_mode, config->app.listen_user,
                             config->app.listen_group, config->path};
  g_autoptr(SvListenSet) set = sv_listen_set_open(config->app.listen, &options, error);
  if (set == NULL)
    return g_error_matches(*error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_FAILED) ? SV_EXIT_FAILURE
                                                                            : SV_EXIT_CONFIG;
  *out = g_steal_pointer(&set);
  return SV_EXIT_OK;
}

/* Once the log writer is up: what was bound, what was dropped, and the fd store. */
static void
report_listen_sockets(const SvListenSet *set)
{
  for (const char *const *d = sv_listen_set_get_dropped(set); *d != NULL; d++)
    sv_log(LOG_WARNING,
           "closed socket '%s' from the service manager: no listen= address is its own", *d);
  int r = sv_listen_set_store(set);
  if (r < 0)
    sv_log(LOG_WARNING, "cannot hand the listening sockets to the service manager's fd store: %s",
           g_strerror(-r));
  g_autofree char *text = sv_listen_set_describe(set);
  sv_log(LOG_INFO, "listening on %s%s", text,
         r > 0 ? "; sent to the service manager's fd store" : "");
}

static int
cmd_run(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_auto(GStrv) command = NULL;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
       N_("Configuration file (default: $SDVISOR_CONFIG)"), N_("FILE")},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &command, NULL,
       N_("[-- COMMAND [ARG…]]")},
      {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new(NULL);
  g_option_context_set_summary(context, _("Run and supervise an app: from a configuration file, "
                                          "or the command after '--' with default settings."));
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error))
    return usage_error(context, error->message);

  const char *path = config_file ? config_file : (command ? NULL : g_getenv("SDVISOR_CONFIG"));
  if (path != NULL && command != NULL)
    return usage_error(context, _("give either --config FILE or -- COMMAND, not both"));
  if (path == NULL && command == NULL)
    return usage_error(context, _("nothing to run: give --config FILE or -- COMMAND"));

  g_autoptr(SvConfig) config = path ? sv_config_load(path, environ, &error)
                                    : sv_config_new_for_command(command, environ, &error);
  if (config == NULL) {
    sv_log_init(SV_LOG_TARGET_AUTO, "sdvisor");
    sv_log_id(LOG_ERR, SV_MESSAGE_CONFIG_INVALID, "%s", error->message);
    return SV_EXIT_CONFIG;
  }

  /* [app] listen=: bound (or taken over from the service manager) first, so that an
   * address that cannot be bound is a configuration error before anything starts. */
  g_autoptr(SvListenSet) sockets = NULL;
  int status = open_listen_sockets(config, &sockets, &error);
  if (status != SV_EXIT_OK) {
    sv_log_init(SV_LOG_TARGET_AUTO, "sdvisor");
    sv_log_id(LOG_ERR, SV_MESSAGE_CONFIG_INVALID, "%s", error->message);
    return status;
  }

  sv_log_init(SV_LOG_TARGET_AUTO, "sdvisor");
  if (sockets != NULL)
    report_listen_sockets(sockets);
  /* An app without the file can still run; it just cannot tell that it is draining. */
  if (!sv_drain_init(&error)) {
    sv_log(LOG_WARNING, "no %s for the app: %s", SV_DRAIN_ENV, error->message);
    g_clear_error(&error);
  }
  g_autoptr(SvSupervisor) supervisor =
      sv_supervisor_new(g_steal_pointer(&config), g_steal_pointer(&sockets), &error);
  if (supervisor == NULL) {
    sv_log(LOG_ERR, _("cannot set up: %s"), error->message);
    sv_drain_cleanup();
    return SV_EXIT_FAILURE;
  }
  /* Freed before the supervisor: the socket goes away first. */
  g_autoptr(SvControlService) control = sv_control_service_new(supervisor, environ);
  status = sv_supervisor_run(supervisor);
  sv_drain_cleanup();
  return status;
}

/* Parses a command's options; on a usage error prints it and returns FALSE with
 * *OUT_STATUS set. */
static gboolean
parse_options(const char *summary, const GOptionEntry *entries, int *argc, char ***argv,
              GOptionContext **out_context, int *out_status)
{
  GOptionContext *context = g_option_context_new(NULL);
  g_option_context_set_summary(context, summary);
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_autoptr(GError) error = NULL;
  *out_context = context;
  if (!g_option_context_parse(context, argc, argv, &error)) {
    *out_status = usage_error(context, error->message);
    return FALSE;
  }
  return TRUE;
}

/* The configuration a command names (--config, FILE or $SDVISOR_CONFIG), loaded; on
 * failure the message is printed and *OUT_STATUS is the exit status. */
static SvConfig *
load_named_config(GOptionContext *context, const char *option, char **rest, const char **out_path,
                  int *out_status)
{
  const char *path = config_path(option, rest);
  if (path == NULL) {
    *out_status = usage_error(context, _("no configuration file given"));
    return NULL;
  }
  g_autoptr(GError) error = NULL;
  SvConfig *config = sv_config_load(path, environ, &error);
  if (config == NULL) {
    g_printerr("%s\n", error->message);
    *out_status = SV_EXIT_CONFIG;
    return NULL;
  }
  if (out_path != NULL)
    *out_path = path;
  return config;
}

/* Who ran the last slot of each once-per=fleet job, from the store; FALSE with the error
 * printed when the store cannot be used (a wrong password, missing privileges, tables
 * of another version: the same checks a running sdvisor makes). */
static gboolean
print_fleet(const SvConfig *config, GPtrArray *jobs, gboolean for_check)
{
  gboolean any = FALSE;
  for (guint i = 0; i < jobs->len; i++)
    any |= ((SvJobConfig *)jobs->pdata[i])->once_per == SV_ONCE_PER_FLEET;
  if (!any || config->fleet.store == NULL)
    return TRUE;
  g_autoptr(GError) error = NULL;
  g_autofree char *shown = sv_fleet_store_redact(config->fleet.store);
  g_autoptr(GPtrArray) runs =
      sv_claim_store_last_runs(&config->fleet, config->app.name, 5 * G_USEC_PER_SEC, &error);
  if (runs == NULL) {
    g_printerr(_("fleet store %s: %s\n"), shown, error->message);
    return FALSE;
  }
  g_autofree char *table = sv_claim_store_describe_runs(jobs, runs);
  if (for_check)
    g_print("\n# %s %s\n", _("last slot of every fleet job in"), shown);
  else
    g_print(_("Fleet store: %s\n"), shown);
  g_print("%s", table);
  return TRUE;
}

/* The User= line of a unit or quadlet file's text, NULL if it has none. */
static char *
unit_user(const char *unit)
{
  g_auto(GStrv) lines = g_strsplit(unit, "\n", -1);
  char *user = NULL;
  for (char **l = lines; *l != NULL; l++) {
    g_autofree char *line = g_strstrip(g_strdup(*l));
    if (g_str_has_prefix(line, "User=")) {
      g_free(user);
      user = g_strdup(g_strstrip(line + strlen("User=")));
    }
  }
  return user;
}

/* Where quadlet looks for .container files, first match wins (podman-systemd.unit(5),
 * for root). */
static const char *const quadlet_dirs[] = {"/run/containers/systemd", "/etc/containers/systemd",
                                           "/usr/share/containers/systemd"};

/* `systemctl cat NAME`: the unit as systemd has it, drop-ins included, each file after a
 * "# PATH" line (a comment to the unit reader). */
static char *
systemctl_cat(const char *name, GError **error)
{
  const char *argv[] = {"systemctl", "cat", "--no-pager", "--", name, NULL};
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                    error))
    return NULL;
  if (!g_spawn_check_wait_status(status, NULL)) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                _("%s: not a file, and `systemctl cat` "
                  "does not know it: %s"),
                name, g_strstrip(err));
    return NULL;
  }
  return g_steal_pointer(&out);
}

/* The text of the unit --unit names, and in *OUT_SHOWN how to name it in warnings: a file
 * as it is; a service name that is no file (sdvisor@shop.service) as systemd has it:
 * template, instance and drop-ins; a .container name that is no file from quadlet's
 * directories. */
static char *
read_unit(const char *unit, char **out_shown, GError **error)
{
  char *text = NULL;
  *out_shown = g_strdup(unit);
  if (g_file_test(unit, G_FILE_TEST_EXISTS) || strchr(unit, '/') != NULL) {
    (void)g_file_get_contents(unit, &text, NULL, error);
    return text;
  }
  if (g_str_has_suffix(unit, ".container")) {
    for (gsize i = 0; i < G_N_ELEMENTS(quadlet_dirs); i++) {
      g_autofree char *path = g_build_filename(quadlet_dirs[i], unit, NULL);
      if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_free(*out_shown);
        *out_shown = g_steal_pointer(&path);
        (void)g_file_get_contents(*out_shown, &text, NULL, error);
        return text;
      }
    }
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                _("%s: not a file, nor in /run, /etc or /usr/share/containers/systemd/"), unit);
    return NULL;
  }
  if (!g_str_has_suffix(unit, ".service")) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                _("%s: no such file (a unit name ends in .service or .container)"), unit);
    return NULL;
  }
  return systemctl_cat(unit, error);
}

/* The sockets of [app] listen= as the app receives them: fd, address, name. */
static void
print_listen(const SvConfig *config)
{
  GPtrArray *specs = config->app.listen;
  if (specs == NULL || specs->len == 0)
    return;
  g_print("# %s\n", _("listening sockets, bound before the app starts (the app's LISTEN_FDS)"));
  for (guint i = 0; i < specs->len; i++) {
    const SvListenSpec *spec = specs->pdata[i];
    g_autofree char *name = sv_listenspec_fdname(spec);
    g_autofree char *owner = NULL;
    if (spec->kind == SV_LISTEN_UNIX && !spec->abstract)
      owner = g_strdup_printf(_(", mode %04o, owner %s:%s"), config->app.listen_mode,
                              config->app.listen_user ? config->app.listen_user : _("sdvisor's"),
                              config->app.listen_group ? config->app.listen_group : _("sdvisor's"));
    /* TRANSLATORS: "# fd 3: 127.0.0.1:8000 (name 127.0.0.1_8000)". */
    g_print(_("# fd %u: %s (name %s%s)\n"), 3 + i, spec->text, name, owner ? owner : "");
  }
}

static int
cmd_check(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *unit_file = NULL;
  g_autofree char *user = NULL;
  g_auto(GStrv) rest = NULL;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, N_("Configuration file"), N_("FILE")},
      {"unit", 'u', 0, G_OPTION_ARG_FILENAME, &unit_file,
       N_("Also compare this unit or quadlet file with the configuration (a name that is no "
          "file: the unit as systemd has it, drop-ins included)"),
       N_("UNIT")},
      {"user", 0, 0, G_OPTION_ARG_STRING, &user,
       N_("Also check that this user (the unit's User=) can read the configuration file "
          "(default: the unit's User=)"),
       N_("USER")},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL,
       N_("[FILE | -- COMMAND [ARG…]]")},
      {NULL},
  };
  /* `check -- CMD` checks what `run -- CMD` would run; GOption drops the "--". */
  gboolean command = FALSE;
  for (int i = 1; i < argc && !command; i++)
    command = g_str_equal(argv[i], "--");
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("Validate a configuration file and print the effective "
                       "configuration, environment overrides applied."),
                     entries, &argc, &argv, &context, &status))
    return status;

  /* The unit is read first: one that cannot be read is an error before any output. */
  g_autofree char *shown = NULL;
  g_autofree char *unit = unit_file ? read_unit(unit_file, &shown, &error) : NULL;
  if (unit_file != NULL && unit == NULL) {
    g_printerr("%s\n", error->message);
    return SV_EXIT_NO_INPUT;
  }
  if (user == NULL && unit != NULL)
    user = unit_user(unit);

  const char *path = NULL;
  g_autoptr(SvConfig) config = NULL;
  if (command && rest != NULL && config_file == NULL) {
    config = sv_config_new_for_command(rest, environ, &error);
    if (config == NULL) {
      g_printerr("%s\n", error->message);
      return SV_EXIT_CONFIG;
    }
  } else {
    config = load_named_config(context, config_file, rest, &path, &status);
    if (config == NULL)
      return status;
  }
  if (path != NULL && user != NULL && !sv_config_check_readable_by(path, user, &error)) {
    g_printerr("%s\n", error->message);
    return SV_EXIT_CONFIG;
  }
  /* Two units of one app name under different users: the second would find (or, with
   * StateDirectory=, take) the first one's state directory. Say so before either starts. */
  g_autofree char *state_dir = sv_jobstate_app_dir(NULL, config->app.name);
  struct stat st;
  struct passwd *pw = user != NULL ? getpwnam(user) : NULL;
  if (config->jobs->len > 0 && pw != NULL && stat(state_dir, &st) == 0 && st.st_uid != pw->pw_uid) {
    struct passwd *owner = getpwuid(st.st_uid);
    g_autofree char *owner_name =
        owner ? g_strdup(owner->pw_name) : g_strdup_printf("%u", (unsigned)st.st_uid);
    g_printerr(_("%s: the jobs' state of app '%s' belongs to user %s, but this unit runs as %s: "
                 "another app of that name runs under another user (give one of them another "
                 "name=), or chown -R %s %s\n"),
               state_dir, config->app.name, owner_name, user, user, state_dir);
    return SV_EXIT_CONFIG;
  }
  if (config->jobs->len > 0)
    g_print(_("# jobs' state: %s\n"), state_dir);
  g_autofree char *why = sv_config_describe_name_source(config);
  /* TRANSLATORS: "# app name: shop (from the template instance: …)". */
  g_print("# %s\n", _("app name (keys its jobs' state and its log identifier)"));
  g_print(_("# name=%s, from %s\n"), config->app.name, why);
  print_listen(config);
  g_autofree char *text = sv_config_to_string(config);
  g_print("# %s\n", _("effective configuration (defaults, file, environment overrides)"));
  g_print("%s", text);
  if (config->jobs->len > 0) {
    g_autofree char *runs =
        sv_jobs_describe_next_runs(config->app.name, config->jobs, g_get_real_time(), 5, &error);
    if (runs == NULL) {
      g_printerr("%s\n", error->message);
      return SV_EXIT_CONFIG;
    }
    g_print("\n# %s\n%s", _("next runs of every job"), runs);
    if (!print_fleet(config, config->jobs, TRUE))
      return SV_EXIT_CONFIG;
  }

  if (unit != NULL) {
    g_autoptr(GPtrArray) warnings = sv_unitgen_check(config, unit);
    for (guint i = 0; i < warnings->len; i++)
      g_printerr(_("%s: warning: %s\n"), shown, (const char *)warnings->pdata[i]);
    if (warnings->len == 0)
      g_print("# %s\n", _("the unit's timeouts agree with the configuration"));
  }
  return SV_EXIT_OK;
}

static int
cmd_jobs(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *state_dir = NULL;
  g_auto(GStrv) names = NULL;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, N_("Configuration file"), N_("FILE")},
      {"state-directory", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
       N_("State directory (default: $STATE_DIRECTORY, else /var/lib/sdvisor)"), N_("DIR")},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, N_("[JOB…]")},
      {NULL},
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("List every job with its last run (slot, result, "
                       "duration, instance) and its next run."),
                     entries, &argc, &argv, &context, &status))
    return status;
  const char *path = NULL;
  g_autoptr(SvConfig) config = load_named_config(context, config_file, NULL, &path, &status);
  if (config == NULL)
    return status;
  /* Only the jobs named, if any are. */
  g_autoptr(GPtrArray) jobs = g_ptr_array_new();
  for (guint i = 0; i < config->jobs->len; i++) {
    SvJobConfig *job = config->jobs->pdata[i];
    if (names == NULL || g_strv_contains((const char *const *)names, job->name))
      g_ptr_array_add(jobs, job);
  }
  for (char **n = names; n && *n; n++) {
    gboolean known = FALSE;
    for (guint i = 0; i < jobs->len; i++)
      known |= g_str_equal(((SvJobConfig *)jobs->pdata[i])->name, *n);
    if (!known) {
      g_printerr(_("%s: no [job:%s] in the configuration\n"), path, *n);
      return SV_EXIT_USAGE;
    }
  }
  gboolean trouble = FALSE;
  g_autofree char *table =
      sv_jobs_describe(config->app.name, jobs, state_dir, g_get_real_time(), &trouble, &error);
  if (table == NULL) {
    g_printerr("%s\n", error->message);
    return SV_EXIT_FAILURE;
  }
  g_print("%s", table);
  if (!print_fleet(config, jobs, FALSE))
    return SV_EXIT_FAILURE;
  /* A monitoring script's `sdvisor jobs || alert`: unreadable state or a job that cannot
   * run is not "all is well". */
  return trouble ? SV_EXIT_FAILURE : SV_EXIT_OK;
}

static int
cmd_fleet(int argc, char **argv)
{
  g_auto(GStrv) rest = NULL;
  const GOptionEntry entries[] = {
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, N_("schema")},
      {NULL},
  };
  g_autoptr(GOptionContext) context = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("Fleet store commands. 'schema' prints the SQL that creates the "
                       "tables of once-per=fleet jobs, for admins who create them "
                       "themselves (sdvisor fleet schema | psql)."),
                     entries, &argc, &argv, &context, &status))
    return status;
  if (rest == NULL || rest[0] == NULL || !g_str_equal(rest[0], "schema") || rest[1] != NULL)
    return usage_error(context, _("expected: sdvisor fleet schema"));
  g_print("%s", sv_fleet_sql_schema);
  return SV_EXIT_OK;
}

/* The running binary's absolute path: what a generated unit should start. */
static char *
self_path(void)
{
  g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
  return exe ? g_steal_pointer(&exe) : g_strdup("/usr/bin/sdvisor");
}

static int
cmd_print_unit(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, N_("Configuration file"), N_("FILE")},
      {NULL},
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("Print a systemd service unit whose timeouts agree "
                       "with the configuration."),
                     entries, &argc, &argv, &context, &status))
    return status;
  const char *path = NULL;
  g_autoptr(SvConfig) config = load_named_config(context, config_file, NULL, &path, &status);
  if (config == NULL)
    return status;
  g_autofree char *abs = g_canonicalize_filename(path, NULL);
  g_autofree char *binary = self_path();
  g_autofree char *unit = sv_unitgen_service(config, binary, abs);
  g_print("%s", unit);
  return SV_EXIT_OK;
}

static int
cmd_print_quadlet(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *image = NULL;
  g_autofree char *inside = NULL;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, N_("Configuration file"), N_("FILE")},
      {"image", 'i', 0, G_OPTION_ARG_STRING, &image, N_("Container image of the app"), N_("IMAGE")},
      {"container-config", 0, 0, G_OPTION_ARG_FILENAME, &inside,
       N_("Where the configuration is mounted inside the container (default: "
          "/etc/sdvisor/NAME.conf)"),
       N_("PATH")},
      {NULL},
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("Print a podman quadlet .container file whose timeouts "
                       "agree with the configuration."),
                     entries, &argc, &argv, &context, &status))
    return status;
  if (image == NULL)
    return usage_error(context, _("no image given (--image IMAGE)"));
  const char *path = NULL;
  g_autoptr(SvConfig) config = load_named_config(context, config_file, NULL, &path, &status);
  if (config == NULL)
    return status;
  g_autofree char *dest =
      inside ? g_strdup(inside) : g_strdup_printf("/etc/sdvisor/%s.conf", config->app.name);
  g_autofree char *text = sv_unitgen_quadlet(config, image, dest);
  g_print("%s", text);
  return SV_EXIT_OK;
}

/* ---- the control commands ------------------------------------------------------------- */

/* The socket a control command talks to: --socket PATH; --config FILE (its app name);
 * NAME; or, with none of them, $RUNTIME_DIRECTORY/control (what ExecReload= sees). */
static char *
control_target(GOptionContext *context, const char *socket_path, const char *config_file,
               char **rest, int *out_status)
{
  guint given = (socket_path != NULL) + (config_file != NULL) + (rest != NULL && rest[0] != NULL);
  if (given > 1 || (rest != NULL && rest[0] != NULL && rest[1] != NULL)) {
    *out_status = usage_error(context, _("give one of NAME, --config FILE or --socket PATH"));
    return NULL;
  }
  if (socket_path != NULL)
    return g_strdup(socket_path);
  if (config_file != NULL) {
    g_autoptr(GError) error = NULL;
    g_autoptr(SvConfig) config = sv_config_load(config_file, environ, &error);
    if (config == NULL) {
      g_printerr("%s\n", error->message);
      *out_status = SV_EXIT_CONFIG;
      return NULL;
    }
    return sv_control_client_instance_path(config->app.name);
  }
  if (rest != NULL && rest[0] != NULL)
    return sv_control_client_instance_path(rest[0]);
  g_autofree char *own = sv_control_socket_path(NULL, environ);
  if (own == NULL)
    *out_status = usage_error(context, _("which instance? Give NAME, --config FILE or "
                                         "--socket PATH ($RUNTIME_DIRECTORY is not set)"));
  return g_steal_pointer(&own);
}

/* The exit status for a failed call, its message printed. */
static int
control_failed(const GError *error)
{
  g_printerr("sdvisor: %s\n", error->message);
  if (error->domain == SV_CONTROL_ERROR) {
    switch ((SvControlError)error->code) {
    case SV_CONTROL_ERROR_RELOAD_FAILED:
      return SV_EXIT_CONFIG;
    case SV_CONTROL_ERROR_BUSY:
    case SV_CONTROL_ERROR_JOB_REFUSED:
      return SV_EXIT_TEMPFAIL;
    case SV_CONTROL_ERROR_ACCESS:
      return SV_EXIT_NOPERM;
    case SV_CONTROL_ERROR_NO_SUCH_JOB:
      return SV_EXIT_USAGE;
    default:
      return SV_EXIT_FAILURE;
    }
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    return SV_EXIT_NOPERM;
  return SV_EXIT_UNAVAILABLE;
}

/* Resolves the target and sends REQUEST: the reply's members, or NULL with *OUT_STATUS
 * set (the error printed). TIMEOUT_MS as sv_control_client_call(). */
static JsonObject *
control_call(GOptionContext *context, const char *socket_path, const char *config_file, char **rest,
             const SvControlRequest *request, guint timeout_ms, int *out_status)
{
  g_autofree char *path = control_target(context, socket_path, config_file, rest, out_status);
  if (path == NULL)
    return NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *reply = sv_control_client_call(path, request, timeout_ms, &error);
  if (reply == NULL)
    *out_status = control_failed(error);
  return reply;
}

static const char *
member_string(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string(n);
}

static gint64
member_int(JsonObject *o, const char *name, gint64 fallback)
{
  JsonNode *n = json_object_get_member(o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int(n);
}

static gboolean
member_bool(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  return n != NULL && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
         json_node_get_boolean(n);
}

static JsonArray *
member_array(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* A once-per=fleet job's line: this node, its run's fence, the store's last slot. */
static void
print_fleet_status(JsonObject *f)
{
  g_print(_("    fleet: node %s"), member_string(f, "node") ?: "?");
  gint64 fence = member_int(f, "fence", 0);
  if (fence > 0)
    g_print(_(", running here with fence %lld"), (long long)fence);
  JsonNode *last = json_object_get_member(f, "last_run");
  const char *error = member_string(f, "error");
  if (last != NULL && JSON_NODE_HOLDS_OBJECT(last)) {
    JsonObject *l = json_node_get_object(last);
    const char *result = member_string(l, "result");
    gint64 exit_code = member_int(l, "exit_code", -1);
    g_autofree char *outcome = result != NULL && g_str_equal(result, "failed") && exit_code >= 0
                                   ? g_strdup_printf("failed (%d)", (int)exit_code)
                                   : g_strdup(result ?: member_string(l, "state") ?: "?");
    g_print(_("; last slot %s: node %s (pid %d), fence %lld, %s"), member_string(l, "slot") ?: "?",
            member_string(l, "node") ?: "?", (int)member_int(l, "pid", 0),
            (long long)member_int(l, "fence", 0), outcome);
  } else if (error == NULL) {
    g_print("%s", _("; no slot claimed in the fleet yet"));
  }
  if (error != NULL)
    g_print(_("; the fleet store: %s"), error);
  g_print("\n");
}

static void
print_status(JsonObject *o)
{
  g_autofree char *uptime = sv_timespan_format(member_int(o, "uptime_usec", 0) / 1000000 * 1000000);
  g_print("%s: %s\n", member_string(o, "app") ?: "?", member_string(o, "state") ?: "?");
  g_print(_("  sdvisor: pid %d, up %s (since %s)\n"), (int)member_int(o, "pid", 0), uptime,
          member_string(o, "started") ?: "?");
  gint64 app_pid = member_int(o, "app_pid", 0);
  if (app_pid > 0) {
    g_autofree char *app_up =
        sv_timespan_format(member_int(o, "app_uptime_usec", 0) / 1000000 * 1000000);
    g_print(_("  app: pid %d, up %s (since %s), restarts: %d\n"), (int)app_pid, app_up,
            member_string(o, "app_started") ?: "?", (int)member_int(o, "restarts", 0));
  } else {
    g_print("%s\n", _("  app: not running"));
  }
  if (member_bool(o, "healthy"))
    g_print("%s\n", _("  health: healthy"));
  else
    g_print(_("  health: unhealthy since %s\n"), member_string(o, "unhealthy_since") ?: "?");
  JsonArray *checks = member_array(o, "checks");
  for (guint i = 0; checks && i < json_array_get_length(checks); i++) {
    JsonObject *c = json_array_get_object_element(checks, i);
    g_print(_("    check %s: %s at %s: %s\n"), member_string(c, "check") ?: "?",
            member_bool(c, "ok") ? _("passed") : _("failed"), member_string(c, "time") ?: "?",
            member_string(c, "detail") ?: "");
  }
  JsonArray *jobs = member_array(o, "jobs");
  for (guint i = 0; jobs && i < json_array_get_length(jobs); i++) {
    JsonObject *j = json_array_get_object_element(jobs, i);
    g_print(_("  job %s:"), member_string(j, "name") ?: "?");
    if (member_bool(j, "checking"))
      g_print("%s", _(" start-up check (catch-up, interrupted runs) not over;"));
    if (member_bool(j, "running"))
      g_print(_(" running (pid %d%s) since %s;"), (int)member_int(j, "pid", 0),
              member_bool(j, "manual") ? _(", manual") : "",
              member_string(j, "running_since") ?: "?");
    JsonNode *last = json_object_get_member(j, "last_run");
    if (last != NULL && JSON_NODE_HOLDS_OBJECT(last)) {
      JsonObject *l = json_node_get_object(last);
      g_autofree char *took = sv_timespan_format(member_int(l, "duration_usec", 0) / 1000 * 1000);
      g_print(_(" last run %s: %s (exit %d, %s%s);"), member_string(l, "started") ?: "?",
              member_string(l, "result") ?: "?", (int)member_int(l, "exit_code", -1), took,
              member_bool(l, "manual") ? _(", manual") : "");
    } else {
      g_print("%s", _(" no run by this instance yet;"));
    }
    g_print(_(" next run %s\n"), member_string(j, "next_run") ?: _("none"));
    JsonNode *fleet = json_object_get_member(j, "fleet");
    if (fleet != NULL && JSON_NODE_HOLDS_OBJECT(fleet))
      print_fleet_status(json_node_get_object(fleet));
  }
}

static int
cmd_status(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *socket_path = NULL;
  g_auto(GStrv) rest = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
       N_("The instance running this configuration file"), N_("FILE")},
      {"socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, N_("The control socket's path"),
       N_("PATH")},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, N_("[NAME]")},
      {"json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the reply as JSON, for scripts"), NULL},
      {NULL},
  };
  g_autoptr(GOptionContext) context = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("Show what a running sdvisor is doing: its state, the app, the last "
                       "result of each health check, each job's last and next run."),
                     entries, &argc, &argv, &context, &status))
    return status;
  SvControlRequest request = {.version = SV_CONTROL_PROTOCOL_VERSION, .command = SV_CONTROL_STATUS};
  g_autoptr(JsonObject) reply =
      control_call(context, socket_path, config_file, rest, &request, 30000, &status);
  if (reply == NULL)
    return status;
  if (json) {
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), reply);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, node);
    g_autofree char *text = json_generator_to_data(gen, NULL);
    g_print("%s\n", text);
  } else {
    print_status(reply);
  }
  return SV_EXIT_OK;
}

static int
cmd_reload(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *socket_path = NULL;
  g_auto(GStrv) rest = NULL;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
       N_("The instance running this configuration file"), N_("FILE")},
      {"socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, N_("The control socket's path"),
       N_("PATH")},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, N_("[NAME]")},
      {NULL},
  };
  g_autoptr(GOptionContext) context = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("Reload a running sdvisor and wait: 0 once the new configuration is in "
                       "force and READY=1 was sent again; non-zero, with the error, if the "
                       "configuration does not load (the running one then stays)."),
                     entries, &argc, &argv, &context, &status))
    return status;
  SvControlRequest request = {.version = SV_CONTROL_PROTOCOL_VERSION, .command = SV_CONTROL_RELOAD};
  g_autoptr(JsonObject) reply =
      control_call(context, socket_path, config_file, rest, &request, 0, &status);
  return reply != NULL ? SV_EXIT_OK : status;
}

static int
cmd_run_job(int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *socket_path = NULL;
  g_auto(GStrv) rest = NULL;
  gboolean wait = FALSE;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
       N_("The instance running this configuration file"), N_("FILE")},
      {"socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, N_("The control socket's path"),
       N_("PATH")},
      {"wait", 'w', 0, G_OPTION_ARG_NONE, &wait,
       N_("Wait for the run to end and exit with the job's exit status"), NULL},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, N_("[NAME] JOB")},
      {NULL},
  };
  g_autoptr(GOptionContext) context = NULL;
  int status = SV_EXIT_OK;
  if (!parse_options(_("Run a job now through the running sdvisor, with the claim, "
                       "environment, state and journal fields of a scheduled run."),
                     entries, &argc, &argv, &context, &status))
    return status;
  guint n = rest ? g_strv_length(rest) : 0;
  if (n == 0)
    return usage_error(context, _("no job given"));
  if (n > 2)
    return usage_error(context, _("give one job"));
  const char *job = rest[n - 1];
  /* NAME JOB, or JOB alone with --config, --socket or $RUNTIME_DIRECTORY. */
  char *name_only[] = {n == 2 ? rest[0] : NULL, NULL};
  SvControlRequest request = {.version = SV_CONTROL_PROTOCOL_VERSION,
                              .command = SV_CONTROL_RUN_JOB,
                              .job = (char *)job,
                              .wait = wait};
  g_autoptr(JsonObject) reply =
      control_call(context, socket_path, config_file, name_only[0] ? name_only : NULL, &request,
                   wait ? 0 : 60000, &status);
  if (reply == NULL)
    return status;
  if (!member_bool(reply, "finished")) {
    g_print(_("job %s started (pid %d, run %s)\n"), job, (int)member_int(reply, "pid", 0),
            member_string(reply, "run") ?: "?");
    return SV_EXIT_OK;
  }
  const char *result = member_string(reply, "result") ?: "?";
  gint64 code = member_int(reply, "exit_code", -1);
  g_print(_("job %s (pid %d, run %s): %s, exit status %d\n"), job, (int)member_int(reply, "pid", 0),
          member_string(reply, "run") ?: "?", result, (int)code);
  if (code >= 0 && code <= 255)
    return (int)code;
  return SV_EXIT_FAILURE;
}

static const SvCommand commands[] = {
    {"run", N_("Run and supervise an app"), cmd_run},
    {"check", N_("Validate a configuration file and print the effective configuration"), cmd_check},
    {"jobs", N_("List scheduled jobs with their last and next runs"), cmd_jobs},
    {"print-unit", N_("Print a systemd unit that agrees with a configuration"), cmd_print_unit},
    {"print-quadlet", N_("Print a podman quadlet file that agrees with a configuration"),
     cmd_print_quadlet},
    {"fleet", N_("Print the fleet store's schema (fleet schema)"), cmd_fleet},
    {"status", N_("Show what a running sdvisor is doing"), cmd_status},
    {"reload", N_("Reload a running sdvisor and wait until it is done"), cmd_reload},
    {"run-job", N_("Run a job now through the running sdvisor"), cmd_run_job},
};

/* GLib before 2.76 serves small blocks (GKeyFile's nodes, lists, hash tables) from its
 * slice allocator, whose caches keep for ever what is freed in a burst and never asked
 * for again: loading a configuration with 1,000 jobs leaves about 2 MB there in an
 * sdvisor that then sits idle for months. GLib 2.76 dropped the slice allocator for
 * malloc(); older GLib does the same with G_SLICE=always-malloc, read in a library
 * constructor, before main(): so `run` executes itself once more with it set. The
 * second image takes both variables out of its environment (the app, hooks and jobs
 * never see them). Not when G_SLICE is set already (the user's choice, or meson's
 * valgrind setup) nor under valgrind (GLib then uses malloc() itself, and the new image
 * would run outside valgrind). If the exec fails, this one goes on as it is. */
#define REEXEC_MARK "SDVISOR_SLICE_REEXEC"

static void
malloc_for_slices(char **argv)
{
  if (g_getenv(REEXEC_MARK) != NULL) {
    g_unsetenv(REEXEC_MARK);
    g_unsetenv("G_SLICE");
    return;
  }
  const char *preload = g_getenv("LD_PRELOAD");
  if (glib_check_version(2, 76, 0) == NULL || g_getenv("G_SLICE") != NULL ||
      (preload != NULL && strstr(preload, "vgpreload") != NULL))
    return;
  if (!g_setenv("G_SLICE", "always-malloc", TRUE) || !g_setenv(REEXEC_MARK, "1", TRUE))
    return;
  /* The binary's own path, not /proc/self/exe: the kernel names the process after the
   * file executed (comm, journald's _COMM, systemd's view of the main PID). */
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
  if (self != NULL)
    execv(self, argv);
  g_unsetenv(REEXEC_MARK);
  g_unsetenv("G_SLICE");
}

static void
print_help(FILE *out)
{
  fprintf(out, "%s\n\n", _("Usage: sdvisor COMMAND [OPTIONS]"));
  fprintf(out, "%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
    fprintf(out, "  %-14s %s\n", commands[i].name, _(commands[i].summary));
  fprintf(out, "\n%s\n", _("Options:"));
  fprintf(out, "  %-14s %s\n", "--version", _("Print the version and exit"));
  fprintf(out, "  %-14s %s\n", "--help", _("Print this help and exit"));
  fprintf(out, "\n%s\n", _("'sdvisor COMMAND --help' describes each command."));
}

int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  /* SDVISOR_LOCALEDIR: the tests' way to a catalog that is not installed yet. */
  bindtextdomain(GETTEXT_PACKAGE, g_getenv("SDVISOR_LOCALEDIR") ?: LOCALEDIR);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);

  if (argc < 2) {
    print_help(stderr);
    return SV_EXIT_USAGE;
  }
  if (g_str_equal(argv[1], "--version") || g_str_equal(argv[1], "-V")) {
    g_print("sdvisor %s\n", PACKAGE_VERSION);
    return SV_EXIT_OK;
  }
  if (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h") ||
      g_str_equal(argv[1], "help")) {
    print_help(stdout);
    return SV_EXIT_OK;
  }

  if (g_str_equal(argv[1], "run"))
    malloc_for_slices(argv);
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (g_str_equal(argv[1], commands[i].name)) {
      /* The command's own parser sees "sdvisor run …" as its argv[0]. */
      g_autofree char *prgname = g_strdup_printf("sdvisor %s", commands[i].name);
      g_set_prgname(prgname);
      argv[1] = argv[0];
      return commands[i].func(argc - 1, argv + 1);
    }
  }
  g_printerr(_("sdvisor: unknown command '%s'\n"), argv[1]);
  print_help(stderr);
  return SV_EXIT_USAGE;
}

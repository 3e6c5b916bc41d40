/* fuzz-envfile.c — libFuzzer harness for sv_config_parse_environment(), the reader of
 * [app] environment-file= (systemd's EnvironmentFile= syntax).
 *
 * The input is the file's bytes. Besides the sanitizers it checks what the app's
 * environment relies on: every assignment is NAME=VALUE with a NAME of [A-Za-z_][A-Za-z0-9_]*
 * (so never an '=' in it: g_environ_setenv() takes each one, as config.c merges them), a
 * VALUE without '\n', at most one assignment a line; written back with the value in shell
 * quotes, the assignments parse again to the same list. A rejected file has an error that
 * starts with the path, and, unless the whole file is refused (a NUL byte), the line: the
 * lines before it parse, that line alone does not; the message never holds the value. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "config.h"

#define PATH "/etc/sdvisor/app.env"

/* The harness's own statement of the rule, not config.c's: [A-Za-z_][A-Za-z0-9_]*. */
static gboolean
valid_name(const char *name, gsize len)
{
  static const char word[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
  g_autofree char *copy = g_strndup(name, len);
  return len > 0 && strlen(copy) == len && !g_ascii_isdigit(copy[0]) && strspn(copy, word) == len;
}

static void
check_assignments(char **env, gsize n_lines)
{
  g_assert_cmpuint(g_strv_length(env), <=, n_lines);
  char **merged = g_new0(char *, 1);
  GString *again = g_string_new(NULL);
  for (char **e = env; *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL || !valid_name(*e, (gsize)(eq - *e)))
      g_error("assignment «%s» has no valid NAME before its '='", *e);
    g_assert_null(strchr(eq + 1, '\n'));
    g_autofree char *name = g_strndup(*e, (gsize)(eq - *e));
    merged = g_environ_setenv(merged, name, eq + 1, TRUE);
    g_autofree char *quoted = g_shell_quote(eq + 1);
    g_string_append_printf(again, "%s%s=%s\n", (e - env) % 2 ? "export " : "", name, quoted);
  }
  g_strfreev(merged);

  g_autoptr(GError) error = NULL;
  g_auto(GStrv) reparsed = sv_config_parse_environment(again->str, again->len, PATH, &error);
  if (reparsed == NULL)
    g_error("written back as «%s», the assignments do not parse: %s", again->str, error->message);
  g_assert_true(g_strv_equal((const char *const *)reparsed, (const char *const *)env));
  g_string_free(again, TRUE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  gsize n_lines = 1;
  for (gsize i = 0; i < size; i++)
    n_lines += text[i] == '\n';

  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = sv_config_parse_environment(text, size, PATH, &error);
  if (env != NULL) {
    g_assert_no_error(error);
    check_assignments(env, n_lines);
    return 0;
  }

  g_assert_error(error, SV_CONFIG_ERROR, SV_CONFIG_ERROR_INVALID);
  g_assert_true(g_utf8_validate(error->message, -1, NULL));
  g_assert_null(strchr(error->message, '\n'));
  g_assert_true(g_str_has_prefix(error->message, PATH ":"));
  if (memchr(data, '\0', size) != NULL) {
    g_assert_true(g_str_has_prefix(error->message, PATH ": "));
    return 0;
  }

  /* "PATH:N: …" */
  char *end = NULL;
  guint64 lineno = g_ascii_strtoull(error->message + strlen(PATH ":"), &end, 10);
  if (lineno < 1 || lineno > n_lines || *end != ':')
    g_error("«%s» does not name a line of the file's %zu", error->message, (size_t)n_lines);
  const char *line = text, *line_end;
  for (guint64 l = 1; l < lineno; l++)
    line = (const char *)memchr(line, '\n', size - (gsize)(line - text)) + 1;
  line_end = memchr(line, '\n', size - (gsize)(line - text));
  if (line_end == NULL)
    line_end = text + size;

  g_autoptr(GError) before_error = NULL;
  g_auto(GStrv) before =
      sv_config_parse_environment(text, (gsize)(line - text), PATH, &before_error);
  if (before == NULL)
    g_error("the error is on line %" G_GUINT64_FORMAT ", but the lines before fail: %s", lineno,
            before_error->message);
  g_autoptr(GError) alone_error = NULL;
  g_auto(GStrv) alone =
      sv_config_parse_environment(line, (gsize)(line_end - line), PATH, &alone_error);
  g_assert_null(alone);
  g_assert_true(g_str_has_prefix(alone_error->message, PATH ":1: "));

  /* Values may be secrets. A line with a valid NAME fails on its value, which then starts
   * with a quote: no text of the message's own can hold it. */
  g_autofree char *copy = g_strndup(line, (gsize)(line_end - line));
  char *s = g_strstrip(copy);
  if (g_str_has_prefix(s, "export "))
    s = g_strchug(s + 7);
  char *eq = strchr(s, '=');
  if (eq != NULL && valid_name(s, (gsize)(eq - s))) {
    char *value = g_strstrip(eq + 1);
    g_assert_true(value[0] == '"' || value[0] == '\'');
    if (strstr(error->message, value) != NULL)
      g_error("the message «%s» holds the value «%s»", error->message, value);
  }
  return 0;
}

/* jobname.c — see jobname.h. */
#include "jobname.h"

char *
sv_jobname_escape(const char *name)
{
  if (name == NULL || *name == '\0')
    return g_strdup("\\x");
  GString *out = g_string_new(NULL);
  for (const char *p = name; *p != '\0'; p++) {
    guchar c = (guchar)*p;
    gboolean plain = g_ascii_isalnum(c) || c == '_' || c == '@' || c == '+' || c == '-' ||
                     (c == '.' && p != name);
    if (plain)
      g_string_append_c(out, (char)c);
    else
      g_string_append_printf(out, "\\x%02x", c);
  }
  return g_string_free(out, FALSE);
}

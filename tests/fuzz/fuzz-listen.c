/* fuzz-listen.c — libFuzzer harness for the pure listen= parser (listenspec.h):
 * sv_listenspec_parse(), sv_listenspec_parse_list() and sv_listenspec_fdname().
 *
 * Properties: parsing never crashes or leaks, whatever the bytes; a rejected address
 * always carries a message; an accepted address has a canonical spelling that parses
 * again to the same spelling (what `sdvisor check` prints can be pasted back); its fd
 * name is one systemd accepts (printable ASCII, no ':', at most 255 bytes); a listen=
 * value that parses gives addresses that each parse again alone, none twice. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "listenspec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* The parser takes a C string: an embedded NUL ends it, as in a key file. */
  g_autofree char *text = g_strndup((const char *)data, size);

  g_autoptr(GError) list_error = NULL;
  g_autoptr(GPtrArray) list = sv_listenspec_parse_list(text, "fuzz", &list_error);
  g_assert_true((list == NULL) == (list_error != NULL));
  for (guint i = 0; list != NULL && i < list->len; i++) {
    const SvListenSpec *spec = list->pdata[i];
    g_assert_cmpstr(spec->origin, ==, "fuzz");
    g_autoptr(SvListenSpec) one = sv_listenspec_parse(spec->text, NULL);
    g_assert_nonnull(one);
    for (guint j = 0; j < i; j++)
      g_assert_cmpstr(((const SvListenSpec *)list->pdata[j])->text, !=, spec->text);
  }

  g_autoptr(GError) error = NULL;
  g_autoptr(SvListenSpec) spec = sv_listenspec_parse(text, &error);
  if (spec == NULL) {
    g_assert_nonnull(error);
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    return 0;
  }
  g_assert_no_error(error);
  g_assert_true(g_utf8_validate(spec->text, -1, NULL));
  g_autoptr(GError) again_error = NULL;
  g_autoptr(SvListenSpec) again = sv_listenspec_parse(spec->text, &again_error);
  if (again == NULL)
    g_error("'%s' parsed, but its canonical form '%s' does not: %s", text, spec->text,
            again_error->message);
  g_assert_cmpstr(again->text, ==, spec->text);
  g_assert_cmpint(again->kind, ==, spec->kind);

  g_autofree char *name = sv_listenspec_fdname(spec);
  g_assert_cmpuint(strlen(name), <=, 255);
  for (const char *p = name; *p; p++)
    g_assert_true(*p != ':' && g_ascii_isprint(*p));
  return 0;
}

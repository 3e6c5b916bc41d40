/* fuzz-check.c — libFuzzer harness for the pure check parser (checkspec.h):
 * sv_checkspec_parse(), sv_checkspec_parse_list() and sv_checkspec_to_string().
 *
 * Properties: parsing never crashes or leaks, whatever the bytes; a rejected check
 * always carries a message; an accepted check prints in a canonical spelling that
 * parses again to the same spelling (a fixed point), so what `sdvisor check` prints
 * can be pasted back into a configuration; a check= value that parses gives checks
 * that each parse again alone. run-fuzzer.sh links this harness with the pure modules
 * only. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "checkspec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* The parser takes a C string: an embedded NUL ends it, as in a key file. */
  g_autofree char *text = g_strndup((const char *)data, size);

  g_autoptr(GError) list_error = NULL;
  g_autoptr(GPtrArray) list = sv_checkspec_parse_list(text, &list_error);
  g_assert_true((list == NULL) == (list_error != NULL));
  for (guint i = 0; list != NULL && i < list->len; i++) {
    g_autoptr(SvCheckSpec) one = sv_checkspec_parse(((SvCheckSpec *)list->pdata[i])->text, NULL);
    g_assert_nonnull(one);
  }

  g_autoptr(GError) error = NULL;
  g_autoptr(SvCheckSpec) check = sv_checkspec_parse(text, &error);
  if (check == NULL) {
    g_assert_nonnull(error);
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    return 0;
  }
  g_assert_no_error(error);

  g_autofree char *canonical = sv_checkspec_to_string(check);
  g_assert_true(g_utf8_validate(canonical, -1, NULL));
  g_autoptr(GError) again_error = NULL;
  g_autoptr(SvCheckSpec) again = sv_checkspec_parse(canonical, &again_error);
  if (again == NULL)
    g_error("'%s' parsed, but its canonical form '%s' does not: %s", text, canonical,
            again_error->message);
  g_assert_cmpint(sv_checkspec_get_kind(again), ==, sv_checkspec_get_kind(check));
  g_autofree char *canonical_again = sv_checkspec_to_string(again);
  g_assert_cmpstr(canonical_again, ==, canonical);
  return 0;
}

/* fuzz-jobstate.c — libFuzzer harness for the job state file parser (jobstate.c).
 *
 * Each input is parsed twice: as a whole file (which almost never carries a valid
 * checksum, so this exercises the framing checks), and as a body to which the harness
 * appends a correct checksum line (which exercises the key=value parser behind it).
 * Properties: no crash, leak or undefined behaviour whatever the bytes; a rejected file
 * always carries a UTF-8 message; an accepted record serializes into a file that parses
 * again, and serializing that gives the same bytes (a fixed point), so what sdvisor
 * writes it can always read back. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "jobstate.h"

static void
check(const char *text, gsize len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobRecord) r = sv_job_record_parse(text, len, &error);
  if (r == NULL) {
    g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT);
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    return;
  }
  g_assert_no_error(error);
  gsize len1 = 0, len2 = 0;
  g_autofree char *once = sv_job_record_serialize(r, &len1);
  g_assert_cmpuint(len1, <=, SV_JOBSTATE_MAX_SIZE);
  g_autoptr(SvJobRecord) again = sv_job_record_parse(once, len1, &error);
  g_assert_no_error(error);
  g_autofree char *twice = sv_job_record_serialize(again, &len2);
  g_assert_cmpuint(len1, ==, len2);
  g_assert_true(memcmp(once, twice, len1) == 0);
  g_assert_cmpint(again->slot_usec, ==, r->slot_usec);
  g_assert_cmpint(again->running, ==, r->running);
  g_assert_cmpint(again->result, ==, r->result);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > 2 * SV_JOBSTATE_MAX_SIZE)
    return 0;
  check((const char *)data, size);

  g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, size);
  g_autoptr(GString) file = g_string_new_len((const char *)data, (gssize)size);
  g_string_append_printf(file, "checksum=sha256:%s\n", sum);
  check(file->str, file->len);
  return 0;
}

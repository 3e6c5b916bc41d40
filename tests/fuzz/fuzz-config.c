/* fuzz-config.c — libFuzzer harness: a configuration file and environment overrides.
 *
 * The input is the file's text, optionally followed by a NUL byte and newline-separated
 * NAME=VALUE environment entries. Whatever loads must also print. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "config.h"

static char *path;

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (path == NULL) {
    int fd = g_file_open_tmp("sdvisor-fuzz-config-XXXXXX", &path, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
  }
  const guint8 *nul = memchr(data, '\0', size);
  gsize file_len = nul ? (gsize)(nul - data) : size;
  g_assert_true(g_file_set_contents(path, (const char *)data, (gssize)file_len, NULL));
  g_chmod(path, 0600);

  g_auto(GStrv) env = NULL;
  if (nul != NULL) {
    g_autofree char *rest = g_strndup((const char *)nul + 1, size - file_len - 1);
    env = g_strsplit(rest, "\n", 64);
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(SvConfig) config = sv_config_load(path, env, &error);
  if (config == NULL) {
    g_assert_nonnull(error);
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    return 0;
  }
  g_autofree char *text = sv_config_to_string(config);
  g_assert_nonnull(text);
  return 0;
}

/* load-config.h — a configuration for a test, read as sdvisor reads one.
 *
 * Included by the tests of modules that take an SvConfig (budget, unitgen). */
#pragma once
#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"

/* TEXT written to a private file and loaded with the overrides ENV (NULL: none); the
 * test fails if it does not load. */
static inline SvConfig *
load_config(const char *text, char **env)
{
  g_autofree char *dir = g_dir_make_tmp("sdvisor-test-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "app.conf", NULL);
  g_assert_true(g_file_set_contents(path, text, -1, NULL));
  g_chmod(path, 0644);
  g_autoptr(GError) error = NULL;
  SvConfig *config = sv_config_load(path, env, &error);
  g_assert_no_error(error);
  g_unlink(path);
  g_rmdir(dir);
  return config;
}

/* fuzz-common.c — see fuzz.h. */
#include "fuzz.h"

#include <glib.h>

void
sv_fuzz_fatal_warnings(void)
{
  g_log_set_always_fatal(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
}

/* Weak: a harness's own definition takes its place. */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  sv_fuzz_fatal_warnings();
  return 0;
}

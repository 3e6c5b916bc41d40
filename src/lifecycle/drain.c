/* drain.c — the file that says sdvisor is stopping the app. */
#include "drain.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static struct {
  char *path;
  char *own_dir; /* the private directory made when there is no runtime directory */
  gboolean created;
} drain;

gboolean
sv_drain_init(GError **error)
{
  g_return_val_if_fail(drain.path == NULL, FALSE);
  const char *runtime = g_getenv("RUNTIME_DIRECTORY");
  g_auto(GStrv) runtime_dirs = runtime && *runtime ? g_strsplit(runtime, ":", 2) : NULL;
  const char *runtime_dir = runtime_dirs ? runtime_dirs[0] : NULL;
  g_autofree char *own_dir = NULL;
  if (runtime_dir == NULL) {
    own_dir = g_dir_make_tmp("sdvisor-XXXXXX", error);
    if (own_dir == NULL)
      return FALSE;
    /* The app may drop to another user (gunicorn --user): it must still see the file. */
    if (g_chmod(own_dir, 0755) < 0) {
      int errsv = errno;
      g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "chmod %s: %s", own_dir,
                  g_strerror(errsv));
      (void)g_rmdir(own_dir);
      return FALSE;
    }
    runtime_dir = own_dir;
  }
  g_autofree char *path = g_build_filename(runtime_dir, "draining", NULL);
  if (unlink(path) < 0 && errno != ENOENT) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot remove %s: %s", path,
                g_strerror(errsv));
    if (own_dir != NULL)
      (void)g_rmdir(own_dir);
    return FALSE;
  }
  drain.path = g_steal_pointer(&path);
  drain.own_dir = g_steal_pointer(&own_dir);
  return TRUE;
}

const char *
sv_drain_get_path(void)
{
  return drain.path;
}

void
sv_drain_begin(void)
{
  if (drain.path == NULL || drain.created)
    return;
  /* O_NOFOLLOW: whoever may write in the runtime directory (the app's user) must not
   * make sdvisor, often root, create a file elsewhere through a link. */
  int fd = open(drain.path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd < 0) {
    sv_log(LOG_WARNING, "cannot create %s: %s", drain.path, g_strerror(errno));
    return;
  }
  (void)close(fd);
  drain.created = TRUE;
}

void
sv_drain_cleanup(void)
{
  if (drain.path != NULL)
    (void)unlink(drain.path);
  if (drain.own_dir != NULL)
    (void)g_rmdir(drain.own_dir);
  g_clear_pointer(&drain.path, g_free);
  g_clear_pointer(&drain.own_dir, g_free);
  drain.created = FALSE;
}

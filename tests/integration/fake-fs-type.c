/* fake-fs-type.c — an LD_PRELOAD shim for the sdvisor under test: fstatfs() on a file
 * descriptor under $SVTEST_FAKE_FS_PATH reports the file system type
 * $SVTEST_FAKE_FS_MAGIC (e.g. 0x6969, NFS) instead of the real one.
 *
 * It stands in for an NFS or CIFS mount, which a test machine cannot make (a loopback
 * NFS export needs the kernel server and rpcbind; CIFS a Samba server). Everything else
 * about the directory is real; sdvisor's own code is unchanged, so deleting its fstatfs()
 * check makes the test fail. */
/* Both entry points are defined here, so neither may be renamed to the other. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

int fstatfs(int fd, struct statfs *buf);
int fstatfs64(int fd, struct statfs64 *buf);

/* The magic to report for FD, or 0 to leave the answer alone. */
static unsigned long
fake_magic(int fd)
{
  const char *prefix = getenv("SVTEST_FAKE_FS_PATH");
  const char *magic = getenv("SVTEST_FAKE_FS_MAGIC");
  if (prefix == NULL || magic == NULL || *prefix == '\0')
    return 0;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0)
    return 0;
  path[n] = '\0';
  size_t len = strlen(prefix);
  if (strncmp(path, prefix, len) != 0 || (path[len] != '\0' && path[len] != '/'))
    return 0;
  return strtoul(magic, NULL, 0);
}

int
fstatfs(int fd, struct statfs *buf)
{
  int (*real)(int, struct statfs *) = (int (*)(int, struct statfs *))dlsym(RTLD_NEXT, "fstatfs");
  int r = real(fd, buf);
  unsigned long magic = r == 0 ? fake_magic(fd) : 0;
  if (magic != 0)
    buf->f_type = (__fsword_t)magic;
  return r;
}

int
fstatfs64(int fd, struct statfs64 *buf)
{
  int (*real)(int, struct statfs64 *) =
      (int (*)(int, struct statfs64 *))dlsym(RTLD_NEXT, "fstatfs64");
  int r = real(fd, buf);
  unsigned long magic = r == 0 ? fake_magic(fd) : 0;
  if (magic != 0)
    buf->f_type = (__fsword_t)magic;
  return r;
}

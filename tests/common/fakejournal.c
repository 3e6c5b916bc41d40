/* fakejournal.c — see fakejournal.h. */
#include "fakejournal.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Room for the largest datagram, allocated once per process: a 10 MiB buffer per receive
 * made AddressSanitizer map and unmap it thousands of times a test (20 s of system time). */
#define DATAGRAM_MAX (10 * 1024 * 1024)
static guint8 *datagram_buf;

static GBytes *
value_bytes(const guint8 *data, gsize len)
{
  /* a NUL after the value, so that a text value reads as a string where it is one */
  guint8 *copy = g_malloc(len + 1);
  memcpy(copy, data, len);
  copy[len] = '\0';
  return g_bytes_new_take(copy, len);
}

GHashTable *
sv_journal_entry_parse_full(const guint8 *data, gsize len, gboolean *complete)
{
  GHashTable *fields =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  const guint8 *p = data, *end = data + len;
  *complete = FALSE;
  while (p < end) {
    const guint8 *nl = memchr(p, '\n', (gsize)(end - p));
    const guint8 *line_end = nl != NULL ? nl : end;
    const guint8 *eq = memchr(p, '=', (gsize)(line_end - p));
    if (eq != NULL) {
      /* NAME=VALUE\n */
      g_hash_table_replace(fields, g_strndup((const char *)p, (gsize)(eq - p)),
                           value_bytes(eq + 1, (gsize)(line_end - eq - 1)));
      if (nl == NULL)
        return fields;
      p = nl + 1;
      continue;
    }
    /* NAME\n, little-endian 64-bit length, VALUE, \n */
    if (nl == NULL || end - (nl + 1) < 8)
      return fields;
    guint64 le;
    memcpy(&le, nl + 1, 8);
    guint64 vlen = GUINT64_FROM_LE(le);
    const guint8 *value = nl + 9;
    if (vlen >= (guint64)(end - value) || value[vlen] != '\n')
      return fields;
    g_hash_table_replace(fields, g_strndup((const char *)p, (gsize)(nl - p)),
                         value_bytes(value, (gsize)vlen));
    p = value + vlen + 1;
  }
  *complete = TRUE;
  return fields;
}

GHashTable *
sv_journal_entry_parse(const guint8 *data, gsize len)
{
  gboolean complete;
  return sv_journal_entry_parse_full(data, len, &complete);
}

/* One datagram from FD, an entry passed as a memfd read from it; NULL when none waits
 * TIMEOUT_MS. */
static SvJournalEntry *
receive(int fd, int timeout_ms, gboolean *complete)
{
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  if (poll(&pfd, 1, timeout_ms) <= 0)
    return NULL;
  if (datagram_buf == NULL)
    datagram_buf = g_malloc(DATAGRAM_MAX);
  union {
    struct cmsghdr h;
    char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
  } control;
  struct iovec iov = {datagram_buf, DATAGRAM_MAX};
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0)
    return NULL;
  SvJournalEntry *e = g_new0(SvJournalEntry, 1);
  e->datagram_size = (gsize)n;
  int memfd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred uc;
      memcpy(&uc, CMSG_DATA(c), sizeof uc);
      e->pid = uc.pid;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && memfd < 0) {
      memcpy(&memfd, CMSG_DATA(c), sizeof memfd);
    }
  }
  if (memfd >= 0) {
    e->via_memfd = TRUE;
    e->memfd_seals = fcntl(memfd, F_GET_SEALS);
    struct stat st;
    g_autofree guint8 *data = NULL;
    gssize got = -1;
    if (fstat(memfd, &st) == 0) {
      data = g_malloc((gsize)st.st_size + 1);
      got = pread(memfd, data, (gsize)st.st_size, 0);
    }
    close(memfd);
    e->fields = sv_journal_entry_parse_full(data, (gsize)MAX(got, 0), complete);
  } else {
    e->fields = sv_journal_entry_parse_full(datagram_buf, (gsize)n, complete);
  }
  return e;
}

void
sv_journal_entry_free(SvJournalEntry *entry)
{
  if (entry == NULL)
    return;
  g_hash_table_unref(entry->fields);
  g_free(entry);
}

char *
sv_journal_entry_dup(SvJournalEntry *entry, const char *name)
{
  return g_strdup(sv_journal_entry_field(entry->fields, name));
}

SvFakeJournal *
sv_fake_journal_new(gboolean bound)
{
  SvFakeJournal *fj = g_new0(SvFakeJournal, 1);
  fj->dir = g_dir_make_tmp("sv-journal-XXXXXX", NULL);
  g_assert_nonnull(fj->dir);
  fj->path = g_build_filename(fj->dir, "socket", NULL);
  fj->fd = -1;
  if (bound)
    sv_fake_journal_listen(fj);
  return fj;
}

void
sv_fake_journal_listen(SvFakeJournal *fj)
{
  g_assert_cmpint(fj->fd, <, 0);
  fj->fd = sv_fake_journal_bind(fj->path);
}

void
sv_fake_journal_close(SvFakeJournal *fj)
{
  if (fj->fd >= 0)
    close(fj->fd);
  fj->fd = -1;
  (void)g_unlink(fj->path);
}

void
sv_fake_journal_free(SvFakeJournal *fj)
{
  if (fj == NULL)
    return;
  sv_fake_journal_close(fj);
  (void)g_rmdir(fj->dir);
  g_free(fj->dir);
  g_free(fj->path);
  g_free(fj);
}

SvJournalEntry *
sv_fake_journal_recv(SvFakeJournal *fj, int timeout_ms)
{
  gboolean complete = FALSE;
  SvJournalEntry *e = receive(fj->fd, timeout_ms, &complete);
  if (e != NULL)
    g_assert_true(complete);
  return e;
}

int
sv_fake_journal_bind(const char *path)
{
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(fd, >=, 0);
  int one = 1;
  g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one), ==, 0);
  int rcvbuf = 16 * 1024 * 1024;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_assert_cmpuint(strlen(path), <, sizeof sa.sun_path);
  strcpy(sa.sun_path, path);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  return fd;
}

GPtrArray *
sv_journal_entries_new(void)
{
  return g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
}

gboolean
sv_fake_journal_read(int fd, GPtrArray *entries, int timeout_ms)
{
  gboolean any = FALSE, complete;
  SvJournalEntry *e;
  while ((e = receive(fd, any ? 0 : timeout_ms, &complete)) != NULL) {
    any = TRUE;
    g_ptr_array_add(entries, g_hash_table_ref(e->fields));
    sv_journal_entry_free(e);
  }
  return any;
}

const char *
sv_journal_entry_field(GHashTable *entry, const char *name)
{
  GBytes *value = g_hash_table_lookup(entry, name);
  if (value == NULL)
    return NULL;
  const char *data = g_bytes_get_data(value, NULL);
  return data != NULL ? data : ""; /* GLib may keep no buffer for an empty value */
}

/* journal.c — see journal.h.
 *
 * The main thread serialises each entry once, straight into the native protocol's
 * bytes, in a batch; the writer thread only points iovecs at them. A record is a small
 * header (priority, where MESSAGE is, the tags) followed by MESSAGE, PRIORITY and the
 * entry's own fields; the tags' fields (identifier, source, stream, [log] fields=, the
 * caller's) are serialised once per stream and sent as the datagram's second iovec. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-login.h>

#include "log.h"

/* While the journal is unreachable, try it again at most this often — and only when
 * there is something to write, so an idle sdvisor makes no syscall for it. */
#define RECONNECT_USEC G_USEC_PER_SEC
/* A batch is handed over at the end of each callback, or when it reaches these: the
 * writer starts on a flood before the whole read is parsed, and memory stays bounded. */
#define BATCH_COMMIT_BYTES   (128u * 1024)
#define BATCH_COMMIT_RECORDS 1024u
/* Batches kept for reuse; one that grew past the second bound (a huge entry) is freed. */
#define SPARE_BATCHES_MAX     4
#define SPARE_BATCH_BYTES_MAX (1024u * 1024)
/* Datagrams per sendmmsg(). */
#define SEND_VLEN 64
/* journald's socket gets a send buffer this large when sdvisor may set it (as
 * libsystemd asks): entries up to it go as one datagram, larger ones as a memfd. */
#define SNDBUF_SIZE (8 * 1024 * 1024)
/* When journald's queue is full, the writer waits for room and then this much more, so
 * that journald takes a batch: one wakeup per batch instead of one per entry, which
 * (measured) cut the writer's CPU several times over. journald's socket queues 512
 * datagrams (systemd sets net.unix.max_dgram_qlen=512), over 7 ms of its work even at
 * 70,000 entries/s: the pause never lets it run dry. */
#define JOURNAL_FULL_PAUSE_USEC 2000
/* Console output is written in pieces of about this size. */
#define CONSOLE_CHUNK (64u * 1024)

const char *
sv_log_source_name(SvLogSource source)
{
  switch (source) {
  case SV_LOG_SOURCE_APP:
    return "app";
  case SV_LOG_SOURCE_HOOK:
    return "hook";
  case SV_LOG_SOURCE_JOB:
    return "job";
  case SV_LOG_SOURCE_CHECK:
    return "check";
  case SV_LOG_SOURCE_SDVISOR:
    return "sdvisor";
  }
  return "unknown";
}

/* ---- native protocol ------------------------------------------------------------------ */

/* Bytes NAME=VALUE takes on the wire: "NAME=VALUE\n", or, when VALUE holds a newline,
 * "NAME\n" + 64-bit little-endian length + VALUE + "\n". */
static inline gsize
wire_field_size(gsize name_len, const void *value, gsize len, gboolean *binary)
{
  *binary = memchr(value, '\n', len) != NULL;
  return name_len + len + (*binary ? 10 : 2);
}

static inline guint8 *
wire_field_put(guint8 *p, const char *name, gsize name_len, const void *value, gsize len,
               gboolean binary)
{
  memcpy(p, name, name_len);
  p += name_len;
  if (binary) {
    *p++ = '\n';
    guint64 le = GUINT64_TO_LE((guint64)len);
    memcpy(p, &le, sizeof le);
    p += sizeof le;
  } else {
    *p++ = '=';
  }
  memcpy(p, value, len);
  p += len;
  *p++ = '\n';
  return p;
}

static void
wire_append(GByteArray *out, const char *name, gsize name_len, const void *value, gsize len)
{
  gboolean binary;
  gsize size = wire_field_size(name_len, value, len, &binary);
  guint old = out->len;
  g_byte_array_set_size(out, old + (guint)size);
  wire_field_put(out->data + old, name, name_len, value, len, binary);
}

/* "NAME=VALUE" with NAME valid for journald. */
static gboolean
split_assignment(const char *text, gsize *name_len)
{
  const char *eq = strchr(text, '=');
  if (eq == NULL || !sv_log_field_name_is_valid(text, (gsize)(eq - text)))
    return FALSE;
  *name_len = (gsize)(eq - text);
  return TRUE;
}

/* ---- tags ----------------------------------------------------------------------------------- */

struct SvJournalTags {
  gatomicrefcount ref;
  int pid;      /* atomic; 0 = none */
  int pid_gone; /* atomic; set by the writer when the kernel no longer knows PID */
  GByteArray *wire;
  char *console_prefix; /* "sdvisor: " for sdvisor's own messages, else NULL */
  gsize console_prefix_len;
};

static gboolean
is_tag_name(const char *name, gsize len)
{
  static const char *const reserved[] = {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER",
                                         "SDVISOR_SOURCE", "SDVISOR_STREAM"};
  for (gsize i = 0; i < G_N_ELEMENTS(reserved); i++)
    if (strlen(reserved[i]) == len && memcmp(reserved[i], name, len) == 0)
      return TRUE;
  return FALSE;
}

static void
append_assignments(GByteArray *out, const char *const *fields)
{
  for (const char *const *f = fields; f != NULL && *f != NULL; f++) {
    gsize name_len;
    if (!split_assignment(*f, &name_len) || is_tag_name(*f, name_len))
      continue;
    const char *value = *f + name_len + 1;
    wire_append(out, *f, name_len, value, strlen(value));
  }
}

/* ---- batches ------------------------------------------------------------------------------ */

typedef struct {
  guint32 size;     /* of the record, header included, a multiple of 8 */
  guint32 wire_len; /* native-protocol bytes after the header */
  guint32 msg_off;  /* MESSAGE's value within them */
  guint32 msg_len;
  guint8 priority;
  SvJournalTags *tags; /* the batch holds a reference */
} Record;

#define RECORD_HEADER ((sizeof(Record) + 7) & ~(gsize)7)

typedef struct {
  GByteArray *data; /* Records, back to back */
  guint n_records;
  GPtrArray *tags; /* a reference to each SvJournalTags its records use */
} Batch;

static Batch *
batch_new(void)
{
  Batch *b = g_new0(Batch, 1);
  b->data = g_byte_array_sized_new(16 * 1024);
  b->tags = g_ptr_array_new_with_free_func((GDestroyNotify)sv_journal_tags_unref);
  return b;
}

static void
batch_free(Batch *b)
{
  if (b == NULL)
    return;
  g_byte_array_unref(b->data);
  g_ptr_array_unref(b->tags);
  g_free(b);
}

static void
batch_reset(Batch *b)
{
  g_byte_array_set_size(b->data, 0);
  b->n_records = 0;
  g_ptr_array_set_size(b->tags, 0);
}

static void
batch_hold_tags(Batch *b, SvJournalTags *tags)
{
  /* The few streams writing at one time: a short search beats a refcount per entry. */
  for (guint i = b->tags->len; i > 0; i--)
    if (b->tags->pdata[i - 1] == tags)
      return;
  g_ptr_array_add(b->tags, sv_journal_tags_ref(tags));
}

static const guint8 message_name[] = "MESSAGE";
static const guint8 partial_field[] = "SDVISOR_LINE_BREAK=line-max\n";
static const guint8 capped_field[] = "SDVISOR_LINE_BREAK=entry-max\n";

/* Appends one record. FIELDS is an SvLogEntry's (SvLogField *) or NULL; ASSIGNMENTS
 * "NAME=VALUE" strings or NULL; MESSAGE_ID NULL or 32 hex digits. */
static void
batch_add(Batch *b, SvJournalTags *tags, int priority, const void *msg, gsize msg_len, guint flags,
          GPtrArray *fields, const char *message_id, const char *const *assignments)
{
  gboolean msg_binary;
  gsize wire = wire_field_size(sizeof message_name - 1, msg, msg_len, &msg_binary);
  wire += sizeof "PRIORITY=N\n" - 1;
  if (flags & SV_LOG_ENTRY_PARTIAL)
    wire += sizeof partial_field - 1;
  else if (flags & SV_LOG_ENTRY_CAPPED)
    wire += sizeof capped_field - 1;
  for (guint i = 0; fields != NULL && i < fields->len; i++) {
    const SvLogField *f = fields->pdata[i];
    gboolean binary;
    gsize vlen;
    const char *v = sv_log_field_value(f, &vlen);
    wire += wire_field_size(f->name_len, v, vlen, &binary);
  }
  if (message_id != NULL)
    wire += sizeof "MESSAGE_ID=" - 1 + strlen(message_id) + 1;
  gsize n_assign = 0;
  for (const char *const *a = assignments; a != NULL && *a != NULL; a++, n_assign++) {
    gsize name_len;
    gboolean binary;
    if (split_assignment(*a, &name_len)) {
      const char *v = *a + name_len + 1;
      wire += wire_field_size(name_len, v, strlen(v), &binary);
    }
  }

  gsize size = (RECORD_HEADER + wire + 7) & ~(gsize)7;
  g_return_if_fail(size < G_MAXUINT32 && b->data->len < G_MAXUINT32 - size);
  guint start = b->data->len;
  g_byte_array_set_size(b->data, start + (guint)size);
  guint8 *base = b->data->data + start;
  Record *r = (Record *)base;
  guint8 *p = base + RECORD_HEADER;
  r->size = (guint32)size;
  r->wire_len = (guint32)wire;
  r->priority = (guint8)CLAMP(priority, 0, 7);
  r->tags = tags;
  r->msg_len = (guint32)msg_len;
  r->msg_off = (guint32)(sizeof message_name - 1 + (msg_binary ? 9 : 1));
  p = wire_field_put(p, (const char *)message_name, sizeof message_name - 1, msg, msg_len,
                     msg_binary);
  memcpy(p, "PRIORITY=", 9);
  p[9] = (guint8)('0' + r->priority);
  p[10] = '\n';
  p += 11;
  if (flags & SV_LOG_ENTRY_PARTIAL) {
    memcpy(p, partial_field, sizeof partial_field - 1);
    p += sizeof partial_field - 1;
  } else if (flags & SV_LOG_ENTRY_CAPPED) {
    memcpy(p, capped_field, sizeof capped_field - 1);
    p += sizeof capped_field - 1;
  }
  for (guint i = 0; fields != NULL && i < fields->len; i++) {
    const SvLogField *f = fields->pdata[i];
    gboolean binary;
    gsize vlen;
    const char *v = sv_log_field_value(f, &vlen);
    (void)wire_field_size(f->name_len, v, vlen, &binary);
    p = wire_field_put(p, f->data, f->name_len, v, vlen, binary);
  }
  if (message_id != NULL) {
    gsize len = strlen(message_id);
    p = wire_field_put(p, "MESSAGE_ID", 10, message_id, len, FALSE);
  }
  for (gsize i = 0; i < n_assign; i++) {
    gsize name_len;
    gboolean binary;
    if (split_assignment(assignments[i], &name_len)) {
      const char *v = assignments[i] + name_len + 1;
      gsize vlen = strlen(v);
      (void)wire_field_size(name_len, v, vlen, &binary);
      p = wire_field_put(p, assignments[i], name_len, v, vlen, binary);
    }
  }
  g_assert((gsize)(p - (base + RECORD_HEADER)) == wire);
  memset(p, 0, size - RECORD_HEADER - wire);
  b->n_records++;
  batch_hold_tags(b, tags);
}

/* ---- the sink ---------------------------------------------------------------------------- */

struct SvJournal {
  /* Set up once, read by both threads. */
  SvJournalTarget configured;
  gboolean may_use_journal; /* FALSE: console only (target=console, or a terminal) */
  gboolean console_is_tty;
  int console_fd;
  char *socket_path;
  /* The owner's only, replaced at reload (sv_journal_set_identity()). */
  char *identifier;
  GByteArray *static_wire; /* [log] fields= */
  /* OBJECT_SYSTEMD_UNIT=sdvisor's own unit, for children's entries; empty if none. An
   * entry sent with a child's pid is resolved by journald when it reads it: a child
   * that has exited and been reaped by then (a hook's `echo`, the app's last lines)
   * leaves it without _SYSTEMD_UNIT, and `journalctl -u` would not find it. journalctl
   * -u also matches OBJECT_SYSTEMD_UNIT= from _UID=0, which is what such an entry
   * still has. */
  GByteArray *unit_wire;
  gsize max_bytes, low_bytes;
  guint max_entries, low_entries;
  GThread *owner;
  SvJournalTags *own_tags; /* replaced by the owner; other threads read it under LOCK */
  uid_t uid;
  gid_t gid;

  /* The owner thread's. */
  Batch *open;
  gboolean full;
  SvJournalSpaceFunc space_func;
  gpointer space_data;
  int wake_fd;
  GSource *wake_source;
  GSource *commit_source; /* hands the open batch over before the loop sleeps */
  gboolean stuck;         /* a flush timed out: the writer may never return */

  /* Shared, under LOCK. */
  GMutex lock;
  GCond work_cond; /* the writer waits for batches */
  GCond done_cond; /* flush and wait_space wait for the writer */
  GQueue pending;  /* Batch *, oldest first */
  GPtrArray *spare;
  gsize queued_bytes; /* pending, and the batch being written */
  guint queued_entries;
  gboolean writer_waiting;
  guint waiters;       /* threads waiting on done_cond */
  gboolean want_space; /* the owner saw the queue full: wake it below low water */
  gboolean quit;
  SvJournalStats stats;

  int target_now; /* atomic: SvJournalTarget in use */

  /* The writer's. */
  GThread *thread;
  int sock;                 /* connected to the journal, or -1 */
  gint64 next_connect_usec; /* console meanwhile, until then */
  gboolean creds_allowed;
  GByteArray *console_buf;
  guint64 w_console, w_memfd, w_switches;
};

static gboolean
stderr_is_journal(int fd)
{
  const char *stream = g_getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  if (stream == NULL || sscanf(stream, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) < 0)
    return FALSE;
  return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

static int
journal_connect(const char *path)
{
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    close(fd);
    return -ENAMETOOLONG;
  }
  strcpy(sa.sun_path, path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int r = -errno;
    close(fd);
    return r;
  }
  /* Large entries as one datagram; without CAP_NET_ADMIN the kernel's wmem_max caps
   * it and larger entries go as a memfd. */
  int size = SNDBUF_SIZE;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  return fd;
}

static void
set_target(SvJournal *j, SvJournalTarget target)
{
  if (g_atomic_int_get(&j->target_now) != (int)target) {
    g_atomic_int_set(&j->target_now, (int)target);
    j->w_switches++;
  }
}

/* The writer's view: whether to send to the journal now, connecting if it is time. */
static gboolean
journal_usable(SvJournal *j)
{
  if (j->sock >= 0)
    return TRUE;
  if (!j->may_use_journal)
    return FALSE;
  gint64 now = g_get_monotonic_time();
  if (now < j->next_connect_usec)
    return FALSE;
  int fd = journal_connect(j->socket_path);
  if (fd < 0) {
    j->next_connect_usec = now + RECONNECT_USEC;
    set_target(j, SV_JOURNAL_TARGET_CONSOLE);
    return FALSE;
  }
  j->sock = fd;
  set_target(j, SV_JOURNAL_TARGET_JOURNAL);
  return TRUE;
}

static void
journal_disconnect(SvJournal *j)
{
  if (j->sock >= 0)
    close(j->sock);
  j->sock = -1;
}

/* ---- the writer: console ------------------------------------------------------------------ */

static void
write_all(int fd, const guint8 *p, gsize len)
{
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w > 0) {
      p += w;
      len -= (gsize)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN) {
      /* Someone made the shared file description non-blocking: wait, do not drop. */
      struct pollfd pfd = {.fd = fd, .events = POLLOUT};
      (void)poll(&pfd, 1, -1);
      continue;
    }
    /* The console is gone (EPIPE, EBADF): nothing left to write to. */
    return;
  }
}

static void
console_flush(SvJournal *j)
{
  if (j->console_buf->len == 0)
    return;
  write_all(j->console_fd, j->console_buf->data, j->console_buf->len);
  g_byte_array_set_size(j->console_buf, 0);
}

static void
console_add(SvJournal *j, const Record *r, const guint8 *wire)
{
  const guint8 *msg = wire + r->msg_off;
  gsize len = r->msg_len;
  char prefix[4] = {'<', (char)('0' + r->priority), '>', 0};
  /* Every line of the entry, each with the entry's level. */
  for (;;) {
    const guint8 *nl = memchr(msg, '\n', len);
    gsize line = nl != NULL ? (gsize)(nl - msg) : len;
    if (!j->console_is_tty)
      g_byte_array_append(j->console_buf, (const guint8 *)prefix, 3);
    if (r->tags->console_prefix != NULL)
      g_byte_array_append(j->console_buf, (const guint8 *)r->tags->console_prefix,
                          (guint)r->tags->console_prefix_len);
    g_byte_array_append(j->console_buf, msg, (guint)line);
    g_byte_array_append(j->console_buf, (const guint8 *)"\n", 1);
    if (nl == NULL)
      break;
    msg = nl + 1;
    len -= line + 1;
  }
  j->w_console++;
  if (j->console_buf->len >= CONSOLE_CHUNK)
    console_flush(j);
}

/* ---- the writer: journal ------------------------------------------------------------------ */

typedef union {
  struct cmsghdr header;
  char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
} Control;

/* Control data for R: its child's credentials, if allowed; plus FD if ≥ 0. */
static gsize
control_fill(SvJournal *j, const Record *r, Control *ctl, int fd)
{
  gsize len = 0;
  memset(ctl, 0, sizeof *ctl);
  int pid = g_atomic_int_get(&r->tags->pid);
  if (j->creds_allowed && pid > 0 && !g_atomic_int_get(&r->tags->pid_gone)) {
    struct cmsghdr *c = (struct cmsghdr *)ctl->buf;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred uc = {.pid = pid, .uid = j->uid, .gid = j->gid};
    memcpy(CMSG_DATA(c), &uc, sizeof uc);
    len += CMSG_SPACE(sizeof(struct ucred));
  }
  if (fd >= 0) {
    struct cmsghdr *c = (struct cmsghdr *)(ctl->buf + len);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    len += CMSG_SPACE(sizeof(int));
  }
  return len;
}

static void
record_iov(const Record *r, struct iovec iov[2])
{
  iov[0] = (struct iovec){(guint8 *)r + RECORD_HEADER, r->wire_len};
  iov[1] = (struct iovec){r->tags->wire->data, r->tags->wire->len};
}

/* An entry too large for a datagram: in a sealed memfd, as libsystemd does. */
static int
send_memfd(SvJournal *j, const Record *r)
{
  int fd = memfd_create("sdvisor-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -errno;
  struct iovec iov[2];
  record_iov(r, iov);
  gsize total = iov[0].iov_len + iov[1].iov_len, done = 0;
  while (done < total) {
    ssize_t w = done < iov[0].iov_len
                    ? write(fd, (guint8 *)iov[0].iov_base + done, iov[0].iov_len - done)
                    : write(fd, (guint8 *)iov[1].iov_base + (done - iov[0].iov_len), total - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int r0 = w < 0 ? -errno : -EIO;
      close(fd);
      return r0;
    }
    done += (gsize)w;
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
    int r0 = -errno;
    close(fd);
    return r0;
  }
  Control ctl;
  struct msghdr mh = {.msg_control = ctl.buf};
  mh.msg_controllen = control_fill(j, r, &ctl, fd);
  int result = 0;
  while (sendmsg(j->sock, &mh, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR)
      continue;
    result = -errno;
    break;
  }
  close(fd);
  return result;
}

static gboolean
is_connection_error(int err)
{
  return err == ECONNREFUSED || err == ENOTCONN || err == ENOENT || err == EPIPE ||
         err == ECONNRESET || err == EDESTADDRREQ || err == EBADF;
}

/* Sends R alone after sendmmsg() failed on it with ERR. FALSE: it must go to the
 * console. */
static gboolean
send_one_after_error(SvJournal *j, const Record *r, int err)
{
  for (int attempt = 0; attempt < 4; attempt++) {
    if (err == ESRCH) {
      /* The child is gone (reaped): journald cannot look it up any more anyway. */
      g_atomic_int_set(&r->tags->pid_gone, 1);
    } else if (err == EPERM && j->creds_allowed) {
      /* Not privileged (a container without CAP_SYS_ADMIN, User=): sdvisor's own. */
      j->creds_allowed = FALSE;
    } else if (err == EMSGSIZE || err == ENOBUFS) {
      int r0 = send_memfd(j, r);
      if (r0 == 0) {
        j->w_memfd++;
        return TRUE;
      }
      err = -r0;
      if (err == EMSGSIZE || err == ENOBUFS)
        return FALSE;
      continue;
    } else if (is_connection_error(err)) {
      /* journald restarted (a new socket) or went away. */
      journal_disconnect(j);
      j->next_connect_usec = 0;
      if (!journal_usable(j))
        return FALSE;
    } else {
      return FALSE;
    }
    Control ctl;
    struct iovec iov[2];
    record_iov(r, iov);
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf};
    mh.msg_controllen = control_fill(j, r, &ctl, -1);
    if (mh.msg_controllen == 0)
      mh.msg_control = NULL;
    ssize_t s;
    do
      s = sendmsg(j->sock, &mh, MSG_NOSIGNAL);
    while (s < 0 && errno == EINTR);
    if (s >= 0)
      return TRUE;
    err = errno;
  }
  return FALSE;
}

/* Sends RECORDS[0..N) with as few sendmmsg() calls as the kernel allows; those that
 * cannot go to the journal go to the console, in order. */
static void
journal_send(SvJournal *j, Record **records, guint n)
{
  struct mmsghdr msgs[SEND_VLEN];
  struct iovec iovs[SEND_VLEN][2];
  Control ctls[SEND_VLEN];

  memset(msgs, 0, sizeof msgs);
  for (guint i = 0; i < n; i++) {
    record_iov(records[i], iovs[i]);
    msgs[i].msg_hdr.msg_iov = iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 2;
    gsize clen = control_fill(j, records[i], &ctls[i], -1);
    msgs[i].msg_hdr.msg_control = clen > 0 ? ctls[i].buf : NULL;
    msgs[i].msg_hdr.msg_controllen = clen;
  }
  guint off = 0;
  while (off < n) {
    if (j->sock < 0) {
      /* Lost the journal on an earlier record: the rest go to the console. */
      console_add(j, records[off], (const guint8 *)records[off] + RECORD_HEADER);
      off++;
      continue;
    }
    int s = sendmmsg(j->sock, msgs + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (s > 0) {
      off += (guint)s;
      continue;
    }
    if (s < 0 && errno == EINTR)
      continue;
    if (s < 0 && errno == EAGAIN) {
      /* journald is behind (or stopped): wait, however long; nothing is dropped. */
      struct pollfd pfd = {.fd = j->sock, .events = POLLOUT};
      while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
      g_usleep(JOURNAL_FULL_PAUSE_USEC);
      continue;
    }
    int err = s < 0 ? errno : EIO;
    if (!send_one_after_error(j, records[off], err)) {
      console_add(j, records[off], (const guint8 *)records[off] + RECORD_HEADER);
      console_flush(j);
    }
    off++;
    /* What the error changed (credentials, the socket) applies to the rest. */
    for (guint i = off; i < n; i++) {
      gsize clen = control_fill(j, records[i], &ctls[i], -1);
      msgs[i].msg_hdr.msg_control = clen > 0 ? ctls[i].buf : NULL;
      msgs[i].msg_hdr.msg_controllen = clen;
    }
  }
}

static void
write_batch(SvJournal *j, Batch *b)
{
  Record *group[SEND_VLEN];
  guint n = 0;
  guint8 *p = b->data->data, *end = p + b->data->len;
  gboolean journal = journal_usable(j);
  if (!journal)
    set_target(j, SV_JOURNAL_TARGET_CONSOLE);

  while (p < end) {
    Record *r = (Record *)p;
    p += r->size;
    if (!journal) {
      console_add(j, r, (const guint8 *)r + RECORD_HEADER);
      continue;
    }
    group[n++] = r;
    if (n == SEND_VLEN) {
      journal_send(j, group, n);
      n = 0;
      journal = j->sock >= 0;
    }
  }
  if (n > 0)
    journal_send(j, group, n);
  console_flush(j);
  if (j->sock < 0 && journal)
    j->next_connect_usec = g_get_monotonic_time() + RECONNECT_USEC;
}

static gpointer
writer_main(gpointer data)
{
  SvJournal *j = data;
  g_mutex_lock(&j->lock);
  for (;;) {
    while (g_queue_is_empty(&j->pending) && !j->quit) {
      j->writer_waiting = TRUE;
      g_cond_wait(&j->work_cond, &j->lock);
      j->writer_waiting = FALSE;
    }
    Batch *b = g_queue_pop_head(&j->pending);
    if (b == NULL)
      break; /* quit, and nothing left */
    g_mutex_unlock(&j->lock);

    j->w_console = j->w_memfd = j->w_switches = 0;
    write_batch(j, b);
    gsize bytes = b->data->len;
    guint entries = b->n_records;
    gboolean keep = bytes <= SPARE_BATCH_BYTES_MAX;
    if (keep)
      batch_reset(b); /* drops the tags' references outside the lock */

    g_mutex_lock(&j->lock);
    j->queued_bytes -= bytes;
    j->queued_entries -= entries;
    j->stats.entries_written += entries;
    j->stats.entries_console += j->w_console;
    j->stats.entries_memfd += j->w_memfd;
    j->stats.target_switches += j->w_switches;
    if (keep && j->spare->len < SPARE_BATCHES_MAX) {
      g_ptr_array_add(j->spare, b);
      b = NULL;
    }
    if (j->want_space && j->queued_bytes <= j->low_bytes && j->queued_entries <= j->low_entries) {
      j->want_space = FALSE;
      guint64 one = 1;
      (void)!write(j->wake_fd, &one, sizeof one);
    }
    if (j->waiters > 0)
      g_cond_broadcast(&j->done_cond);
    if (b != NULL) {
      g_mutex_unlock(&j->lock);
      batch_free(b);
      g_mutex_lock(&j->lock);
    }
  }
  g_mutex_unlock(&j->lock);
  return NULL;
}

/* ---- the owner thread --------------------------------------------------------------------- */

static gboolean
on_wake(int fd, GIOCondition condition, gpointer user_data)
{
  SvJournal *j = user_data;
  guint64 n;
  (void)!read(fd, &n, sizeof n);
  j->full = FALSE;
  if (j->space_func != NULL)
    j->space_func(j, j->space_data);
  return G_SOURCE_CONTINUE;
}

/* sdvisor's own messages from the owner thread join the open batch, which this source
 * hands to the writer when the loop is about to sleep: the messages of one loop turn
 * (100 job starts at the same second, say) cost one wakeup of the writer, not one each. */
typedef struct {
  GSource source;
  SvJournal *journal;
} CommitSource;

static gboolean
commit_prepare(GSource *source, gint *timeout)
{
  sv_journal_commit(((CommitSource *)source)->journal);
  *timeout = -1;
  return FALSE;
}

static gboolean
commit_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs commit_source_funcs = {
    .prepare = commit_prepare,
    .dispatch = commit_dispatch,
};

/* [log] fields= in the native protocol, into OUT; what journald would not take is
 * skipped with a warning. */
static void
static_wire_fill(GByteArray *out, const char *const *fields)
{
  guint n_static = 0;
  for (const char *const *f = fields; f != NULL && *f != NULL; f++) {
    gsize name_len;
    if (!split_assignment(*f, &name_len) || is_tag_name(*f, name_len)) {
      sv_log(LOG_WARNING, "[log] fields: '%s' ignored: not NAME=VALUE with a NAME of its own", *f);
      continue;
    }
    if (++n_static > SV_JOURNAL_STATIC_FIELDS_MAX) {
      sv_log(LOG_WARNING, "[log] fields: more than %d; the rest are ignored",
             SV_JOURNAL_STATIC_FIELDS_MAX);
      break;
    }
    const char *value = *f + name_len + 1;
    wire_append(out, *f, name_len, value, strlen(value));
  }
}

static SvJournalTags *
own_tags_new(SvJournal *j)
{
  SvJournalTags *tags = sv_journal_tags_new(j, SV_LOG_SOURCE_SDVISOR, -1, NULL);
  tags->console_prefix = g_strdup("sdvisor: ");
  tags->console_prefix_len = strlen(tags->console_prefix);
  return tags;
}

SvJournal *
sv_journal_new(const SvJournalOptions *options, GError **error)
{
  g_return_val_if_fail(options != NULL && options->identifier != NULL, NULL);

  SvJournal *j = g_new0(SvJournal, 1);
  j->configured = options->target;
  j->console_fd = options->console_fd >= 0 ? options->console_fd : STDERR_FILENO;
  j->console_is_tty = isatty(j->console_fd);
  j->socket_path = g_strdup(options->journal_socket ? options->journal_socket : SV_JOURNAL_SOCKET);
  j->identifier = g_strdup(options->identifier);
  j->max_bytes = options->queue_max_bytes ? options->queue_max_bytes : SV_JOURNAL_QUEUE_MAX_BYTES;
  j->max_entries =
      options->queue_max_entries ? options->queue_max_entries : SV_JOURNAL_QUEUE_MAX_ENTRIES;
  j->low_bytes = j->max_bytes / 2;
  j->low_entries = j->max_entries / 2;
  j->owner = g_thread_self();
  j->uid = geteuid();
  j->gid = getegid();
  j->sock = -1;
  j->creds_allowed = TRUE;
  j->console_buf = g_byte_array_sized_new(CONSOLE_CHUNK + 4096);
  j->spare = g_ptr_array_new();
  g_mutex_init(&j->lock);
  g_cond_init(&j->work_cond);
  g_cond_init(&j->done_cond);
  g_queue_init(&j->pending);

  j->static_wire = g_byte_array_new();
  j->unit_wire = g_byte_array_new();
  g_autofree char *own_unit = NULL;
  if (j->uid == 0 && sd_pid_get_unit(0, &own_unit) >= 0)
    wire_append(j->unit_wire, "OBJECT_SYSTEMD_UNIT", 19, own_unit, strlen(own_unit));
  static_wire_fill(j->static_wire, options->fields);

  /* Where entries go first. A person at a terminal reads the app there (log.c's rule);
   * the journal is tried once here, and again later only if it failed. */
  switch (j->configured) {
  case SV_JOURNAL_TARGET_CONSOLE:
    j->may_use_journal = FALSE;
    break;
  case SV_JOURNAL_TARGET_JOURNAL:
    j->may_use_journal = TRUE;
    break;
  default:
    j->may_use_journal = stderr_is_journal(j->console_fd) || !j->console_is_tty;
    break;
  }
  j->target_now = SV_JOURNAL_TARGET_CONSOLE;
  if (j->may_use_journal) {
    int fd = journal_connect(j->socket_path);
    if (fd >= 0) {
      j->sock = fd;
      j->target_now = SV_JOURNAL_TARGET_JOURNAL;
    } else {
      j->next_connect_usec = g_get_monotonic_time() + RECONNECT_USEC;
    }
  }

  j->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (j->wake_fd < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "eventfd: %s", g_strerror(errsv));
    journal_disconnect(j);
    g_byte_array_unref(j->static_wire);
    g_byte_array_unref(j->unit_wire);
    g_byte_array_unref(j->console_buf);
    g_ptr_array_unref(j->spare);
    g_free(j->socket_path);
    g_free(j->identifier);
    g_free(j);
    return NULL;
  }
  j->wake_source = g_unix_fd_source_new(j->wake_fd, G_IO_IN);
  g_source_set_callback(j->wake_source, (GSourceFunc)(void (*)(void))on_wake, j, NULL);
  g_source_set_priority(j->wake_source, G_PRIORITY_DEFAULT);
  g_source_attach(j->wake_source, g_main_context_get_thread_default());
  j->commit_source = g_source_new(&commit_source_funcs, sizeof(CommitSource));
  ((CommitSource *)j->commit_source)->journal = j;
  g_source_set_name(j->commit_source, "sv-journal-commit");
  g_source_attach(j->commit_source, g_main_context_get_thread_default());

  j->own_tags = own_tags_new(j);

  /* No signal for the writer: they are sdvisor's main loop's (signalfd), and a write
   * to a closed console must be EPIPE, not SIGPIPE. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  j->thread = g_thread_try_new("sv-journal", writer_main, j, error);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (j->thread == NULL) {
    j->thread = NULL;
    sv_journal_free(j);
    return NULL;
  }
  return j;
}

void
sv_journal_free(SvJournal *journal)
{
  if (journal == NULL)
    return;
  SvJournal *j = journal;
  if (j->thread != NULL) {
    if (!j->stuck)
      (void)sv_journal_flush(j, -1);
    g_mutex_lock(&j->lock);
    gboolean idle = g_queue_is_empty(&j->pending) && j->queued_entries == 0;
    j->quit = TRUE;
    g_cond_signal(&j->work_cond);
    g_mutex_unlock(&j->lock);
    if (!idle) {
      /* The writer is stuck in a send that may never return (journald stopped):
       * leave it and what it holds; the process is about to exit. */
      g_thread_unref(j->thread);
      return;
    }
    g_thread_join(j->thread);
  }
  if (j->wake_source != NULL) {
    g_source_destroy(j->wake_source);
    g_source_unref(j->wake_source);
  }
  if (j->commit_source != NULL) {
    g_source_destroy(j->commit_source);
    g_source_unref(j->commit_source);
  }
  if (j->wake_fd >= 0)
    close(j->wake_fd);
  journal_disconnect(j);
  batch_free(j->open);
  Batch *b;
  while ((b = g_queue_pop_head(&j->pending)) != NULL)
    batch_free(b);
  g_ptr_array_foreach(j->spare, (GFunc)(void (*)(void))batch_free, NULL);
  g_ptr_array_unref(j->spare);
  sv_journal_tags_unref(j->own_tags);
  g_byte_array_unref(j->static_wire);
  g_byte_array_unref(j->unit_wire);
  g_byte_array_unref(j->console_buf);
  g_mutex_clear(&j->lock);
  g_cond_clear(&j->work_cond);
  g_cond_clear(&j->done_cond);
  g_free(j->socket_path);
  g_free(j->identifier);
  g_free(j);
}

SvJournalTarget
sv_journal_get_target(SvJournal *journal)
{
  return (SvJournalTarget)g_atomic_int_get(&journal->target_now);
}

void
sv_journal_set_identity(SvJournal *journal, const char *identifier, const char *const *fields)
{
  g_return_if_fail(identifier != NULL);
  SvJournal *j = journal;
  g_return_if_fail(g_thread_self() == j->owner);
  /* Only the owner reads these two (sv_journal_tags_new()); the writer reads tags. */
  g_free(j->identifier);
  j->identifier = g_strdup(identifier);
  GByteArray *wire = g_byte_array_new();
  static_wire_fill(wire, fields);
  g_byte_array_unref(j->static_wire);
  j->static_wire = wire;
  /* sdvisor's own messages carry the fields too. Other threads take their reference
   * to own_tags under the lock; the owner reads it without. */
  SvJournalTags *own = own_tags_new(j);
  g_mutex_lock(&j->lock);
  SvJournalTags *old = j->own_tags;
  j->own_tags = own;
  g_mutex_unlock(&j->lock);
  sv_journal_tags_unref(old); /* queued entries hold their own references */
}

SvJournalTags *
sv_journal_tags_new(SvJournal *journal, SvLogSource source, int stream, const char *const *fields)
{
  SvJournalTags *tags = g_new0(SvJournalTags, 1);
  g_atomic_ref_count_init(&tags->ref);
  tags->wire = g_byte_array_new();
  const char *ident = source == SV_LOG_SOURCE_SDVISOR ? "sdvisor" : journal->identifier;
  wire_append(tags->wire, "SYSLOG_IDENTIFIER", 17, ident, strlen(ident));
  const char *src = sv_log_source_name(source);
  wire_append(tags->wire, "SDVISOR_SOURCE", 14, src, strlen(src));
  if (stream >= 0) {
    const char *s = stream == SV_LOG_STREAM_STDERR ? "stderr" : "stdout";
    wire_append(tags->wire, "SDVISOR_STREAM", 14, s, strlen(s));
  }
  g_byte_array_append(tags->wire, journal->static_wire->data, journal->static_wire->len);
  if (source != SV_LOG_SOURCE_SDVISOR)
    g_byte_array_append(tags->wire, journal->unit_wire->data, journal->unit_wire->len);
  append_assignments(tags->wire, fields);
  return tags;
}

SvJournalTags *
sv_journal_tags_ref(SvJournalTags *tags)
{
  g_atomic_ref_count_inc(&tags->ref);
  return tags;
}

void
sv_journal_tags_unref(SvJournalTags *tags)
{
  if (tags == NULL || !g_atomic_ref_count_dec(&tags->ref))
    return;
  g_byte_array_unref(tags->wire);
  g_free(tags->console_prefix);
  g_free(tags);
}

void
sv_journal_tags_set_pid(SvJournalTags *tags, pid_t pid)
{
  g_atomic_int_set(&tags->pid_gone, 0);
  g_atomic_int_set(&tags->pid, (int)MAX(pid, 0));
}

/* Under the lock: a spare batch, or NULL. */
static Batch *
take_spare_locked(SvJournal *j)
{
  return j->spare->len > 0 ? g_ptr_array_steal_index_fast(j->spare, j->spare->len - 1) : NULL;
}

static void
push_locked(SvJournal *j, Batch *b)
{
  g_queue_push_tail(&j->pending, b);
  j->queued_bytes += b->data->len;
  j->queued_entries += b->n_records;
  if (j->writer_waiting)
    g_cond_signal(&j->work_cond);
}

void
sv_journal_commit(SvJournal *journal)
{
  SvJournal *j = journal;
  Batch *b = j->open;
  if (b == NULL || b->n_records == 0)
    return;
  g_mutex_lock(&j->lock);
  push_locked(j, b);
  if (j->queued_bytes >= j->max_bytes || j->queued_entries >= j->max_entries) {
    if (!j->want_space)
      j->stats.times_full++;
    j->want_space = TRUE;
    j->full = TRUE;
  }
  j->open = take_spare_locked(j);
  g_mutex_unlock(&j->lock);
}

static Batch *
open_batch(SvJournal *j)
{
  if (j->open == NULL)
    j->open = batch_new();
  return j->open;
}

void
sv_journal_add(SvJournal *journal, SvJournalTags *tags, const SvLogEntry *entry)
{
  Batch *b = open_batch(journal);
  batch_add(b, tags, entry->priority, entry->message->data, entry->message->len, entry->flags,
            entry->fields, NULL, NULL);
  if (b->data->len >= BATCH_COMMIT_BYTES || b->n_records >= BATCH_COMMIT_RECORDS)
    sv_journal_commit(journal);
}

gboolean
sv_journal_is_full(SvJournal *journal)
{
  return journal->full;
}

void
sv_journal_set_space_func(SvJournal *journal, SvJournalSpaceFunc func, gpointer user_data)
{
  journal->space_func = func;
  journal->space_data = user_data;
}

/* Waits, under the lock, until DONE(j) or the deadline (-1: none). */
static gboolean
wait_locked(SvJournal *j, gboolean (*done)(SvJournal *), gint64 deadline)
{
  gboolean ok = TRUE;
  j->waiters++;
  while (!done(j)) {
    if (deadline < 0) {
      g_cond_wait(&j->done_cond, &j->lock);
    } else if (!g_cond_wait_until(&j->done_cond, &j->lock, deadline) && !done(j)) {
      ok = FALSE;
      break;
    }
  }
  j->waiters--;
  return ok;
}

static gboolean
below_low_water(SvJournal *j)
{
  return j->queued_bytes <= j->low_bytes && j->queued_entries <= j->low_entries;
}

static gboolean
drained(SvJournal *j)
{
  return j->queued_entries == 0;
}

gboolean
sv_journal_wait_space(SvJournal *journal, gint64 timeout_usec)
{
  SvJournal *j = journal;
  sv_journal_commit(j);
  gint64 deadline = timeout_usec < 0 ? -1 : g_get_monotonic_time() + timeout_usec;
  g_mutex_lock(&j->lock);
  gboolean ok = wait_locked(j, below_low_water, deadline);
  g_mutex_unlock(&j->lock);
  if (ok)
    j->full = FALSE;
  return ok;
}

gboolean
sv_journal_flush(SvJournal *journal, gint64 timeout_usec)
{
  SvJournal *j = journal;
  sv_journal_commit(j);
  gint64 deadline = timeout_usec < 0 ? -1 : g_get_monotonic_time() + timeout_usec;
  g_mutex_lock(&j->lock);
  gboolean ok = wait_locked(j, drained, deadline);
  g_mutex_unlock(&j->lock);
  if (ok)
    j->full = FALSE;
  j->stuck = !ok;
  return ok;
}

gboolean
sv_journal_flush_final(SvJournal *journal, gint64 timeout_usec)
{
  SvJournal *j = journal;
  if (sv_journal_flush(j, timeout_usec))
    return TRUE;
  SvJournalStats stats;
  sv_journal_get_stats(j, &stats);
  g_autofree char *notice = g_strdup_printf(
      "%ssdvisor: %" G_GUINT64_FORMAT " entries not written: the %s took none for %.1fs\n",
      j->console_is_tty ? "" : "<3>", stats.entries_queued,
      sv_journal_get_target(j) == SV_JOURNAL_TARGET_JOURNAL ? "journal" : "console",
      timeout_usec / 1e6);
  /* Never blocking: the console may be what is stuck. */
  struct pollfd pfd = {.fd = j->console_fd, .events = POLLOUT};
  if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT))
    (void)!write(j->console_fd, notice, strlen(notice));
  return FALSE;
}

void
sv_journal_log(SvJournal *journal, int priority, const char *message_id, const char *const *fields,
               const char *message)
{
  SvJournal *j = journal;
  gsize len = strlen(message);
  if (g_thread_self() == j->owner) {
    /* After the output read before it, in the same batch; committed before the loop
     * sleeps (commit_prepare), or at once when the batch is due. */
    Batch *b = open_batch(j);
    batch_add(b, j->own_tags, priority, message, len, 0, NULL, message_id, fields);
    if (b->data->len >= BATCH_COMMIT_BYTES || b->n_records >= BATCH_COMMIT_RECORDS)
      sv_journal_commit(j);
    return;
  }
  Batch *b = NULL;
  g_mutex_lock(&j->lock);
  b = take_spare_locked(j);
  /* The owner may replace own_tags (sv_journal_set_identity()) meanwhile. */
  g_autoptr(SvJournalTags) tags = sv_journal_tags_ref(j->own_tags);
  g_mutex_unlock(&j->lock);
  if (b == NULL)
    b = batch_new();
  batch_add(b, tags, priority, message, len, 0, NULL, message_id, fields);
  g_mutex_lock(&j->lock);
  push_locked(j, b);
  g_mutex_unlock(&j->lock);
}

void
sv_journal_log_func(int priority, const char *message_id, const char *const *fields,
                    const char *message, gpointer journal)
{
  sv_journal_log(journal, priority, message_id, fields, message);
}

void
sv_journal_get_stats(SvJournal *journal, SvJournalStats *out)
{
  g_mutex_lock(&journal->lock);
  *out = journal->stats;
  out->bytes_queued = journal->queued_bytes;
  out->entries_queued = journal->queued_entries;
  g_mutex_unlock(&journal->lock);
}

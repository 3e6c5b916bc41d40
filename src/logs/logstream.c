/* logstream.c — see logstream.h.
 *
 * Each reader is one GSource with the pipe's fd and a ready time: the fd while it may
 * read, the ready time only while logmerge holds an entry. So a reader costs nothing
 * when its child is quiet, and stopping it (a full sink) is taking its fd out of the
 * poll set — not leaving it in with no events, where a closed pipe's POLLHUP would
 * wake the loop again and again. */
#include "logstream.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "logmerge.h"

/* One read() takes at most this much; the buffer is on the stack of the main loop. */
#define READ_CHUNK (64u * 1024)
/* A pipe given up on at the end is still emptied of this much, without waiting. */
#define DRAIN_LAST_BYTES (1024u * 1024)

typedef struct SvLogReader SvLogReader;

struct SvLogStreams {
  SvJournal *sink;
  SvLogParser *parser; /* shared: readers run on one thread, one line at a time */
  SvLogEntry *scratch; /* the line being parsed; logmerge takes its contents */
  SvLogMergeConfig merge;
  guint line_max;
  GPtrArray *readers; /* SvLogReader *, each holding the reference we took at creation */
  gboolean suspended; /* the sink is full: no reader polls its fd */
};

struct SvLogReader {
  GSource source;
  SvLogStreams *streams;
  int fd;
  gpointer fd_tag; /* NULL while suspended */
  SvLogStream stream;
  SvLogSource origin; /* with STREAM, FIELDS and PID: what the tags are made of again */
  char **fields;
  pid_t pid;
  SvJournalTags *tags;
  SvLogMerge *merge;
  SvLineSplitter lines;
  gint64 now; /* of the read being split, for logmerge */
};

/* ---- lines --------------------------------------------------------------------------------- */

static void
on_merged(const SvLogEntry *entry, gpointer user_data)
{
  SvLogReader *r = user_data;
  sv_journal_add(r->streams->sink, r->tags, entry);
}

static void
on_line(const guint8 *line, gsize len, guint flags, gpointer user_data)
{
  SvLogReader *r = user_data;
  SvLogStreams *s = r->streams;
  sv_logparse_line(s->parser, r->stream, (const char *)line, len, flags, s->scratch);
  sv_logmerge_push(r->merge, s->scratch, r->now);
}

void
sv_logstream_splitter_init(SvLineSplitter *splitter, gsize line_max, SvLineFunc func,
                           gpointer user_data)
{
  g_return_if_fail(line_max > 0 && func != NULL);
  *splitter = (SvLineSplitter){.line_max = line_max, .func = func, .user_data = user_data};
}

static void
emit_piece(SvLineSplitter *sp, const guint8 *line, gsize len, gboolean partial)
{
  guint flags = (sp->continued ? SV_LOG_ENTRY_CONTINUED : 0) | (partial ? SV_LOG_ENTRY_PARTIAL : 0);
  sp->continued = partial;
  sp->func(line, len, flags, sp->user_data);
}

static void
carry_append(SvLineSplitter *sp, const guint8 *p, gsize len)
{
  if (sp->carry == NULL)
    sp->carry = g_byte_array_new();
  g_byte_array_append(sp->carry, p, (guint)len);
}

/* Splits DATA into lines: at '\n', and every line-max bytes of a longer line. A line
 * that does not end in DATA waits in CARRY for the next call. */
void
sv_logstream_split(SvLineSplitter *splitter, const guint8 *data, gsize len)
{
  SvLineSplitter *sp = splitter;
  const guint8 *p = data, *end = data + len;
  gsize line_max = sp->line_max;

  while (p < end) {
    gsize carry = sp->carry != NULL ? sp->carry->len : 0;
    gsize room = line_max - carry; /* carry never exceeds line-max */
    gsize avail = (gsize)(end - p);
    const guint8 *nl = memchr(p, '\n', MIN(avail, room + 1));
    if (nl != NULL) {
      gsize k = (gsize)(nl - p);
      if (carry == 0) {
        emit_piece(sp, p, k, FALSE); /* the common case: no copy */
      } else {
        carry_append(sp, p, k);
        emit_piece(sp, sp->carry->data, sp->carry->len, FALSE);
        g_byte_array_set_size(sp->carry, 0);
      }
      p = nl + 1;
    } else if (avail > room) {
      /* No newline in the next line-max bytes of this line: cut it there. */
      if (carry == 0) {
        emit_piece(sp, p, room, TRUE);
      } else {
        carry_append(sp, p, room);
        emit_piece(sp, sp->carry->data, sp->carry->len, TRUE);
        g_byte_array_set_size(sp->carry, 0);
      }
      p += room;
    } else {
      carry_append(sp, p, avail);
      p = end;
    }
  }
}

void
sv_logstream_split_end(SvLineSplitter *splitter)
{
  SvLineSplitter *sp = splitter;
  if (sp->carry != NULL && sp->carry->len > 0) {
    emit_piece(sp, sp->carry->data, sp->carry->len, FALSE);
    g_byte_array_set_size(sp->carry, 0);
  }
}

void
sv_logstream_splitter_clear(SvLineSplitter *splitter)
{
  if (splitter->carry != NULL)
    g_byte_array_unref(g_steal_pointer(&splitter->carry));
  splitter->continued = FALSE;
}

/* ---- readers ------------------------------------------------------------------------------- */

static void
reader_arm(SvLogReader *r)
{
  gint64 deadline = sv_logmerge_next_deadline(r->merge);
  g_source_set_ready_time(&r->source, deadline >= 0 ? deadline : -1);
}

static void
reader_suspend(SvLogReader *r)
{
  if (r->fd_tag == NULL)
    return;
  g_source_remove_unix_fd(&r->source, r->fd_tag);
  r->fd_tag = NULL;
}

static void
reader_resume(SvLogReader *r)
{
  if (r->fd_tag != NULL || r->fd < 0)
    return;
  r->fd_tag = g_source_add_unix_fd(&r->source, r->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
}

/* End of the pipe: what is read and held goes to the sink, and the reader goes. */
static void
reader_close(SvLogReader *r, gint64 now)
{
  SvLogStreams *s = r->streams;
  r->now = now;
  sv_logstream_split_end(&r->lines);
  sv_logmerge_flush(r->merge);
  sv_journal_commit(s->sink);
  reader_suspend(r);
  g_source_set_ready_time(&r->source, -1);
  g_source_destroy(&r->source);
  g_ptr_array_remove_fast(s->readers, r);
  /* The array's reference: the source is finalized when the loop lets go of it too
   * (after this dispatch, if this is one). R must not be used after this. */
  g_source_unref(&r->source);
}

typedef enum { READ_NOTHING, READ_DATA, READ_EOF } ReadResult;

static ReadResult
reader_read(SvLogReader *r, gint64 now)
{
  guint8 buf[READ_CHUNK];
  ssize_t n = read(r->fd, buf, sizeof buf);
  if (n > 0) {
    r->now = now;
    sv_logstream_split(&r->lines, buf, (gsize)n);
    return READ_DATA;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return READ_NOTHING;
  /* 0, or an error a pipe does not recover from. */
  return READ_EOF;
}

static void streams_suspend(SvLogStreams *s);

static gboolean
reader_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  SvLogReader *r = (SvLogReader *)source;
  SvLogStreams *s = r->streams;
  gint64 now = g_source_get_time(source);

  if (r->fd_tag != NULL &&
      (g_source_query_unix_fd(source, r->fd_tag) & (G_IO_IN | G_IO_HUP | G_IO_ERR)) &&
      reader_read(r, now) == READ_EOF) {
    reader_close(r, now);
    return G_SOURCE_REMOVE;
  }
  sv_logmerge_flush_due(r->merge, now);
  reader_arm(r);
  sv_journal_commit(s->sink);
  if (sv_journal_is_full(s->sink))
    streams_suspend(s);
  return G_SOURCE_CONTINUE;
}

static void
reader_finalize(GSource *source)
{
  SvLogReader *r = (SvLogReader *)source;
  if (r->fd >= 0)
    close(r->fd);
  sv_logmerge_free(r->merge);
  sv_journal_tags_unref(r->tags);
  g_strfreev(r->fields);
  sv_logstream_splitter_clear(&r->lines);
}

static GSourceFuncs reader_funcs = {
    .dispatch = reader_dispatch,
    .finalize = reader_finalize,
};

static SvLogReader *
reader_new(SvLogStreams *s, int fd, SvLogSource source, SvLogStream stream,
           const char *const *fields)
{
  SvLogReader *r = (SvLogReader *)g_source_new(&reader_funcs, sizeof(SvLogReader));
  g_source_set_static_name(&r->source, "sv-logstream");
  r->streams = s;
  r->fd = fd;
  r->stream = stream;
  r->origin = source;
  r->fields = g_strdupv((char **)fields);
  r->tags = sv_journal_tags_new(s->sink, source, stream, fields);
  r->merge = sv_logmerge_new(&s->merge, on_merged, r);
  sv_logstream_splitter_init(&r->lines, s->line_max, on_line, r);
  if (!s->suspended)
    reader_resume(r);
  g_source_attach(&r->source, g_main_context_get_thread_default());
  g_ptr_array_add(s->readers, r);
  return r;
}

static void
streams_suspend(SvLogStreams *s)
{
  if (s->suspended)
    return;
  s->suspended = TRUE;
  for (guint i = 0; i < s->readers->len; i++)
    reader_suspend(s->readers->pdata[i]);
}

static void
streams_resume(SvLogStreams *s)
{
  s->suspended = FALSE;
  for (guint i = 0; i < s->readers->len; i++)
    reader_resume(s->readers->pdata[i]);
}

static void
on_sink_space(SvJournal *sink, gpointer user_data)
{
  SvLogStreams *s = user_data;
  if (!sv_journal_is_full(sink))
    streams_resume(s);
}

/* ---- the set -------------------------------------------------------------------------------- */

static SvLogParser *
parser_new(const SvLogConfig *config)
{
  SvLogParseConfig pc;
  sv_logparse_config_init(&pc);
  pc.default_priority_stdout = config->priority_stdout;
  pc.default_priority_stderr = config->priority_stderr;
  pc.parse_json = config->parse_json;
  pc.detect_levels = config->detect_levels;
  pc.json_field_prefix = config->json_prefix != NULL ? config->json_prefix : "";
  return sv_logparse_new(&pc);
}

static void
merge_config_from(SvLogMergeConfig *merge, const SvLogConfig *config)
{
  sv_logmerge_config_init(merge);
  merge->merge_tracebacks = config->merge_tracebacks;
  merge->merge_continuations = config->merge_continuations;
  merge->window_usec = config->merge_window_usec;
  if (config->entry_max > 0)
    merge->max_bytes = config->entry_max;
}

static gboolean
merge_config_equal(const SvLogMergeConfig *a, const SvLogMergeConfig *b)
{
  return a->merge_tracebacks == b->merge_tracebacks &&
         a->merge_continuations == b->merge_continuations && a->window_usec == b->window_usec &&
         a->hold_max_usec == b->hold_max_usec && a->max_bytes == b->max_bytes &&
         a->max_lines == b->max_lines;
}

SvLogStreams *
sv_logstream_new(SvJournal *sink, const SvLogConfig *config)
{
  g_return_val_if_fail(sink != NULL && config != NULL, NULL);
  SvLogStreams *s = g_new0(SvLogStreams, 1);
  s->sink = sink;
  s->parser = parser_new(config);
  s->scratch = sv_log_entry_new();
  merge_config_from(&s->merge, config);
  /* config.c keeps line-max within 79 B … 16 MiB; 0 is a caller that did not load one. */
  s->line_max = config->line_max > 0 ? config->line_max : 48 * 1024;

  s->readers = g_ptr_array_new();
  sv_journal_set_space_func(sink, on_sink_space, s);
  return s;
}

void
sv_logstream_free(SvLogStreams *streams)
{
  if (streams == NULL)
    return;
  SvLogStreams *s = streams;
  gint64 now = g_get_monotonic_time();
  while (s->readers->len > 0) {
    SvLogReader *r = s->readers->pdata[s->readers->len - 1];
    reader_close(r, now); /* removes it from the array */
  }
  sv_journal_set_space_func(s->sink, NULL, NULL);
  g_ptr_array_unref(s->readers);
  sv_logparse_free(s->parser);
  sv_log_entry_free(s->scratch);
  g_free(s);
}

void
sv_logstream_reconfigure(SvLogStreams *streams, const SvLogConfig *config)
{
  g_return_if_fail(streams != NULL && config != NULL);
  SvLogStreams *s = streams;
  /* Called between two dispatches: no reader is inside a line, and the parser and
   * merge settings can be swapped under them. */
  sv_logparse_free(s->parser);
  s->parser = parser_new(config);

  SvLogMergeConfig merge;
  merge_config_from(&merge, config);
  gboolean merge_changed = !merge_config_equal(&merge, &s->merge);
  s->merge = merge;

  for (guint i = 0; i < s->readers->len; i++) {
    SvLogReader *r = s->readers->pdata[i];
    if (merge_changed) {
      /* What is held was read under the old settings, and goes out as it is. */
      sv_logmerge_flush(r->merge);
      sv_logmerge_free(r->merge);
      r->merge = sv_logmerge_new(&s->merge, on_merged, r);
      reader_arm(r);
    }
    /* Entries queued keep the tags they hold; from here on the sink's new ones. */
    SvJournalTags *tags =
        sv_journal_tags_new(s->sink, r->origin, r->stream, (const char *const *)r->fields);
    if (r->pid > 0)
      sv_journal_tags_set_pid(tags, r->pid);
    sv_journal_tags_unref(r->tags);
    r->tags = tags;
  }
  sv_journal_commit(s->sink);
}

static int
open_pipe(int *out_write)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return -errno;
  /* Only sdvisor's end is non-blocking: the child's end blocks, which is the
   * backpressure. */
  if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
    int r = -errno;
    close(fds[0]);
    close(fds[1]);
    return r;
  }
  *out_write = fds[1];
  return fds[0];
}

gboolean
sv_logstream_open(SvLogStreams *streams, SvLogSource source, const char *const *fields,
                  SvLogPipes *pipes, GError **error)
{
  g_return_val_if_fail(streams != NULL && pipes != NULL, FALSE);
  *pipes = (SvLogPipes)SV_LOG_PIPES_INIT;
  int w_out = -1, w_err = -1;
  int r_out = open_pipe(&w_out);
  int r_err = r_out >= 0 ? open_pipe(&w_err) : -1;
  if (r_out < 0 || r_err < 0) {
    int errsv = r_out < 0 ? -r_out : -r_err;
    if (r_out >= 0) {
      close(r_out);
      close(w_out);
    }
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot make a pipe: %s",
                g_strerror(errsv));
    return FALSE;
  }
  pipes->readers[0] = reader_new(streams, r_out, source, SV_LOG_STREAM_STDOUT, fields);
  pipes->readers[1] = reader_new(streams, r_err, source, SV_LOG_STREAM_STDERR, fields);
  pipes->stdout_fd = w_out;
  pipes->stderr_fd = w_err;
  return TRUE;
}

void
sv_logstream_started(SvLogPipes *pipes, pid_t pid)
{
  for (guint i = 0; i < G_N_ELEMENTS(pipes->readers); i++) {
    SvLogReader *r = pipes->readers[i];
    if (r != NULL && pid > 0) {
      r->pid = pid;
      sv_journal_tags_set_pid(r->tags, pid);
    }
    pipes->readers[i] = NULL;
  }
  if (pipes->stdout_fd >= 0)
    close(pipes->stdout_fd);
  if (pipes->stderr_fd >= 0)
    close(pipes->stderr_fd);
  pipes->stdout_fd = pipes->stderr_fd = -1;
}

void
sv_logstream_job_output(const char *job, const char *const *fields, int *out_stdout,
                        int *out_stderr, gpointer streams)
{
  SvLogPipes pipes;
  g_autoptr(GError) error = NULL;
  if (!sv_logstream_open(streams, SV_LOG_SOURCE_JOB, fields, &pipes, &error)) {
    g_message("job %s: its output goes to sdvisor's own stdout and stderr: %s", job,
              error->message);
    return;
  }
  /* jobs.c closes the write ends after the spawn; it keeps the run's pid itself. */
  *out_stdout = pipes.stdout_fd;
  *out_stderr = pipes.stderr_fd;
}

guint
sv_logstream_count(SvLogStreams *streams)
{
  return streams->readers->len;
}

guint
sv_logstream_count_suspended(SvLogStreams *streams)
{
  return streams->suspended ? streams->readers->len : 0;
}

/* ---- the end -------------------------------------------------------------------------------- */

/* Per reader, at most this much is read by a catch-up: a child still writing fast must
 * not keep the loop here. */
#define CATCH_UP_BYTES (256u * 1024)

void
sv_logstream_catch_up(SvLogStreams *streams)
{
  SvLogStreams *s = streams;
  gint64 now = g_get_monotonic_time();
  g_autoptr(GPtrArray) readers = g_ptr_array_copy(s->readers, NULL, NULL);
  for (guint i = 0; i < readers->len; i++) {
    SvLogReader *r = readers->pdata[i];
    ReadResult result = READ_DATA;
    for (gsize n = 0; n < CATCH_UP_BYTES && result == READ_DATA && !sv_journal_is_full(s->sink);
         n += READ_CHUNK)
      result = reader_read(r, now);
    if (result == READ_EOF) {
      reader_close(r, now);
      continue;
    }
    sv_logmerge_flush(r->merge);
    reader_arm(r);
  }
  sv_journal_commit(s->sink);
  if (sv_journal_is_full(s->sink))
    streams_suspend(s);
}

/* Polls READERS (N of them) up to WAIT_USEC and reads those with data; one at EOF is
 * closed and its slot set to NULL. Adds the time spent to *WAITED; returns the time of
 * the reads, or -1 when poll() failed. */
static gint64
poll_and_read(SvLogReader **readers, guint n, gint64 wait_usec, gint64 *waited)
{
  g_autofree struct pollfd *fds = g_new(struct pollfd, n);
  for (guint i = 0; i < n; i++)
    fds[i] = (struct pollfd){.fd = readers[i]->fd, .events = POLLIN};
  gint64 start = g_get_monotonic_time();
  int r = poll(fds, n, (int)MIN((MAX(wait_usec, 0) + 999) / 1000, G_MAXINT));
  gint64 now = g_get_monotonic_time();
  *waited += now - start;
  if (r < 0 && errno != EINTR)
    return -1;
  for (guint i = 0; r > 0 && i < n; i++) {
    if (fds[i].revents == 0)
      continue;
    if (reader_read(readers[i], now) == READ_EOF) {
      reader_close(readers[i], now);
      readers[i] = NULL;
    }
  }
  return now;
}

guint
sv_logstream_drain_child(SvLogStreams *streams, pid_t pid, gint64 timeout_usec)
{
  SvLogStreams *s = streams;
  g_return_val_if_fail(pid > 0, 0);
  SvLogReader *mine[2];
  guint n = 0;
  for (guint i = 0; i < s->readers->len && n < G_N_ELEMENTS(mine); i++)
    if (((SvLogReader *)s->readers->pdata[i])->pid == pid)
      mine[n++] = s->readers->pdata[i];

  /* The child is gone: what it wrote is in the pipes, and EOF comes as soon as whatever
   * it left in its group (killed by the caller) is gone too. Not past a full sink:
   * blocking the loop on journald here is worse than an entry out of order. */
  gint64 waited = 0;
  while (n > 0 && waited < timeout_usec && !sv_journal_is_full(s->sink)) {
    if (poll_and_read(mine, n, timeout_usec - waited, &waited) < 0)
      break;
    guint kept = 0;
    for (guint i = 0; i < n; i++)
      if (mine[i] != NULL)
        mine[kept++] = mine[i];
    n = kept;
    sv_journal_commit(s->sink);
  }
  /* Still open (a process that left the group holds them): what is held goes out now,
   * and the loop reads on. */
  for (guint i = 0; i < n; i++) {
    sv_logmerge_flush(mine[i]->merge);
    reader_arm(mine[i]);
  }
  sv_journal_commit(s->sink);
  if (sv_journal_is_full(s->sink))
    streams_suspend(s);
  return n;
}

static gint64
earliest_deadline(SvLogStreams *s)
{
  gint64 earliest = -1;
  for (guint i = 0; i < s->readers->len; i++) {
    gint64 d = sv_logmerge_next_deadline(((SvLogReader *)s->readers->pdata[i])->merge);
    if (d >= 0 && (earliest < 0 || d < earliest))
      earliest = d;
  }
  return earliest;
}

static void
flush_due_all(SvLogStreams *s, gint64 now)
{
  for (guint i = 0; i < s->readers->len; i++) {
    SvLogReader *r = s->readers->pdata[i];
    sv_logmerge_flush_due(r->merge, now);
    reader_arm(r);
  }
}

guint
sv_logstream_drain(SvLogStreams *streams, gint64 idle_usec)
{
  SvLogStreams *s = streams;
  gint64 waited = 0;
  g_autofree SvLogReader **polled = NULL;

  /* No main loop from here on: the readers are polled here, and the sink's fullness is
   * waited for here, by blocking — there is nothing else left to do. */
  while (s->readers->len > 0 && waited < idle_usec) {
    if (sv_journal_is_full(s->sink)) {
      (void)sv_journal_wait_space(s->sink, -1);
      continue;
    }
    guint n = s->readers->len;
    polled = g_renew(SvLogReader *, polled, n);
    for (guint i = 0; i < n; i++)
      polled[i] = s->readers->pdata[i];
    gint64 wait = idle_usec - waited;
    gint64 deadline = earliest_deadline(s);
    if (deadline >= 0)
      wait = MIN(wait, MAX(deadline - g_get_monotonic_time(), 0));
    gint64 now = poll_and_read(polled, n, wait, &waited);
    if (now < 0)
      break;
    flush_due_all(s, now);
    sv_journal_commit(s->sink);
  }

  /* Still open: a process outside the child's group holds the pipe. What it wrote so far
   * is read (up to a bound: it may still be writing), then the pipe is closed. */
  guint given_up = s->readers->len;
  while (s->readers->len > 0) {
    SvLogReader *r = s->readers->pdata[s->readers->len - 1];
    gint64 now = g_get_monotonic_time();
    for (gsize total = 0; total < DRAIN_LAST_BYTES; total += READ_CHUNK) {
      if (sv_journal_is_full(s->sink))
        (void)sv_journal_wait_space(s->sink, -1);
      if (reader_read(r, now) != READ_DATA)
        break;
      sv_journal_commit(s->sink);
    }
    reader_close(r, now);
  }
  sv_journal_commit(s->sink);
  return given_up;
}

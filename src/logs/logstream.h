/* logstream.h — reads children's stdout and stderr pipes into the journal sink.
 *
 * Whoever spawns a child (the supervisor for the app, hooks.c, jobs.c, probe.c for
 * exec: checks) asks for its pipes, spawns with the write ends, and says so:
 *
 *     SvLogPipes pipes;
 *     if (!sv_logstream_open(streams, SV_LOG_SOURCE_HOOK, fields, &pipes, &error))
 *       …                                 // fall back to inheriting sdvisor's stdio
 *     options.stdout_fd = pipes.stdout_fd;
 *     options.stderr_fd = pipes.stderr_fd;
 *     sv_spawn(&options, &pid, …);
 *     sv_logstream_started(&pipes, pid); // closes the write ends; pid ≤ 0 if none
 *
 * From then on each pipe has a reader that lives until EOF — that is, until the last
 * process holding the write end (the child, or a grandchild it left behind) is gone —
 * and frees itself; nobody has to keep or free it. SvLogStreams is the set of them
 * (with the settings from [log]), owned by the supervisor.
 *
 * A reader, on the main loop, never blocking it: reads the O_NONBLOCK read end when
 * poll says so; splits at '\n' (NUL and invalid UTF-8 are kept inside the line, as
 * bytes); cuts a line longer than [log] line-max into pieces flagged
 * SV_LOG_ENTRY_PARTIAL/…_CONTINUED (the journal marks them SDVISOR_LINE_BREAK=line-max);
 * parses each line (logparse) and joins tracebacks and continuation lines (logmerge),
 * with ONE timer per reader armed only while logmerge holds an entry — an idle
 * sdvisor has no timer; tags each entry (SDVISOR_SOURCE, SDVISOR_STREAM, the caller's
 * FIELDS) and queues it in the sink. When the sink is full, every reader stops reading
 * until it has room again: the children block on their full pipes, nothing is lost.
 * At EOF whatever is held goes out.
 *
 * At the end, sv_logstream_drain() reads what is left — without the main loop — until
 * every pipe is at EOF or a bound passes, and hands it all to the sink.
 *
 * FIELDS of a child: "NAME=VALUE" strings, e.g. SDVISOR_HOOK=migrate for a hook,
 * SDVISOR_JOB=… and SDVISOR_JOB_RUN=… for a job run, SDVISOR_CHECK=… for a check. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#include "config.h"
#include "journal.h"

typedef struct SvLogStreams SvLogStreams;

/* Readers for the children of one sdvisor, with CONFIG's line-max, parse and merge
 * settings (copied), writing to SINK (which must outlive them). */
SvLogStreams *sv_logstream_new(SvJournal *sink, const SvLogConfig *config);
/* Frees every reader still open, after handing what it holds to the sink; their
 * unread pipe contents are lost — call sv_logstream_drain() first. NULL-safe. */
void sv_logstream_free(SvLogStreams *streams);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLogStreams, sv_logstream_free)

/* At reload: CONFIG's parse and merge settings for every line read from now on, by the
 * readers already open too (the app's pipes), and tags made again from the sink's
 * identifier and fields (call after sv_journal_set_identity()). An entry logmerge holds
 * goes out first as it was, if the merge settings change. line-max stays: the readers'
 * splitters are cut to it (a restart changes it). */
void sv_logstream_reconfigure(SvLogStreams *streams, const SvLogConfig *config);

typedef struct {
  int stdout_fd; /* write ends for the child (O_CLOEXEC: spawn dups them onto 1 and 2) */
  int stderr_fd;
  /* private */
  gpointer readers[2];
} SvLogPipes;

#define SV_LOG_PIPES_INIT                                                                          \
  {                                                                                                \
    .stdout_fd = -1, .stderr_fd = -1                                                               \
  }

/* Makes a pipe for each of the child's stdout and stderr, with a reader on the main
 * loop for each. On failure (out of fds) nothing is left open, PIPES holds -1s, and the
 * caller lets the child inherit sdvisor's stdio. */
gboolean sv_logstream_open(SvLogStreams *streams, SvLogSource source, const char *const *fields,
                           SvLogPipes *pipes, GError **error);
/* After the spawn: closes the write ends (the child has its copies), and records PID
 * (≤ 0: the spawn failed; the readers then see EOF at once) so journal entries carry
 * the child's credentials. Call before returning to the main loop. */
void sv_logstream_started(SvLogPipes *pipes, pid_t pid);

/* For sv_jobs_set_output_func(jobs, sv_logstream_job_output, streams): makes the pipes
 * of one job run, tagged with the run's FIELDS; jobs.c closes the write ends after the
 * spawn. Leaves -1s (inherit) if the pipes cannot be made. */
void sv_logstream_job_output(const char *job, const char *const *fields, int *out_stdout,
                             int *out_stderr, gpointer streams);

/* Reads what the pipes hold right now (without waiting, and not past a full sink) and
 * lets go of every entry logmerge holds. The supervisor calls it when the app has
 * exited, before saying so: the app's last lines — its traceback — come first. */
void sv_logstream_catch_up(SvLogStreams *streams);

/* The pipes of one child that has exited (PID as given to sv_logstream_started()): read
 * until EOF, without the main loop, and what logmerge holds of them goes to the sink, so
 * that an entry written after this one comes after the child's last line (a hook's
 * "finished"). Gives up after TIMEOUT_USEC (a process that left the child's group holds
 * a pipe, or writes without end: the loop then reads on), and at once when the sink is
 * full. Returns the number of pipes still open. */
guint sv_logstream_drain_child(SvLogStreams *streams, pid_t pid, gint64 timeout_usec);

/* Reads every open pipe until EOF, without the main loop, and hands everything to the
 * sink. Gives up on pipes still open after IDLE_USEC of waiting for them (a process
 * that left the group still holds one); time spent waiting for a full sink does not
 * count. Then what is held goes out. Returns the number of pipes given up on. */
guint sv_logstream_drain(SvLogStreams *streams, gint64 idle_usec);

/* Readers open now, and how many of them are stopped because the sink is full. */
guint sv_logstream_count(SvLogStreams *streams);
guint sv_logstream_count_suspended(SvLogStreams *streams);

/* ---- the line splitter ------------------------------------------------------------------ */

/* A reader's first step, pure (no fd, no loop) so tests and tests/fuzz drive it alone.
 * Cuts a byte stream into pieces: at '\n', which is dropped, and every LINE_MAX bytes of
 * a longer line, where nothing is dropped: that piece is flagged SV_LOG_ENTRY_PARTIAL and
 * the next one SV_LOG_ENTRY_CONTINUED. NUL and invalid UTF-8 are bytes like any other. No
 * piece is longer than LINE_MAX and a PARTIAL one is exactly that long; how the stream is
 * cut into calls does not change the pieces. A line not ended yet waits (copied) for the
 * next call. */
typedef void (*SvLineFunc)(const guint8 *line, gsize len, guint flags, gpointer user_data);

typedef struct {
  /* private */
  gsize line_max;
  SvLineFunc func;
  gpointer user_data;
  GByteArray *carry;  /* the start of a line whose end has not come yet */
  gboolean continued; /* the next piece continues a line cut at line-max */
} SvLineSplitter;

/* LINE_MAX ≥ 1. */
void sv_logstream_splitter_init(SvLineSplitter *splitter, gsize line_max, SvLineFunc func,
                                gpointer user_data);
void sv_logstream_split(SvLineSplitter *splitter, const guint8 *data, gsize len);
/* End of the stream: a last line without its '\n' goes out (not PARTIAL). */
void sv_logstream_split_end(SvLineSplitter *splitter);
void sv_logstream_splitter_clear(SvLineSplitter *splitter); /* frees what waits, drops it */

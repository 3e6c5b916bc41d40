/* journal.h — the sink: where every entry of the app's output, of hooks', jobs' and
 * checks' output, and of sdvisor's own messages goes.
 *
 * Targets ([log] target=):
 *  - journal: journald's native protocol, one datagram per entry, on one connected
 *    socket, several datagrams per sendmmsg(); an entry too large for a datagram goes
 *    as a sealed memfd, as sd_journal_sendv() does. When sdvisor may (root, with
 *    CAP_SYS_ADMIN: a service, not a podman container), a child's entries carry the
 *    child's pid in SCM_CREDENTIALS, so journald fills _PID, _COMM, _EXE, _CMDLINE of
 *    the app, as StandardOutput=journal would — `journalctl _COMM=python3` keeps
 *    working. (util-linux `logger --id` does the same.) journald looks that pid up when
 *    it reads the entry; a child already reaped by then (a hook's `echo`) leaves it
 *    without _SYSTEMD_UNIT, so children's entries also carry OBJECT_SYSTEMD_UNIT= of
 *    sdvisor's unit, which `journalctl -u` matches too. That, the one connected socket
 *    and a socket path tests can point elsewhere are why this is not sd_journal_sendv().
 *  - console: "<N>MESSAGE\n" on stderr (no "<N>" when stderr is a terminal), so conmon
 *    and systemd still see the level. An entry of several lines (a traceback) is
 *    written as that many lines, each with the entry's "<N>": a reader of a stream
 *    starts a new record at every newline, and every record keeps the level.
 *    sdvisor's own messages read "<N>sdvisor: MESSAGE", as log.c writes them.
 *  - auto: journal when stderr is the journal (JOURNAL_STREAM) or is not a terminal
 *    and the journal socket accepts a connection; else console — log.c's rule, so a
 *    person running sdvisor in a terminal sees the app's output there.
 * When the journal is the target but cannot be reached (journald absent, restarting,
 * not bind-mounted yet), entries go to the console instead of being lost, and the
 * journal is tried again at most once a second while there is something to write
 * (never when idle): "journald absent at start, then present" moves from console to
 * journal without losing a line. target=console never tries the journal.
 *
 * Nothing is dropped, and the main loop never waits for journald: entries are queued,
 * and ONE writer thread does the blocking sends (journald may be stalled: it is single
 * threaded, and its senders block rather than lose entries). The queue is bounded
 * (bytes and entries); when it is full, sv_journal_is_full() says so and logstream
 * stops reading the pipes, so the app blocks in write() on its full pipe
 * (backpressure) while sdvisor's loop goes on with signals, checks and jobs. Below
 * the low-water mark (half of each bound) the space callback resumes the readers.
 * Entries are handed to the thread in batches (one mutex round trip per batch, not
 * per line): add them with sv_journal_add() and hand them over with
 * sv_journal_commit() at the end of each callback.
 *
 * Every entry carries MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, SDVISOR_SOURCE, the
 * [log] fields=, and, for children's output, SDVISOR_STREAM and the caller's fields
 * (SDVISOR_HOOK=, SDVISOR_JOB=, SDVISOR_JOB_RUN=, SDVISOR_CHECK=). sdvisor's own
 * messages keep SYSLOG_IDENTIFIER=sdvisor (the app's output has the app's name), and
 * their MESSAGE_ID= and fields.
 *
 * Threads: everything but sv_journal_log() is for the thread that created the sink
 * (the main loop's). sv_journal_log() may be called from any thread. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#include "logparse.h"

#define SV_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Who wrote an entry: SDVISOR_SOURCE=. */
typedef enum {
  SV_LOG_SOURCE_APP,
  SV_LOG_SOURCE_HOOK,
  SV_LOG_SOURCE_JOB,
  SV_LOG_SOURCE_CHECK,
  SV_LOG_SOURCE_SDVISOR,
} SvLogSource;

const char *sv_log_source_name(SvLogSource source); /* "app", "hook", … */

typedef enum {
  SV_JOURNAL_TARGET_AUTO,
  SV_JOURNAL_TARGET_JOURNAL,
  SV_JOURNAL_TARGET_CONSOLE,
} SvJournalTarget; /* the same values as SvLogConfigTarget */

typedef struct {
  SvJournalTarget target;
  const char *identifier;     /* SYSLOG_IDENTIFIER of children's output; required */
  const char *const *fields;  /* [log] fields=: "NAME=VALUE", on every entry; NULL = none */
  int console_fd;             /* the console; -1 = STDERR_FILENO. Not closed. */
  const char *journal_socket; /* NULL = SV_JOURNAL_SOCKET; for tests */
  gsize queue_max_bytes;      /* 0 = SV_JOURNAL_QUEUE_MAX_BYTES */
  guint queue_max_entries;    /* 0 = SV_JOURNAL_QUEUE_MAX_ENTRIES */
} SvJournalOptions;

/* 4 MiB hold about 50,000 typical lines: a second of journald's work, ample to keep
 * the writer busy while the main loop reads; beyond it the app waits. */
#define SV_JOURNAL_QUEUE_MAX_BYTES   (4u * 1024 * 1024)
#define SV_JOURNAL_QUEUE_MAX_ENTRIES 16384u
/* [log] fields= beyond this are ignored (with a warning at start). */
#define SV_JOURNAL_STATIC_FIELDS_MAX 64

typedef struct SvJournal SvJournal;

/* Starts the writer thread. Fails only when a thread or an eventfd cannot be made.
 * Invalid [log] fields= entries (not NAME=VALUE with a name journald accepts) are
 * skipped with a warning. */
SvJournal *sv_journal_new(const SvJournalOptions *options, GError **error);

/* Writes everything still queued (sv_journal_flush() with no bound), stops the writer
 * and frees. NULL-safe. If the writer is stuck (a stalled journald) after a flush that
 * timed out, the thread is left behind rather than waited for. */
void sv_journal_free(SvJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJournal, sv_journal_free)

/* The target in use right now: JOURNAL or CONSOLE (AUTO resolved; may change). */
SvJournalTarget sv_journal_get_target(SvJournal *journal);

/* At reload: the SYSLOG_IDENTIFIER of children's output and the [log] fields= of every
 * entry, for tags made from now on and for sdvisor's own messages. Tags made before
 * keep what they carry (logstream makes its readers' again:
 * sv_logstream_reconfigure()); so do entries already queued. Invalid FIELDS are
 * skipped with a warning, as at start. The target stays: it is set up once. */
void sv_journal_set_identity(SvJournal *journal, const char *identifier, const char *const *fields);

/* ---- what a stream's entries carry ---------------------------------------------------- */

/* The fields every entry of one stream carries, built once: SYSLOG_IDENTIFIER,
 * SDVISOR_SOURCE, SDVISOR_STREAM (STREAM < 0: none), the [log] fields=, then FIELDS
 * ("NAME=VALUE", NULL-ended; invalid names are skipped). Reference-counted: queued
 * entries keep their tags alive. */
typedef struct SvJournalTags SvJournalTags;

SvJournalTags *sv_journal_tags_new(SvJournal *journal, SvLogSource source, int stream,
                                   const char *const *fields);
SvJournalTags *sv_journal_tags_ref(SvJournalTags *tags);
void sv_journal_tags_unref(SvJournalTags *tags); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJournalTags, sv_journal_tags_unref)
/* The child whose output this is: its pid goes in SCM_CREDENTIALS when allowed (see
 * above), until journald's kernel says it is gone. Call before its first entry. */
void sv_journal_tags_set_pid(SvJournalTags *tags, pid_t pid);

/* ---- entries (the sink's thread) --------------------------------------------------------- */

/* Queues ENTRY (copied) with TAGS. Never blocks and never drops: the bound is for the
 * readers to honour (sv_journal_is_full()). */
void sv_journal_add(SvJournal *journal, SvJournalTags *tags, const SvLogEntry *entry);
/* Hands what was added since the last commit to the writer. */
void sv_journal_commit(SvJournal *journal);
/* Whether the queue is at its bound: readers stop reading until the space callback. */
gboolean sv_journal_is_full(SvJournal *journal);

/* FUNC runs on the sink's main context when the queue was full and has drained below
 * the low-water mark. One callback per sink; NULL unsets. */
typedef void (*SvJournalSpaceFunc)(SvJournal *journal, gpointer user_data);
void sv_journal_set_space_func(SvJournal *journal, SvJournalSpaceFunc func, gpointer user_data);

/* Blocks until the queue is below the low-water mark, or TIMEOUT_USEC passes (< 0: no
 * bound). For the final drain, when the main loop no longer runs. */
gboolean sv_journal_wait_space(SvJournal *journal, gint64 timeout_usec);

/* Commits, then blocks until everything queued has been written, or TIMEOUT_USEC
 * passes (< 0: no bound). Returns FALSE on timeout. */
gboolean sv_journal_flush(SvJournal *journal, gint64 timeout_usec);
/* The last flush, before sdvisor exits: sv_journal_flush(), and on timeout a
 * "<3>sdvisor: N entries not written" line on the console if it takes one without
 * waiting (the console, or a journald that does not answer, is what is stuck). */
gboolean sv_journal_flush_final(SvJournal *journal, gint64 timeout_usec);

/* sdvisor's own message, in order with the output queued before it (from the sink's
 * thread; from another thread, after what that thread logged before). Never blocks.
 * MESSAGE_ID NULL = none; FIELDS NULL or "NAME=VALUE", NULL-ended. The signature of
 * log.h's SvLogWriteFunc, with the sink as USER_DATA: sv_log_set_write_func(
 * sv_journal_log_func, journal) routes log.c through the sink. */
void sv_journal_log(SvJournal *journal, int priority, const char *message_id,
                    const char *const *fields, const char *message);
void sv_journal_log_func(int priority, const char *message_id, const char *const *fields,
                         const char *message, gpointer journal);

/* Counters since sv_journal_new(), for tests and measurements. */
typedef struct {
  guint64 entries_written; /* to either target */
  guint64 entries_console; /* of those, to the console */
  guint64 entries_memfd;   /* of those, to the journal as a memfd */
  guint64 bytes_queued;    /* right now */
  guint64 entries_queued;  /* right now */
  guint64 times_full;      /* how often the queue reached its bound */
  guint64 target_switches; /* journal ↔ console */
} SvJournalStats;
void sv_journal_get_stats(SvJournal *journal, SvJournalStats *out);

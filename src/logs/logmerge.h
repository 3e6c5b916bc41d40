/* logmerge.h — joins the lines of one output stream into journal entries.
 *
 * Pure: no I/O and no clock. The caller pushes parsed lines (logparse) with the time
 * it read them and drives time itself: sv_logmerge_next_deadline() says when the held
 * entry must go out, the main loop arms a timer for it and calls
 * sv_logmerge_flush_due(). So a lone line waits at most one window.
 *
 * What becomes one entry:
 *  - a Python traceback, from "Traceback (most recent call last):" through the final
 *    exception line, chained blocks ("During handling of the above exception…", "The
 *    above exception was the direct cause…") included, and also when a log line
 *    ("ERROR:root:boom", gunicorn's "[ERROR] Error handling request") comes just
 *    before it. Its PRIORITY is ERR, or the line that started it if that is more severe;
 *  - Python 3.11 exception groups ("  + Exception Group Traceback …" and the indented
 *    box that follows);
 *  - any other line with the indented lines (and "Stack (most recent call last):")
 *    that follow it, as logging prints a multi-line message or stack_info.
 * Lines of one entry must arrive less than the window apart; an entry is also let go
 * after hold-max whatever arrives. JSON lines are complete records and go out at once;
 * pieces of a line split at line-max go out at once and are never joined.
 * Caps: past max-bytes of MESSAGE or max-lines, the entry goes out (flag CAPPED) and
 * the rest starts the next one, which stays in the same traceback. A single line
 * longer than max-bytes is not cut here: line-max bounds lines. */
#pragma once
#include <glib.h>

#include "logparse.h"

typedef struct {
  gboolean merge_tracebacks;    /* TRUE */
  gboolean merge_continuations; /* TRUE */
  gint64 window_usec;           /* 50 ms; 0 turns all merging off in effect; ≤ 60 s */
  gint64 hold_max_usec;         /* 1 s; 0 = no limit but the caps; ≤ 1 h */
  gsize max_bytes;              /* 64 KiB; 256 B … 16 MiB */
  guint max_lines;              /* 1000; 1 … 100000 */
} SvLogMergeConfig;

void sv_logmerge_config_init(SvLogMergeConfig *config);

/* ENTRY is valid during the call only. The callback must not push to the merger. */
typedef void (*SvLogMergeEmitFunc)(const SvLogEntry *entry, gpointer user_data);

typedef struct SvLogMerge SvLogMerge;

/* Copies CONFIG, clamping values into the ranges above. */
SvLogMerge *sv_logmerge_new(const SvLogMergeConfig *config, SvLogMergeEmitFunc emit,
                            gpointer user_data);
/* Frees without emitting: call sv_logmerge_flush() first to keep what is held. */
void sv_logmerge_free(SvLogMerge *merge); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLogMerge, sv_logmerge_free)

/* Takes the contents of ENTRY, read at NOW_USEC (CLOCK_MONOTONIC, µs); ENTRY comes
 * back reset, with buffers the caller can parse the next line into. Emits whatever
 * this line completes, and first whatever was due by NOW_USEC. */
void sv_logmerge_push(SvLogMerge *merge, SvLogEntry *entry, gint64 now_usec);

/* Emits the held entry if its deadline is ≤ NOW_USEC. */
void sv_logmerge_flush_due(SvLogMerge *merge, gint64 now_usec);

/* Emits everything held: end of stream, shutdown. */
void sv_logmerge_flush(SvLogMerge *merge);

/* When sv_logmerge_flush_due() must next run, in the clock of NOW_USEC; -1 when
 * nothing is held. */
gint64 sv_logmerge_next_deadline(const SvLogMerge *merge);

/* logmerge.c — see logmerge.h.
 *
 * One held entry and a small state machine over the kind of each line. No recursion:
 * a line that ends the held entry is handled from the idle state, once. */
#include "logmerge.h"

#include "timespan.h"

#include <string.h>

typedef enum {
  STATE_IDLE,     /* nothing held */
  STATE_OPEN,     /* held line takes indented lines and a traceback after it */
  STATE_TB_BODY,  /* in a traceback: frames, up to the exception line */
  STATE_TB_EXC,   /* after the exception line: a chain may follow */
  STATE_TB_BLANK, /* …and a blank line, kept aside until we know whether a chain follows */
  STATE_TB_CHAIN, /* after "During handling…": blank lines, then the next traceback */
} State;

typedef enum {
  KIND_TEXT,
  KIND_BLANK,
  KIND_INDENTED,
  KIND_TB_START,    /* Traceback (most recent call last): */
  KIND_GROUP_START, /*   + Exception Group Traceback (most recent call last): */
  KIND_CHAIN,       /* During handling… / The above exception was the direct cause… */
  KIND_STACK,       /* Stack (most recent call last):  (logging's stack_info) */
} Kind;

struct SvLogMerge {
  SvLogMergeConfig config;
  SvLogMergeEmitFunc emit;
  gpointer user_data;
  State state;
  SvLogEntry *held;
  SvLogEntry *blank; /* the blank line of STATE_TB_BLANK */
  gint64 first_usec; /* when the held entry started */
  gint64 last_usec;  /* when its last line came */
  /* the priority of a split line, for its later pieces */
  gboolean in_split;
  int split_priority;
};

void
sv_logmerge_config_init(SvLogMergeConfig *config)
{
  *config = (SvLogMergeConfig){
      .merge_tracebacks = TRUE,
      .merge_continuations = TRUE,
      .window_usec = 50 * G_TIME_SPAN_MILLISECOND,
      .hold_max_usec = G_TIME_SPAN_SECOND,
      .max_bytes = 64 * 1024,
      .max_lines = 1000,
  };
}

SvLogMerge *
sv_logmerge_new(const SvLogMergeConfig *config, SvLogMergeEmitFunc emit, gpointer user_data)
{
  SvLogMerge *self = g_new0(SvLogMerge, 1);
  self->config = *config;
  self->config.window_usec = CLAMP(config->window_usec, 0, 60 * G_TIME_SPAN_SECOND);
  self->config.hold_max_usec = CLAMP(config->hold_max_usec, 0, G_TIME_SPAN_HOUR);
  self->config.max_bytes = CLAMP(config->max_bytes, 256, 16 * 1024 * 1024);
  self->config.max_lines = CLAMP(config->max_lines, 1, 100000);
  self->emit = emit;
  self->user_data = user_data;
  self->held = sv_log_entry_new();
  self->blank = sv_log_entry_new();
  return self;
}

void
sv_logmerge_free(SvLogMerge *merge)
{
  if (merge == NULL)
    return;
  sv_log_entry_free(merge->held);
  sv_log_entry_free(merge->blank);
  g_free(merge);
}

static gboolean
equals(const guint8 *p, gsize n, const char *text)
{
  gsize len = strlen(text);
  return n == len && memcmp(p, text, len) == 0;
}

static Kind
classify(const GByteArray *message)
{
  const guint8 *p = message->data;
  gsize n = message->len;
  /* Trailing blanks and '\r' do not change what a line is. */
  while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  if (n == 0)
    return message->len == 0 || p[0] == '\r' ? KIND_BLANK : KIND_INDENTED;
  if (p[0] == ' ' || p[0] == '\t') {
    gsize i = 0;
    while (i < n && p[i] == ' ')
      i++;
    if (i + 2 <= n && p[i] == '+' && p[i + 1] == ' ' &&
        equals(p + i + 2, n - i - 2, "Exception Group Traceback (most recent call last):"))
      return KIND_GROUP_START;
    return KIND_INDENTED;
  }
  if (equals(p, n, "Traceback (most recent call last):"))
    return KIND_TB_START;
  if (equals(p, n, "During handling of the above exception, another exception occurred:") ||
      equals(p, n, "The above exception was the direct cause of the following exception:"))
    return KIND_CHAIN;
  if (equals(p, n, "Stack (most recent call last):"))
    return KIND_STACK;
  return KIND_TEXT;
}

static void
emit_and_reset(SvLogMerge *self, SvLogEntry *entry)
{
  self->emit(entry, self->user_data);
  sv_log_entry_reset(entry);
}

/* Lets the held entry go, and the blank line kept aside after it. */
static void
emit_held(SvLogMerge *self)
{
  State state = self->state;
  if (state == STATE_IDLE)
    return;
  self->state = STATE_IDLE;
  emit_and_reset(self, self->held);
  if (state == STATE_TB_BLANK)
    emit_and_reset(self, self->blank);
}

/* ENTRY becomes the held entry; its bytes move, they are not copied. */
static void
take(SvLogMerge *self, SvLogEntry *entry, gint64 now, State state)
{
  sv_log_entry_swap(self->held, entry);
  sv_log_entry_reset(entry);
  self->state = state;
  self->first_usec = now;
  self->last_usec = now;
}

static void
append(SvLogMerge *self, SvLogEntry *entry, gint64 now)
{
  SvLogEntry *held = self->held;
  g_byte_array_append(held->message, (const guint8 *)"\n", 1);
  g_byte_array_append(held->message, entry->message->data, entry->message->len);
  held->n_lines += MAX(entry->n_lines, 1);
  /* Plain lines carry no fields today; move them anyway rather than lose any. */
  for (guint i = 0; i < entry->fields->len; i++)
    g_ptr_array_add(held->fields, entry->fields->pdata[i]);
  g_ptr_array_set_free_func(entry->fields, NULL);
  g_ptr_array_set_size(entry->fields, 0);
  g_ptr_array_set_free_func(entry->fields, g_free);
  /* A continuation line that names its own level can only make the entry more severe. */
  if (entry->flags & SV_LOG_ENTRY_LEVEL) {
    held->priority = MIN(held->priority, entry->priority);
    held->flags |= SV_LOG_ENTRY_LEVEL;
  }
  self->last_usec = MAX(self->last_usec, now);
  sv_log_entry_reset(entry);
}

/* Appends ENTRY, or when the caps would be passed emits the held entry and lets ENTRY
 * start the next one in the same state, with the same priority. */
static void
append_capped(SvLogMerge *self, SvLogEntry *entry, gint64 now)
{
  SvLogEntry *held = self->held;
  gsize bytes = (gsize)held->message->len + 1 + entry->message->len;
  if (bytes <= self->config.max_bytes && held->n_lines < self->config.max_lines) {
    append(self, entry, now);
    return;
  }
  State state = self->state;
  int priority = held->priority;
  guint keep = held->flags & (SV_LOG_ENTRY_TRACEBACK | SV_LOG_ENTRY_LEVEL);
  held->flags |= SV_LOG_ENTRY_CAPPED;
  emit_held(self);
  int line_priority = entry->priority;
  gboolean line_level = (entry->flags & SV_LOG_ENTRY_LEVEL) != 0;
  take(self, entry, now, state);
  held = self->held;
  held->priority = line_level ? MIN(priority, line_priority) : priority;
  held->flags |= keep;
}

static void
enter_traceback(SvLogMerge *self, State state)
{
  self->held->flags |= SV_LOG_ENTRY_TRACEBACK;
  self->held->priority = MIN(self->held->priority, LOG_ERR);
  self->state = state;
}

/* Whether the held entry takes ENTRY, of kind KIND; when it does, ENTRY is consumed. */
static gboolean
continue_held(SvLogMerge *self, SvLogEntry *entry, Kind kind, gint64 now)
{
  gboolean tracebacks = self->config.merge_tracebacks;
  switch (self->state) {
  case STATE_IDLE:
    return FALSE;
  case STATE_OPEN:
    if (tracebacks && (kind == KIND_TB_START || kind == KIND_GROUP_START)) {
      append_capped(self, entry, now);
      enter_traceback(self, kind == KIND_TB_START ? STATE_TB_BODY : STATE_TB_EXC);
      return TRUE;
    }
    if (self->config.merge_continuations &&
        (kind == KIND_INDENTED || kind == KIND_STACK || kind == KIND_GROUP_START)) {
      append_capped(self, entry, now);
      return TRUE;
    }
    return FALSE;
  case STATE_TB_BODY:
    if (kind == KIND_INDENTED || kind == KIND_GROUP_START) {
      append_capped(self, entry, now);
      return TRUE;
    }
    /* Any other text is the exception line: "KeyError: 'x'", "SystemExit", "a.B". */
    if (kind == KIND_TEXT || kind == KIND_STACK) {
      append_capped(self, entry, now);
      self->state = STATE_TB_EXC;
      return TRUE;
    }
    return FALSE;
  case STATE_TB_EXC:
    if (kind == KIND_INDENTED) {
      append_capped(self, entry, now);
      return TRUE;
    }
    if (kind == KIND_BLANK) {
      sv_log_entry_swap(self->blank, entry);
      sv_log_entry_reset(entry);
      self->state = STATE_TB_BLANK;
      self->last_usec = MAX(self->last_usec, now);
      return TRUE;
    }
    if (kind == KIND_CHAIN) {
      append_capped(self, entry, now);
      self->state = STATE_TB_CHAIN;
      return TRUE;
    }
    return FALSE;
  case STATE_TB_BLANK:
    if (kind == KIND_CHAIN) {
      /* The blank line was part of the traceback after all. */
      self->state = STATE_TB_EXC;
      append_capped(self, self->blank, now);
      append_capped(self, entry, now);
      self->state = STATE_TB_CHAIN;
      return TRUE;
    }
    return FALSE;
  case STATE_TB_CHAIN:
    if (kind == KIND_BLANK || kind == KIND_INDENTED) {
      append_capped(self, entry, now);
      return TRUE;
    }
    if (kind == KIND_TB_START || kind == KIND_GROUP_START) {
      append_capped(self, entry, now);
      self->state = kind == KIND_TB_START ? STATE_TB_BODY : STATE_TB_EXC;
      return TRUE;
    }
    return FALSE;
  }
  return FALSE;
}

static void
start(SvLogMerge *self, SvLogEntry *entry, Kind kind, gint64 now)
{
  if (self->config.merge_tracebacks && kind == KIND_TB_START) {
    take(self, entry, now, STATE_OPEN);
    enter_traceback(self, STATE_TB_BODY);
  } else if (self->config.merge_tracebacks && kind == KIND_GROUP_START) {
    take(self, entry, now, STATE_OPEN);
    enter_traceback(self, STATE_TB_EXC);
  } else {
    take(self, entry, now, STATE_OPEN);
  }
}

gint64
sv_logmerge_next_deadline(const SvLogMerge *self)
{
  if (self->state == STATE_IDLE)
    return -1;
  gint64 deadline = sv_timespan_add(self->last_usec, self->config.window_usec);
  if (self->config.hold_max_usec > 0)
    deadline = MIN(deadline, sv_timespan_add(self->first_usec, self->config.hold_max_usec));
  return deadline;
}

void
sv_logmerge_flush_due(SvLogMerge *self, gint64 now_usec)
{
  gint64 deadline = sv_logmerge_next_deadline(self);
  if (deadline >= 0 && now_usec >= deadline)
    emit_held(self);
}

void
sv_logmerge_flush(SvLogMerge *self)
{
  emit_held(self);
}

void
sv_logmerge_push(SvLogMerge *self, SvLogEntry *entry, gint64 now_usec)
{
  guint flags = entry->flags;

  sv_logmerge_flush_due(self, now_usec);

  if (flags & (SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_CONTINUED)) {
    /* Later pieces of a split line were not interpreted: they take the first's level. */
    if ((flags & SV_LOG_ENTRY_CONTINUED) && self->in_split && !(flags & SV_LOG_ENTRY_LEVEL))
      entry->priority = self->split_priority;
    self->in_split = (flags & SV_LOG_ENTRY_PARTIAL) != 0;
    self->split_priority = entry->priority;
    emit_held(self);
    emit_and_reset(self, entry);
    return;
  }
  self->in_split = FALSE;

  if ((flags & SV_LOG_ENTRY_JSON) ||
      !(self->config.merge_tracebacks || self->config.merge_continuations)) {
    emit_held(self);
    emit_and_reset(self, entry);
    return;
  }

  Kind kind = classify(entry->message);
  if (!continue_held(self, entry, kind, now_usec)) {
    emit_held(self);
    start(self, entry, kind, now_usec);
  }
}

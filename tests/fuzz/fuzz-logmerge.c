/* fuzz-logmerge.c — libFuzzer harness for logmerge (through logparse, as sdvisor runs
 * them).
 *
 * Input: 3 bytes of configuration, then lines separated by '\n'. A line starting with a
 * byte below 8 is a command: bit 0 pushes the rest as a PARTIAL piece, bit 1 as a
 * CONTINUED one, bit 2 first advances the clock by the second byte in milliseconds and
 * runs the timer (flush_due) as the main loop would. Checks, besides the sanitizers:
 * every line comes out once, in order, unchanged (the emitted MESSAGEs joined with '\n'
 * equal the pushed ones joined with '\n'); caps hold; nothing is held past its window.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz-logmerge.c src/logs/logmerge.c src/logs/logparse.c \
 *     $(pkg-config --cflags --libs glib-2.0 json-glib-1.0)
 *   ./a.out tests/fuzz/corpus/logmerge */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "logmerge.h"

typedef struct {
  const SvLogMergeConfig *config;
  GByteArray *emitted;
  guint lines;
} State;

static void
on_emit(const SvLogEntry *entry, gpointer user_data)
{
  State *s = user_data;
  if (entry->priority < 0 || entry->priority > 7 || entry->n_lines < 1)
    abort();
  if (entry->n_lines > s->config->max_lines)
    abort();
  if (entry->n_lines > 1 && entry->message->len > s->config->max_bytes)
    abort();
  if ((entry->flags & (SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_CONTINUED | SV_LOG_ENTRY_JSON)) &&
      entry->n_lines != 1)
    abort();
  g_byte_array_append(s->emitted, entry->message->data, entry->message->len);
  g_byte_array_append(s->emitted, (const guint8 *)"\n", 1);
  s->lines += entry->n_lines;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static SvLogParser *parser;
  if (size < 3)
    return 0;
  if (parser == NULL) {
    SvLogParseConfig pc;
    sv_logparse_config_init(&pc);
    parser = sv_logparse_new(&pc);
  }

  SvLogMergeConfig config;
  sv_logmerge_config_init(&config);
  config.merge_tracebacks = !(data[0] & 1);
  config.merge_continuations = !(data[0] & 2);
  config.window_usec = (gint64)(data[0] >> 2) * G_TIME_SPAN_MILLISECOND;
  config.hold_max_usec = (gint64)(data[1] & 0x0f) * 100 * G_TIME_SPAN_MILLISECOND;
  config.max_bytes = 256 + (gsize)(data[1] >> 4) * 256;
  config.max_lines = 1 + data[2] % 64;
  /* what the merger clamps to, for the checks */
  SvLogMergeConfig effective = config;
  effective.max_bytes = MAX(config.max_bytes, 256);

  g_autoptr(GByteArray) pushed = g_byte_array_new();
  State state = {&effective, g_byte_array_new(), 0};
  g_autoptr(SvLogMerge) merge = sv_logmerge_new(&config, on_emit, &state);
  g_autoptr(SvLogEntry) entry = sv_log_entry_new();
  guint n_pushed = 0;
  gint64 now = 1000000;

  const guint8 *p = data + 3, *end = data + size;
  while (p <= end) {
    const guint8 *nl = memchr(p, '\n', (size_t)(end - p));
    const guint8 *line_end = nl != NULL ? nl : end;
    const guint8 *line = p;
    guint flags = 0;
    if (line < line_end && *line < 8) {
      guint8 cmd = *line++;
      guint8 arg = 0;
      if (line < line_end)
        arg = *line++;
      flags = cmd & (SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_CONTINUED);
      if (cmd & 4) {
        now += (gint64)arg * G_TIME_SPAN_MILLISECOND;
        sv_logmerge_flush_due(merge, now);
        gint64 deadline = sv_logmerge_next_deadline(merge);
        if (deadline != -1 && deadline <= now)
          abort();
      }
    }
    sv_logparse_line(parser, SV_LOG_STREAM_STDERR, (const char *)line, (gsize)(line_end - line),
                     flags, entry);
    g_byte_array_append(pushed, entry->message->data, entry->message->len);
    g_byte_array_append(pushed, (const guint8 *)"\n", 1);
    n_pushed++;
    sv_logmerge_push(merge, entry, now);
    if (entry->message->len != 0 || entry->fields->len != 0)
      abort();
    gint64 deadline = sv_logmerge_next_deadline(merge);
    if (deadline != -1 && (deadline < now || deadline > now + config.window_usec))
      abort();
    if (nl == NULL)
      break;
    p = nl + 1;
  }
  sv_logmerge_flush(merge);
  if (sv_logmerge_next_deadline(merge) != -1)
    abort();
  if (state.lines != n_pushed || state.emitted->len != pushed->len ||
      memcmp(state.emitted->data, pushed->data, pushed->len) != 0)
    abort();
  g_byte_array_unref(state.emitted);
  return 0;
}

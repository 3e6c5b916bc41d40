/* fuzz-logparse.c — libFuzzer harness for logparse.
 *
 * The first byte picks the configuration, stream and split flags; the rest is one
 * line. Besides "no crash, no leak, no UB", it checks what the module promises:
 * a priority in 0–7, valid field names, and that a line not taken as JSON comes out
 * byte for byte (minus a "<N>" prefix).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz-logparse.c src/logs/logparse.c $(pkg-config --cflags --libs glib-2.0 json-glib-1.0)
 *   ./a.out tests/fuzz/corpus/logparse */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "logparse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static SvLogParser *parsers[8];
  static SvLogEntry *entry;

  if (size < 1)
    return 0;
  guint8 mode = data[0];
  const char *line = (const char *)data + 1;
  gsize len = size - 1;

  guint which = mode & 7;
  if (parsers[which] == NULL) {
    SvLogParseConfig config;
    sv_logparse_config_init(&config);
    config.parse_json = !(which & 1);
    config.detect_levels = !(which & 2);
    config.json_field_prefix = (which & 4) ? "my-app." : "";
    config.default_priority_stderr = LOG_WARNING;
    parsers[which] = sv_logparse_new(&config);
  }
  if (entry == NULL)
    entry = sv_log_entry_new();

  SvLogStream stream = (mode & 8) ? SV_LOG_STREAM_STDERR : SV_LOG_STREAM_STDOUT;
  guint flags = (mode >> 4) & (SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_CONTINUED);
  sv_logparse_line(parsers[which], stream, line, len, flags, entry);

  if (entry->priority < 0 || entry->priority > 7)
    abort();
  if (entry->n_lines != 1)
    abort();
  if ((entry->flags & (SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_CONTINUED)) != flags)
    abort();
  if (entry->fields->len > SV_LOG_JSON_MAX_KEYS)
    abort();
  for (guint i = 0; i < entry->fields->len; i++) {
    const SvLogField *field = entry->fields->pdata[i];
    if (!sv_log_field_name_is_valid(field->data, field->name_len) ||
        field->data[field->name_len] != '=' || field->data[field->len] != '\0')
      abort();
  }
  if (!(entry->flags & SV_LOG_ENTRY_JSON)) {
    gsize skip = 0;
    if (!(flags & SV_LOG_ENTRY_CONTINUED) && len >= 3 && line[0] == '<' && line[1] >= '0' &&
        line[1] <= '7' && line[2] == '>')
      skip = 3;
    if (entry->message->len != len - skip ||
        (len - skip > 0 && memcmp(entry->message->data, line + skip, len - skip) != 0))
      abort();
    if (entry->fields->len != 0)
      abort();
  }
  if ((entry->flags & SV_LOG_ENTRY_JSON) && (flags || (which & 1)))
    abort();
  return 0;
}

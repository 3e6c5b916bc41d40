/* fuzz-notify.c — libFuzzer harness for the notify message parser and re-serialiser,
 * and the /proc/PID/stat reader the notify proxy trusts for its tree check.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz-notify.c src/notify/notify-message.c src/notify/notify-proxy.c \
 *     $(pkg-config --cflags --libs glib-2.0 gio-2.0 gio-unix-2.0 libsystemd) -o fuzz-notify
 *   ./fuzz-notify -max_len=5000 tests/fuzz/corpus/notify
 *
 * Besides memory errors it checks the properties the proxy relies on: what is relayed
 * never holds MAINPID, BARRIER or X_ assignments, is never longer than what came in,
 * and parses back to exactly the relayed fields and text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "notify-message.h"
#include "notify-proxy.h"

static void
check_relayed(const SvNotifyMessage *msg, guint32 mask, size_t size)
{
  g_autofree char *text = sv_notify_message_format(msg, mask);
  guint32 expected = msg->fields & mask & SV_NOTIFY_FIELDS_RELAY;
  if (!text) {
    if (expected != 0)
      abort();
    return;
  }
  if (expected == 0 || strlen(text) > size)
    abort();

  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix(*l, "MAINPID=") || g_str_has_prefix(*l, "BARRIER=") ||
        g_str_has_prefix(*l, "X_") || **l == '\0')
      abort();

  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) again = sv_notify_message_parse(text, strlen(text), &error);
  if (!again || again->fields != expected || again->n_ignored != 0)
    abort();
  g_autofree char *text_again = sv_notify_message_format(again, mask);
  if (g_strcmp0(text, text_again) != 0)
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(data, size, &error);
  if (msg) {
    if (error)
      abort();
    check_relayed(msg, SV_NOTIFY_FIELDS_RELAY, size);
    check_relayed(msg, SV_NOTIFY_FIELDS_RELAY & ~SV_NOTIFY_FIELD_READY, size);
    /* any mask, taken from the input */
    check_relayed(msg, size > 0 ? (guint32)data[0] * 0x01010101u : 0, size);
    if ((msg->fields & SV_NOTIFY_FIELD_STATUS) && strchr(msg->status, '\n'))
      abort();
  } else if (!error || strchr(error->message, '\n') || !g_utf8_validate(error->message, -1, NULL)) {
    abort();
  }

  pid_t ppid = -7, session = -7;
  int r = sv_notify_proxy_parse_proc_stat((const char *)data, size, &ppid, &session);
  if (r == 0 ? (ppid < 0 || session < 0) : (ppid != -7 || session != -7))
    abort();
  return 0;
}

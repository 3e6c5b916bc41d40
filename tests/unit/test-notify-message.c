/* test-notify-message.c — what the notify proxy accepts, refuses and relays. */
#include <string.h>

#include "notify-message.h"

#define OK (-1) /* "no error" in the table */

typedef struct {
  const char *name;
  const char *data;
  gssize size; /* -1: strlen(data) */
  int error;   /* OK or an SvNotifyMessageError */
  guint32 fields;
  const char *relayed; /* sv_notify_message_format(SV_NOTIFY_FIELDS_RELAY), NULL = nothing */
  guint n_ignored;
} Case;

static const Case cases[] = {
    /* valid, every assignment */
    {"ready", "READY=1", -1, OK, SV_NOTIFY_FIELD_READY, "READY=1", 0},
    {"ready-trailing-newline", "READY=1\n", -1, OK, SV_NOTIFY_FIELD_READY, "READY=1", 0},
    {"ready-status", "READY=1\nSTATUS=Serving on :8000", -1, OK,
     SV_NOTIFY_FIELD_READY | SV_NOTIFY_FIELD_STATUS, "READY=1\nSTATUS=Serving on :8000", 0},
    {"reloading-monotonic", "RELOADING=1\nMONOTONIC_USEC=123456789", -1, OK,
     SV_NOTIFY_FIELD_RELOADING | SV_NOTIFY_FIELD_MONOTONIC_USEC,
     "RELOADING=1\nMONOTONIC_USEC=123456789", 0},
    {"stopping", "STOPPING=1", -1, OK, SV_NOTIFY_FIELD_STOPPING, "STOPPING=1", 0},
    {"watchdog", "WATCHDOG=1", -1, OK, SV_NOTIFY_FIELD_WATCHDOG, "WATCHDOG=1", 0},
    {"watchdog-trigger", "WATCHDOG=trigger", -1, OK, SV_NOTIFY_FIELD_WATCHDOG_TRIGGER,
     "WATCHDOG=trigger", 0},
    {"watchdog-usec", "WATCHDOG_USEC=30000000", -1, OK, SV_NOTIFY_FIELD_WATCHDOG_USEC,
     "WATCHDOG_USEC=30000000", 0},
    {"extend-timeout", "EXTEND_TIMEOUT_USEC=5000000", -1, OK, SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC,
     "EXTEND_TIMEOUT_USEC=5000000", 0},
    {"extend-timeout-zero", "EXTEND_TIMEOUT_USEC=0", -1, OK, SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC,
     "EXTEND_TIMEOUT_USEC=0", 0},
    {"u64-max", "WATCHDOG_USEC=18446744073709551615", -1, OK, SV_NOTIFY_FIELD_WATCHDOG_USEC,
     "WATCHDOG_USEC=18446744073709551615", 0},
    {"errno", "ERRNO=2\nSTATUS=No such file", -1, OK,
     SV_NOTIFY_FIELD_ERRNO | SV_NOTIFY_FIELD_STATUS, "STATUS=No such file\nERRNO=2", 0},
    {"errno-max", "ERRNO=4095", -1, OK, SV_NOTIFY_FIELD_ERRNO, "ERRNO=4095", 0},
    {"buserror", "BUSERROR=org.freedesktop.DBus.Error.TimedOut", -1, OK, SV_NOTIFY_FIELD_BUSERROR,
     "BUSERROR=org.freedesktop.DBus.Error.TimedOut", 0},
    {"buserror-empty-clears", "BUSERROR=", -1, OK, SV_NOTIFY_FIELD_BUSERROR, "BUSERROR=", 0},
    {"fdstore", "FDSTORE=1\nFDNAME=http-socket\nFDPOLL=0", -1, OK,
     SV_NOTIFY_FIELD_FDSTORE | SV_NOTIFY_FIELD_FDNAME | SV_NOTIFY_FIELD_FDPOLL_OFF,
     "FDSTORE=1\nFDNAME=http-socket\nFDPOLL=0", 0},
    {"fdstoreremove", "FDSTOREREMOVE=1\nFDNAME=old", -1, OK,
     SV_NOTIFY_FIELD_FDSTOREREMOVE | SV_NOTIFY_FIELD_FDNAME, "FDSTOREREMOVE=1\nFDNAME=old", 0},
    {"status-empty-clears", "STATUS=", -1, OK, SV_NOTIFY_FIELD_STATUS, "STATUS=", 0},
    {"status-utf8", "STATUS=Bereit \xe2\x9c\x93", -1, OK, SV_NOTIFY_FIELD_STATUS,
     "STATUS=Bereit \xe2\x9c\x93", 0},
    {"status-keeps-equals", "STATUS=a=b", -1, OK, SV_NOTIFY_FIELD_STATUS, "STATUS=a=b", 0},

    /* never relayed */
    {"mainpid-recognised-not-relayed", "MAINPID=4242\nREADY=1", -1, OK,
     SV_NOTIFY_FIELD_MAINPID | SV_NOTIFY_FIELD_READY, "READY=1", 0},
    {"mainpid-alone-relays-nothing", "MAINPID=4242", -1, OK, SV_NOTIFY_FIELD_MAINPID, NULL, 0},
    {"barrier", "BARRIER=1", -1, OK, SV_NOTIFY_FIELD_BARRIER, NULL, 0},
    {"private-x", "X_SDVISOR_PHASE=warmup\nREADY=1", -1, OK, SV_NOTIFY_FIELD_READY, "READY=1", 0},

    /* ignored as systemd ignores them */
    {"unknown-ignored", "FOO=bar\nREADY=1\nNOTIFYACCESS=all\nMAINPIDFD=1", -1, OK,
     SV_NOTIFY_FIELD_READY, "READY=1", 3},
    {"flag-other-value-ignored", "READY=0\nFDPOLL=1\nSTOPPING=yes", -1, OK, 0, NULL, 3},
    {"not-an-assignment-ignored", "hello\nREADY=1", -1, OK, SV_NOTIFY_FIELD_READY, "READY=1", 1},
    {"empty-lines-skipped", "\n\nREADY=1\n\n", -1, OK, SV_NOTIFY_FIELD_READY, "READY=1", 0},
    {"crlf-is-not-ready", "READY=1\r\n", -1, OK, 0, NULL, 1},
    {"lowercase-is-unknown", "ready=1", -1, OK, 0, NULL, 1},
    /* STATUS is one line: the rest of a multi-line status is a line without '='. */
    {"multi-line-status-truncated", "STATUS=first line\nsecond line\nREADY=1", -1, OK,
     SV_NOTIFY_FIELD_STATUS | SV_NOTIFY_FIELD_READY, "READY=1\nSTATUS=first line", 1},
    {"first-status-wins", "STATUS=one\nSTATUS=two", -1, OK, SV_NOTIFY_FIELD_STATUS, "STATUS=one",
     1},
    /* a later duplicate is never read, so its value cannot reject the datagram */
    {"later-duplicate-unread", "ERRNO=5\nERRNO=x", -1, OK, SV_NOTIFY_FIELD_ERRNO, "ERRNO=5", 1},
    {"first-watchdog-wins", "WATCHDOG=trigger\nWATCHDOG=1", -1, OK,
     SV_NOTIFY_FIELD_WATCHDOG_TRIGGER, "WATCHDOG=trigger", 1},
    {"flag-anywhere", "READY=0\nREADY=1", -1, OK, SV_NOTIFY_FIELD_READY, "READY=1", 1},
    {"x-alone-is-unknown", "X_=1", -1, OK, 0, NULL, 1},

    /* malformed values */
    {"usec-empty", "EXTEND_TIMEOUT_USEC=", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"usec-negative", "EXTEND_TIMEOUT_USEC=-1", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"usec-plus", "EXTEND_TIMEOUT_USEC=+5", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"usec-blank", "EXTEND_TIMEOUT_USEC= 5", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"usec-trailing", "EXTEND_TIMEOUT_USEC=5s", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"usec-leading-zero", "WATCHDOG_USEC=010", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"usec-hex", "WATCHDOG_USEC=0x10", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"usec-overflow", "MONOTONIC_USEC=18446744073709551616", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0,
     NULL, 0},
    {"errno-too-big", "ERRNO=4096", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"errno-name", "ERRNO=ENOENT", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"mainpid-zero", "MAINPID=0", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"mainpid-overflow", "MAINPID=2147483648", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"watchdog-bad", "WATCHDOG=2", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"fdname-colon", "FDSTORE=1\nFDNAME=a:b", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"fdname-empty", "FDNAME=", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"fdname-control", "FDNAME=a\tb", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"fdname-non-ascii", "FDNAME=caf\xc3\xa9", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    {"buserror-control", "BUSERROR=a\x1b[31m", -1, SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},
    /* one bad value rejects the whole datagram, READY included */
    {"bad-value-rejects-all", "READY=1\nEXTEND_TIMEOUT_USEC=soon", -1,
     SV_NOTIFY_MESSAGE_ERROR_INVALID, 0, NULL, 0},

    /* not a notify message at all */
    {"empty", "", 0, SV_NOTIFY_MESSAGE_ERROR_EMPTY, 0, NULL, 0},
    {"nul-byte", "READY=1\0STATUS=x", 16, SV_NOTIFY_MESSAGE_ERROR_NUL, 0, NULL, 0},
    {"nul-at-end", "READY=1\0", 8, SV_NOTIFY_MESSAGE_ERROR_NUL, 0, NULL, 0},
    {"invalid-utf8", "STATUS=\xff\xfe", -1, SV_NOTIFY_MESSAGE_ERROR_UTF8, 0, NULL, 0},
    {"overlong-utf8", "STATUS=\xc0\xaf", -1, SV_NOTIFY_MESSAGE_ERROR_UTF8, 0, NULL, 0},
    {"invalid-utf8-in-unknown", "FOO=\x80\nREADY=1", -1, SV_NOTIFY_MESSAGE_ERROR_UTF8, 0, NULL, 0},
};

static void
test_case(gconstpointer data)
{
  const Case *c = data;
  gsize size = c->size < 0 ? strlen(c->data) : (gsize)c->size;
  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(c->data, size, &error);

  if (c->error != OK) {
    g_assert_error(error, SV_NOTIFY_MESSAGE_ERROR, c->error);
    g_assert_null(msg);
    /* the reason is one line, and quotes no raw control characters */
    g_assert_null(strchr(error->message, '\n'));
    g_assert_null(strchr(error->message, '\x1b'));
    return;
  }

  g_assert_no_error(error);
  g_assert_nonnull(msg);
  g_assert_cmphex(msg->fields, ==, c->fields);
  g_assert_cmpuint(msg->n_ignored, ==, c->n_ignored);

  g_autofree char *relayed = sv_notify_message_format(msg, SV_NOTIFY_FIELDS_RELAY);
  g_assert_cmpstr(relayed, ==, c->relayed);

  /* what is relayed parses back to the same relayed fields */
  if (relayed) {
    g_autoptr(SvNotifyMessage) again = sv_notify_message_parse(relayed, strlen(relayed), &error);
    g_assert_no_error(error);
    g_assert_cmphex(again->fields, ==, c->fields & SV_NOTIFY_FIELDS_RELAY);
    g_autofree char *relayed_again = sv_notify_message_format(again, SV_NOTIFY_FIELDS_RELAY);
    g_assert_cmpstr(relayed_again, ==, relayed);
  }
}

static void
test_values(void)
{
  const char text[] = "STATUS=up\nWATCHDOG_USEC=7\nEXTEND_TIMEOUT_USEC=8\nMONOTONIC_USEC=9\n"
                      "ERRNO=11\nBUSERROR=org.example.Err\nFDNAME=web\nMAINPID=1234\n"
                      "X_ONE=1\nX_TWO=two=2\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(text, strlen(text), &error);
  g_assert_no_error(error);

  g_assert_cmpstr(msg->status, ==, "up");
  g_assert_cmpuint(msg->watchdog_usec, ==, 7);
  g_assert_cmpuint(msg->extend_timeout_usec, ==, 8);
  g_assert_cmpuint(msg->monotonic_usec, ==, 9);
  g_assert_cmpint(msg->errno_value, ==, 11);
  g_assert_cmpstr(msg->buserror, ==, "org.example.Err");
  g_assert_cmpstr(msg->fdname, ==, "web");
  g_assert_cmpint(msg->mainpid, ==, 1234);
  g_assert_cmpuint(g_strv_length((char **)msg->private_assignments), ==, 2);
  g_assert_cmpstr(msg->private_assignments[0], ==, "X_ONE=1");
  g_assert_cmpstr(msg->private_assignments[1], ==, "X_TWO=two=2");
}

static void
test_size_limit(void)
{
  g_autoptr(GError) error = NULL;

  /* exactly the limit: accepted */
  g_autoptr(GString) s = g_string_new("STATUS=");
  while (s->len < SV_NOTIFY_MESSAGE_MAX)
    g_string_append_c(s, 'x');
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(s->str, s->len, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(strlen(msg->status), ==, SV_NOTIFY_MESSAGE_MAX - strlen("STATUS="));

  /* one byte more: refused, and the reason says how large it was */
  g_string_append_c(s, 'x');
  g_autoptr(SvNotifyMessage) big = sv_notify_message_parse(s->str, s->len, &error);
  g_assert_null(big);
  g_assert_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_TOO_LARGE);
  g_assert_nonnull(strstr(error->message, "4097"));
}

static void
test_line_limit(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) s = g_string_new(NULL);
  for (int i = 0; i < SV_NOTIFY_MESSAGE_LINES_MAX; i++)
    g_string_append(s, "READY=1\n");

  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(s->str, s->len, &error);
  g_assert_no_error(error);

  g_string_append(s, "READY=1");
  g_autoptr(SvNotifyMessage) many = sv_notify_message_parse(s->str, s->len, &error);
  g_assert_null(many);
  g_assert_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_TOO_MANY);
}

static void
test_fdname_limit(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strnfill(SV_NOTIFY_NAME_MAX, 'n');
  g_autofree char *ok = g_strconcat("FDNAME=", name, NULL);
  g_autofree char *too_long = g_strconcat("FDNAME=", name, "n", NULL);

  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(ok, strlen(ok), &error);
  g_assert_no_error(error);
  g_autoptr(SvNotifyMessage) bad = sv_notify_message_parse(too_long, strlen(too_long), &error);
  g_assert_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_INVALID);
  /* the quoted value is cut short */
  g_assert_cmpuint(strlen(error->message), <, 120);
}

static void
test_format_mask(void)
{
  const char text[] = "READY=1\nSTATUS=ok\nMAINPID=7\nBARRIER=1\nWATCHDOG=1";
  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(text, strlen(text), &error);
  g_assert_no_error(error);

  /* the supervisor holds READY back until its own checks pass */
  g_autofree char *held =
      sv_notify_message_format(msg, SV_NOTIFY_FIELDS_RELAY & ~SV_NOTIFY_FIELD_READY);
  g_assert_cmpstr(held, ==, "STATUS=ok\nWATCHDOG=1");

  /* MAINPID and BARRIER cannot be asked for */
  g_autofree char *all = sv_notify_message_format(msg, G_MAXUINT32);
  g_assert_cmpstr(all, ==, "READY=1\nSTATUS=ok\nWATCHDOG=1");
  g_autofree char *none =
      sv_notify_message_format(msg, SV_NOTIFY_FIELD_MAINPID | SV_NOTIFY_FIELD_BARRIER);
  g_assert_null(none);
}

static void
test_error_quotes_escaped(void)
{
  const char text[] = "EXTEND_TIMEOUT_USEC=\x1b]0;pwned\x07";
  g_autoptr(GError) error = NULL;
  g_autoptr(SvNotifyMessage) msg = sv_notify_message_parse(text, strlen(text), &error);
  g_assert_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_INVALID);
  g_assert_null(strchr(error->message, '\x1b'));
  g_assert_null(strchr(error->message, '\x07'));
  g_assert_nonnull(strstr(error->message, "EXTEND_TIMEOUT_USEC"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *path = g_strdup_printf("/notify-message/table/%s", cases[i].name);
    g_test_add_data_func(path, &cases[i], test_case);
  }
  g_test_add_func("/notify-message/values", test_values);
  g_test_add_func("/notify-message/limit/size-4096-accepted-4097-refused", test_size_limit);
  g_test_add_func("/notify-message/limit/lines", test_line_limit);
  g_test_add_func("/notify-message/limit/fdname", test_fdname_limit);
  g_test_add_func("/notify-message/format/mask-never-mainpid-or-barrier", test_format_mask);
  g_test_add_func("/notify-message/error/quotes-escaped", test_error_quotes_escaped);

  return g_test_run();
}

/* test-control-protocol.c — the control socket's request parser and replies. */
#include <glib.h>
#include <string.h>

#include "control-protocol.h"

static SvControlRequest *
parse(const char *text, GError **error)
{
  return sv_control_request_parse(text, strlen(text), error);
}

static void
test_commands(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvControlRequest) s = parse("{\"version\":1,\"command\":\"status\"}", &error);
  g_assert_no_error(error);
  g_assert_cmpint(s->command, ==, SV_CONTROL_STATUS);
  g_autoptr(SvControlRequest) r = parse(" {\"command\":\"reload\",\"version\":1} \r", &error);
  g_assert_no_error(error);
  g_assert_cmpint(r->command, ==, SV_CONTROL_RELOAD);
  g_autoptr(SvControlRequest) j =
      parse("{\"version\":1,\"command\":\"run-job\",\"job\":\"nightly\",\"wait\":true}", &error);
  g_assert_no_error(error);
  g_assert_cmpint(j->command, ==, SV_CONTROL_RUN_JOB);
  g_assert_cmpstr(j->job, ==, "nightly");
  g_assert_true(j->wait);
  /* Members a version does not know are ignored. */
  g_autoptr(SvControlRequest) x =
      parse("{\"version\":1,\"command\":\"status\",\"future\":[1,2,{\"a\":null}]}", &error);
  g_assert_no_error(error);
}

static void
test_round_trip(void)
{
  SvControlRequest req = {
      .version = 1, .command = SV_CONTROL_RUN_JOB, .job = "a \"b\"\n", .wait = TRUE};
  g_autofree char *line = sv_control_request_format(&req);
  g_assert_true(g_str_has_suffix(line, "\n"));
  g_assert_true(strchr(line, '\n') == line + strlen(line) - 1); /* one line */
  g_autoptr(GError) error = NULL;
  g_autoptr(SvControlRequest) back = sv_control_request_parse(line, strlen(line) - 1, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(back->job, ==, "a \"b\"\n");
  g_assert_true(back->wait);
}

typedef struct {
  const char *text;
  SvControlError code;
} Bad;

static void
test_errors(void)
{
  static const Bad bad[] = {
      {"", SV_CONTROL_ERROR_MALFORMED},
      {"garbage", SV_CONTROL_ERROR_MALFORMED},
      {"[1,2]", SV_CONTROL_ERROR_MALFORMED},
      {"{\"version\":1,\"command\":\"status\"", SV_CONTROL_ERROR_MALFORMED},
      {"{\"command\":\"status\"}", SV_CONTROL_ERROR_INVALID},
      {"{\"version\":\"1\",\"command\":\"status\"}", SV_CONTROL_ERROR_INVALID},
      {"{\"version\":2,\"command\":\"status\"}", SV_CONTROL_ERROR_VERSION},
      {"{\"version\":1,\"command\":\"format-disk\"}", SV_CONTROL_ERROR_UNKNOWN_COMMAND},
      {"{\"version\":1,\"command\":7}", SV_CONTROL_ERROR_INVALID},
      {"{\"version\":1,\"command\":\"run-job\"}", SV_CONTROL_ERROR_INVALID},
      {"{\"version\":1,\"command\":\"run-job\",\"job\":\"\"}", SV_CONTROL_ERROR_INVALID},
      /* json-glib's octal escape makes byte 0x8d: not UTF-8 (found by fuzz-control) */
      {"{\"version\":1,\"command\":\"run-job\",\"job\":\"a\\615\"}", SV_CONTROL_ERROR_INVALID},
      {"{\"version\":1,\"command\":\"run-job\",\"job\":\"x\",\"wait\":1}",
       SV_CONTROL_ERROR_INVALID},
      {"{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}", SV_CONTROL_ERROR_MALFORMED},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(SvControlRequest) r = parse(bad[i].text, &error);
    g_test_message("%s → %s", bad[i].text, error ? error->message : "(parsed)");
    g_assert_null(r);
    g_assert_error(error, SV_CONTROL_ERROR, (gint)bad[i].code);
    /* The reply to it is one line of JSON naming the code. */
    g_autofree char *reply = sv_control_reply_error(error);
    g_assert_true(g_str_has_suffix(reply, "\n"));
    g_autoptr(GError) back = NULL;
    g_autoptr(JsonObject) none = sv_control_reply_parse(reply, strlen(reply) - 1, &back);
    g_assert_null(none);
    g_assert_error(back, SV_CONTROL_ERROR, (gint)bad[i].code);
  }
  /* Bytes that are not text. */
  static const char nul[] = "{\"version\":1,\0\"command\":\"status\"}";
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_control_request_parse(nul, sizeof nul - 1, &error));
  g_assert_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED);
  g_clear_error(&error);
  g_assert_null(sv_control_request_parse("{\"\xff\":1}", 7, &error));
  g_assert_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED);
}

static void
test_too_large(void)
{
  g_autoptr(GString) big = g_string_new("{\"version\":1,\"command\":\"run-job\",\"job\":\"");
  while (big->len <= SV_CONTROL_MAX_REQUEST)
    g_string_append_c(big, 'x');
  g_string_append(big, "\"}");
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_control_request_parse(big->str, big->len, &error));
  g_assert_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_TOO_LARGE);
}

static void
test_reply_ok(void)
{
  JsonObject *members = json_object_new();
  json_object_set_string_member(members, "state", "running");
  g_autofree char *line = sv_control_reply_ok(members);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) back = sv_control_reply_parse(line, strlen(line), &error);
  g_assert_no_error(error);
  g_assert_cmpstr(json_object_get_string_member(back, "state"), ==, "running");
  g_assert_cmpint(json_object_get_int_member(back, "version"), ==, SV_CONTROL_PROTOCOL_VERSION);
  /* A reply without "ok" is not one. */
  g_assert_null(sv_control_reply_parse("{\"version\":1}", 13, &error));
  g_assert_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_INVALID);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/control-protocol/commands", test_commands);
  g_test_add_func("/control-protocol/format-round-trip", test_round_trip);
  g_test_add_func("/control-protocol/errors-have-codes", test_errors);
  g_test_add_func("/control-protocol/too-large", test_too_large);
  g_test_add_func("/control-protocol/reply-ok", test_reply_ok);
  return g_test_run();
}

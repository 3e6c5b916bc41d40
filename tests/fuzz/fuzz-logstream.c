/* fuzz-logstream.c — libFuzzer harness for the line splitter of logstream's readers
 * (sv_logstream_split()), which cuts what a child writes to its pipe into lines.
 *
 * Input: 1 byte for line-max (1–128, or 48 KiB, the default, when the top bit is set),
 * 1 byte seeding the sizes of the reads, then the stream. The stream is split twice:
 * in one call, and in reads of pseudo-random sizes (1 to 2 × line-max + 2 bytes), as the
 * pipe may deliver it. Checks, besides the sanitizers:
 *   - no byte is lost, added or changed: the pieces, each followed by '\n' unless it is
 *     PARTIAL, equal the stream, plus a '\n' when its last line has none;
 *   - no piece is longer than line-max, and none holds a '\n'; a PARTIAL one is exactly
 *     line-max long; a piece is CONTINUED exactly when the one before was PARTIAL, and
 *     then not empty (a line exactly line-max long is not cut); the last one is not
 *     PARTIAL;
 *   - how the stream is cut into reads does not change the pieces or their flags. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "logstream.h"

typedef struct {
  gsize line_max;
  GByteArray *joined; /* the pieces, '\n' after each that is not PARTIAL */
  GArray *pieces;     /* guint64 each: length << 2 | flags */
  gboolean last_partial;
} Pieces;

static void
on_line(const guint8 *line, gsize len, guint flags, gpointer user_data)
{
  Pieces *p = user_data;
  g_assert_cmpuint(flags & ~(guint)(SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_CONTINUED), ==, 0);
  g_assert_cmpuint(len, <=, p->line_max);
  g_assert_null(memchr(line, '\n', len));
  gboolean partial = (flags & SV_LOG_ENTRY_PARTIAL) != 0;
  if (partial)
    g_assert_cmpuint(len, ==, p->line_max);
  g_assert_cmpint((flags & SV_LOG_ENTRY_CONTINUED) != 0, ==, p->last_partial);
  /* A line is cut only when more of it follows: no empty entry after a cut. */
  if (flags & SV_LOG_ENTRY_CONTINUED)
    g_assert_cmpuint(len, >, 0);
  p->last_partial = partial;

  g_byte_array_append(p->joined, line, (guint)len);
  if (!partial)
    g_byte_array_append(p->joined, (const guint8 *)"\n", 1);
  guint64 piece = (guint64)len << 2 | flags;
  g_array_append_val(p->pieces, piece);
}

static void
pieces_init(Pieces *p, gsize line_max)
{
  *p = (Pieces){line_max, g_byte_array_new(), g_array_new(FALSE, FALSE, sizeof(guint64)), FALSE};
}

static void
pieces_clear(Pieces *p)
{
  g_byte_array_unref(p->joined);
  g_array_unref(p->pieces);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  gsize line_max = (data[0] & 0x80) ? 48 * 1024 : 1 + (gsize)data[0];
  guint32 seed = data[1];
  const guint8 *stream = data + 2;
  gsize len = size - 2;

  Pieces whole, reads;
  pieces_init(&whole, line_max);
  pieces_init(&reads, line_max);

  SvLineSplitter splitter;
  sv_logstream_splitter_init(&splitter, line_max, on_line, &whole);
  sv_logstream_split(&splitter, stream, len);
  sv_logstream_split_end(&splitter);
  sv_logstream_splitter_clear(&splitter);

  sv_logstream_splitter_init(&splitter, line_max, on_line, &reads);
  for (gsize at = 0; at < len;) {
    seed = seed * 1103515245u + 12345u;
    gsize n = MIN(len - at, 1 + (seed >> 16) % (2 * MIN(line_max, 4096) + 2));
    sv_logstream_split(&splitter, stream + at, n);
    at += n;
  }
  sv_logstream_split_end(&splitter);
  sv_logstream_splitter_clear(&splitter);

  /* What was written, the last line ended. */
  g_autoptr(GByteArray) expected = g_byte_array_new();
  g_byte_array_append(expected, stream, (guint)len);
  if (len > 0 && stream[len - 1] != '\n')
    g_byte_array_append(expected, (const guint8 *)"\n", 1);

  for (Pieces *p = &whole; p != NULL; p = p == &whole ? &reads : NULL) {
    g_assert_false(p->last_partial);
    if (p->joined->len != expected->len ||
        (expected->len > 0 && memcmp(p->joined->data, expected->data, expected->len) != 0))
      g_error("%u bytes in, %u out (line-max %zu)", expected->len, p->joined->len,
              (size_t)line_max);
  }
  g_assert_cmpuint(whole.pieces->len, ==, reads.pieces->len);
  g_assert_true(whole.pieces->len == 0 || memcmp(whole.pieces->data, reads.pieces->data,
                                                 whole.pieces->len * sizeof(guint64)) == 0);
  pieces_clear(&whole);
  pieces_clear(&reads);
  return 0;
}

/* journal-dump — a fake journald for the fleet suite's shell tests: binds a datagram
 * socket at SOCKET (the test bind-mounts it over /run/systemd/journal/socket in
 * sdvisor's mount namespace) and appends every entry it receives to OUT, one field a line
 * (NAME=VALUE, a newline inside a value written as \n) and a blank line after each entry,
 * until it is killed. OUT is written whole entries at a time, so a test can read it while
 * this runs.
 *
 *     journal-dump SOCKET OUT */
#include <glib.h>
#include <stdio.h>

#include "fakejournal.h"

static void
write_entry(FILE *out, GHashTable *entry)
{
  g_autoptr(GList) names = g_list_sort(g_hash_table_get_keys(entry), (GCompareFunc)g_strcmp0);
  for (GList *l = names; l != NULL; l = l->next) {
    const char *value = sv_journal_entry_field(entry, l->data);
    fprintf(out, "%s=", (const char *)l->data);
    for (const char *c = value; *c != '\0'; c++) {
      if (*c == '\n')
        fputs("\\n", out);
      else
        fputc(*c, out);
    }
    fputc('\n', out);
  }
  fputc('\n', out);
}

int
main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: journal-dump SOCKET OUT\n");
    return 2;
  }
  int fd = sv_fake_journal_bind(argv[1]);
  FILE *out = fopen(argv[2], "a");
  if (out == NULL) {
    perror(argv[2]);
    return 1;
  }
  for (;;) {
    g_autoptr(GPtrArray) entries = sv_journal_entries_new();
    if (!sv_fake_journal_read(fd, entries, 1000))
      continue;
    for (guint i = 0; i < entries->len; i++)
      write_entry(out, entries->pdata[i]);
    fflush(out);
  }
}

/* fakejournal.h — a fake journald for tests: a datagram socket that the code under test
 * takes for /run/systemd/journal/socket, and the native protocol's parser.
 *
 * Two ways to use it: SvFakeJournal owns a socket in a private directory and hands out
 * one entry at a time with its sender's pid (the unit tests of the sink); the fd-based
 * calls bind a socket at a given path (in sdvisor's mount namespace) and collect every
 * entry as a table of fields (the integration tests). */
#pragma once
#include <glib.h>
#include <sys/types.h>

/* One received entry. */
typedef struct {
  GHashTable *fields;  /* NAME → GBytes * (binary values as they are; NUL after the end) */
  pid_t pid;           /* the sender's (SCM_CREDENTIALS) */
  gboolean via_memfd;  /* the entry came in a memfd: its datagram carried nothing else */
  int memfd_seals;     /* F_GET_SEALS of that memfd */
  gsize datagram_size; /* bytes of the datagram itself */
} SvJournalEntry;

void sv_journal_entry_free(SvJournalEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJournalEntry, sv_journal_entry_free)
/* ENTRY's field NAME as a string (up to a NUL inside it), or NULL. */
char *sv_journal_entry_dup(SvJournalEntry *entry, const char *name);

#define sv_assert_journal_field(entry, name, expected)                                             \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *v_ = sv_journal_entry_dup((entry), (name));                                   \
    g_assert_cmpstr(v_, ==, (expected));                                                           \
  }                                                                                                \
  G_STMT_END

typedef struct {
  char *dir;  /* private temporary directory, removed at free */
  char *path; /* DIR/socket */
  int fd;     /* -1 while not listening */
} SvFakeJournal;

/* A fake journald at a path of its own; listening at once when BOUND. */
SvFakeJournal *sv_fake_journal_new(gboolean bound);
/* Binds (again) at its path: journald starting (or coming back). */
void sv_fake_journal_listen(SvFakeJournal *fj);
/* Closes and unlinks the socket: journald gone. */
void sv_fake_journal_close(SvFakeJournal *fj);
void sv_fake_journal_free(SvFakeJournal *fj); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvFakeJournal, sv_fake_journal_free)
/* The next entry (asserting it is well-formed), or NULL after TIMEOUT_MS. */
SvJournalEntry *sv_fake_journal_recv(SvFakeJournal *fj, int timeout_ms);

/* ---- by file descriptor ---------------------------------------------------------------------- */

/* A datagram socket bound at PATH (the place of /run/systemd/journal/socket in sdvisor's
 * mount namespace, typically /proc/PID/root/…), with journald's large receive buffer. */
int sv_fake_journal_bind(const char *path);
/* One native-protocol entry: NAME → GBytes *, as far as it is well-formed. */
GHashTable *sv_journal_entry_parse(const guint8 *data, gsize len);
/* The same; *COMPLETE says whether all of it was well-formed. */
GHashTable *sv_journal_entry_parse_full(const guint8 *data, gsize len, gboolean *complete);
/* An array for sv_fake_journal_read(): it frees its entries (tables of fields). */
GPtrArray *sv_journal_entries_new(void);
/* Reads every datagram waiting on FD (up to TIMEOUT_MS for the first) into ENTRIES, an
 * entry passed as a memfd included; TRUE if any came. */
gboolean sv_fake_journal_read(int fd, GPtrArray *entries, int timeout_ms);
/* Field NAME of an entry of ENTRIES, or NULL. */
const char *sv_journal_entry_field(GHashTable *entry, const char *name);

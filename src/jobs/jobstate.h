/* jobstate.h — the on-disk half of "exactly once per host": the state directory, the
 * per-job lock and the per-job state file.
 *
 * Layout, one directory per app (names escaped, see sv_jobname_escape()):
 *
 *   <state-dir>/<app>/             0700, owned by sdvisor's user, never a symlink
 *   <state-dir>/<app>/<job>.lock   0600, flock()ed for as long as a run of the job is claimed
 *   <state-dir>/<app>/<job>.state  0600, the last claimed or finished run; replaced atomically
 *
 * Everything here is synchronous and keeps no global state, so jobs.c runs it in worker
 * threads (an fsync must never stall the main loop) and the unit tests can play several
 * instances in one process: flock() locks belong to the open file description, so two
 * open() calls of one lock file conflict even inside one process.
 *
 * The state file is text, one key=value per line, ending with a checksum line over every
 * byte before it; anything else (truncated, garbage, too long, another job's) is "corrupt":
 * reported, moved aside to <job>.state.corrupt, and treated as no state. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#define SV_JOBSTATE_ERROR (sv_jobstate_error_quark())
GQuark sv_jobstate_error_quark(void);

typedef enum {
  SV_JOBSTATE_ERROR_IO,       /* a system call failed; the message names it and the path */
  SV_JOBSTATE_ERROR_NO_SPACE, /* ENOSPC/EDQUOT: the state directory is full */
  SV_JOBSTATE_ERROR_REMOTE,   /* the state directory is on NFS, CIFS…: flock() is not reliable */
  SV_JOBSTATE_ERROR_UNSAFE,   /* owned by another user, writable by others, a symlink, not a file */
  SV_JOBSTATE_ERROR_CORRUPT,  /* a state file that fails its checks */
  SV_JOBSTATE_ERROR_NOT_FOUND, /* read-only open: no state directory for this app yet */
} SvJobStateError;

/* The largest state file accepted; a real one is about 500 bytes. */
#define SV_JOBSTATE_MAX_SIZE 4096
/* Longest value kept in a record (host names, app and job names). */
#define SV_JOBSTATE_MAX_VALUE 256

typedef enum {
  SV_JOB_RESULT_NONE,        /* running: no result yet */
  SV_JOB_RESULT_SUCCESS,     /* exit status 0 */
  SV_JOB_RESULT_FAILED,      /* non-zero exit or killed by a signal of its own */
  SV_JOB_RESULT_TIMEOUT,     /* killed at timeout= */
  SV_JOB_RESULT_EXEC_FAILED, /* could not be started or executed */
  SV_JOB_RESULT_STOPPED,     /* ended by sdvisor's stop */
  SV_JOB_RESULT_INTERRUPTED, /* its sdvisor died mid-run; outcome unknown */
} SvJobResult;

const char *sv_job_result_name(SvJobResult result); /* "success", "timeout"… */

typedef struct {
  char *app;
  char *job;
  gint64 slot_usec; /* the scheduled slot T (CLOCK_REALTIME, µs since the epoch) */
  gboolean running; /* claimed and not finished: result is NONE */
  SvJobResult result;
  int exit_code;        /* shell-style (128+N for signal N); -1 = none */
  char *run_id;         /* SDVISOR_JOB_RUN of the run */
  pid_t pid;            /* the sdvisor instance that ran it */
  char *instance_id;    /* that instance's random id: pids repeat (PID 1 in every container) */
  pid_t job_pid;        /* the job's process; 0 = not known */
  char *host;           /* host name, for people */
  char *boot_id;        /* tells a run cut short by a reboot from one cut by a crash */
  gint64 started_usec;  /* CLOCK_REALTIME */
  gint64 duration_usec; /* -1 while running */
} SvJobRecord;

SvJobRecord *sv_job_record_new(void);
SvJobRecord *sv_job_record_copy(const SvJobRecord *record);
void sv_job_record_free(SvJobRecord *record); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJobRecord, sv_job_record_free)

/* The file's bytes (NUL-terminated, LEN without the NUL). Newlines and control characters
 * in string values become '?', and values are cut at SV_JOBSTATE_MAX_VALUE bytes. */
char *sv_job_record_serialize(const SvJobRecord *record, gsize *out_len);
/* Parses a state file's bytes; SV_JOBSTATE_ERROR_CORRUPT says what is wrong. */
SvJobRecord *sv_job_record_parse(const char *data, gsize len, GError **error);

/* "2026-11-22T10:00:00Z"; a fraction as ".250" (milliseconds) or ".250001". */
char *sv_jobstate_format_time(gint64 realtime_usec);

/* The name of a file system whose flock() cannot be trusted to exclude other instances
 * ("NFS", "CIFS", …), or NULL for a local one. F_TYPE is statfs()'s f_type. */
const char *sv_jobstate_remote_fs_name(guint64 f_type);

/* $STATE_DIRECTORY (its first entry: systemd separates several with ':'), else
 * /var/lib/sdvisor. */
char *sv_jobstate_default_dir(void);

/* This host's boot id (/proc/sys/kernel/random/boot_id), "" if unknown. Cached. */
const char *sv_jobstate_boot_id(void);

/* The directory APP's state is in, as sv_job_store_open() finds it: a STATE_DIR (or
 * $STATE_DIRECTORY entry) named for the app is the app's own (StateDirectory=sdvisor/NAME,
 * owned by the unit's user); a $STATE_DIRECTORY entry in a directory called "sdvisor"
 * (sdvisor@OTHER.service of an app with name=APP) has the app's directory as a sibling;
 * any other is a root with one directory per app below it. */
char *sv_jobstate_app_dir(const char *state_dir, const char *app);

typedef struct SvJobStore SvJobStore;

/* Opens <STATE_DIR>/<APP>/ (STATE_DIR NULL = sv_jobstate_default_dir()). With CREATE,
 * creates what is missing (0700) and refuses a directory that is on a network file
 * system, owned by another user or writable by group or others; without it (for
 * `sdvisor jobs`) nothing is created and a missing directory is
 * SV_JOBSTATE_ERROR_NOT_FOUND. */
SvJobStore *sv_job_store_open(const char *state_dir, const char *app, gboolean create,
                              GError **error);
SvJobStore *sv_job_store_ref(SvJobStore *store);
void sv_job_store_unref(SvJobStore *store); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJobStore, sv_job_store_unref)
const char *sv_job_store_get_path(SvJobStore *store); /* <state-dir>/<app> */
const char *sv_job_store_get_app(SvJobStore *store);

/* Reads JOB's state without locking. NULL and no error = no state yet. A corrupt file is
 * an error (SV_JOBSTATE_ERROR_CORRUPT) and is left where it is. */
SvJobRecord *sv_job_store_read(SvJobStore *store, const char *job, GError **error);

/* Replaces JOB's state atomically: temporary file, fsync, rename, fsync of the directory.
 * On failure the previous state is untouched and no temporary file is left. */
gboolean sv_job_store_write(SvJobStore *store, const char *job, const SvJobRecord *record,
                            GError **error);

/* Moves a corrupt state file aside to <job>.state.corrupt (replacing an older one). */
gboolean sv_job_store_quarantine(SvJobStore *store, const char *job, GError **error);

/* Opens (creating, 0600) and flock()s JOB's lock file without waiting. Returns the
 * locked fd, or -1 with *out_busy set when another open file description holds it, or
 * -1 with ERROR set. */
int sv_job_store_lock(SvJobStore *store, const char *job, gboolean *out_busy, GError **error);

/* Removes temporary files (.<job>.state.XXXXXX) that a dead instance left behind and
 * that are older than MIN_AGE_USEC; a live writer's are seconds old at most. */
void sv_job_store_clean_temporaries(SvJobStore *store, gint64 min_age_usec);

/* ---- the claim ------------------------------------------------------------------------ */

typedef enum {
  SV_JOB_CLAIM_OK,      /* claimed: run it, then sv_job_claim_finish() */
  SV_JOB_CLAIM_BUSY,    /* the lock is held: another instance is running the job */
  SV_JOB_CLAIM_DONE,    /* the state records this slot or a later one */
  SV_JOB_CLAIM_NOTHING, /* at start: nothing to catch up or retry */
  SV_JOB_CLAIM_ERROR,   /* the state could not be read safely or written: skip */
} SvJobClaimStatus;

typedef struct {
  SvJobClaimStatus status;
  SvJobStore *store;
  char *job;
  int lock_fd;           /* OK: held until finish, abandon or free */
  SvJobRecord *record;   /* OK: the claim as written */
  SvJobRecord *previous; /* the state found, NULL if none or corrupt */
  gboolean interrupted;  /* PREVIOUS said running while the lock was free: its instance
                           * died mid-run (or the host rebooted). Report it. */
  GError *corrupt;       /* the state file failed its checks: report it (it was moved
                           * aside and the job continued as if there were no state) */
  GError *error;         /* ERROR: why */
} SvJobClaim;

/* The once-per-host rule for slot SLOT: lock (busy → BUSY); read the state; a recorded
 * slot ≥ SLOT → DONE; otherwise write the claim (TEMPLATE with SLOT and running set) and
 * return OK holding the lock. Never NULL. */
SvJobClaim *sv_job_store_claim(SvJobStore *store, const char *job, gint64 slot,
                               const SvJobRecord *template_record);

/* A run asked for by an operator (sdvisor run-job): lock (busy → BUSY); read the state;
 * write the claim for the later of SLOT and the slot the state records (a manual run
 * never takes a future slot, and never moves the record back). Never NULL. */
SvJobClaim *sv_job_store_claim_manual(SvJobStore *store, const char *job, gint64 slot,
                                      const SvJobRecord *template_record);

/* What sdvisor does for JOB when it starts: lock (busy → BUSY: someone is running it);
 * read the state; a record still "running" is an interrupted run (→ interrupted set).
 * Then, in this order:
 *   - CATCH_UP_SLOT ≥ 0 and a state older than it (persistent=true) → claim CATCH_UP_SLOT;
 *   - an interrupted run and RETRY_INTERRUPTED → claim that slot again;
 *   - otherwise NOTHING, after recording an interrupted run as result=interrupted so it
 *     is reported once. */
SvJobClaim *sv_job_store_claim_at_start(SvJobStore *store, const char *job, gint64 catch_up_slot,
                                        gboolean retry_interrupted,
                                        const SvJobRecord *template_record);

/* Records the run's result over the claim and releases the lock. On failure the lock is
 * released too; the state keeps saying "running", and the next start reports the run as
 * interrupted. */
gboolean sv_job_claim_finish(SvJobClaim *claim, SvJobResult result, int exit_code, pid_t job_pid,
                             gint64 duration_usec, GError **error);

/* Takes a claim back without running: the previous state is restored (or removed if
 * there was none) and the lock released. */
gboolean sv_job_claim_abandon(SvJobClaim *claim, GError **error);

void sv_job_claim_free(SvJobClaim *claim); /* NULL-safe; releases the lock if still held */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvJobClaim, sv_job_claim_free)

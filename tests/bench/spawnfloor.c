/* spawnfloor — the floor of the job-lateness benchmark: what starting JOBS processes at
 * the same slot costs on this machine with no supervisor at all.
 *
 *     spawnfloor [-n JOBS] [-s SECONDS] [-t THREADS] -- COMMAND ARGS...
 *
 * For each of SECONDS whole seconds of CLOCK_REALTIME: sleep until the second begins,
 * set SDVISOR_JOB_SLOT to it (as sdvisor does for a job), posix_spawn() COMMAND JOBS
 * times, shared among THREADS threads (1: one after another, as a single-threaded
 * supervisor would; 2 or more: spawns overlap, each thread waiting only for its own
 * child's exec), then reap them all. With COMMAND = jobstamp FILE, FILE gets each
 * child's lateness as the job sees it, measured exactly as for sdvisor's jobs. Nothing
 * else is done per job: no timer per job, no state file, no log line, no pipes. Exits 0,
 * or 1 with a message when a spawn fails. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_nanosleep's TIMER_ABSTIME on CLOCK_REALTIME */
#endif
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct round {
  char **argv;
  int jobs;
  int next; /* the next job to spawn, under lock */
  int failed;
  pthread_mutex_t lock;
};

static void *
spawner(void *data)
{
  struct round *r = data;
  for (;;) {
    pthread_mutex_lock(&r->lock);
    int job = r->next < r->jobs ? r->next++ : -1;
    pthread_mutex_unlock(&r->lock);
    if (job < 0)
      return NULL;
    pid_t pid;
    int err = posix_spawn(&pid, r->argv[0], NULL, NULL, r->argv, environ);
    if (err != 0) {
      fprintf(stderr, "spawnfloor: %s: %s\n", r->argv[0], strerror(err));
      pthread_mutex_lock(&r->lock);
      r->failed++;
      pthread_mutex_unlock(&r->lock);
    }
  }
}

int
main(int argc, char **argv)
{
  int jobs = 100, seconds = 60, threads = 1, opt;
  while ((opt = getopt(argc, argv, "+n:s:t:")) != -1) {
    switch (opt) {
    case 'n':
      jobs = atoi(optarg);
      break;
    case 's':
      seconds = atoi(optarg);
      break;
    case 't':
      threads = atoi(optarg);
      break;
    default:
      goto usage;
    }
  }
  if (optind >= argc || jobs < 1 || seconds < 1 || threads < 1 || threads > 64)
    goto usage;

  struct round r = {.argv = argv + optind, .jobs = jobs};
  pthread_mutex_init(&r.lock, NULL);
  pthread_t tids[64];
  for (int s = 0; s < seconds; s++) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct timespec slot = {now.tv_sec + 1, 0};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &slot, NULL) == EINTR)
      ;
    struct tm tm;
    char stamp[32];
    gmtime_r(&slot.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    setenv("SDVISOR_JOB_SLOT", stamp, 1); /* before any spawner thread runs */

    r.next = 0;
    for (int t = 1; t < threads; t++)
      pthread_create(&tids[t], NULL, spawner, &r);
    spawner(&r); /* the main thread is the first spawner */
    for (int t = 1; t < threads; t++)
      pthread_join(tids[t], NULL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
      ;
    if (r.failed > 0)
      return 1;
  }
  return 0;

usage:
  fprintf(stderr, "usage: spawnfloor [-n JOBS] [-s SECONDS] [-t THREADS] -- COMMAND ARGS...\n");
  return 2;
}

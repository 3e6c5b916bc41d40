/* sigterm-exit — SIGTERM-to-exit latency of a supervisor: the time from kill(SUPERVISOR,
 * SIGTERM) to waitpid() returning its exit status, with an app that exits at once on
 * SIGTERM (termapp).
 *
 *     sigterm-exit [-n RUNS] [-p MAX_PHASE_MS] [-s SETTLE_MS] [-f FIFO] -- COMMAND ARGS...
 *
 * In COMMAND, an argument "@FIFO@" is replaced by the path of a FIFO (FIFO, else one in
 * a new directory under /tmp) that termapp writes "ready" into once its SIGTERM handler
 * is installed; give -f when the app's command line is in a file (supervisord). Each run: mkfifo, fork + exec
 * COMMAND (the supervisor, which starts termapp FIFO), read "ready" from the FIFO, sleep
 * SETTLE_MS plus a random 0..MAX_PHASE_MS (the random phase: the kill falls anywhere
 * within the supervisor's own timers, e.g. supervisord's 1 s poll), then
 *     t0 = clock_gettime(CLOCK_MONOTONIC); kill(pid, SIGTERM); waitpid(pid); t1 = ...
 * One line per run on stderr ("run N: T us, status S"), then one summary line on stdout:
 *     runs=N median_us=… min_us=… p90_us=… max_us=… mean_us=… bad_exits=…
 * A run whose supervisor does not exit within 30 s is killed and counted as failed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sleep_ns(long long ns)
{
  struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int
cmp_ll(const void *a, const void *b)
{
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static void
on_alarm(int sig)
{
  (void)sig;
}

int
main(int argc, char **argv)
{
  int runs = 20, max_phase_ms = 1000, settle_ms = 200, opt;
  const char *fifo_arg = NULL;
  while ((opt = getopt(argc, argv, "+n:p:s:f:")) != -1) {
    switch (opt) {
    case 'n':
      runs = atoi(optarg);
      break;
    case 'p':
      max_phase_ms = atoi(optarg);
      break;
    case 's':
      settle_ms = atoi(optarg);
      break;
    case 'f':
      fifo_arg = optarg;
      break;
    default:
      fprintf(stderr, "usage: sigterm-exit [-n RUNS] [-p MAX_PHASE_MS] [-s SETTLE_MS] [-f FIFO] -- "
                      "COMMAND...\n");
      return 64;
    }
  }
  if (optind >= argc || runs < 1) {
    fprintf(stderr, "sigterm-exit: no command\n");
    return 64;
  }
  char dir[] = "/tmp/sigterm-exit-XXXXXX";
  char fifo_buf[sizeof dir + 16];
  char *fifo = fifo_buf;
  if (fifo_arg != NULL) {
    fifo = (char *)fifo_arg;
  } else {
    if (mkdtemp(dir) == NULL) {
      perror("mkdtemp");
      return 71;
    }
    snprintf(fifo_buf, sizeof fifo_buf, "%s/fifo", dir);
  }
  int n_args = argc - optind;
  char **args = calloc((size_t)n_args + 1, sizeof *args);
  for (int i = 0; i < n_args; i++)
    args[i] = strcmp(argv[optind + i], "@FIFO@") == 0 ? fifo : argv[optind + i];

  struct sigaction sa = {.sa_handler = on_alarm};
  sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: an alarm interrupts a blocked read */
  srandom((unsigned)now_ns());
  long long *lat = calloc((size_t)runs, sizeof *lat);
  int measured = 0, bad = 0, failed = 0;
  for (int r = 0; r < runs; r++) {
    unlink(fifo);
    if (mkfifo(fifo, 0600) < 0) {
      perror("mkfifo");
      return 71;
    }
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 71;
    }
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, STDIN_FILENO);
      execvp(args[0], args);
      perror("exec");
      _exit(127);
    }
    alarm(30);
    int fd = open(fifo, O_RDONLY | O_CLOEXEC);
    char buf[16];
    ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    alarm(0);
    if (fd >= 0)
      close(fd);
    if (got <= 0) {
      fprintf(stderr, "run %d: the app never said ready\n", r + 1);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      failed++;
      continue;
    }
    sleep_ns((long long)settle_ms * 1000000LL +
             (max_phase_ms > 0 ? random() % ((long long)max_phase_ms * 1000000LL) : 0));
    int status;
    long long t0 = now_ns();
    kill(pid, SIGTERM);
    alarm(30);
    pid_t w = waitpid(pid, &status, 0); /* EINTR: the alarm */
    long long t1 = now_ns();
    alarm(0);
    if (w != pid) {
      fprintf(stderr, "run %d: the supervisor did not exit within 30 s\n", r + 1);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      failed++;
      continue;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && code != 143)
      bad++;
    lat[measured++] = (t1 - t0) / 1000;
    fprintf(stderr, "run %d: %lld us, status %d\n", r + 1, (t1 - t0) / 1000, code);
    /* Orphans of a supervisor that left its app behind would skew the next run. */
    sleep_ns(20 * 1000000LL);
  }
  unlink(fifo);
  if (fifo_arg == NULL)
    rmdir(dir);
  if (measured == 0) {
    printf("runs=0 failed=%d\n", failed);
    return 1;
  }
  qsort(lat, (size_t)measured, sizeof *lat, cmp_ll);
  long long sum = 0;
  for (int i = 0; i < measured; i++)
    sum += lat[i];
  long long median =
      measured % 2 ? lat[measured / 2] : (lat[measured / 2 - 1] + lat[measured / 2]) / 2;
  int p90 = (90 * measured + 99) / 100 - 1;
  printf("runs=%d median_us=%lld min_us=%lld p90_us=%lld max_us=%lld mean_us=%lld bad_exits=%d "
         "failed=%d\n",
         measured, median, lat[0], lat[p90], lat[measured - 1], sum / measured, bad, failed);
  return failed > 0;
}

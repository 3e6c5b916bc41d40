/* termapp — the app of the SIGTERM-to-exit benchmark: exits at once on SIGTERM.
 *
 *     termapp FIFO
 *
 * Installs a SIGTERM handler that calls _exit(0), then opens FIFO for writing, writes
 * "ready\n" and closes it (so the benchmark knows the handler is in place whichever
 * supervisor started it), then sleeps in pause(). Nothing else: no output, no timers. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void
on_term(int sig)
{
  (void)sig;
  _exit(0);
}

int
main(int argc, char **argv)
{
  if (argc != 2)
    return 64;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, NULL) < 0)
    return 71;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return 72;
  if (write(fd, "ready\n", 6) != 6)
    return 73;
  close(fd);
  for (;;)
    pause();
}

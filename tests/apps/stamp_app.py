"""A minimal HTTP app that records, with timestamps, when it starts listening and
when it receives SIGTERM (sdvisor system tests).

    python3 stamp_app.py --port PORT --stamps DIR [--delay SECONDS] [--jitter SECONDS]

It sleeps DELAY seconds (plus a random 0..JITTER), then binds 127.0.0.1:PORT and
listens, and right after listen() appends one line to DIR/listen:

    <CLOCK_MONOTONIC ns> <CLOCK_REALTIME ns> <pid>

so a test can compare it with systemd's ActiveEnterTimestampMonotonic (when
READY=1 reached systemd) or with the moment `systemctl start` returned. On
SIGTERM it appends the same kind of line to DIR/term, logs it, and exits 0; on
SIGHUP it appends one to DIR/hup, logs it, and carries on. Every request gets "200 ok". Only the standard library: it starts in tens of
milliseconds, so the tests can start it many times.
"""
import argparse
import logging
import os
import random
import signal
import socket
import sys
import time


def stamp(path):
    line = f"{time.clock_gettime_ns(time.CLOCK_MONOTONIC)} {time.time_ns()} {os.getpid()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return line.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stamps", required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    args = parser.parse_args()

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("stamp_app")

    def on_term(signo, frame):
        line = stamp(os.path.join(args.stamps, "term"))
        log.info("received SIGTERM (%s), exiting", line)
        sys.exit(0)

    def on_hup(signo, frame):
        line = stamp(os.path.join(args.stamps, "hup"))
        log.info("received SIGHUP (%s)", line)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_hup)

    delay = args.delay + random.uniform(0, args.jitter)
    if delay > 0:
        log.info("pid %d: listening in %.3fs", os.getpid(), delay)
        time.sleep(delay)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(64)
    line = stamp(os.path.join(args.stamps, "listen"))
    log.info("listening on 127.0.0.1:%d (%s)", args.port, line)

    while True:
        conn, _ = sock.accept()
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 3\r\n\r\nok\n")
            except OSError:
                pass


if __name__ == "__main__":
    main()

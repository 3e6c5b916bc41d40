"""Helpers shared by the test apps in this directory.

The apps exist for sdvisor's system tests (tests/system): each serves /health
(app_flask and app_fastapi also /healthz, 503 while sdvisor drains them),
/slow?seconds=N and /echo?line=TEXT, and logs with the logging module to stderr,
the way a typical Python web app does.
"""
import logging
import os
import socket
import sys

# /slow's body: large enough that a connection closed early shows up as a short
# read, and ending in a line the tests look for.
SLOW_PADDING = "0123456789abcdef" * 4096  # 64 KiB


def setup_logging(name):
    """The usual setup, a stderr handler at level INFO, on the app's own logger:
    the servers configure the root and their own loggers themselves, and a root
    handler here would print their lines twice."""
    log = logging.getLogger(name)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def parse_seconds(text):
    """'3' or '0.5' → float in [0, 60]; raises ValueError otherwise."""
    seconds = float(text)
    if not 0 <= seconds <= 60:
        raise ValueError("seconds must be between 0 and 60")
    return seconds


def slow_body(seconds):
    return f"slept {seconds:g}s\n{SLOW_PADDING}\nEND\n"


def echo(log, line):
    """Print LINE to stdout and log it (stderr): both must reach the journal."""
    print(f"echo stdout: {line}", flush=True)
    log.info("echo stderr: %s", line)


def notify_ready():
    """READY=1 on $NOTIFY_SOCKET, as a startup hook does (sd_notify(3)): the app's own word
    that it serves, which sdvisor's [ready] check=notify waits for, and what tells a
    replacement's new instance (reload-mode=replace) from the old one. Nothing without
    NOTIFY_SOCKET."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"READY=1", path)

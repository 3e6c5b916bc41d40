#!/usr/bin/env python3
"""notify-sink — a stand-in for systemd's notification socket (sdvisor benchmarks).

    notify-sink.py SOCKET_PATH LOG_FILE

Binds a datagram socket at SOCKET_PATH and appends one line per message to LOG_FILE:
"<CLOCK_MONOTONIC seconds> <message with newlines as |>". Runs until killed."""
import os
import socket
import sys
import time

path, log = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(log, "a", buffering=1) as out:
    while True:
        data = sock.recv(65536)
        text = data.decode(errors="replace").strip().replace("\n", "|")
        out.write(f"{time.monotonic():.6f} {text}\n")

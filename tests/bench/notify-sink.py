#!/usr/bin/env python3
"""notify-sink — a stand-in for systemd's notification socket (sdvisor benchmarks).

    notify-sink.py [--pid] SOCKET_PATH LOG_FILE

Binds a datagram socket at SOCKET_PATH and appends one line per message to LOG_FILE:
"<CLOCK_MONOTONIC seconds> <message with newlines as |>", or with --pid
"<CLOCK_MONOTONIC seconds> <sender's pid> <message>" (the kernel's SCM_CREDENTIALS, as
systemd reads them: replace.sh tells gunicorn's new master from the old one by it).
Runs until killed."""
import os
import socket
import struct
import sys
import time

args = sys.argv[1:]
with_pid = args[:1] == ["--pid"]
if with_pid:
    args = args[1:]
path, log = args
try:
    os.unlink(path)
except FileNotFoundError:
    pass
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if with_pid:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
sock.bind(path)
ucred = struct.Struct("iII")  # pid, uid, gid
with open(log, "a", buffering=1) as out:
    while True:
        data, anc, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(ucred.size))
        text = data.decode(errors="replace").strip().replace("\n", "|")
        sender = ""
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                sender = "%d " % ucred.unpack(value[: ucred.size])[0]
        out.write(f"{time.monotonic():.6f} {sender}{text}\n")

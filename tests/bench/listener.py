#!/usr/bin/env python3
"""listener — the idle app of the scale benchmark: accepts connections and does nothing.

    listener.py PORT COUNT ABSTRACT_PREFIX

Listens on 127.0.0.1:PORT … PORT+COUNT-1 and on the abstract unix sockets
@ABSTRACT_PREFIX-0 and @ABSTRACT_PREFIX-1, accepting and closing every connection, so
that tcp:// and unix: checks pass."""
import selectors
import socket
import sys

port, count, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sel = selectors.DefaultSelector()
for p in range(port, port + count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
for i in range(2):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(f"\0{prefix}-{i}")
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.close()

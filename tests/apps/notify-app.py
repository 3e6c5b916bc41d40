#!/usr/bin/python3
"""A fake app that says on its NOTIFY_SOCKET whatever the test gives it (standard library).

It writes app.pid and app.env into $SVTEST_DIR, then waits for $SVTEST_DIR/send: its
text is sent as one datagram, after which the file is removed (the test's cue that it
went). A datagram with a FDSTORE=1 line carries, as systemd expects, a file descriptor:
$SVTEST_DIR/fdstore.file opened for reading.
"""
import array
import os
import socket
import time

from svtestdir import d, write


write("app.pid", str(os.getpid()))
write("app.env", "".join("%s=%s\n" % kv for kv in os.environ.items()))
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
path = os.environ["NOTIFY_SOCKET"]
send = os.path.join(d, "send")
# Gone with the test's directory: an aborted test leaves no app polling forever.
while os.path.isdir(d):
    try:
        with open(send) as f:
            text = f.read()
    except FileNotFoundError:
        time.sleep(0.01)
        continue
    if "FDSTORE=1" in text.split("\n"):
        fd = os.open(os.path.join(d, "fdstore.file"), os.O_RDONLY | os.O_CREAT, 0o600)
        # sendmsg(), not socket.send_fds(): Python 3.11's ignores its address.
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
        sock.sendmsg([text.encode()], rights, 0, path)
        os.close(fd)
    else:
        sock.sendto(text.encode(), path)
    os.unlink(send)

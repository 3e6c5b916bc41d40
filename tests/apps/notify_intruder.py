"""An app that tries to talk to systemd behind sdvisor's back (sdvisor system
tests): it sends STATUS= to the service manager's notification socket itself,
then stays alive so that systemd can attribute the message to it.

    python3 notify_intruder.py [SOCKET]

SOCKET defaults to /run/systemd/notify, the system manager's socket.
"""
import logging
import os
import socket
import sys
import time

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("notify_intruder")

path = sys.argv[1] if len(sys.argv) > 1 else "/run/systemd/notify"
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
    s.sendto(f"STATUS=set by the app, pid {os.getpid()}".encode(), path)
log.info("sent STATUS= to %s as pid %d", path, os.getpid())
while True:
    time.sleep(60)

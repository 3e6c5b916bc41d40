"""An app that ignores SIGTERM and SIGINT (sdvisor system tests): only SIGKILL
stops it.

    python3 stubborn.py

It logs each of those signals it receives ("received SIGTERM, ignoring it"), so
a test can tell which stop signals arrived, and from whom not.
"""
import logging
import os
import signal
import sys
import time

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("stubborn")

received = []
for signo in (signal.SIGTERM, signal.SIGINT):
    signal.signal(signo, lambda signo, frame: received.append(signo))
log.info("started, pid %d; SIGTERM and SIGINT will be ignored", os.getpid())
while True:
    time.sleep(0.05)
    while received:
        log.info("received %s, ignoring it", signal.Signals(received.pop(0)).name)

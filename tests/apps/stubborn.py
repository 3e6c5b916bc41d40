"""An app that ignores SIGTERM (sdvisor system tests): only SIGKILL stops it.

    python3 stubborn.py

It logs each SIGTERM it receives, so a test can tell that the stop signal
arrived and was ignored.
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
signal.signal(signal.SIGTERM, lambda signo, frame: received.append(signo))
log.info("started, pid %d; SIGTERM will be ignored", os.getpid())
while True:
    time.sleep(0.1)
    while received:
        received.pop()
        log.info("received SIGTERM, ignoring it")

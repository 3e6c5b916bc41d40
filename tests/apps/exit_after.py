"""An app that exits on its own (sdvisor system tests).

    python3 exit_after.py STATUS SECONDS

Runs for SECONDS, then exits with STATUS.
"""
import logging
import sys
import time

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("exit_after")

status, seconds = int(sys.argv[1]), float(sys.argv[2])
log.info("started; exiting with status %d in %gs", status, seconds)
time.sleep(seconds)
log.info("exiting with status %d", status)
sys.exit(status)

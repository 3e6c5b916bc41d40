#!/usr/bin/python3
"""Writes lines of every kind sdvisor's logs must tell apart (integration tests).

    log-mixed.py [raise]

stdout: a plain line, a "<N>"-prefixed line, a JSON record; stderr: uvicorn's and
logging's default formats at several levels. With "raise", it ends with an uncaught
exception: a traceback on stderr and exit status 1.
"""
import logging
import sys

print("plain stdout line")
print("<2>critical by prefix")
print('{"message": "json record", "level": "error", "order_id": 7}')
sys.stdout.flush()
print("INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)", file=sys.stderr)
logging.basicConfig(level=logging.DEBUG)
logging.warning("careful now")
logging.getLogger("app").info("request served")
sys.stderr.flush()
if sys.argv[1:] == ["raise"]:
    def handler():
        raise ValueError("boom")
    handler()

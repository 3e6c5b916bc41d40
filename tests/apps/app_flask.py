"""Flask app served by gunicorn with 2 sync workers (sdvisor system tests).

    cd tests/apps && python3 -m gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8002 app_flask:app

gunicorn.conf.py sets the workers and logs gunicorn's signal handling.
"""
import os
import time

from flask import Flask, request

import apptools

log = apptools.setup_logging("app_flask")
app = Flask(__name__)


@app.get("/health")
def health():
    return "ok\n", 200, {"Content-Type": "text/plain"}


# What docs/guide.md shows: 503 from the moment sdvisor begins to stop (the file named
# by SDVISOR_DRAIN_FILE exists from STOPPING=1 on), so that a load balancer stops
# sending here during stop-delay while requests still get answers.
DRAIN_FILE = os.environ.get("SDVISOR_DRAIN_FILE")


@app.get("/healthz")
def healthz():
    if DRAIN_FILE and os.path.exists(DRAIN_FILE):
        return "draining\n", 503, {"Content-Type": "text/plain"}
    return "ok\n", 200, {"Content-Type": "text/plain"}


# Which process answered: the worker's pid, and the master's (the app sdvisor started).
@app.get("/pid")
def pid():
    return "%d %d\n" % (os.getpid(), os.getppid()), 200, {"Content-Type": "text/plain"}


@app.get("/slow")
def slow():
    try:
        duration = apptools.parse_seconds(request.args.get("seconds", "1"))
    except ValueError as e:
        return f"{e}\n", 400
    log.info("slow request started, %gs (worker pid %d)", duration, os.getpid())
    time.sleep(duration)
    log.info("slow request finished, %gs (worker pid %d)", duration, os.getpid())
    return apptools.slow_body(duration), 200, {"Content-Type": "text/plain"}


@app.get("/echo")
def echo():
    apptools.echo(log, request.args.get("line", ""))
    return "ok\n", 200, {"Content-Type": "text/plain"}

"""gunicorn settings for app_flask (sdvisor system tests). --bind comes from the
command line so that each test picks its own port."""
import logging

import apptools

workers = 2
worker_class = "sync"
# A worker finishes its request within this after SIGTERM; sdvisor's stop-timeout
# in the tests is longer.
graceful_timeout = 20
timeout = 30
loglevel = "info"
errorlog = "-"
accesslog = "-"

log = apptools.setup_logging("app_flask.gunicorn")


def on_reload(server):
    # The master calls this on SIGHUP before it replaces its workers.
    log.info("received SIGHUP, reloading workers")


def worker_int(worker):
    log.info("worker %d interrupted", worker.pid)


def on_exit(server):
    log.info("shut down")

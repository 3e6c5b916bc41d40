"""FastAPI app served by uvicorn (sdvisor system tests).

    cd tests/apps && python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port 8001

uvicorn has no handler for SIGHUP (its default action would kill the process),
so the app installs one that logs: the tests use it to see a reload arrive.
"""
import asyncio
import os
import signal
import sys

from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse

import apptools

log = apptools.setup_logging("app_fastapi")
app = FastAPI()


@app.on_event("startup")
async def startup():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: log.info("received SIGHUP, reloading"))
    log.info("started, pid %d", os.getpid())
    apptools.notify_ready()


@app.on_event("shutdown")
async def shutdown():
    log.info("shut down")


@app.get("/health", response_class=PlainTextResponse)
async def health():
    return "ok\n"


# What docs/guide.md shows: 503 while sdvisor drains the app (SDVISOR_DRAIN_FILE
# exists from STOPPING=1 on).
DRAIN_FILE = os.environ.get("SDVISOR_DRAIN_FILE")


@app.get("/healthz", response_class=PlainTextResponse)
async def healthz():
    if DRAIN_FILE and os.path.exists(DRAIN_FILE):
        raise HTTPException(status_code=503, detail="draining")
    return "ok\n"


@app.get("/slow", response_class=PlainTextResponse)
async def slow(seconds: str = "1"):
    try:
        duration = apptools.parse_seconds(seconds)
    except ValueError as e:
        raise HTTPException(status_code=400, detail=str(e))
    log.info("slow request started, %gs", duration)
    await asyncio.sleep(duration)
    log.info("slow request finished, %gs", duration)
    return apptools.slow_body(duration)


# Which process answered: the socket sdvisor holds may be served by more than one. As a
# gunicorn worker (-k uvicorn.workers.UvicornWorker): "WORKER MASTER", as app_flask says.
@app.get("/pid", response_class=PlainTextResponse)
async def pid():
    if "gunicorn" in sys.modules:
        return "%d %d\n" % (os.getpid(), os.getppid())
    return "%d\n" % os.getpid()


@app.get("/echo", response_class=PlainTextResponse)
async def echo(line: str):
    apptools.echo(log, line)
    return "ok\n"

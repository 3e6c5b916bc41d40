"""aiohttp app (sdvisor system tests).

    cd tests/apps && python3 app_aiohttp.py --port 8003

On SIGTERM, aiohttp 3.8's run_app closes the listening socket, runs on_shutdown,
then cancels every request still in flight (RequestHandler.shutdown in
web_protocol.py). A graceful stop is therefore the app's job: on_shutdown waits
for the requests that are running to finish.
"""
import argparse
import asyncio
import os
import signal
import socket

from aiohttp import web

import apptools

log = apptools.setup_logging("app_aiohttp")
apptools.setup_logging("aiohttp.access")
IN_FLIGHT = web.AppKey("in_flight", dict) if hasattr(web, "AppKey") else "in_flight"
DRAIN_TIMEOUT = 25.0


@web.middleware
async def count_in_flight(request, handler):
    state = request.app[IN_FLIGHT]
    state["count"] += 1
    state["idle"].clear()
    try:
        return await handler(request)
    finally:
        state["count"] -= 1
        if state["count"] == 0:
            state["idle"].set()


async def health(request):
    return web.Response(text="ok\n")


async def slow(request):
    try:
        duration = apptools.parse_seconds(request.query.get("seconds", "1"))
    except ValueError as e:
        raise web.HTTPBadRequest(text=f"{e}\n")
    log.info("slow request started, %gs", duration)
    await asyncio.sleep(duration)
    log.info("slow request finished, %gs", duration)
    return web.Response(text=apptools.slow_body(duration))


async def echo(request):
    apptools.echo(log, request.query.get("line", ""))
    return web.Response(text="ok\n")


async def pid(request):
    # Which process answered: the socket sdvisor holds may be served by more than one.
    return web.Response(text="%d\n" % os.getpid())


async def on_startup(app):
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: log.info("received SIGHUP, reloading"))
    log.info("started, pid %d", os.getpid())
    apptools.notify_ready()


async def on_shutdown(app):
    state = app[IN_FLIGHT]
    log.info("shutting down, %d request(s) in flight", state["count"])
    try:
        await asyncio.wait_for(state["idle"].wait(), DRAIN_TIMEOUT)
    except asyncio.TimeoutError:
        log.warning("%d request(s) still running after %gs", state["count"], DRAIN_TIMEOUT)


async def on_cleanup(app):
    log.info("shut down")


def make_app():
    app = web.Application(middlewares=[count_in_flight])
    idle = asyncio.Event()
    idle.set()
    app[IN_FLIGHT] = {"count": 0, "idle": idle}
    app.router.add_get("/health", health)
    app.router.add_get("/slow", slow)
    app.router.add_get("/echo", echo)
    app.router.add_get("/pid", pid)
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--fd", type=int, help="serve on this inherited listening socket "
                        "(sdvisor's [app] listen=: 3) instead of binding --host and --port")
    args = parser.parse_args()
    if args.fd is not None:
        # socket.socket(fileno=) finds the family itself (TCP or unix).
        web.run_app(make_app(), sock=socket.socket(fileno=args.fd), print=None)
    else:
        web.run_app(make_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()

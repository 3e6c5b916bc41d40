#!/usr/bin/python3
"""A small web app for trying sdvisor: the Python standard library only.

GET /            a greeting
GET /health      200 "ok" (or 500 while /tmp/sdvisor-demo-unhealthy exists)
GET /slow?seconds=N  answers after N seconds: try stopping sdvisor meanwhile

On SIGTERM it stops accepting, lets requests in flight finish, and exits 0;
on SIGHUP it logs that it would reload.
"""
import argparse
import logging
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

log = logging.getLogger("demo")


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            if os.path.exists("/tmp/sdvisor-demo-unhealthy"):
                self._send(500, "unhealthy\n")
            else:
                self._send(200, "ok\n")
        elif url.path == "/slow":
            seconds = float(parse_qs(url.query).get("seconds", ["3"])[0])
            time.sleep(min(seconds, 600))
            self._send(200, "slept %.1f s\n" % seconds)
        elif url.path == "/":
            self._send(200, "hello from the sdvisor demo (pid %d)\n" % os.getpid())
        else:
            self._send(404, "not found\n")

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    # Requests in flight finish before the process exits.
    server.daemon_threads = False
    server.block_on_close = True

    def on_term(signum, frame):
        log.info("SIGTERM: finishing requests in flight, then exiting")
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, lambda s, f: log.info("SIGHUP: reloading (nothing to reload)"))
    log.info("listening on http://%s:%d/", args.host, args.port)
    server.serve_forever()
    server.server_close()
    log.info("stopped")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A fake web app for the readiness and health tests (standard library only).

Environment: PORT (required), LISTEN_DELAY seconds before listen() (default 0),
SEND_READY = how many times to send READY=1 on its NOTIFY_SOCKET after listening (0).
GET /health answers 500 while $SVTEST_DIR/unhealthy exists, 200 otherwise.
It writes app.pid, app.env and, right after listen(), app.listening (a CLOCK_MONOTONIC
timestamp in µs) into $SVTEST_DIR.
"""
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from svtestdir import d, write


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        code = 500 if os.path.exists(os.path.join(d, "unhealthy")) else 200
        body = b"unhealthy\n" if code == 500 else b"ok\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def notify(text):
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(text.encode(), path)
    s.close()


write("app.pid", str(os.getpid()))
write("app.env", "".join("%s=%s\n" % kv for kv in os.environ.items()))
time.sleep(float(os.environ.get("LISTEN_DELAY", "0")))
server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
write("app.listening", str(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000))
for _ in range(int(os.environ.get("SEND_READY", "0"))):
    notify("READY=1")
    time.sleep(0.05)


def exit_with_the_test():
    # Gone with the test's directory: an aborted test leaves no app serving forever.
    while os.path.isdir(d):
        time.sleep(0.2)
    os._exit(0)


threading.Thread(target=exit_with_the_test, daemon=True).start()
server.serve_forever()

#!/usr/bin/env python3
"""check-guide.py — the instructions of docs/guide.md (and README.md, containers.md) do
what they say.

usage: check-guide.py SDVISOR SRCDIR          Prints TAP.

  - the /healthz of the guide's Flask and FastAPI apps (its ```python blocks that read
    SDVISOR_DRAIN_FILE) answers 200 and, once the file exists, 503: the guide tells
    people that this is what makes stop-delay a drain. Each app is imported by Debian's
    python3 with the file named in its environment, and asked through Flask's test
    client or as an ASGI app (no server, no port). Skipped where flask or fastapi is
    missing;
  - no PodmanArgs= option that the guide tells people to add to print-quadlet's file is
    in that file already: the guide's shop.conf through `sdvisor print-quadlet`, and
    every ```ini fragment of the guide without an [app] line (what to add) compared
    option by option. Following the guide once gave two --env=WATCHDOG_USEC;
  - the package a reader installs is where `dpkg-buildpackage` leaves it: every
    `apt install` of a relative .deb in README.md and the guide names
    ../sdvisor_VERSION_…deb (VERSION from debian/changelog), not ./ (it failed);
  - containers.md names no ExecStop= in the unit quadlet makes from a .container (it
    has only ExecStopPost=; podman's quadlet.go).
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

from tap import check, finish

SDVISOR, SRC = sys.argv[1:3]
PYTHON = "/usr/bin/python3"  # the Debian packages the guide installs, not a virtualenv's
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)

# Run by PYTHON: imports the app at argv[1] and prints the status of GET /healthz
# before and after the drain file exists.
HARNESS = r'''
import asyncio, importlib.util, os, sys
spec = importlib.util.spec_from_file_location("guide_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
app = module.app

def status():
    if hasattr(app, "test_client"):
        return app.test_client().get("/healthz").status_code
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/healthz", "raw_path": b"/healthz",
             "query_string": b"", "root_path": "", "headers": [(b"host", b"test")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start")

before = status()
open(os.environ["SDVISOR_DRAIN_FILE"], "w").close()
print(before, status())
'''


def blocks(text, info):
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == info]


def podman_options(text):
    """The options of every PodmanArgs= line: '--env=X' and '--env X' alike."""
    out = set()
    for m in re.finditer(r"^PodmanArgs=(.*)$", text, re.M):
        words = shlex.split(m.group(1))
        i = 0
        while i < len(words):
            w = words[i]
            if w.startswith("-") and "=" not in w and i + 1 < len(words) and not words[i + 1].startswith("-"):
                w = "%s=%s" % (w, words[i + 1])
                i += 1
            out.add(w)
            i += 1
    return out


def main():
    with open(os.path.join(SRC, "docs", "guide.md"), encoding="utf-8") as f:
        guide = f.read()

    apps = [b for b in blocks(guide, "python") if "SDVISOR_DRAIN_FILE" in b]
    check(len(apps) >= 2, "the guide shows a draining /healthz for Flask and for FastAPI",
          ["%d python blocks read SDVISOR_DRAIN_FILE" % len(apps)])
    for text in apps:
        kind = "FastAPI" if "FastAPI(" in text else "Flask"
        module = "fastapi" if kind == "FastAPI" else "flask"
        if subprocess.run([PYTHON, "-c", "import " + module], capture_output=True).returncode != 0:
            print("# %s: python3-%s is not installed" % (kind, module))
            check(os.environ.get("SDVISOR_SYSTEM_TESTS_REQUIRED") != "1",
                  "# SKIP the guide's %s /healthz (needs python3-%s)" % (kind, module))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "app.py")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            env = dict(os.environ, SDVISOR_DRAIN_FILE=os.path.join(tmp, "draining"))
            r = subprocess.run([PYTHON, "-c", HARNESS, path], env=env, cwd=tmp,
                               capture_output=True, text=True, timeout=60)
            got = r.stdout.split()[-2:] if r.returncode == 0 else []
            check(got == ["200", "503"],
                  "the guide's %s /healthz answers 200, then 503 once the drain file exists" % kind,
                  ["statuses: %s" % got] + r.stderr.splitlines()[-5:])

    configs = [b for b in blocks(guide, "ini") if re.search(r"^name=shop$", b, re.M)]
    fragments = [b for b in blocks(guide, "ini") if not re.search(r"^\[app\]", b, re.M)]
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "shop.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(configs[0] if configs else "")
        os.chmod(conf, 0o644)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SDVISOR_")}
        r = subprocess.run([SDVISOR, "print-quadlet", "--config", conf, "--image", "localhost/shop:1"],
                           env=env, capture_output=True, text=True)
    written = podman_options(r.stdout)
    check(r.returncode == 0 and "--env=WATCHDOG_USEC" in written,
          "print-quadlet writes the guide's shop.conf with its PodmanArgs=", [r.stderr.strip()])
    twice = sorted(o for b in fragments for o in podman_options(b) & written)
    check(not twice, "no PodmanArgs= the guide says to add is in print-quadlet's file already",
          ["given twice when the guide is followed: PodmanArgs=%s" % o for o in twice])

    with open(os.path.join(SRC, "debian", "changelog"), encoding="utf-8") as f:
        version = re.match(r"sdvisor \(([^)]+)\)", f.readline()).group(1)
    wrong, seen = [], 0
    for doc in ("README.md", "docs/guide.md"):
        with open(os.path.join(SRC, doc), encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"apt(?:-get)? install\b[^\n]*?\s(\.{0,2}/?[\w./-]*\.deb)", text):
            path = m.group(1)
            if path.startswith("/"):
                continue  # a Containerfile's copy inside the image
            seen += 1
            if not path.startswith("../sdvisor_%s_" % version):
                wrong.append("%s: apt install %s (dpkg-buildpackage leaves ../sdvisor_%s_ARCH.deb)"
                             % (doc, path, version))
    check(seen >= 2 and not wrong, "apt install names the .deb where dpkg-buildpackage leaves it",
          wrong or ["%d apt install lines found" % seen])

    with open(os.path.join(SRC, "docs", "containers.md"), encoding="utf-8") as f:
        containers = f.read()
    claims = [l for l in containers.splitlines() if re.search(r"(?<!no `)ExecStop=", l)]
    check(not claims,
          "containers.md names no ExecStop= for a .container unit (quadlet writes ExecStopPost= only)",
          claims)
    return finish()


sys.exit(main())

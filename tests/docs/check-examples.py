#!/usr/bin/env python3
"""check-examples.py — the configurations shown in the documentation load.

usage: check-examples.py SDVISOR SRCDIR DOC…          Prints TAP.

The convention, for whoever writes documentation: a fenced code block whose info
string is `ini` and which has an `[app]` line is a complete sdvisor configuration,

    ```ini
    [app]
    exec=…
    ```

and must pass `sdvisor check` as it stands. Fragments (a single key to change, a
systemd drop-in, a quadlet file) have no `[app]` line and are left alone. Each block
is written to a file of its own (mode 0644, as sdvisor refuses files others can write)
and checked with no SDVISOR_* variable in the environment, so a renamed or removed key,
a value of the wrong type or a bad schedule in an example fails here. Each DOC (a path
under SRCDIR) must hold at least one such block: a document whose examples lost their
marker would otherwise be checked for nothing.
"""
import os
import re
import subprocess
import sys
import tempfile

from tap import check, finish

SDVISOR, SRC = sys.argv[1:3]
DOCS = sys.argv[3:]
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


def blocks(path):
    """(line of the opening fence, info string, text) of every fenced code block."""
    out, current = [], None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = FENCE.match(line)
            if current is None:
                if m:
                    current = (number, m.group("fence"), m.group("info").strip(), [])
            elif m and m.group("fence").startswith(current[1]) and not m.group("info").strip():
                out.append((current[0], current[2], "\n".join(current[3]) + "\n"))
                current = None
            else:
                current[3].append(line)
    return out


def is_config(info, text):
    return info.split()[:1] == ["ini"] and re.search(r"^\[app\][ \t]*$", text, re.M) is not None


def main():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDVISOR_")}
    env["LC_ALL"] = "C.UTF-8"
    with tempfile.TemporaryDirectory() as tmp:
        for doc in DOCS:
            configs = [(line, text) for line, info, text in blocks(os.path.join(SRC, doc))
                       if is_config(info, text)]
            check(configs, "%s has sdvisor configurations to check (```ini blocks with [app])" % doc)
            for line, text in configs:
                conf = os.path.join(tmp, "%s-%d.conf" % (re.sub(r"[^A-Za-z0-9]", "_", doc), line))
                with open(conf, "w", encoding="utf-8") as f:
                    f.write(text)
                os.chmod(conf, 0o644)
                p = subprocess.run([SDVISOR, "check", conf], capture_output=True, text=True, env=env)
                name = re.search(r"^name=(.*)$", text, re.M)
                check(p.returncode == 0,
                      "%s:%d: the configuration%s passes `sdvisor check`"
                      % (doc, line, " of " + name.group(1).strip() if name else ""),
                      ["exit status %d" % p.returncode] + p.stderr.splitlines())

    return finish(require_some=True)


sys.exit(main())

#!/usr/bin/env python3
"""tests/report.py, the end of `./dev test` and of CI's log: the totals line counts what
meson counted, every skip is listed with its reason, and what CI must not let by (a skip
off the allow-list, a skip without a reason, a suite that did not run, a run whose log is
missing) turns into a failure and exit status 1.

usage: test-report.py SRCDIR"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(sys.argv[1], "tests", "docs"))
from tap import check, finish  # noqa: E402

REPORT = os.path.join(sys.argv[1], "tests", "report.py")


def result(name, verdict, stdout=""):
    return {"name": "sdvisor:" + name, "result": verdict, "stdout": stdout}


def write_log(folder, name, results):
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    return path


def report(*args):
    p = subprocess.run([sys.executable, REPORT, *args], capture_output=True, text=True)
    lines = p.stdout.splitlines()
    return p.returncode, lines, (lines[-1] if lines else "")


with tempfile.TemporaryDirectory() as tmp:
    glib_tap = "ok 1 /a/ran\nok 2 /a/skipped # SKIP needs a user namespace\n1..2\n"
    shell_tap = "1..0 # SKIP podman cannot start a container here\n"
    bare_tap = "ok 1 /b/skipped # SKIP\n1..1\n"
    all_log = write_log(tmp, "all.json", [
        result("unit / a", "OK", glib_tap),
        result("unit / b", "OK", bare_tap),
        result("container / stop", "SKIP", shell_tap),
        result("integration / run", "FAIL"),
        result("integration / tree", "TIMEOUT"),
    ])
    allow = os.path.join(tmp, "allow")
    with open(allow, "w", encoding="utf-8") as f:
        f.write("# comment\nall unit/a /a/skipped  # no user namespaces on the runner\n")

    rc, lines, last = report("all=" + all_log)
    check(last == "2 passed, 2 failed, 1 skipped", "totals count meson's results", [last])
    check(rc == 1, "a failure is exit status 1", ["rc=%d" % rc])
    check("  all: unit/a /a/skipped: needs a user namespace" in lines,
          "a sub-test's skip is listed with its reason", lines)
    check("  all: container/stop: podman cannot start a container here" in lines,
          "a whole test's skip (TAP plan) is listed with its reason", lines)

    ok_log = write_log(tmp, "ok.json", [result("unit / a", "OK", glib_tap)])
    rc, lines, last = report("all=" + ok_log)
    check(rc == 0 and last == "1 passed, 0 failed, 0 skipped",
          "skips alone do not fail without --required", lines)
    rc, lines, last = report("--required", "all=" + ok_log)
    check(rc == 1 and last == "1 passed, 1 failed, 0 skipped"
          and any("[FAIL: not on the allow-list]" in x for x in lines),
          "--required: a skip off the allow-list is a failure", lines)
    rc, lines, last = report("--required", "--allow", allow, "all=" + ok_log)
    check(rc == 0 and last == "1 passed, 0 failed, 0 skipped",
          "--required: a skip on the allow-list is not", lines)
    rc, lines, last = report("--required", "--allow", allow, "sanitize=" + ok_log)
    check(rc == 1, "the allow-list names the run: another run's skip is a failure", lines)

    bare_log = write_log(tmp, "bare.json", [result("unit / b", "OK", bare_tap)])
    rc, lines, last = report("--reasons", "fresh=" + bare_log)
    check(rc == 1 and any("[FAIL: no reason given]" in x for x in lines),
          "--reasons: a skip without a reason is a failure", lines)

    rc, lines, last = report("--need-suites", "unit,fuzz", "fresh=" + ok_log)
    check(rc == 1 and "== suite fuzz: no test ran and passed  [FAIL]" in lines
          and last == "1 passed, 1 failed, 0 skipped",
          "--need-suites: a suite in which nothing passed is a failure", lines)
    rc, lines, last = report("--need-suites", "container", "all=" + all_log)
    check(rc == 1 and any(x.startswith("== suite container:") for x in lines),
          "--need-suites: a suite whose tests only skipped did not run", lines)

    missing = os.path.join(tmp, "never-written.json")
    rc, lines, last = report("all=" + ok_log, "fresh=" + missing)
    check(rc == 1 and last == "1 passed, 1 failed, 0 skipped"
          and any(x.startswith("== no test log: fresh: ") for x in lines),
          "a run whose log is missing is a failure, not a silent pass", lines)

    bad_allow = os.path.join(tmp, "bad-allow")
    with open(bad_allow, "w", encoding="utf-8") as f:
        f.write("all unit/a /a/skipped\n")
    p = subprocess.run([sys.executable, REPORT, "--allow", bad_allow, "all=" + ok_log],
                       capture_output=True, text=True)
    check(p.returncode != 0 and bad_allow + ":1:" in p.stderr,
          "an allow-list line without its why is refused, with file and line", [p.stderr])

sys.exit(finish(require_some=True))

#!/usr/bin/env python3
"""check-schedule-docs.py — what sdvisor.conf(5) and schedule.h say about schedules holds.

usage: check-schedule-docs.py SRCDIR          Prints TAP.

  - the step limits: each field of src/jobs/schedule.c (cron and calendar) takes a step
    up to its span (max - min + 1); sdvisor.conf(5) writes "FIELD 1-SPAN" for each, and a
    field added or widened in the code without the page fails here;
  - the day-of-month/day-of-week rule says how a field starting with '*' counts;
  - daylight saving time: the page says systemd 252 differs from sdvisor; what it says
    is checked against the real thing, `systemd-analyze calendar --base-time=` (systemd
    252, where it is that version): a fixed 02:30 in Berlin is not run on the day of the
    spring-forward at all, and '*:30' skips the repeated hour of the fall-back. And
    neither file says again that systemd behaves as sdvisor does (the mistake they made).
"""
import os
import re
import subprocess
import sys

from tap import check, finish

SRC = sys.argv[1]


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


def analyze(base, expr, n):
    """The next N elapses of EXPR after BASE, as UTC strings, by systemd itself."""
    r = subprocess.run(["systemd-analyze", "calendar", "--base-time=" + base,
                        "--iterations=%d" % n, expr],
                       env=dict(os.environ, TZ="UTC", LC_ALL="C"), capture_output=True, text=True)
    return re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC", r.stdout)


def main():
    page = read("man/sdvisor.conf.5.scd")
    header = read("src/jobs/schedule.h")
    code = read("src/jobs/schedule.c")
    schedules = re.search(r"^# SCHEDULES\n(.*?)^# ", page, re.S | re.M)
    schedules = re.sub(r"\s+", " ", schedules.group(1)) if schedules else ""

    # The bounds are numbers, or the SV_YEAR_* macros.
    macros = dict(re.findall(r"#define (SV_YEAR_M\w+) (\d+)", code))
    fields = re.findall(r'\{N_\("([a-z-]+)"\), (\w+), (\w+), SV_NAMES_(?!WEEKDAY)', code)
    missing = []
    for name, lo, hi in fields:
        span = int(macros.get(hi, hi)) - int(macros.get(lo, lo)) + 1
        if "%s 1-%d" % (name, span) not in schedules:
            missing.append("'%s 1-%d' is not in sdvisor.conf(5) SCHEDULES" % (name, span))
    check(len(fields) >= 10 and not missing, "sdvisor.conf(5) writes the step limit of every field",
          missing or ["%d fields found in schedule.c" % len(fields)])

    check(re.search(r"unrestricted when its text starts with \*\\\*\*", schedules),
          "sdvisor.conf(5) says a day field starting with * counts as unrestricted")

    said_again = [f for f, text in (("sdvisor.conf(5)", page), ("schedule.h", header))
                  if re.search(r"follows cronie and systemd|systemd and cronie behave", text)]
    check(not said_again, "nothing says systemd behaves as sdvisor does at DST changes", said_again)
    check(re.search(r"systemd's timers \(252\) differ", schedules),
          "sdvisor.conf(5) says how systemd 252 differs at DST changes")

    version = subprocess.run(["systemd-analyze", "--version"], capture_output=True, text=True)
    if version.returncode != 0 or not version.stdout.startswith("systemd 252 "):
        check(True, "# SKIP the DST claims are about systemd 252 (systemd-analyze: %s)"
              % (version.stdout.split("\n")[0] or "missing"))
        return finish()
    # Berlin springs forward on 2026-03-29 at 02:00 (to 03:00) and falls back on
    # 2026-10-25 at 03:00 (to 02:00).
    spring = analyze("2026-03-28 12:00:00 UTC", "*-*-* 02:30:00 Europe/Berlin", 2)
    check(spring == ["2026-03-30 00:30:00", "2026-03-31 00:30:00"],
          "systemd 252 skips the spring-forward day for a fixed 02:30 (sdvisor runs at 03:00)",
          ["systemd-analyze: %s" % spring])
    fall = analyze("2026-10-24 23:45:00 UTC", "*-*-* *:30:00 Europe/Berlin", 3)
    check(fall == ["2026-10-25 00:30:00", "2026-10-25 02:30:00", "2026-10-25 03:30:00"],
          "systemd 252 skips the repeated hour for '*:30' (sdvisor fires in it)",
          ["systemd-analyze: %s" % fall])
    return finish()


sys.exit(main())

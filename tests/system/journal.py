#!/usr/bin/python3
"""journal.py — questions the system-test scenarios ask the journal.

    journal.py cursor
        the cursor of the newest entry: a mark to search after
    journal.py wait  -u UNIT [-a CURSOR] [-t SECONDS] [-f FIELD=VALUE] STEP
        wait until an entry of UNIT that matches STEP (see order) arrives
    journal.py order -u UNIT [-a CURSOR] [-t SECONDS] STEP [STEP...]
        wait until entries matching the STEPs arrive, in that order; a STEP is
        a REGEX for MESSAGE, or @FIELD=VALUE for an entry with that field
        (e.g. @MESSAGE_ID=49e79feffe7140dd9e1112202aeb4937)
    journal.py count -u UNIT [-a CURSOR] [-f FIELD=VALUE] STEP
        print how many entries match (no waiting)
    journal.py dump  -u UNIT [-a CURSOR] [-n MAX]
        the entries as compact JSON lines, for TAP diagnostics

An entry is of UNIT when `journalctl -u UNIT` shows it: the unit's own output
and what systemd says about the unit. A --field filter narrows the entries
(e.g. -f _COMM=sdvisor). On failure, wait and order print what the unit did log
as TAP diagnostics ("# ...") and exit 1.
"""
import argparse
import json
import re
import subprocess
import sys
import time

JOURNALCTL = "/usr/bin/journalctl"
DUMP_FIELDS = "MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,_COMM,_PID,MESSAGE_ID,UNIT,_SYSTEMD_UNIT,JOB_RESULT,EXIT_CODE,EXIT_STATUS"


def entries(unit, after=None, fields=None):
    """UNIT's entries after the cursor AFTER (all of them without one)."""
    cmd = [JOURNALCTL, "--no-pager", "-o", "json", "-u", unit]
    # Not --after-cursor: with a match (-u) and a cursor on an entry that does
    # not match, journalctl 252 also skips the first entry that does.
    if after:
        cmd += ["--cursor", after]
    if fields:
        cmd += ["--output-fields", fields]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
    result = []
    for line in out.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("MESSAGE", "")
        if isinstance(message, list):  # not valid UTF-8: journalctl gives the bytes
            message = bytes(message).decode("utf-8", "replace")
        entry["MESSAGE"] = message or ""
        if after and entry.get("__CURSOR") == after:
            continue
        result.append(entry)
    return result


def who(entry):
    return entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "?"


def selected(entry, filters):
    return all(str(entry.get(k)) == v for k, v in filters)


class Step:
    """One thing to look for: a REGEX on MESSAGE, or @FIELD=VALUE."""

    def __init__(self, text):
        self.text = text
        if text.startswith("@") and "=" in text:
            self.field, _, self.value = text[1:].partition("=")
            self.regex = None
        else:
            self.field = None
            self.regex = re.compile(text)

    def matches(self, entry):
        if self.regex is not None:
            return bool(self.regex.search(entry["MESSAGE"]))
        return str(entry.get(self.field)) == self.value

    def __str__(self):
        return f"/{self.text}/" if self.regex is not None else self.text[1:]


def find_in_order(found, steps, filters):
    """Index of the first step not yet matched, walking FOUND once."""
    i = 0
    for entry in found:
        if i == len(steps):
            break
        if selected(entry, filters) and steps[i].matches(entry):
            i += 1
    return i


def diagnose(unit, after, why):
    print(f"# {why}")
    print(f"# journalctl -u {unit} said:")
    for entry in entries(unit, after)[-80:]:
        mid = f" [MESSAGE_ID={entry['MESSAGE_ID']}]" if "MESSAGE_ID" in entry else ""
        print(f"#   {who(entry)}[{entry.get('_PID', '')}]: {entry['MESSAGE']}{mid}")


def parse_filters(items):
    filters = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"journal.py: --field wants FIELD=VALUE, not {item!r}")
        filters.append((key, value))
    return filters


def main():
    parser = argparse.ArgumentParser(description="journal queries for system tests")
    parser.add_argument("command", choices=["cursor", "wait", "order", "count", "dump"])
    parser.add_argument("regex", nargs="*")
    parser.add_argument("-u", "--unit")
    parser.add_argument("-a", "--after", help="cursor from `journal.py cursor`")
    parser.add_argument("-t", "--timeout", type=float, default=10.0)
    parser.add_argument("-f", "--field", action="append")
    parser.add_argument("-n", "--max", type=int, default=200)
    args = parser.parse_intermixed_args()

    if args.command == "cursor":
        out = subprocess.run([JOURNALCTL, "-n", "1", "-o", "json", "--output-fields", "MESSAGE"],
                             stdout=subprocess.PIPE, check=True).stdout
        print(json.loads(out.splitlines()[-1])["__CURSOR"])
        return 0

    if not args.unit:
        parser.error("--unit is required")
    filters = parse_filters(args.field)

    if args.command == "dump":
        keep = DUMP_FIELDS.split(",")
        for entry in entries(args.unit, args.after, DUMP_FIELDS)[-args.max:]:
            stamp = int(entry.get("__REALTIME_TIMESTAMP", 0)) / 1e6
            compact = {"time": time.strftime("%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp * 1000) % 1000:03d}"}
            compact.update((k, entry[k]) for k in keep if k in entry)
            print(json.dumps(compact, ensure_ascii=False))
        return 0

    patterns = [Step(r) for r in args.regex]
    if not patterns:
        parser.error("at least one STEP is needed")

    if args.command == "count":
        found = [e for e in entries(args.unit, args.after)
                 if selected(e, filters) and patterns[0].matches(e)]
        print(len(found))
        return 0

    if args.command == "wait":
        patterns = patterns[:1]
    deadline = time.monotonic() + args.timeout
    while True:
        matched = find_in_order(entries(args.unit, args.after), patterns, filters)
        if matched == len(patterns):
            return 0
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    where = f" after {patterns[matched - 1]}" if matched else ""
    extra = f" from {', '.join(k + '=' + v for k, v in filters)}" if filters else ""
    diagnose(args.unit, args.after,
             f"no entry matching {patterns[matched]}{extra}{where} within {args.timeout:g}s")
    return 1


if __name__ == "__main__":
    sys.exit(main())

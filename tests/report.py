#!/usr/bin/env python3
"""report.py — what `./dev test` prints after its runs of `meson test`: every test and
sub-test that was skipped, with its reason, then one line of totals (the last line of CI's
log): "N passed, N failed, N skipped".

    report.py [--required] [--allow FILE] [--need-suites A,B,...] [--reasons] RUN=TESTLOG...
    report.py --is-allowed --allow FILE RUN SUITE/TEST SUBTEST    (exit 0 if FILE allows it)

RUN names a run of `meson test` (e.g. all, sanitize, valgrind); TESTLOG is its
meson-logs/testlog*.json. Meson counts a TAP test that passed some sub-tests and skipped
others as OK, so the sub-test skips are read from each test's TAP output (GLib's
`ok 5 /path # SKIP why`, the shell suites' `ok 3 - what # SKIP why`, a `1..0 # SKIP why` plan).

--required (CI, where SDVISOR_*_TESTS_REQUIRED=1): a skip that the allow-list FILE does not
name counts as a failure. --reasons: a skip without a reason counts as a failure.
--need-suites: a suite of the list in which no test passed counts as a failure. A TESTLOG
that cannot be read (its run ended before any test) counts as a failure.
Exit status 1 if anything failed.
"""
import argparse
import fnmatch
import json
import re
import sys

SUB_SKIP = re.compile(r"^(?:not )?ok\b(?:\s+\d+)?\s*(?:-\s*)?(.*?)\s*#\s*skip\b:?\s*(.*)$", re.I)
PLAN_SKIP = re.compile(r"^1\.\.0\s*#\s*skip\b:?\s*(.*)$", re.I)


def load_allow(path):
    """Lines `RUN SUITE/TEST SUBTEST  # why` (shell globs); a line without a why is refused."""
    rules = []
    if not path:
        return rules
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, _, why = line.partition("#")
        fields = pattern.split(None, 2)
        if len(fields) != 3 or not why.strip():
            sys.exit(f"{path}:{n}: expected 'RUN SUITE/TEST SUBTEST  # why'")
        rules.append((fields[0], fields[1], fields[2].strip()))
    return rules


def allowed(rules, run, test, sub):
    return any(fnmatch.fnmatchcase(run, r) and fnmatch.fnmatchcase(test, t) and fnmatch.fnmatchcase(sub, s)
               for r, t, s in rules)


def test_id(name):
    """meson's "sdvisor:unit / notify-proxy" (or "sdvisor:unit+units / x") as "unit/notify-proxy"."""
    name = name.split(":", 1)[-1]
    suite, _, test = name.partition(" / ")
    return f"{suite.strip()}/{test.strip()}" if test else suite.strip()


def skips_of(result):
    """(sub-test, reason) for every skip a test reported; sub-test "*" for the whole test."""
    out = []
    for line in (result.get("stdout") or "").splitlines():
        line = line.strip()
        m = PLAN_SKIP.match(line)
        if m:
            out.append(("*", m.group(1).strip()))
            continue
        m = SUB_SKIP.match(line)
        if m:
            # a skip without a description ("ok 4 # SKIP why") is known by its reason
            out.append((m.group(1).strip() or m.group(2).strip() or "*", m.group(2).strip()))
    if result["result"] == "SKIP" and not out:
        # an exit-code test that exited 77: its last words are the reason
        text = ((result.get("stdout") or "") + (result.get("stderr") or "")).strip().splitlines()
        out.append(("*", text[-1].strip().lstrip("#").strip() if text else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--required", action="store_true")
    ap.add_argument("--allow")
    ap.add_argument("--reasons", action="store_true")
    ap.add_argument("--need-suites", default="")
    ap.add_argument("--is-allowed", action="store_true")
    ap.add_argument("logs", nargs="+", metavar="RUN=TESTLOG")
    args = ap.parse_args()
    rules = load_allow(args.allow)
    if args.is_allowed:
        return 0 if len(args.logs) == 3 and allowed(rules, *args.logs) else 1

    counts = {}
    skipped = []  # (run, test, sub, reason, verdict)
    suites_passed = set()
    unread = []  # a run whose log is not there (it ended before its tests): a failure
    for spec in args.logs:
        run, _, path = spec.partition("=")
        try:
            with open(path, encoding="utf-8") as log:
                lines = log.readlines()
        except OSError as e:
            unread.append(f"{run}: {path}: {e.strerror}")
            continue
        for line in lines:
            if not line.strip():
                continue
            result = json.loads(line)
            counts[result["result"]] = counts.get(result["result"], 0) + 1
            test = test_id(result["name"])
            if result["result"] == "OK":
                suites_passed.update(test.split("/")[0].split("+"))
            for sub, reason in skips_of(result):
                verdict = ""
                if args.reasons and not reason:
                    verdict = "no reason given"
                elif args.required and not allowed(rules, run, test, sub):
                    verdict = "not on the allow-list"
                skipped.append((run, test, sub, reason, verdict))

    refused = [s for s in skipped if s[4]]
    missing = [s for s in args.need_suites.split(",") if s and s not in suites_passed]
    if skipped:
        print(f"== skipped ({len(skipped)}):")
        for run, test, sub, reason, verdict in skipped:
            where = test if sub in ("*", reason) else f"{test} {sub}"
            mark = f"  [FAIL: {verdict}]" if verdict else ""
            print(f"  {run}: {where}: {reason or '(no reason)'}{mark}")
        if args.required:
            print(f"   (skips allowed in CI: {args.allow})")
    for suite in missing:
        print(f"== suite {suite}: no test ran and passed  [FAIL]")
    for what in unread:
        print(f"== no test log: {what}  [FAIL]")

    passed = counts.get("OK", 0) + counts.get("EXPECTEDFAIL", 0)
    failed = sum(counts.get(k, 0) for k in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"))
    failed += len(refused) + len(missing) + len(unread)
    print(f"{passed} passed, {failed} failed, {counts.get('SKIP', 0)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

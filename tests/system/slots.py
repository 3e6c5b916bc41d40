#!/usr/bin/python3
"""slots.py FILE STEP MIN — did a job run every slot exactly once?

FILE holds one line per run, "SLOT WHO" (SLOT as $SDVISOR_JOB_SLOT writes it, WHO
saying which instance ran it). Every slot on the STEP-second grid from the first to
the last must be there exactly once, and there must be at least MIN slots. Prints
what it found as TAP diagnostics; exit status 0 when all holds.
"""
import collections
import datetime
import sys

path, step, minimum = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def hms(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S")


try:
    lines = [l.split() for l in open(path) if l.strip()]
except FileNotFoundError:
    lines = []
if not lines:
    print(f"# nothing in {path}: the job never ran")
    sys.exit(1)
slots = collections.Counter()
by = collections.defaultdict(list)
for fields in lines:
    t = datetime.datetime.fromisoformat(fields[0].replace("Z", "+00:00")).timestamp()
    slots[t] += 1
    by[t].append(fields[1] if len(fields) > 1 else "?")
first, last = min(slots), max(slots)
expected = [first + step * i for i in range(int(round((last - first) / step)) + 1)]
bad = [f"slot {hms(t)}: ran {slots.get(t, 0)} times" for t in expected if slots.get(t, 0) != 1]
bad += [f"slot {hms(t)}: off the {step} s grid" for t in slots if t not in expected]
if len(slots) < minimum:
    bad.append(f"only {len(slots)} slots (expected at least {minimum})")
print(f"# {path}: {len(lines)} runs, {len(slots)} slots, {hms(first)} to {hms(last)} UTC")
print("# who ran each slot: " + " ".join("+".join(by[t]) for t in sorted(by)))
for b in bad:
    print("# " + b)
sys.exit(1 if bad else 0)

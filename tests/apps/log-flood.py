#!/usr/bin/python3
"""Prints numbered lines as fast as it can (integration tests).

    log-flood.py COUNT [PREFIX]

Prints "PREFIX 0" … "PREFIX COUNT-1" to stdout, then exits 0. COUNT 0: forever.
"""
import itertools
import sys

count = int(sys.argv[1])
prefix = sys.argv[2] if len(sys.argv) > 2 else "flood"
out = sys.stdout
numbers = itertools.count() if count == 0 else iter(range(count))
for chunk in iter(lambda: list(itertools.islice(numbers, 1000)), []):
    out.write("".join(f"{prefix} {i}\n" for i in chunk))
out.flush()

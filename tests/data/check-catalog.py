#!/usr/bin/python3
"""Every MESSAGE_ID sdvisor can emit has a catalog entry, and every entry is used.

The ids are the SV_MESSAGE_* constants of src/message-ids.h; a constant no source file
uses is reported too, since its catalog text would describe nothing. TAP output."""
import pathlib
import re
import sys

top = pathlib.Path(sys.argv[1])
header = (top / "src" / "message-ids.h").read_text()
ids = dict(re.findall(r'#define (SV_MESSAGE_\w+)\s+"([0-9a-f]{32})"', header))
catalog = (top / "data" / "sdvisor.catalog").read_text()
entries = re.findall(r"^-- ([0-9a-f]{32})$", catalog, re.M)
sources = "".join(p.read_text() for p in (top / "src").rglob("*.c"))

checks = []
for name, mid in sorted(ids.items()):
    checks.append((f"{name} has a catalog entry", mid in entries))
    checks.append((f"{name} is used in src/", re.search(r"\b%s\b" % name, sources) is not None))
for mid in entries:
    checks.append((f"catalog entry {mid} is an id of src/message-ids.h", mid in ids.values()))
checks.append(("catalog has no duplicate entries", len(entries) == len(set(entries))))
for block in re.split(r"^-- ", catalog, flags=re.M)[1:]:
    mid = block.split("\n", 1)[0]
    checks.append((f"entry {mid} has Subject and Defined-By",
                   "\nSubject: " in block and "\nDefined-By: sdvisor" in block))

print(f"1..{len(checks)}")
for i, (name, ok) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
sys.exit(0 if all(ok for _, ok in checks) else 1)

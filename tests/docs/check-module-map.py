#!/usr/bin/env python3
"""docs/design.md's module map ↔ the tree: every module of src/ is in the map and every
module in the map exists; each module's #includes (its .c and .h) name only modules the
map lets it include; a pure module may include only pure modules and no system header of
I/O; and the map's pure column agrees with sv_pure_modules of the meson.build files,
which decides what the pure library (and the tests linked with it alone) holds.

usage: check-module-map.py SRCDIR PURE-MODULE...     (PURE-MODULE: 'folder/module')"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, finish  # noqa: E402

# System headers that mean fds, the main loop's sources, children or the HTTP library:
# never in a pure module.
IO_HEADERS = re.compile(
    r"^(gio/|libsoup|systemd/|glib-unix\.h$|poll\.h$|dlfcn\.h$|pthread\.h$|spawn\.h$|"
    r"sys/(socket|signalfd|timerfd|eventfd|wait|mman|uio)\.h$)")

ROW = re.compile(r"^\| `([^`]+)` \| (.+) \| (pure|I/O) \| (.+) \|$")


def read_map(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line.rstrip("\n"))
            if m:
                deps = set(re.findall(r"`([^`]+)`", m.group(4)))
                rows[m.group(1)] = (m.group(3) == "pure", deps)
    return rows


def read_tree(src):
    """module ('folder/name', or 'name' in src/ itself) → (has .c, quoted, system)."""
    modules = {}
    for folder, _, files in os.walk(src):
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext not in (".c", ".h"):
                continue
            module = os.path.relpath(os.path.join(folder, stem), src)
            has_c, quoted, system = modules.get(module, (False, set(), set()))
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                for line in f:
                    m = re.match(r'\s*#\s*include\s+([<"])([^>"]+)[>"]', line)
                    if m and m.group(1) == '"':
                        quoted.add(os.path.splitext(m.group(2))[0])
                    elif m:
                        system.add(m.group(2))
            modules[module] = (has_c or ext == ".c", quoted, system)
    return modules


def main():
    root, pure_built = sys.argv[1], set(sys.argv[2:])
    rows = read_map(os.path.join(root, "docs", "design.md"))
    tree = read_tree(os.path.join(root, "src"))
    base = {os.path.basename(m): m for m in rows}

    check(rows, "docs/design.md has a module map")
    for module in sorted(set(tree) - set(rows)):
        check(False, "%s is in the module map" % module,
              ["add a row for it to docs/design.md"])
    for module in sorted(set(rows) - set(tree)):
        check(False, "%s of the module map exists in src/" % module)

    for module in sorted(set(tree) & set(rows)):
        has_c, quoted, system = tree[module]
        pure, allowed = rows[module]
        own = {os.path.basename(module), "sdvisor-build-config"}
        extra = sorted(quoted - own - allowed)
        check(not extra, "%s includes only what the map allows" % module,
              ["includes %s, not in its row of docs/design.md" % ", ".join(extra)])
        unknown = sorted(d for d in allowed if d not in base)
        check(not unknown, "%s: its row names modules that exist" % module,
              ["no module %s" % ", ".join(unknown)])
        if has_c:
            check(pure == (module in pure_built),
                  "%s: the map and sv_pure_modules agree that it is %s"
                  % (module, "pure" if pure else "I/O"),
                  ["docs/design.md says %s, the meson.build files say %s"
                   % ("pure" if pure else "I/O",
                      "pure" if module in pure_built else "I/O")])
        if not pure:
            continue
        impure = sorted(d for d in allowed if d in base and not rows[base[d]][0])
        check(not impure, "pure %s may include only pure modules" % module,
              ["its row lists I/O modules: %s" % ", ".join(impure)])
        io = sorted(h for h in system if IO_HEADERS.search(h))
        check(not io, "pure %s includes no system header of I/O" % module,
              ["includes <%s>" % ">, <".join(io)])

    for module in sorted(pure_built - set(tree)):
        check(False, "sv_pure_modules' %s exists in src/" % module)
    return finish(require_some=True)


if __name__ == "__main__":
    sys.exit(main())
